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
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/av"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/doctask"
	"stor/internal/fixity"
	"stor/internal/iiifserver"
	"stor/internal/imagetask"
	"stor/internal/ingest"
	"stor/internal/metatask"
	"stor/internal/pipeline"
	"stor/internal/presentation"
	"stor/internal/replica"
	"stor/internal/storage"
	"stor/internal/storage/disk"
	"stor/internal/storage/s3"
	"stor/internal/uploads"
	"stor/internal/webui"
)

// Version is set at build time with -ldflags "-X stor/internal/node.Version=...".
var Version = "dev"

// Roles of a process: RoleServe answers HTTP (and runs tasks unless
// Workers is 0); RoleWorker only runs tasks.
const (
	RoleServe  = "serve"
	RoleWorker = "worker"
)

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
	// Replicas are the extra stores of STOR_REPLICAS.
	Replicas []fixity.Copy
	// Auditor checks fixity; Purger removes deleted assets' bytes.
	Auditor *fixity.Auditor
	Purger  *fixity.Purger
	// Uploads is tus at /uploads/; Fetch is POST /api/v1/assets/from-url.
	Uploads *uploads.Service
	Fetch   *uploads.Fetcher
	// Tools are the per-process engines (libvips, exiftool pool, PRONOM).
	Tools Tools
	// IIIF serves the Image API at /iiif/3 and /iiif/2.
	IIIF *iiifserver.Server

	role        string
	draining    atomic.Bool
	httpMu      sync.Mutex
	http        *http.Server
	shut        bool // Shutdown was called
	lock        *os.File
	stopSweeper context.CancelFunc
	tusLocker   *uploads.PGLocker // on PostgreSQL
	// storeRetries counts retried blob-store requests by op.
	storeRetries *prometheus.CounterVec
}

// Open connects to the database and the store and applies migrations.
// The pipeline runs this build's tasks (Tasks).
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Node, error) {
	return open(ctx, cfg, log, pipeline.Config{}, func(t Tools) []pipeline.Task { return Tasks(cfg, t) })
}

// OpenWith is Open with exactly the given processing tasks instead of this
// build's own: tests and benchmarks of the pipeline itself run tasks that
// fail, hang or crash on purpose, on PNG-looking files the image tasks
// would otherwise try to decode.
func OpenWith(ctx context.Context, cfg config.Config, log *slog.Logger, tasks []pipeline.Task) (*Node, error) {
	return OpenWithPipeline(ctx, cfg, log, pipeline.Config{}, tasks)
}

// OpenWithPipeline is OpenWith with pipeline settings beyond the config's;
// nil tasks means this build's own (Tasks), an empty list means none
// (its Load probe, for tests of load-aware admission).
func OpenWithPipeline(ctx context.Context, cfg config.Config, log *slog.Logger, pcfg pipeline.Config, tasks []pipeline.Task) (*Node, error) {
	return open(ctx, cfg, log, pcfg, func(t Tools) []pipeline.Task {
		if tasks == nil {
			return Tasks(cfg, t)
		}
		return tasks
	})
}

// OpenPipeline is Open with pipeline settings beyond the config's (a Load
// probe for tests on a busy machine) and this build's tasks.
func OpenPipeline(ctx context.Context, cfg config.Config, log *slog.Logger, pcfg pipeline.Config) (*Node, error) {
	return open(ctx, cfg, log, pcfg, func(t Tools) []pipeline.Task { return Tasks(cfg, t) })
}

