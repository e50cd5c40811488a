// Package config holds stor's configuration: one struct with documented
// defaults, filled from flags, then STOR_* environment variables, then a
// config file, then the defaults, and validated with errors that name the
// field.
//
// The config file uses the same names as the environment, one
// `STOR_NAME=value` per line (blank lines and # comments allowed), so a
// systemd EnvironmentFile and a stor config file are the same thing.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"stor/internal/auth"
	"stor/internal/replica"
)

// Config is everything `stor serve` and `stor worker` can be told.
type Config struct {
	// Addr is the listen address. Env STOR_ADDR. Default 127.0.0.1:8080.
	Addr string
	// DataDir holds the SQLite database and, on the embedded default, the
	// stored bytes. Env STOR_DATA_DIR. Default ./stor-data.
	DataDir string
	// DatabaseURL, when set, is the PostgreSQL database of the catalog and
	// the job queue (a postgres:// DSN); unset means SQLite in DataDir.
	// Env STOR_DATABASE_URL.
	DatabaseURL string
	// BootstrapToken, when set, is the secret of the first admin token
	// instead of a random one. Env STOR_BOOTSTRAP_TOKEN.
	BootstrapToken string
	// PublicURL is the externally visible base URL used in links and IIIF
	// ids. Env STOR_PUBLIC_URL. Default http://<Addr>.
	PublicURL string
	// MaxUploadSize bounds one upload. Env STOR_MAX_UPLOAD_SIZE. Default 50GiB.
	MaxUploadSize ByteSize
	// IngestMD5 says when an upload's MD5 is computed: "inline" (as the
	// bytes arrive, beside SHA-256: in the asset from its first answer) or
	// "deferred" (only inline when the client sent an MD5 to verify;
	// otherwise a background "md5" task reads the original once after the
	// commit). MD5 runs at ~0.3–0.6 GB/s on one core here, slower than the
	// rest of an upload: deferred is for sites whose uploads arrive faster
	// than that. Env STOR_INGEST_MD5. Default inline.
	IngestMD5 string
	// ShutdownTimeout is how long a SIGTERM waits for requests and tasks to
	// finish. Env STOR_SHUTDOWN_TIMEOUT. Default 30s.
	ShutdownTimeout time.Duration
	// DrainTimeout is how long a SIGTERM lets running tasks finish after
	// the workers stop fetching new ones; tasks still running then are
	// cancelled and go back to the queue without using an attempt. Env
	// STOR_DRAIN_TIMEOUT. Default 5m.
	DrainTimeout time.Duration
	// MetricsAddr is where `stor worker` serves /healthz, /readyz and
	// /metrics (it has no API); empty serves nothing. Env
	// STOR_METRICS_ADDR. Default none.
	MetricsAddr string
	// Workers is how many tasks this process runs at once; 0 runs none (an
	// API-only node). Env STOR_WORKERS. Default the number of CPUs.
	Workers int
	// HeavyWorkers bounds concurrent heavy tasks (transcodes, pyramids)
	// within Workers. Env STOR_HEAVY_WORKERS. Default max(1, CPUs/2).
	HeavyWorkers int
	// OfficeConverters is how many warm LibreOffice instances convert
	// Office documents at once (each ~150-300 MB resident once started,
	// started on demand). Env STOR_OFFICE_CONVERTERS. Default 1.
	OfficeConverters int
	// MaxLoadPerCPU holds heavy tasks back while the 1-minute load average
	// per CPU is above it (they wait, without using an attempt); 0 turns
	// the check off. Env STOR_MAX_LOAD_PER_CPU. Default 4.
	MaxLoadPerCPU float64
	// RetryBase is the first retry delay of a failed task; each next one
	// doubles (with jitter) up to 10m. Env STOR_RETRY_BASE. Default 5s.
	RetryBase time.Duration
	// PollInterval is how often idle workers look for tasks. Env
	// STOR_POLL_INTERVAL. Default 200ms.
	PollInterval time.Duration
	// MaxImagePixels is the decompression-bomb guard: an image whose header
	// declares more than this many pixels (width×height) fails its image
	// tasks with a clear reason before any pixel is decoded. Env
	// STOR_MAX_IMAGE_PIXELS. Default 1073741824 (2^30, about 1 gigapixel:
	// 32768×32768), above any camera and most museum masters.
	MaxImagePixels int64
	// ThumbnailSizes are the long edges of the thumbnails made of every
	// image, as WebP (thumb-N) and JPEG (thumb-N-jpg). The web UI and the
	// asset links use 400. Env STOR_THUMBNAIL_SIZES. Default 150,400,1024.
	ThumbnailSizes IntList
	// ThumbnailQuality is the encoder quality (1–100) of the thumbnails,
	// JPEG and WebP. Env STOR_THUMBNAIL_QUALITY. Default 80: imgproxy's
	// default and the usual web norm for small images (Q80–82); the JPEGs
	// have optimised Huffman tables, chroma subsampled 4:2:0.
	ThumbnailQuality int
	// PyramidMinSize: images whose long edge is larger get a tiled
	// pyramidal TIFF for the IIIF tile server. Env STOR_PYRAMID_MIN_SIZE.
	// Default 2048.
	PyramidMinSize int
	// ExiftoolProcesses is the number of long-lived exiftool processes
	// (-stay_open) this process keeps for metadata extraction, XMP
	// sidecars and embedding. Env STOR_EXIFTOOL_PROCESSES. Default 2.
	ExiftoolProcesses int
	// ExiftoolTimeout bounds one exiftool call (one file); a call that
	// takes longer fails and its process is killed and replaced. Env
	// STOR_EXIFTOOL_TIMEOUT. Default 30s.
	ExiftoolTimeout time.Duration
	// ExiftoolBinary is the exiftool executable (a path, or a name looked
	// up in PATH). Env STOR_EXIFTOOL. Default "exiftool".
	ExiftoolBinary string
	// OCRLanguages are the Tesseract languages used for OCR, joined with
	// '+' as Tesseract takes them ("eng", "eng+deu"); each needs its
	// tesseract-ocr-LANG package. Env STOR_OCR_LANGUAGES. Default "eng".
	OCRLanguages string
	// AlertWebhookURL receives a Slack-compatible JSON post when a task
	// fails for good. Env STOR_ALERT_WEBHOOK_URL. Default none.
	AlertWebhookURL string
	// Replicas are extra stores that hold a verified copy of every original,
	// comma-separated: "dir:/mnt/b/stor,s3://bucket/prefix" (an s3 replica
	// lives on S3Endpoint). Env STOR_REPLICAS. Default none.
	Replicas string
	// FixityInterval is how often the scheduled fixity audit runs (once
	// across a cluster); 0 turns scheduled audits off. Env
	// STOR_FIXITY_INTERVAL. Default 1h.
	FixityInterval time.Duration
	// FixityBytesPerSecond bounds how fast audits read stored bytes; 0 is
	// no limit. Env STOR_FIXITY_BYTES_PER_SECOND. Default 50MB.
	FixityBytesPerSecond ByteSize
	// FixityCycle is the target time to audit everything once: each run
	// audits total bytes / cycle × interval (at least one asset), least
	// recently checked first. Env STOR_FIXITY_CYCLE. Default 720h (30 days).
	FixityCycle time.Duration
	// FixityDerivatives audits derivatives too (against the checksum their
	// first audit recorded). Env STOR_FIXITY_DERIVATIVES. Default false.
	FixityDerivatives bool
	// PurgeAfter is how long a deleted asset's bytes are kept before a
	// purge removes them (the asset row and its history stay); 0 never
	// purges. Env STOR_PURGE_AFTER. Default 720h.
	PurgeAfter time.Duration
	// LogLevel is debug, info, warn or error. Env STOR_LOG_LEVEL. Default info.
	LogLevel string
	// LogFormat is json or text. Env STOR_LOG_FORMAT. Default json.
	LogFormat string
	// IIIFCacheSize bounds the on-disk cache of rendered IIIF responses
	// (under DataDir/cache/iiif), least recently used evicted first; 0
	// disables it. Env STOR_IIIF_CACHE_SIZE. Default 1GiB.
	IIIFCacheSize ByteSize
	// IIIFSourceCacheSize bounds the local copies of image sources (pyramids)
	// the IIIF server keeps when the store has no local files (S3), under
	// DataDir/cache/iiif-sources. Env STOR_IIIF_SOURCE_CACHE_SIZE. Default 10GiB.
	IIIFSourceCacheSize ByteSize
	// IIIFTileCacheSize bounds the in-memory cache of decoded pyramid tiles
	// that IIIF regions are rendered from (least recently used out; 0
	// disables it). The server's memory may grow by up to about twice this. Env
	// STOR_IIIF_TILE_CACHE_SIZE. Default 64MiB.
	IIIFTileCacheSize ByteSize
	// UploadExpiry is how long an unfinished resumable (tus) upload may sit
	// idle before the sweeper removes its bytes. Env STOR_UPLOAD_EXPIRY.
	// Default 24h.
	UploadExpiry time.Duration
	// FetchAllowPrivate lets POST /api/v1/assets/from-url fetch from
	// loopback, private, link-local and other internal addresses (cloud
	// metadata addresses stay refused). Env STOR_FETCH_ALLOW_PRIVATE.
	// Default false.
	FetchAllowPrivate bool
	// FetchTimeout bounds one fetch of POST /api/v1/assets/from-url. Env
	// STOR_FETCH_TIMEOUT. Default 10m.
	FetchTimeout time.Duration
	// SigningKeys are the HMAC keys of signed URLs, "kid1:base64secret,
	// kid2:base64secret" (secrets of at least 16 bytes): the first signs,
	// all verify, so keys rotate. Env STOR_SIGNING_KEYS. Default: one
	// random key generated at the first start and kept in
	// DataDir/signing.key (mode 0600).
	SigningKeys string
	// CORSOrigins may call the API from a browser page of theirs:
	// comma-separated exact origins (https://shop.example), or * for any;
	// without credentials (bearer tokens, never the UI's cookie). Env
	// STOR_CORS_ORIGINS. Default none.
	CORSOrigins string
	// S3Endpoint is the S3-compatible server (host:port, or a URL whose
	// http/https scheme decides TLS). With S3Bucket it makes the bucket the
	// blob store instead of DataDir/blobs; alone it is where s3:// replicas
	// live. Env STOR_S3_ENDPOINT. Default none (the local disk).
	S3Endpoint string
	// S3Bucket is the bucket holding originals and derivatives (it must
	// exist). Env STOR_S3_BUCKET. Default none.
	S3Bucket string
	// S3Region is the bucket's region. Env STOR_S3_REGION. Default us-east-1.
	S3Region string
	// S3AccessKey and S3SecretKey are the credentials. Env
	// STOR_S3_ACCESS_KEY, STOR_S3_SECRET_KEY.
	S3AccessKey, S3SecretKey string
	// S3TLS talks HTTPS to a host:port endpoint (an endpoint URL's scheme
	// wins). Env STOR_S3_TLS. Default true.
	S3TLS bool
	// S3PathStyle uses path-style bucket URLs (endpoint/bucket/key) instead
	// of choosing automatically (virtual-host style on AWS). Env
	// STOR_S3_PATH_STYLE. Default false.
	S3PathStyle bool
	// S3PartSize is the part size of multipart uploads (at least 5MiB); an
	// object up to this size is one PUT. Each part is held in memory while
	// it is sent, and retried alone. Env STOR_S3_PART_SIZE. Default 16MiB.
	S3PartSize ByteSize
	// S3Presign answers downloads of originals and derivatives, once the
	// request is authorized, with a 302 to a short-lived presigned S3 URL, so
	// the bytes skip stor. Env STOR_S3_PRESIGN. Default false.
	S3Presign bool
	// S3PresignExpiry is how long such a URL (and a browser upload's part
	// URL) stays valid. Env STOR_S3_PRESIGN_EXPIRY. Default 5m.
	S3PresignExpiry time.Duration
	// AccelRedirect, when set (e.g. "/_stor_blobs/"), hands authorized
	// downloads of originals and derivatives on the disk store to nginx:
	// stor checks access and answers with X-Accel-Redirect: AccelRedirect
	// + the object's key, and nginx sends the file from an `internal`
	// location aliased to DATA/blobs/. Env STOR_ACCEL_REDIRECT. Default
	// none (stor streams the bytes).
	AccelRedirect string
	// SessionTTL is how long a web UI session (sign-in with a username and
	// password) lasts. Env STOR_SESSION_TTL. Default 12h.
	SessionTTL time.Duration
	// SignInRateLimit bounds sign-in attempts (POST /api/v1/session, and
	// password changes) per client IP and per credentials, per minute;
	// over it: 429 with Retry-After. 0 turns it off. Env
	// STOR_SIGNIN_RATE_LIMIT. Default 20.
	SignInRateLimit int
	// SignInLockoutAttempts locks a username out of sign-in (429
	// signin_locked, with Retry-After) after this many failed sign-ins
	// within SignInLockoutWindow, from any number of client IPs; unknown
	// usernames lock the same way. 0 turns it off. Env
	// STOR_SIGNIN_LOCKOUT_ATTEMPTS. Default 10.
	SignInLockoutAttempts int
	// SignInLockoutWindow is the window failed sign-ins count in. Env
	// STOR_SIGNIN_LOCKOUT_WINDOW. Default 15m.
	SignInLockoutWindow time.Duration
	// SignInLockoutDuration is how long the first lock lasts; each further
	// lock in a row (within a day) doubles it. Env
	// STOR_SIGNIN_LOCKOUT_DURATION. Default 1m.
	SignInLockoutDuration time.Duration
	// SignInLockoutMax bounds a lock's length. Env STOR_SIGNIN_LOCKOUT_MAX.
	// Default 1h.
	SignInLockoutMax time.Duration
	// TrustedProxies are the reverse proxies (comma-separated CIDRs or
	// addresses) whose Forwarded (RFC 7239) or X-Forwarded-For and X-Forwarded-Proto are believed,
	// for per-IP rate limits, the audit log, sessions and secure cookies;
	// from any other peer those headers are ignored. Env
	// STOR_TRUSTED_PROXIES. Default none.
	TrustedProxies string
	// UploadRateLimit bounds uploads started (POST /api/v1/assets,
	// from-url, tus creation) per token or session and per client IP, per
	// minute; 0 turns it off. Env STOR_UPLOAD_RATE_LIMIT. Default 1200.
	UploadRateLimit int
	// RateLimit bounds every request per token or session and per client
	// IP, in requests per second (bursts of two seconds' worth); 0 turns it
	// off. Env STOR_RATE_LIMIT. Default 0.
	RateLimit float64
	// DownloadRate bounds one download of media (original, derivatives,
	// IIIF, HLS, pages) in bytes per second; a project's download_rate or
	// a signed URL's max_rate applies when lower. 0 is no limit. Env
	// STOR_DOWNLOAD_RATE. Default 0.
	DownloadRate ByteSize
	// ConfigFile is read for STOR_* lines not given as flags or environment.
	// Env STOR_CONFIG. Default none.
	ConfigFile string
}

