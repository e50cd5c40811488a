package main

import "flag"

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("crashnode", flag.ContinueOnError) }