func open(ctx context.Context, cfg config.Config, log *slog.Logger, pcfg pipeline.Config, tasks func(Tools) []pipeline.Task) (*Node, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := catalog.Open(ctx, cfg.DatabaseURL, filepath.Join(cfg.DataDir, "stor.db"))
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	storeRetries := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stor_storage_retries_total",
		Help: "Requests to the blob store (S3) retried after a failure, by operation."}, []string{"op"})
	reg.MustRegister(storeRetries)
	store, err := OpenStore(ctx, cfg, storeRetries)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "tmp"), 0o750); err != nil {
		db.Close()
		return nil, fmt.Errorf("data dir: %w", err)
	}
	tools, err := openTools(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	if pcfg.Role == "" {
		pcfg.Role = RoleServe
	}
	n := &Node{Cfg: cfg, Log: log, DB: db, Store: store, Reg: reg, Tools: tools, storeRetries: storeRetries, role: pcfg.Role}
	if err := n.openPreservation(&pcfg); err != nil {
		tools.Close()
		db.Close()
		return nil, err
	}
	n.Reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pcfg.Workers, pcfg.HeavyWorkers, pcfg.AlertWebhookURL = cfg.Workers, cfg.HeavyWorkers, cfg.AlertWebhookURL
	pcfg.BaseURL, pcfg.TempDir = cfg.BaseURL(), filepath.Join(cfg.DataDir, "tmp")
	pcfg.RetryBase, pcfg.PollInterval = cfg.RetryBase, cfg.PollInterval
	if pcfg.MaxLoadPerCPU == 0 {
		pcfg.MaxLoadPerCPU = cfg.MaxLoadPerCPU
	}
	if _, ok := store.(storage.MultipartUploader); ok {
		// Direct uploads (/api/v1/uploads/s3) left unfinished are aborted
		// after the resumable-upload expiry, once across a cluster.
		pcfg.Periodic = append(pcfg.Periodic, pipeline.Periodic{Name: "s3-uploads",
			Interval: max(time.Minute, min(time.Hour, cfg.UploadExpiry/4)),
			Run: func(ctx context.Context) error {
				k, err := api.SweepS3Uploads(ctx, db, store, cfg.UploadExpiry)
				if k > 0 {
					log.InfoContext(ctx, "aborted abandoned direct uploads", "uploads", k)
				}
				return err
			}})
	}
	ts := tasks(tools)
	// Fills in the MD5 of uploads that deferred it (STOR_INGEST_MD5);
	// applies to no other asset.
	ts = append(ts, fixity.MD5Task())
	if len(n.Replicas) > 0 {
		// Replication is storage policy, not media processing: it runs
		// whatever tasks the caller chose.
		ts = append(ts, fixity.ReplicateTask(n.Replicas))
	}
	n.Pipe, err = pipeline.New(ctx, db, store, log, pipeline.NewMetrics(n.Reg), pcfg, ts)
	if err != nil {
		tools.Close()
		db.Close()
		return nil, err
	}
	n.Pipe.RegisterQueueDepth(n.Reg)
	n.Auditor.Alerts = n.Pipe
	n.Ingest = &ingest.Ingester{
		DB: db, Store: store, SpoolDir: filepath.Join(cfg.DataDir, "spool"),
		MaxSize: int64(cfg.MaxUploadSize), Identify: identify, Enqueue: n.Pipe, Log: log,
		DeferMD5: cfg.IngestMD5 == "deferred",
	}
	keys, err := auth.LoadOrCreateSigningKeys(cfg.SigningKeys, cfg.DataDir)
	if err != nil {
		tools.Close()
		db.Close()
		return nil, err
	}
	proxies, err := cfg.TrustedProxyList()
	if err != nil {
		tools.Close()
		db.Close()
		return nil, err
	}
	n.API = &api.Server{
		Signer: &auth.Signer{Keys: keys}, Events: n.Pipe, CORSOrigins: cfg.CORSList(),
		DB: db, Store: store, Ingest: n.Ingest, Auth: &auth.Authenticator{DB: db.Reader(), Writer: db.Writer(), Tokens: &auth.TokenCache{}},
		Access:     &api.AccessCache{},
		SessionTTL: cfg.SessionTTL, TrustedProxies: proxies,
		Lockout: &auth.Lockout{Attempts: cfg.SignInLockoutAttempts, Window: cfg.SignInLockoutWindow,
			Duration: cfg.SignInLockoutDuration, Max: cfg.SignInLockoutMax},
		Limits: api.Limits{SignInPerMinute: cfg.SignInRateLimit, UploadsPerMinute: cfg.UploadRateLimit,
			RequestsPerSecond: cfg.RateLimit, DownloadRate: int64(cfg.DownloadRate)},
		Log: log, BaseURL: cfg.BaseURL(), MaxBody: int64(cfg.MaxUploadSize), Version: Version,
		Processing: n.Pipe, Metrics: promhttp.HandlerFor(n.Reg, promhttp.HandlerOpts{}),
		HTTPDuration: api.NewHTTPDuration(n.Reg), Draining: n.draining.Load,
		Links:    imagetask.Links(imageConfig(cfg), cfg.BaseURL()),
		Metadata: &metatask.Writer{Pool: tools.Exif}, TempDir: filepath.Join(cfg.DataDir, "tmp"),
	}
	if cfg.S3Presign {
		n.API.PresignExpiry = cfg.S3PresignExpiry
	}
	n.API.S3PartURLExpiry = cfg.S3PresignExpiry
	n.API.AccelRedirect = cfg.AccelRedirect
	// DATA/uploads sits beside DATA/blobs, so a finished upload lands by rename.
	ucfg := uploads.Config{
		Dir: filepath.Join(cfg.DataDir, "uploads"), MaxSize: int64(cfg.MaxUploadSize),
		Expiry: cfg.UploadExpiry, BaseURL: cfg.BaseURL(), Ingest: n.Ingest, Auth: n.API.Auth, Log: log,
	}
	if db.Dialect() == "postgres" {
		// tus locks shared by every node of the database.
		if n.tusLocker, err = uploads.NewPGLocker(ctx, cfg.DatabaseURL, 0); err != nil {
			db.Close()
			return nil, err
		}
		ucfg.Locker = n.tusLocker
	}
	n.Uploads, err = uploads.New(ucfg)
	if err != nil {
		if n.tusLocker != nil {
			n.tusLocker.Close()
		}
		db.Close()
		return nil, err
	}
	n.Fetch = &uploads.Fetcher{
		DB: db, Ingest: n.Ingest, API: n.API, Log: log, BaseURL: cfg.BaseURL(),
		Timeout: cfg.FetchTimeout, Policy: uploads.AddrPolicy{AllowPrivate: cfg.FetchAllowPrivate},
	}
	n.API.Extra = append(n.API.Extra, n.Uploads.Routes()...)
	n.API.Extra = append(n.API.Extra, n.Fetch.Route())
	if err := n.openIIIF(); err != nil {
		n.Close()
		return nil, err
	}
	n.API.Extra = append(n.API.Extra, uiRoutes(uiConnect(cfg))...)
	avs := &av.Server{DB: db, Store: store, BaseURL: cfg.BaseURL()}
	n.API.Extra = append(n.API.Extra, avs.Routes()...)
	n.API.Links = joinLinks(n.API.Links, avs.Links)
	docs := &doctask.Server{DB: db, BaseURL: cfg.BaseURL(), ThumbSize: nearest400(cfg.ThumbnailSizes)}
	n.API.Extra = append(n.API.Extra, docs.Routes()...)
	n.API.Links = joinLinks(n.API.Links, docs.Links)
	// IIIF Presentation manifests, built on the other features' links.
	pres := &presentation.Server{DB: db, BaseURL: cfg.BaseURL(), Links: n.API.Links}
	n.API.Extra = append(n.API.Extra, pres.Routes()...)
	n.API.Links = joinLinks(n.API.Links, pres.AssetLinks)
	return n, nil
}

