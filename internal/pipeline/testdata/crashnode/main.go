// Command crashnode is stor serve with one extra slow task that writes a
// derivative in many small pieces, so a test can SIGKILL it mid-task and
// check that the restarted process finishes every task with whole output.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pipeline"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// slowReader yields its data a little at a time.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 512)])
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := config.Default()
	var fs = newFlagSet()
	cfg.Bind(fs)
	if err := cfg.Resolve(fs, os.Getenv); err != nil {
		return err
	}
	log := logging.New(os.Stderr, "json", "info")
	var pcfg pipeline.Config
	if v := os.Getenv("CRASHNODE_RESCUE_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		pcfg.RescueAfter = d
	}
	copyTask := pipeline.Task{
		Name: "copy", Required: true, Class: pipeline.Light, Timeout: time.Minute,
		Applies: func(*catalog.Asset) bool { return true },
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			path, err := tc.OriginalFile(ctx)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return tc.PutDerivative(ctx, catalog.Derivative{Name: "copy", ContentType: "application/octet-stream"},
				slowReader{bytes.NewReader(bytes.Repeat(b, 64))})
		},
	}
	n, err := node.OpenWithPipeline(ctx, cfg, log, pcfg, []pipeline.Task{copyTask})
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), cfg.BootstrapToken); err != nil {
		return err
	}
	ln, err := n.Listen()
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	go n.Serve(ln)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.Shutdown(sctx)
	n.Stop(sctx)
	return nil
}
