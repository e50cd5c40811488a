package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"stor/internal/archive"
	"stor/internal/bagit"
	"stor/internal/catalog"
	"stor/internal/node"
)

type bagCmd struct{}

func (bagCmd) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("bag: usage: stor bag export (--asset ID | --project P) --out DIR | stor bag verify DIR")
	}
	switch args[0] {
	case "export":
		return bagExport(ctx, args[1:])
	case "verify":
		if len(args) != 2 {
			return fmt.Errorf("bag: usage: stor bag verify DIR")
		}
		return bagVerify(args[1])
	}
	return fmt.Errorf("bag: unknown subcommand %q (export, verify)", args[0])
}

func bagExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stor bag export", flag.ContinueOnError)
	assetID := fs.String("asset", "", "export this asset")
	project := fs.String("project", "", "export every live asset of this project")
	out := fs.String("out", "", "directory to write the bag to (must not exist or be empty)")
	n, err := openDataDir(ctx, fs, args)
	if err != nil {
		return err
	}
	defer n.Close()
	if (*assetID == "") == (*project == "") || *out == "" {
		return fmt.Errorf("bag: give --out and one of --asset or --project")
	}
	var assets []*catalog.Asset
	ident := *assetID
	if *assetID != "" {
		a, err := catalog.GetAsset(ctx, n.DB.Reader(), *assetID)
		if err != nil {
			return err
		}
		assets = []*catalog.Asset{a}
	} else {
		ident = "project " + *project
		if assets, err = archive.ProjectAssets(ctx, n.DB, *project); err != nil {
			return err
		}
	}
	ex := &archive.Exporter{DB: n.DB, Store: n.Store, Version: node.Version}
	if err := ex.Export(ctx, assets, *out, ident); err != nil {
		return err
	}
	fmt.Printf("wrote %d assets to %s\n", len(assets), *out)
	return bagVerify(*out)
}

func bagVerify(dir string) error {
	rep, err := bagit.Verify(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "valid bag: %d payload files, %s, %d tag files verified\n", rep.PayloadFiles, human(rep.PayloadBytes), rep.TagFiles)
	return nil
}