// HealthHandler serves /healthz, /readyz (the API's own checks) and
// /metrics without authentication: `stor worker` listens with it on
// STOR_METRICS_ADDR, an address meant for the orchestrator and Prometheus
// only.
func (n *Node) HealthHandler() http.Handler {
	api := n.API.Handler()
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", api)
	mux.Handle("GET /readyz", api)
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.Reg, promhttp.HandlerOpts{}))
	return mux
}

// OpenStore opens the blob store the configuration names: an S3 bucket
// when STOR_S3_ENDPOINT and STOR_S3_BUCKET are set, else DataDir/blobs.
// retries, if not nil, counts retried S3 requests by operation.
func OpenStore(ctx context.Context, cfg config.Config, retries *prometheus.CounterVec) (storage.Store, error) {
	if !cfg.S3Store() {
		return disk.New(filepath.Join(cfg.DataDir, "blobs"))
	}
	return s3.New(ctx, S3Config(cfg, retries))
}

// S3Config is the S3 store's configuration (bucket as configured).
func S3Config(cfg config.Config, retries *prometheus.CounterVec) s3.Config {
	c := s3.Config{
		Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region,
		AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, TLS: cfg.S3TLS,
		PathStyle: cfg.S3PathStyle, PartSize: int64(cfg.S3PartSize),
	}
	if retries != nil {
		c.OnRetry = func(op string) { retries.WithLabelValues(op).Inc() }
	}
	return c
}

