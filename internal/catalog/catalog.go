// Package catalog is stor's metadata database: assets, their events, API
// tokens and idempotency keys, behind plain database/sql so the embedded
// SQLite default and PostgreSQL share one set of queries. Migrations are
// embedded per dialect and applied at open.
//
// Every method takes a Querier, so callers choose whether it runs alone or
// inside a transaction (asset row and its first job commit together).
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Sentinel errors; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrInvalid is a request the catalog cannot take as given (an unknown
	// facet, a value of the wrong type); its message says which.
	ErrInvalid = errors.New("invalid")
)

// Querier is what both *sql.DB and *sql.Tx provide.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Asset states.
const (
	StateUploading  = "uploading"
	StateStored     = "stored"
	StateProcessing = "processing"
	StateReady      = "ready"
	StateFailed     = "failed"
	StateDeleted    = "deleted"
)

// Asset is one ingested file.
type Asset struct {
	Seq             int64
	ID              string
	Filename        string
	Size            int64
	MD5             string
	SHA256          string
	BlobKey         string // the key the server verified, not one a client named
	ContentType     string
	Kind            string
	Format          string
	PRONOM          string
	State           string
	Error           string
	Project         string
	Width, Height   int
	DurationSeconds float64
	PageCount       int
	TxID            string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeletedAt       *time.Time
	// PlayableAt is when a video or audio asset's stream first became
	// playable (its live HLS master published); nil before that.
	PlayableAt *time.Time
	// Meta holds the descriptive fields the metadata task reconciled.
	Meta Descriptive
	// PRONOMSignature names the signature file of the PRONOM id.
	PRONOMSignature string
	// Warnings about the file, from the tasks that found them.
	Warnings []Warning
}

// Event is one entry in an asset's history.
type Event struct {
	Seq       int64
	AssetID   string
	Type      string
	Actor     string
	TxID      string
	Detail    string // JSON object
	CreatedAt time.Time
}

// Token is an API token; the secret itself is never stored.
type Token struct {
	ID         string
	Name       string
	SecretHash string
	Scopes     []string
	Project    string // empty: every project
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	UserID     string // empty: a service token
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