// S3Store reports whether the blob store is an S3 bucket.
func (c *Config) S3Store() bool { return c.S3Endpoint != "" && c.S3Bucket != "" }

// Default returns the documented defaults.
func Default() Config {
	cpus := runtime.NumCPU()
	return Config{
		Addr:                  "127.0.0.1:8080",
		DataDir:               "./stor-data",
		MaxUploadSize:         50 << 30,
		IngestMD5:             "inline",
		ShutdownTimeout:       30 * time.Second,
		DrainTimeout:          5 * time.Minute,
		Workers:               cpus,
		HeavyWorkers:          max(1, cpus/2),
		OfficeConverters:      1,
		MaxLoadPerCPU:         4,
		RetryBase:             5 * time.Second,
		PollInterval:          200 * time.Millisecond,
		MaxImagePixels:        1 << 30,
		ThumbnailSizes:        IntList{150, 400, 1024},
		ThumbnailQuality:      80,
		PyramidMinSize:        2048,
		ExiftoolProcesses:     2,
		ExiftoolTimeout:       30 * time.Second,
		ExiftoolBinary:        "exiftool",
		OCRLanguages:          "eng",
		UploadExpiry:          24 * time.Hour,
		FetchTimeout:          10 * time.Minute,
		IIIFCacheSize:         1 << 30,
		IIIFSourceCacheSize:   10 << 30,
		IIIFTileCacheSize:     64 << 20,
		LogLevel:              "info",
		LogFormat:             "json",
		S3Region:              "us-east-1",
		S3TLS:                 true,
		S3PartSize:            16 << 20,
		S3PresignExpiry:       5 * time.Minute,
		SessionTTL:            12 * time.Hour,
		SignInRateLimit:       20,
		SignInLockoutAttempts: 10,
		SignInLockoutWindow:   15 * time.Minute,
		SignInLockoutDuration: time.Minute,
		SignInLockoutMax:      time.Hour,
		UploadRateLimit:       1200,

		FixityInterval:       time.Hour,
		FixityBytesPerSecond: 50e6,
		FixityCycle:          720 * time.Hour,
		PurgeAfter:           720 * time.Hour,
	}
}

