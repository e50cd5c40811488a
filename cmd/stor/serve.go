package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
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
	n, err := node.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.LockDataDir(); err != nil {
		return err
	}
	n.SweepSpool(time.Minute) // uploads cut off by a crash; live ones are being written now

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
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = n.Shutdown(sctx)
	n.Stop(sctx)
	return err
}
