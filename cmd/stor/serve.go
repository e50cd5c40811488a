package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pipeline"
)

type serveCmd struct{}

// loadConfig parses flags into the documented defaults, then resolves the
// environment and the config file.
func loadConfig(name string, args []string, extra func(fs *flag.FlagSet)) (config.Config, *flag.FlagSet, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("stor "+name, flag.ContinueOnError)
	cfg.Bind(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	return cfg, fs, cfg.Resolve(fs, os.Getenv)
}

func (serveCmd) Run(ctx context.Context, args []string) error {
	cfg, _, err := loadConfig("serve", args, nil)
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	n, err := node.OpenPipeline(ctx, cfg, log, pipeline.Config{Role: node.RoleServe})
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.LockDataDir(); err != nil {
		return err
	}
	// Uploads cut off by a crash; a live one (here or in another process on
	// this data dir) was written to within the hour.
	n.SweepSpool(time.Hour)

	secret, err := auth.Bootstrap(ctx, n.DB.Writer(), cfg.BootstrapToken)
	if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	ln, err := n.Listen()
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	fmt.Printf("stor %s is running: open %s/\n", node.Version, cfg.BaseURL())
	switch {
	case secret != "" && cfg.BootstrapToken == "":
		fmt.Printf("admin token (shown once, keep it): %s\n", secret)
	case secret != "":
		fmt.Println("admin token: the one given in STOR_BOOTSTRAP_TOKEN")
	}
	log.Info("listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "version", node.Version)

	errc := make(chan error, 1)
	go func() { errc <- n.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return drain(log, n, cfg, func(ctx context.Context) error { return n.Shutdown(ctx) })
}

// drain is the SIGTERM path of serve and worker: /readyz turns 503, then
// HTTP requests finish (up to ShutdownTimeout) while the workers stop
// fetching and their running tasks finish (up to DrainTimeout); tasks
// still running then are cancelled and requeued without using an attempt.
func drain(log *slog.Logger, n *node.Node, cfg config.Config, shutdownHTTP func(context.Context) error) error {
	log.Info("shutting down: draining", "shutdown_timeout", cfg.ShutdownTimeout.String(), "drain_timeout", cfg.DrainTimeout.String())
	n.Drain()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		hctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		errc <- shutdownHTTP(hctx)
	}()
	dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancel()
	n.Stop(dctx)
	err := <-errc
	log.Info("drained", "duration_ms", time.Since(start).Milliseconds())
	return err
}
