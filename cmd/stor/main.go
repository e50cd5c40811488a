// Command stor is the media asset server: `stor serve` runs it, the other
// subcommands ingest files, make tokens and report the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"stor/internal/vips"
)

type command interface {
	Run(ctx context.Context, args []string) error
}

var commands = map[string]struct {
	cmd  command
	help string
}{
	"serve":         {&serveCmd{}, "run the server (API, web UI and workers; --workers=0: API only)"},
	"ingest":        {&ingestCmd{}, "ingest files and directories"},
	"token":         {&tokenCmd{}, "create API tokens"},
	"user":          {&userCmd{}, "manage users: create, list, disable, enable, passwd, role, unlock"},
	"version":       {&versionCmd{}, "print the version"},
	"fixity":        {&fixityCmd{}, "audit stored copies (audit) and report their state (report)"},
	"bag":           {&bagCmd{}, "export assets as BagIt bags (export) and check a bag (verify)"},
	"migrate-db":    {&migrateDBCmd{}, "copy the SQLite catalog into PostgreSQL (--to postgres://...)"},
	"worker":        {&workerCmd{}, "run tasks only, beside API nodes on one database"},
	"migrate-store": {&migrateStoreCmd{}, "copy originals and derivatives from the local disk to S3 (verified, resumable)"},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: stor COMMAND [flags]\n\ncommands:")
	for _, name := range []string{"serve", "worker", "ingest", "token", "user", "fixity", "bag", "migrate-db", "migrate-store", "version"} {
		fmt.Fprintf(os.Stderr, "  %-13s %s\n", name, commands[name].help)
	}
	fmt.Fprintln(os.Stderr, "\n`stor COMMAND --help` lists a command's flags.")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		if os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
			usage()
			return
		}
		fmt.Fprintf(os.Stderr, "stor: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.cmd.Run(ctx, os.Args[2:])
	vips.Shutdown() // once, at exit: libvips cannot be started again after it
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "stor:", err)
		os.Exit(1)
	}
}