// uiRoutes serves the embedded web UI at "/". They are public: the shell
// holds no data and every call it makes goes through the authenticated API.
func uiRoutes(connect []string) []api.Route {
	ui := webui.Handler(connect...)
	var rs []api.Route
	for _, p := range webui.Patterns() {
		rs = append(rs, api.Route{Method: "GET", Pattern: p, Handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
			ui.ServeHTTP(w, r)
			return nil
		}})
	}
	return rs
}

// Close stops the per-process tools and releases the database. It leaves
// libvips running: libvips cannot be started again in a process once shut
// down, and a process may open more than one node (tests, `stor ingest`);
// the command calls vips.Shutdown once, at exit.
func (n *Node) Close() error {
	if n.IIIF != nil {
		n.IIIF.Close()
	}
	terr := n.Tools.Close()
	if n.Pipe != nil {
		n.Pipe.Close()
	}
	if n.tusLocker != nil {
		n.tusLocker.Close()
	}
	if err := n.DB.Close(); err != nil {
		return err
	}
	return terr
}

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

// Serve runs the HTTP server on ln until Shutdown is called. A Shutdown
// that comes first (a test that ends at once) makes it return at once
// instead of serving forever.
func (n *Node) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           n.API.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.Log.Handler(), slog.LevelWarn),
	}
	n.httpMu.Lock()
	if n.shut {
		n.httpMu.Unlock()
		ln.Close()
		return nil
	}
	n.http = srv
	n.httpMu.Unlock()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Drain marks the node as shutting down: /readyz answers 503 from now on.
func (n *Node) Drain() { n.draining.Store(true) }

