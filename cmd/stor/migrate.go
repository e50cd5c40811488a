package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"stor/internal/config"
	"stor/internal/node"
	"stor/internal/storage/disk"
	"stor/internal/storage/migrate"
	"stor/internal/storage/s3"
)

type migrateStoreCmd struct{}

func (migrateStoreCmd) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stor migrate-store", flag.ContinueOnError)
	to := fs.String("to", "", "destination: s3 (the bucket of --s3-endpoint/--s3-bucket)")
	quiet := fs.Bool("quiet", false, "print only the summary")
	cfg := config.Default()
	cfg.Bind(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stor migrate-store --to s3 --data-dir DIR [--s3-... flags or STOR_S3_* environment]\n\n"+
			"Copies every original and derivative from DIR/blobs to the S3 bucket, verifying each object\n"+
			"(read back and hashed). Resumable: objects already there and verified are skipped, so an\n"+
			"interrupted run is run again. Stop the server first; start it with STOR_S3_* afterwards. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Resolve(fs, os.Getenv); err != nil {
		return err
	}
	if *to != "s3" {
		return errors.New("migrate-store: --to s3 is the only destination")
	}
	if !cfg.S3Store() {
		return errors.New("migrate-store: set the S3 bucket: --s3-endpoint and --s3-bucket (or STOR_S3_ENDPOINT, STOR_S3_BUCKET) and the credentials")
	}
	blobs := filepath.Join(cfg.DataDir, "blobs")
	if _, err := os.Stat(blobs); err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	src, err := disk.New(blobs)
	if err != nil {
		return err
	}
	dst, err := s3.New(ctx, node.S3Config(cfg, nil))
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	out := os.Stdout
	sum, err := migrate.Run(ctx, src, dst, migrate.Options{Progress: func(key, outcome string, err error) {
		if err != nil {
			fmt.Fprintf(out, "failed  %s: %v\n", key, err)
		} else if !*quiet {
			fmt.Fprintf(out, "%-7s %s\n", outcome, key)
		}
	}})
	fmt.Fprintf(out, "migrate-store: %s\n", sum)
	if err != nil {
		return fmt.Errorf("migrate-store: %w (run again to resume)", err)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("migrate-store: %d objects failed (run again to retry them)", sum.Failed)
	}
	return nil
}