// field ties one Config field to its flag and environment names.
type field struct {
	flag, env, help string
	bind            func(fs *flag.FlagSet, name, help string)
}

func fields(c *Config) []field {
	str := func(p *string) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.StringVar(p, n, *p, h) }
	}
	dur := func(p *time.Duration) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.DurationVar(p, n, *p, h) }
	}
	num := func(p *int) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.IntVar(p, n, *p, h) }
	}
	num64 := func(p *int64) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.Int64Var(p, n, *p, h) }
	}
	ints := func(p *IntList) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.Var(p, n, h) }
	}
	float := func(p *float64) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.Float64Var(p, n, *p, h) }
	}
	boolean := func(p *bool) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.BoolVar(p, n, *p, h) }
	}
	size := func(p *ByteSize) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, h string) { fs.Var(p, n, h) }
	}
	return []field{
		{"addr", "STOR_ADDR", "listen address", str(&c.Addr)},
		{"data-dir", "STOR_DATA_DIR", "data directory (database and, on the embedded default, stored bytes)", str(&c.DataDir)},
		{"database-url", "STOR_DATABASE_URL", "PostgreSQL DSN (postgres://...) of the catalog and job queue; unset: SQLite in the data dir", str(&c.DatabaseURL)},
		{"bootstrap-token", "STOR_BOOTSTRAP_TOKEN", "secret of the first admin token (default: a random one, printed once)", str(&c.BootstrapToken)},
		{"public-url", "STOR_PUBLIC_URL", "externally visible base URL (default http://ADDR)", str(&c.PublicURL)},
		{"max-upload-size", "STOR_MAX_UPLOAD_SIZE", "largest accepted upload (e.g. 50GiB, 500MB)", size(&c.MaxUploadSize)},
		{"ingest-md5", "STOR_INGEST_MD5", "when uploads get their MD5: inline (as bytes arrive) or deferred (a background task after the commit, unless the client sent one to verify)", str(&c.IngestMD5)},
		{"shutdown-timeout", "STOR_SHUTDOWN_TIMEOUT", "how long SIGTERM waits for requests and tasks", dur(&c.ShutdownTimeout)},
		{"drain-timeout", "STOR_DRAIN_TIMEOUT", "how long SIGTERM lets running tasks finish before they are cancelled and requeued", dur(&c.DrainTimeout)},
		{"metrics-addr", "STOR_METRICS_ADDR", "stor worker: listen address of /healthz, /readyz and /metrics (empty: none)", str(&c.MetricsAddr)},
		{"workers", "STOR_WORKERS", "tasks this process runs at once (0: API only)", num(&c.Workers)},
		{"heavy-workers", "STOR_HEAVY_WORKERS", "heavy tasks (transcodes, pyramids) at once, within --workers", num(&c.HeavyWorkers)},
		{"office-converters", "STOR_OFFICE_CONVERTERS", "warm LibreOffice instances converting Office documents at once", num(&c.OfficeConverters)},
		{"max-load-per-cpu", "STOR_MAX_LOAD_PER_CPU", "heavy tasks wait while the load average per CPU is above this (0: never)", float(&c.MaxLoadPerCPU)},
		{"retry-base", "STOR_RETRY_BASE", "first retry delay of a failed task (doubles each time)", dur(&c.RetryBase)},
		{"poll-interval", "STOR_POLL_INTERVAL", "how often idle workers look for tasks", dur(&c.PollInterval)},
		{"max-image-pixels", "STOR_MAX_IMAGE_PIXELS", "largest image (width×height pixels) the image tasks decode", num64(&c.MaxImagePixels)},
		{"thumbnail-sizes", "STOR_THUMBNAIL_SIZES", "long edges of the thumbnails, comma-separated (e.g. 150,400,1024)", ints(&c.ThumbnailSizes)},
		{"thumbnail-quality", "STOR_THUMBNAIL_QUALITY", "encoder quality of the thumbnails, JPEG and WebP (1-100)", num(&c.ThumbnailQuality)},
		{"pyramid-min-size", "STOR_PYRAMID_MIN_SIZE", "images with a longer long edge get a tiled pyramid", num(&c.PyramidMinSize)},
		{"exiftool-processes", "STOR_EXIFTOOL_PROCESSES", "long-lived exiftool processes for metadata", num(&c.ExiftoolProcesses)},
		{"exiftool-timeout", "STOR_EXIFTOOL_TIMEOUT", "longest one exiftool call (one file) may take", dur(&c.ExiftoolTimeout)},
		{"exiftool", "STOR_EXIFTOOL", "exiftool executable (path or name in PATH)", str(&c.ExiftoolBinary)},
		{"ocr-languages", "STOR_OCR_LANGUAGES", "Tesseract OCR languages joined with + (e.g. eng+deu)", str(&c.OCRLanguages)},
		{"alert-webhook-url", "STOR_ALERT_WEBHOOK_URL", "Slack-compatible webhook for tasks that fail for good", str(&c.AlertWebhookURL)},
		{"replicas", "STOR_REPLICAS", "extra stores holding a verified copy of every original (dir:/path,...)", str(&c.Replicas)},
		{"fixity-interval", "STOR_FIXITY_INTERVAL", "how often the scheduled fixity audit runs (0: never)", dur(&c.FixityInterval)},
		{"fixity-bytes-per-second", "STOR_FIXITY_BYTES_PER_SECOND", "read budget of fixity audits (0: no limit)", size(&c.FixityBytesPerSecond)},
		{"fixity-cycle", "STOR_FIXITY_CYCLE", "target time to audit every original once", dur(&c.FixityCycle)},
		{"fixity-derivatives", "STOR_FIXITY_DERIVATIVES", "audit derivatives too", boolean(&c.FixityDerivatives)},
		{"purge-after", "STOR_PURGE_AFTER", "retention of a deleted asset's bytes before purge (0: never purge)", dur(&c.PurgeAfter)},
		{"log-level", "STOR_LOG_LEVEL", "debug, info, warn or error", str(&c.LogLevel)},
		{"log-format", "STOR_LOG_FORMAT", "json or text", str(&c.LogFormat)},
		{"upload-expiry", "STOR_UPLOAD_EXPIRY", "how long an idle unfinished resumable upload is kept", dur(&c.UploadExpiry)},
		{"fetch-allow-private", "STOR_FETCH_ALLOW_PRIVATE", "let from-url fetch from loopback and private addresses", boolean(&c.FetchAllowPrivate)},
		{"fetch-timeout", "STOR_FETCH_TIMEOUT", "time limit of one from-url fetch", dur(&c.FetchTimeout)},
		{"iiif-cache-size", "STOR_IIIF_CACHE_SIZE", "on-disk cache of rendered IIIF images (0: off)", size(&c.IIIFCacheSize)},
		{"iiif-source-cache-size", "STOR_IIIF_SOURCE_CACHE_SIZE", "local copies of IIIF image sources when the store is remote", size(&c.IIIFSourceCacheSize)},
		{"iiif-tile-cache-size", "STOR_IIIF_TILE_CACHE_SIZE", "in-memory cache of decoded IIIF pyramid tiles (0: off)", size(&c.IIIFTileCacheSize)},
		{"signing-keys", "STOR_SIGNING_KEYS", "HMAC keys of signed URLs, kid:base64secret,... (first signs, all verify; default: generated in the data dir)", str(&c.SigningKeys)},
		{"cors-origins", "STOR_CORS_ORIGINS", "origins allowed to call the API from a browser, comma-separated (* for any)", str(&c.CORSOrigins)},
		{"s3-endpoint", "STOR_S3_ENDPOINT", "S3-compatible server, host:port or http(s)://host:port (with --s3-bucket: the blob store; default the local disk)", str(&c.S3Endpoint)},
		{"s3-bucket", "STOR_S3_BUCKET", "bucket holding originals and derivatives", str(&c.S3Bucket)},
		{"s3-region", "STOR_S3_REGION", "the bucket's region", str(&c.S3Region)},
		{"s3-access-key", "STOR_S3_ACCESS_KEY", "S3 access key", str(&c.S3AccessKey)},
		{"s3-secret-key", "STOR_S3_SECRET_KEY", "S3 secret key", str(&c.S3SecretKey)},
		{"s3-tls", "STOR_S3_TLS", "HTTPS to a host:port S3 endpoint", boolean(&c.S3TLS)},
		{"s3-path-style", "STOR_S3_PATH_STYLE", "path-style bucket URLs (default: automatic)", boolean(&c.S3PathStyle)},
		{"s3-part-size", "STOR_S3_PART_SIZE", "multipart part size of S3 uploads (at least 5MiB)", size(&c.S3PartSize)},
		{"s3-presign", "STOR_S3_PRESIGN", "redirect authorized downloads to short-lived presigned S3 URLs", boolean(&c.S3Presign)},
		{"s3-presign-expiry", "STOR_S3_PRESIGN_EXPIRY", "lifetime of presigned S3 URLs", dur(&c.S3PresignExpiry)},
		{"accel-redirect", "STOR_ACCEL_REDIRECT", "URI prefix of nginx's internal location of DATA/blobs/: downloads on the disk store are answered with X-Accel-Redirect", str(&c.AccelRedirect)},
		{"session-ttl", "STOR_SESSION_TTL", "lifetime of a web UI session", dur(&c.SessionTTL)},
		{"signin-rate-limit", "STOR_SIGNIN_RATE_LIMIT", "sign-in attempts per minute per client IP and per credentials (0: no limit)", num(&c.SignInRateLimit)},
		{"signin-lockout-attempts", "STOR_SIGNIN_LOCKOUT_ATTEMPTS", "failed sign-ins of one username, from any IPs, that lock it out (0: no lockout)", num(&c.SignInLockoutAttempts)},
		{"signin-lockout-window", "STOR_SIGNIN_LOCKOUT_WINDOW", "window in which failed sign-ins of a username count", dur(&c.SignInLockoutWindow)},
		{"signin-lockout-duration", "STOR_SIGNIN_LOCKOUT_DURATION", "first lock of a username; each further lock in a row doubles it", dur(&c.SignInLockoutDuration)},
		{"signin-lockout-max", "STOR_SIGNIN_LOCKOUT_MAX", "longest lock of a username", dur(&c.SignInLockoutMax)},
		{"trusted-proxies", "STOR_TRUSTED_PROXIES", "reverse proxies (CIDRs or addresses, comma-separated) whose Forwarded / X-Forwarded-For/-Proto are believed", str(&c.TrustedProxies)},
		{"upload-rate-limit", "STOR_UPLOAD_RATE_LIMIT", "uploads started per minute per token and per client IP (0: no limit)", num(&c.UploadRateLimit)},
		{"rate-limit", "STOR_RATE_LIMIT", "requests per second per token and per client IP (0: no limit)", float(&c.RateLimit)},
		{"download-rate", "STOR_DOWNLOAD_RATE", "bytes per second of one media download (e.g. 2MB; 0: no limit)", size(&c.DownloadRate)},
		{"config", "STOR_CONFIG", "file of STOR_NAME=value lines", str(&c.ConfigFile)},
	}
}

