package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pipeline"
)

// workerCmd runs tasks only: no API. Many workers (and many
// `stor serve --workers=0`) may work one database; see docs/deployment.md.
type workerCmd struct{}

func (workerCmd) Run(ctx context.Context, args []string) error {
	cfg, _, err := loadConfig("worker", args, nil)
	if err != nil {
		return err
	}
	if cfg.Workers < 1 {
		return errors.New("config: workers (STOR_WORKERS): stor worker needs at least 1")
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel).With("role", node.RoleWorker)
	n, err := node.OpenPipeline(ctx, cfg, log, pipeline.Config{Role: node.RoleWorker})
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.LockDataDir(); err != nil {
		return err
	}
	var srv *http.Server
	errc := make(chan error, 1)
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.MetricsAddr, err)
		}
		srv = &http.Server{Handler: n.HealthHandler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		log.Info("health and metrics", "addr", ln.Addr().String())
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	log.Info("worker started", "node", n.Pipe.NodeID(), "workers", cfg.Workers, "heavy_workers", cfg.HeavyWorkers,
		"data_dir", cfg.DataDir, "version", node.Version)
	select {
	case err := <-errc:
		drain(log, n, cfg, func(context.Context) error { return nil })
		return err
	case <-ctx.Done():
	}
	return drain(log, n, cfg, func(ctx context.Context) error {
		if srv == nil {
			return nil
		}
		return srv.Shutdown(ctx)
	})
}
