package main

import (
	"context"
	"fmt"
	"runtime"

	"stor/internal/node"
)

type versionCmd struct{}

func (versionCmd) Run(ctx context.Context, args []string) error {
	fmt.Printf("stor %s (%s, %s/%s)\n", node.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