// Shutdown stops accepting requests and waits for running ones.
func (n *Node) Shutdown(ctx context.Context) error {
	n.Drain()
	n.httpMu.Lock()
	n.shut = true
	srv := n.http
	n.httpMu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Start starts background work: the task workers (when Workers > 0) and
// the node's heartbeat, by which live workers requeue the tasks of a
// process that died. An API node (not Role "worker") also starts the
// sweeper of expired resumable uploads and the fetches from URLs
// (fetching again those a stopped process left).
func (n *Node) Start(ctx context.Context) error {
	if err := n.Pipe.Start(ctx); err != nil {
		return err
	}
	if n.role == RoleWorker {
		return nil
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.stopSweeper = cancel
	go n.Uploads.RunSweeper(sctx)
	return n.Fetch.Start(ctx)
}

// Stop drains: workers stop taking tasks at once and running tasks
// finish until ctx's deadline; those still running then are cancelled and
// requeued without using an attempt. Running fetches are cut (and fetched
// again at the next start).
func (n *Node) Stop(ctx context.Context) {
	if n.stopSweeper != nil {
		n.stopSweeper()
	}
	if n.role != RoleWorker {
		n.Fetch.Stop()
	}
	n.Pipe.Stop(ctx)
}

// openPreservation opens the replicas and sets up fixity audits and purges,
// adding their schedules to pcfg.
func (n *Node) openPreservation(pcfg *pipeline.Config) error {
	specs, err := replica.ParseList(n.Cfg.Replicas)
	if err != nil {
		return fmt.Errorf("config: replicas: %w", err)
	}
	var openers replica.Openers
	if n.Cfg.S3Endpoint != "" {
		openers.S3 = func(bucket, prefix string) (storage.Store, error) {
			c := S3Config(n.Cfg, n.storeRetries)
			c.Bucket, c.Prefix = bucket, prefix
			return s3.New(context.Background(), c)
		}
	}
	reps, err := replica.Open(specs, openers)
	if err != nil {
		return err
	}
	for _, r := range reps {
		n.Replicas = append(n.Replicas, fixity.Copy{Name: r.Name, Store: r.Store})
	}
	n.Auditor = fixity.NewAuditor(n.DB, n.Store, n.Replicas, n.Log)
	n.Auditor.Pacer = fixity.NewPacer(int64(n.Cfg.FixityBytesPerSecond))
	n.Auditor.Derivatives = n.Cfg.FixityDerivatives
	n.Purger = &fixity.Purger{DB: n.DB, Copies: n.Auditor.Copies, After: n.Cfg.PurgeAfter, Log: n.Log}
	if iv := n.Cfg.FixityInterval; iv > 0 {
		pcfg.Periodic = append(pcfg.Periodic, pipeline.Periodic{Name: "fixity", Interval: iv,
			Run: n.Auditor.Scheduled(n.Cfg.FixityCycle, iv, uuid.NewString)})
	}
	if n.Cfg.PurgeAfter > 0 {
		pcfg.Periodic = append(pcfg.Periodic, pipeline.Periodic{Name: "purge",
			Interval: max(time.Minute, min(time.Hour, n.Cfg.PurgeAfter)),
			Run: func(ctx context.Context) error {
				txid := uuid.NewString()
				k, err := n.Purger.Run(ctx, txid)
				if k > 0 {
					n.Log.InfoContext(ctx, "purged deleted assets", "assets", k, "txid", txid)
				}
				return err
			}})
	}
	return nil
}

// joinLinks asks each media feature for its links to an asset.
// nearest400 is the thumbnail size the UI and links use.
func nearest400(sizes []int) int {
	best := 400
	for i, s := range sizes {
		if i == 0 || abs(s-400) < abs(best-400) {
			best = s
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

func joinLinks(fns ...func(*catalog.Asset) map[string]string) func(*catalog.Asset) map[string]string {
	return func(a *catalog.Asset) map[string]string {
		out := map[string]string{}
		for _, fn := range fns {
			if fn == nil {
				continue
			}
			for k, v := range fn(a) {
				if _, taken := out[k]; !taken {
					out[k] = v
				}
			}
		}
		return out
	}
}

// LockDataDir takes a shared lock on the data dir for this process's
// life. Several processes may share a data dir on one machine (stor serve
// --workers=0 beside stor worker: SQLite's own locks serialise their
// writes, and the heartbeats of the nodes table tell live owners of
// running tasks from dead ones). Offline commands that must be alone take
// it exclusively (LockDataDirExclusive). SQLite's locks work only on a
// local file system, so a SQLite data dir on a network file system is
// refused: use PostgreSQL to run on several machines.
func (n *Node) LockDataDir() error { return n.lockDataDir(unix.LOCK_SH) }

// LockDataDirExclusive is LockDataDir for a process that must be the only
// one on the data dir.
func (n *Node) LockDataDirExclusive() error { return n.lockDataDir(unix.LOCK_EX) }

func (n *Node) lockDataDir(how int) error {
	if n.DB.Dialect() == "sqlite" {
		if fs, err := networkFS(n.Cfg.DataDir); err != nil {
			return fmt.Errorf("data dir: %w", err)
		} else if fs != "" {
			return fmt.Errorf("data dir %s is on a network file system (%s): SQLite needs a local disk; use PostgreSQL (STOR_DATABASE_URL) to share a database between machines", n.Cfg.DataDir, fs)
		}
	}
	f, err := os.OpenFile(filepath.Join(n.Cfg.DataDir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("data dir lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		if how == unix.LOCK_EX {
			return fmt.Errorf("data dir %s is in use by a running stor process: %w", n.Cfg.DataDir, err)
		}
		return fmt.Errorf("data dir %s is held by a command that must run alone: %w", n.Cfg.DataDir, err)
	}
	n.lock = f
	return nil
}

// networkFS names the network file system dir is on, or "" for a local one.
func networkFS(dir string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", err
	}
	switch uint32(st.Type) {
	case unix.NFS_SUPER_MAGIC:
		return "nfs", nil
	case unix.SMB_SUPER_MAGIC, 0xFF534D42, 0xFE534D42: // smb, cifs, smb2
		return "smb/cifs", nil
	case 0x65735546: // fuse (sshfs, s3fs, gcsfuse...)
		return "fuse", nil
	}
	return "", nil
}

// uiConnect are the origins besides its own that the web UI fetches from:
// the S3 endpoint (path-style and virtual-host-style bucket URLs) that
// direct uploads PUT their parts to.
func uiConnect(cfg config.Config) []string {
	if !cfg.S3Store() {
		return nil
	}
	host, tls, err := s3.ParseEndpoint(cfg.S3Endpoint, cfg.S3TLS)
	if err != nil {
		return nil
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	out := []string{scheme + host}
	if h, _, err := net.SplitHostPort(host); err != nil || net.ParseIP(h) == nil {
		if net.ParseIP(host) == nil {
			out = append(out, scheme+"*."+host)
		}
	}
	return out
}
