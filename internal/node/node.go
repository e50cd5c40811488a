// Package node assembles one stor process from its configuration: the
// catalog database, the blob store, the ingester, the HTTP API and the
// task workers. The commands in cmd/stor are thin layers over it.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/av"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/ingest"
	"stor/internal/pipeline"
	"stor/internal/storage"
	"stor/internal/storage/disk"
)

// Version is set at build time with -ldflags "-X stor/internal/node.Version=...".
var Version = "dev"

// Node is one running stor process.
type Node struct {
	Cfg    config.Config
	Log    *slog.Logger
	DB     *catalog.DB
	Store  storage.Store
	Ingest *ingest.Ingester
	API    *api.Server
	Pipe   *pipeline.Pipeline
	Reg    *prometheus.Registry

	http *http.Server
}

// Open connects to the database and the store and applies migrations.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Node, error) {
	return OpenWith(ctx, cfg, log, nil)
}

// OpenWith is Open with extra processing tasks after this build's own
// (tests use it to run tasks that fail, hang or crash on purpose).
func OpenWith(ctx context.Context, cfg config.Config, log *slog.Logger, extra []pipeline.Task) (*Node, error) {
	return OpenWithPipeline(ctx, cfg, log, pipeline.Config{}, extra)
}

// OpenWithPipeline is OpenWith with pipeline settings beyond the config's
// (its Load probe, for tests of load-aware admission).
func OpenWithPipeline(ctx context.Context, cfg config.Config, log *slog.Logger, pcfg pipeline.Config, extra []pipeline.Task) (*Node, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := catalog.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "stor.db"))
	if err != nil {
		return nil, err
	}
	store, err := disk.New(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		db.Close()
		return nil, err
	}
	n := &Node{Cfg: cfg, Log: log, DB: db, Store: store, Reg: prometheus.NewRegistry()}
	n.Reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pcfg.Workers, pcfg.HeavyWorkers, pcfg.AlertWebhookURL = cfg.Workers, cfg.HeavyWorkers, cfg.AlertWebhookURL
	pcfg.BaseURL, pcfg.TempDir = cfg.BaseURL(), filepath.Join(cfg.DataDir, "tmp")
	pcfg.RetryBase, pcfg.PollInterval = cfg.RetryBase, cfg.PollInterval
	n.Pipe, err = pipeline.New(ctx, db, store, log, pipeline.NewMetrics(n.Reg), pcfg, append(Tasks(cfg), extra...))
	if err != nil {
		db.Close()
		return nil, err
	}
	n.Pipe.RegisterQueueDepth(n.Reg)
	n.Ingest = &ingest.Ingester{
		DB: db, Store: store, SpoolDir: filepath.Join(cfg.DataDir, "spool"),
		MaxSize: int64(cfg.MaxUploadSize), Identify: identify, Enqueue: n.Pipe, Log: log,
	}
	n.API = &api.Server{
		DB: db, Store: store, Ingest: n.Ingest, Auth: &auth.Authenticator{DB: db.Reader()},
		Log: log, BaseURL: cfg.BaseURL(), MaxBody: int64(cfg.MaxUploadSize), Version: Version,
		Processing: n.Pipe, Metrics: promhttp.HandlerFor(n.Reg, promhttp.HandlerOpts{}),
		HTTPDuration: api.NewHTTPDuration(n.Reg),
	}
	avs := &av.Server{DB: db, Store: store, BaseURL: cfg.BaseURL()}
	n.API.Extra = append(n.API.Extra, avs.Routes()...)
	n.API.Links = avs.Links
	return n, nil
}

// Close releases the database.
func (n *Node) Close() error { return n.DB.Close() }

// SweepSpool removes spool files older than age: uploads that a crash or a
// kill cut off. They were never originals, so nothing else refers to them.
func (n *Node) SweepSpool(age time.Duration) {
	entries, err := os.ReadDir(n.Ingest.SpoolDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err == nil && time.Since(fi.ModTime()) > age && strings.HasPrefix(e.Name(), "upload-") {
			p := filepath.Join(n.Ingest.SpoolDir, e.Name())
			if os.Remove(p) == nil {
				n.Log.Info("removed abandoned spool file", "file", e.Name(), "size", fi.Size())
			}
		}
	}
}

// Listen binds the HTTP address; Serve then serves on it until Shutdown.
func (n *Node) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", n.Cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", n.Cfg.Addr, err)
	}
	return ln, nil
}

// Serve runs the HTTP server on ln until Shutdown is called.
func (n *Node) Serve(ln net.Listener) error {
	n.http = &http.Server{
		Handler:           n.API.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.Log.Handler(), slog.LevelWarn),
	}
	err := n.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for running ones.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.http == nil {
		return nil
	}
	return n.http.Shutdown(ctx)
}

// Start starts background work: the task workers. The embedded default
// is one process per data dir, so jobs a killed process left running are
// requeued at once.
func (n *Node) Start(ctx context.Context) error {
	return n.Pipe.Start(ctx, n.DB.Dialect() == "sqlite")
}

// Stop lets running tasks finish until ctx's deadline, then cancels them.
func (n *Node) Stop(ctx context.Context) { n.Pipe.Stop(ctx) }
