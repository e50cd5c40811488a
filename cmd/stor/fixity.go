package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/fixity"
	"stor/internal/logging"
	"stor/internal/node"
)

type fixityCmd struct{}

func (fixityCmd) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("fixity: usage: stor fixity audit [--asset ID | --all] | stor fixity report")
	}
	switch args[0] {
	case "audit":
		return fixityAudit(ctx, args[1:])
	case "report":
		return fixityReport(ctx, args[1:])
	}
	return fmt.Errorf("fixity: unknown subcommand %q (audit, report)", args[0])
}

// openDataDir opens a node straight on the data dir, with the full
// configuration (flags, STOR_* environment, config file) so that replicas
// and the pace are the server's.
func openDataDir(ctx context.Context, fs *flag.FlagSet, args []string) (*node.Node, error) {
	cfg := config.Default()
	cfg.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := cfg.Resolve(fs, os.Getenv); err != nil {
		return nil, err
	}
	return node.Open(ctx, cfg, logging.New(io.Discard, "json", "error"))
}

func fixityAudit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stor fixity audit", flag.ContinueOnError)
	assetID := fs.String("asset", "", "audit this asset only")
	all := fs.Bool("all", false, "audit every asset (the default when --asset is not given)")
	noRepair := fs.Bool("no-repair", false, "report bad copies without rewriting them from a good one")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stor fixity audit [--asset ID | --all] [--data-dir DIR] [flags]\n\n"+
			"Re-reads and re-hashes every copy (primary and --replicas) of the originals, records each check,\n"+
			"repairs bad copies from a good one, and exits 1 if any asset is left failed. Flags:")
		fs.PrintDefaults()
	}
	n, err := openDataDir(ctx, fs, args)
	if err != nil {
		return err
	}
	defer n.Close()
	if *assetID != "" && *all {
		return fmt.Errorf("fixity: give --asset or --all, not both")
	}
	au := n.Auditor
	au.Repair = !*noRepair
	txid := uuid.NewString()
	show := func(r *fixity.Result) {
		// One entry per copy and object; a re-check after a repair reads
		// "missing→ok".
		var order []string
		outcomes := map[string][]string{}
		for _, c := range r.Checks {
			name := c.Copy
			if c.Object != "original" {
				name = c.Object
			}
			if _, ok := outcomes[name]; !ok {
				order = append(order, name)
			}
			outcomes[name] = append(outcomes[name], c.Outcome)
		}
		var copies []string
		for _, name := range order {
			copies = append(copies, name+" "+strings.Join(outcomes[name], "→"))
		}
		fmt.Printf("%-6s %s  %s  [%s]", r.Status, r.Asset.ID, r.Asset.Filename, strings.Join(copies, ", "))
		if len(r.Repaired) > 0 {
			fmt.Printf(" repaired: %s", strings.Join(r.Repaired, ", "))
		}
		if r.Reason != "" {
			fmt.Printf(" — %s", r.Reason)
		}
		fmt.Println()
	}
	var sum *fixity.Summary
	if *assetID != "" {
		a, err := catalog.GetAsset(ctx, n.DB.Reader(), *assetID)
		if err != nil {
			return err
		}
		start := time.Now()
		r, err := au.AuditAsset(ctx, a, txid)
		if err != nil {
			return err
		}
		show(r)
		sum = &fixity.Summary{}
		sum.Add(r)
		sum.Duration = time.Since(start)
	} else if sum, err = au.RunAll(ctx, txid, show); err != nil {
		return err
	}
	mbps := 0.0
	if sum.Duration > 0 {
		mbps = float64(sum.Bytes) / 1e6 / sum.Duration.Seconds()
	}
	fmt.Printf("audited %d assets: %d ok, %d failed, %d copies repaired; %s read in %s (%.1f MB/s)\n",
		sum.Assets, sum.OK, sum.Failed, sum.Repaired, human(sum.Bytes), sum.Duration.Round(time.Millisecond), mbps)
	if sum.Failed > 0 {
		return fmt.Errorf("fixity: %d assets failed", sum.Failed)
	}
	return nil
}

func fixityReport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stor fixity report", flag.ContinueOnError)
	n, err := openDataDir(ctx, fs, args)
	if err != nil {
		return err
	}
	defer n.Close()
	counts, err := catalog.FixityCounts(ctx, n.DB.Reader())
	if err != nil {
		return err
	}
	last, err := fixity.LastCycleFinished(ctx, n.DB)
	if err != nil {
		return err
	}
	failed, err := catalog.FailedFixity(ctx, n.DB.Reader(), 1000)
	if err != nil {
		return err
	}
	fmt.Printf("ok %d, failed %d, unchecked %d\n", counts[catalog.FixityOK], counts[catalog.FixityFailed], counts[catalog.FixityUnchecked])
	if last != nil {
		fmt.Printf("last full cycle finished at %s\n", last.Format(time.RFC3339))
	} else {
		fmt.Println("last full cycle finished at: never")
	}
	for _, f := range failed {
		since := ""
		if f.FailedAt != nil {
			since = " since " + f.FailedAt.Format(time.RFC3339)
		}
		fmt.Printf("failed %s%s: %s\n", f.AssetID, since, f.Reason)
	}
	if len(failed) > 0 {
		return errors.New("fixity: some assets failed their last audit")
	}
	return nil
}