// Bind registers every field as a flag on fs, with the current values of c
// as defaults. Call Resolve after fs.Parse.
func (c *Config) Bind(fs *flag.FlagSet) {
	for _, f := range fields(c) {
		f.bind(fs, f.flag, fmt.Sprintf("%s (env %s)", f.help, f.env))
	}
}

// Resolve fills the fields not given as flags from the environment, then
// from the config file, then validates. getenv is os.Getenv in production.
func (c *Config) Resolve(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	fl := fields(c)
	// The config file's own location may come from the environment.
	if !given["config"] {
		if v := getenv("STOR_CONFIG"); v != "" {
			c.ConfigFile = v
		}
	}
	file := map[string]string{}
	if c.ConfigFile != "" {
		var err error
		if file, err = readFile(c.ConfigFile); err != nil {
			return err
		}
	}
	for _, f := range fl {
		if given[f.flag] || f.flag == "config" {
			continue
		}
		v, from := getenv(f.env), "environment "+f.env
		if v == "" {
			v, from = file[f.env], c.ConfigFile+": "+f.env
		}
		if v == "" {
			continue
		}
		if err := fs.Set(f.flag, v); err != nil {
			return fmt.Errorf("config: %s: %w", from, err)
		}
	}
	return c.Validate()
}

// Validate checks every field and names the one that is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, a...)))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr (STOR_ADDR)", "%q is not host:port", c.Addr)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data-dir (STOR_DATA_DIR)", "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database-url (STOR_DATABASE_URL)", "must be a postgres:// URL")
	}
	if c.BootstrapToken != "" && len(c.BootstrapToken) < 16 {
		bad("bootstrap-token (STOR_BOOTSTRAP_TOKEN)", "must be at least 16 characters")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("public-url (STOR_PUBLIC_URL)", "%q must start with http:// or https://", c.PublicURL)
	}
	if c.MaxUploadSize <= 0 {
		bad("max-upload-size (STOR_MAX_UPLOAD_SIZE)", "must be positive")
	}
	if c.IngestMD5 != "inline" && c.IngestMD5 != "deferred" {
		bad("ingest-md5 (STOR_INGEST_MD5)", "%q must be inline or deferred", c.IngestMD5)
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown-timeout (STOR_SHUTDOWN_TIMEOUT)", "must not be negative")
	}
	if c.DrainTimeout < 0 {
		bad("drain-timeout (STOR_DRAIN_TIMEOUT)", "must not be negative")
	}
	if c.Workers < 0 {
		bad("workers (STOR_WORKERS)", "must not be negative")
	}
	if c.HeavyWorkers < 1 {
		bad("heavy-workers (STOR_HEAVY_WORKERS)", "must be at least 1")
	}
	if c.OfficeConverters < 1 || c.OfficeConverters > 16 {
		bad("office-converters (STOR_OFFICE_CONVERTERS)", "must be 1 to 16")
	}
	if c.MaxLoadPerCPU < 0 {
		bad("max-load-per-cpu (STOR_MAX_LOAD_PER_CPU)", "must not be negative")
	}
	if c.RetryBase <= 0 {
		bad("retry-base (STOR_RETRY_BASE)", "must be positive")
	}
	if c.PollInterval < time.Millisecond {
		bad("poll-interval (STOR_POLL_INTERVAL)", "must be at least 1ms")
	}
	if _, err := replica.ParseList(c.Replicas); err != nil {
		bad("replicas (STOR_REPLICAS)", "%v", err)
	}
	if c.FixityInterval < 0 {
		bad("fixity-interval (STOR_FIXITY_INTERVAL)", "must not be negative")
	}
	if c.FixityBytesPerSecond < 0 {
		bad("fixity-bytes-per-second (STOR_FIXITY_BYTES_PER_SECOND)", "must not be negative")
	}
	if c.FixityCycle <= 0 {
		bad("fixity-cycle (STOR_FIXITY_CYCLE)", "must be positive")
	}
	if c.PurgeAfter < 0 {
		bad("purge-after (STOR_PURGE_AFTER)", "must not be negative")
	}
	if c.MaxImagePixels <= 0 {
		bad("max-image-pixels (STOR_MAX_IMAGE_PIXELS)", "must be positive")
	}
	if len(c.ThumbnailSizes) == 0 {
		bad("thumbnail-sizes (STOR_THUMBNAIL_SIZES)", "must name at least one size")
	}
	for _, n := range c.ThumbnailSizes {
		if n < 16 || n > 8192 {
			bad("thumbnail-sizes (STOR_THUMBNAIL_SIZES)", "%d is not between 16 and 8192", n)
		}
	}
	if c.ThumbnailQuality < 1 || c.ThumbnailQuality > 100 {
		bad("thumbnail-quality (STOR_THUMBNAIL_QUALITY)", "%d is not between 1 and 100", c.ThumbnailQuality)
	}
	if c.PyramidMinSize < 256 {
		bad("pyramid-min-size (STOR_PYRAMID_MIN_SIZE)", "must be at least 256")
	}
	if c.UploadExpiry < time.Second {
		bad("upload-expiry (STOR_UPLOAD_EXPIRY)", "must be at least 1s")
	}
	if c.FetchTimeout <= 0 {
		bad("fetch-timeout (STOR_FETCH_TIMEOUT)", "must be positive")
	}
	if c.ExiftoolProcesses < 1 || c.ExiftoolProcesses > 64 {
		bad("exiftool-processes (STOR_EXIFTOOL_PROCESSES)", "%d is not between 1 and 64", c.ExiftoolProcesses)
	}
	if c.ExiftoolTimeout <= 0 {
		bad("exiftool-timeout (STOR_EXIFTOOL_TIMEOUT)", "must be positive")
	}
	if strings.TrimSpace(c.ExiftoolBinary) == "" {
		bad("exiftool (STOR_EXIFTOOL)", "must not be empty")
	}
	if !validOCRLanguages(c.OCRLanguages) {
		bad("ocr-languages (STOR_OCR_LANGUAGES)", "%q is not Tesseract languages joined with + (e.g. eng or eng+deu)", c.OCRLanguages)
	}
	if c.IIIFCacheSize < 0 {
		bad("iiif-cache-size (STOR_IIIF_CACHE_SIZE)", "must not be negative")
	}
	if c.IIIFTileCacheSize < 0 {
		bad("iiif-tile-cache-size (STOR_IIIF_TILE_CACHE_SIZE)", "must not be negative")
	}
	if c.IIIFSourceCacheSize < 1<<20 {
		bad("iiif-source-cache-size (STOR_IIIF_SOURCE_CACHE_SIZE)", "must be at least 1MiB")
	}
	if strings.TrimSpace(c.SigningKeys) != "" {
		if _, err := auth.ParseSigningKeys(c.SigningKeys); err != nil {
			bad("signing-keys (STOR_SIGNING_KEYS)", "%v", err)
		}
	}
	for _, o := range c.CORSList() {
		if o != "*" && (!strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.Count(o, "/") != 2) {
			bad("cors-origins (STOR_CORS_ORIGINS)", "%q is not an origin (scheme://host[:port], no path) or *", o)
		}
	}
	if c.S3Bucket != "" && c.S3Endpoint == "" {
		bad("s3-bucket (STOR_S3_BUCKET)", "needs s3-endpoint (STOR_S3_ENDPOINT)")
	}
	if c.S3Endpoint != "" {
		if strings.Contains(c.S3Endpoint, "://") && !strings.HasPrefix(c.S3Endpoint, "http://") && !strings.HasPrefix(c.S3Endpoint, "https://") {
			bad("s3-endpoint (STOR_S3_ENDPOINT)", "%q: want host:port or http(s)://host:port", c.S3Endpoint)
		}
		if c.S3AccessKey == "" || c.S3SecretKey == "" {
			bad("s3-access-key (STOR_S3_ACCESS_KEY)", "an S3 endpoint needs an access key and a secret key")
		}
	}
	if c.S3PartSize < 5<<20 || c.S3PartSize > 5<<30 {
		bad("s3-part-size (STOR_S3_PART_SIZE)", "must be between 5MiB and 5GiB")
	}
	if c.S3PresignExpiry < time.Second || c.S3PresignExpiry > 7*24*time.Hour {
		bad("s3-presign-expiry (STOR_S3_PRESIGN_EXPIRY)", "must be between 1s and 168h")
	}
	if c.AccelRedirect != "" && (!strings.HasPrefix(c.AccelRedirect, "/") || !strings.HasSuffix(c.AccelRedirect, "/")) {
		bad("accel-redirect (STOR_ACCEL_REDIRECT)", "must be a URI prefix starting and ending with /, e.g. /_stor_blobs/")
	}
	if c.S3Presign && c.S3Bucket == "" {
		bad("s3-presign (STOR_S3_PRESIGN)", "needs an S3 store (STOR_S3_ENDPOINT and STOR_S3_BUCKET)")
	}
	if c.SessionTTL < time.Minute {
		bad("session-ttl (STOR_SESSION_TTL)", "must be at least 1m")
	}
	if c.SignInRateLimit < 0 {
		bad("signin-rate-limit (STOR_SIGNIN_RATE_LIMIT)", "must not be negative")
	}
	if c.SignInLockoutAttempts < 0 {
		bad("signin-lockout-attempts (STOR_SIGNIN_LOCKOUT_ATTEMPTS)", "must not be negative")
	}
	if c.SignInLockoutAttempts > 0 {
		if c.SignInLockoutWindow < time.Second {
			bad("signin-lockout-window (STOR_SIGNIN_LOCKOUT_WINDOW)", "must be at least 1s")
		}
		if c.SignInLockoutDuration < time.Second {
			bad("signin-lockout-duration (STOR_SIGNIN_LOCKOUT_DURATION)", "must be at least 1s")
		}
		if c.SignInLockoutMax < c.SignInLockoutDuration {
			bad("signin-lockout-max (STOR_SIGNIN_LOCKOUT_MAX)", "must be at least signin-lockout-duration")
		}
	}
	if _, err := c.TrustedProxyList(); err != nil {
		bad("trusted-proxies (STOR_TRUSTED_PROXIES)", "%v", err)
	}
	if c.UploadRateLimit < 0 {
		bad("upload-rate-limit (STOR_UPLOAD_RATE_LIMIT)", "must not be negative")
	}
	if c.RateLimit < 0 {
		bad("rate-limit (STOR_RATE_LIMIT)", "must not be negative")
	}
	if c.DownloadRate < 0 {
		bad("download-rate (STOR_DOWNLOAD_RATE)", "must not be negative")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level (STOR_LOG_LEVEL)", "%q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		bad("log-format (STOR_LOG_FORMAT)", "%q is not json or text", c.LogFormat)
	}
	return errors.Join(errs...)
}

// validOCRLanguages accepts Tesseract language names ("eng", "chi_sim",
// "script/Latin") joined with '+'.
func validOCRLanguages(s string) bool {
	if s == "" {
		return false
	}
	for _, l := range strings.Split(s, "+") {
		if l == "" || len(l) > 64 {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '/' || r == '-') {
				return false
			}
		}
	}
	return true
}

// TrustedProxyList is TrustedProxies parsed.
func (c *Config) TrustedProxyList() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// CORSList is CORSOrigins split.
func (c *Config) CORSList() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// BaseURL is PublicURL, or http://Addr when it is not set.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Addr
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !strings.HasPrefix(k, "STOR_") {
			return nil, fmt.Errorf("config: %s:%d: want STOR_NAME=value", path, n)
		}
		out[k] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return out, nil
}
