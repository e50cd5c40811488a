// Package ingest lands uploaded bytes safely: it streams them to a spool
// file while computing SHA-256 and MD5 in the same pass, verifies any
// checksum the client sent, identifies the format, moves the bytes to their
// content-addressed key, and commits the asset row, its first event and its
// first job in one database transaction. Every door (multipart POST, raw
// POST, the CLI, resumable uploads) goes through Ingester.
package ingest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"stor/internal/catalog"
	"stor/internal/storage"
)

// Errors the API maps to status codes.
var (
	ErrChecksumMismatch  = errors.New("checksum mismatch")
	ErrUnsupportedFormat = errors.New("unsupported format")
	ErrTooLarge          = errors.New("upload exceeds the maximum size")
	ErrBadChecksum       = errors.New("malformed checksum")
	ErrEmpty             = errors.New("empty upload")
)

// Detected is what format identification decided.
type Detected struct {
	Kind, Format, ContentType string
}

// Identifier decides a file's format from its first bytes and its name.
type Identifier func(head []byte, filename string) (Detected, bool)

// Enqueuer adds an asset's first job inside the asset's own transaction.
type Enqueuer interface {
	EnqueueIngested(ctx context.Context, tx *sql.Tx, a *catalog.Asset, priority int) error
}

// Ingester lands uploads.
type Ingester struct {
	DB       *catalog.DB
	Store    storage.Store
	SpoolDir string // on the same filesystem as a disk store, so landing is a rename
	MaxSize  int64
	Identify Identifier
	Enqueue  Enqueuer // nil: no processing
	Log      *slog.Logger
	// DeferMD5 leaves an upload's MD5 out of the receiving pass unless the
	// client sent one to verify: the asset is committed with an empty md5
	// and the pipeline's "md5" task fills it in (config STOR_INGEST_MD5).
	DeferMD5 bool
}

// HashMD5 reports whether an upload's MD5 is computed as its bytes arrive:
// always, unless DeferMD5; then only when the client sent one to verify.
func (in *Ingester) HashMD5(clientSentMD5 bool) bool { return !in.DeferMD5 || clientSentMD5 }

// Meta is what the client says about an upload.
type Meta struct {
	Filename          string
	Project           string
	IgnoreUnsupported bool
	// Expected checksums, lower-case hex; empty: not given.
	ExpectMD5, ExpectSHA256 string
	IdempotencyKey          string
	TokenID                 string // scopes the idempotency key
	Actor                   string
	TxID                    string
	// AssetID, when set, names an asset row already made in state
	// uploading (a fetch from a URL): Commit fills it in instead of adding
	// a new row.
	AssetID string
	// Priority of its processing: 1 (interactive, default) to 4; bulk
	// ingests use 3 so that one interactive upload goes first.
	Priority int
}

// Result is the asset an ingest made or, for a replayed idempotency key,
// the one the first try made.
type Result struct {
	Asset    *catalog.Asset
	Replayed bool
	Deduped  bool // the bytes were already stored
}

// Receive spools r (at most MaxSize bytes) and returns the synced file
// with its checksums (MD5 too when HashMD5(clientSentMD5)). The caller
// passes it to Commit or removes it.
func (in *Ingester) Receive(r io.Reader, clientSentMD5 bool) (*Spooled, error) {
	if err := os.MkdirAll(in.SpoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return spool(in.SpoolDir, r, in.MaxSize, in.HashMD5(clientSentMD5))
}

// Replay returns the asset a previous request with the same idempotency
// key made, or nil.
func (in *Ingester) Replay(ctx context.Context, tokenID, key string) (*catalog.Asset, error) {
	if key == "" {
		return nil, nil
	}
	id, err := catalog.IdempotentAsset(ctx, in.DB.Writer(), tokenID, key)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return catalog.GetAsset(ctx, in.DB.Writer(), id)
}

// Ingest receives r and commits it: the whole path for one upload.
func (in *Ingester) Ingest(ctx context.Context, r io.Reader, m Meta) (*Result, error) {
	if a, err := in.Replay(ctx, m.TokenID, m.IdempotencyKey); err != nil || a != nil {
		return &Result{Asset: a, Replayed: a != nil}, err
	}
	sp, err := in.Receive(r, m.ExpectMD5 != "")
	if err != nil {
		return nil, err
	}
	return in.Commit(ctx, sp, m)
}

// Commit verifies, identifies, stores and records a spooled upload. The
// spool file is consumed (moved into the store or removed) either way.
func (in *Ingester) Commit(ctx context.Context, sp *Spooled, m Meta) (*Result, error) {
	defer sp.Remove() // a no-op once the store adopted the file
	if sp.MD5 == "" && m.ExpectMD5 != "" {
		// The client's MD5 came after the bytes (a multipart field after
		// the file): check it against the spooled file before storing.
		sum, err := fileMD5(sp.Path)
		if err != nil {
			return nil, err
		}
		sp.MD5 = sum
	}
	c := Checked{Size: sp.Size, MD5: sp.MD5, SHA256: sp.SHA256, Head: sp.Head}
	return in.commit(ctx, c, m, func(ctx context.Context, key string) error {
		if ad, ok := in.Store.(storage.FileAdopter); ok {
			if err := ad.AdoptFile(ctx, key, sp.Path); err != nil {
				return fmt.Errorf("ingest: store original: %w", err)
			}
			return nil
		}
		f, err := os.Open(sp.Path)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		_, err = in.Store.Put(ctx, key, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("ingest: store original: %w", err)
		}
		return nil
	})
}

// Checked is what stor itself measured of an upload's bytes.
type Checked struct {
	Size        int64
	MD5, SHA256 string // lower-case hex; MD5 empty when deferred
	Head        []byte // the first HeadSize bytes
}

// CommitObject is Commit for bytes that are already in the store under a
// temporary key (a direct upload to S3) and that stor has read back and
// hashed itself (c). place puts them at the original's key (a server-side
// copy); it is not called when identical bytes are already stored.
func (in *Ingester) CommitObject(ctx context.Context, c Checked, m Meta, place func(ctx context.Context, key string) error) (*Result, error) {
	return in.commit(ctx, c, m, place)
}

func (in *Ingester) commit(ctx context.Context, sp Checked, m Meta, place func(ctx context.Context, key string) error) (*Result, error) {
	if sp.Size == 0 {
		return nil, ErrEmpty
	}
	if m.ExpectMD5 != "" && !strings.EqualFold(m.ExpectMD5, sp.MD5) {
		return nil, fmt.Errorf("%w: md5 is %s, client said %s", ErrChecksumMismatch, sp.MD5, m.ExpectMD5)
	}
	if m.ExpectSHA256 != "" && !strings.EqualFold(m.ExpectSHA256, sp.SHA256) {
		return nil, fmt.Errorf("%w: sha256 is %s, client said %s", ErrChecksumMismatch, sp.SHA256, m.ExpectSHA256)
	}
	filename := CleanFilename(m.Filename)
	det, ok := in.Identify(sp.Head, filename)
	if !ok {
		if !m.IgnoreUnsupported {
			return nil, fmt.Errorf("%w: %q is no format stor knows (send ignore_unsupported=1 to store it anyway)",
				ErrUnsupportedFormat, filename)
		}
		det = Detected{Kind: "other", Format: strings.TrimPrefix(strings.ToLower(filepath.Ext(filename)), "."),
			ContentType: "application/octet-stream"}
	}

	key := storage.OriginalKey(sp.SHA256)
	deduped := false
	if obj, err := in.Store.Stat(ctx, key); err == nil && obj.Size == sp.Size {
		deduped = true
	} else if err != nil && !errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("ingest: %w", err)
	} else if err := place(ctx, key); err != nil {
		return nil, err
	}

	a := &catalog.Asset{
		ID: uuid.Must(uuid.NewV7()).String(), Filename: filename, Size: sp.Size, MD5: sp.MD5,
		SHA256: sp.SHA256, BlobKey: key, ContentType: det.ContentType, Kind: det.Kind,
		Format: det.Format, State: catalog.StateStored, Project: m.Project, TxID: m.TxID,
	}
	var replayed *catalog.Asset
	err := in.DB.InTx(ctx, func(tx *sql.Tx) error {
		if m.IdempotencyKey != "" {
			err := catalog.ClaimIdempotencyKey(ctx, tx, m.TokenID, m.IdempotencyKey, a.ID)
			if errors.Is(err, catalog.ErrConflict) {
				id, err := catalog.IdempotentAsset(ctx, tx, m.TokenID, m.IdempotencyKey)
				if err != nil {
					return err
				}
				replayed, err = catalog.GetAsset(ctx, tx, id)
				return err
			}
			if err != nil {
				return err
			}
		}
		if m.AssetID != "" {
			a.ID = m.AssetID
			if err := catalog.CompleteUploadingAsset(ctx, tx, a); err != nil {
				return err
			}
		} else if err := catalog.InsertAsset(ctx, tx, a); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{
			"filename": filename, "size": sp.Size, "sha256": sp.SHA256, "md5": sp.MD5,
			"format": det.Format, "kind": det.Kind, "deduplicated": deduped,
		})
		if err := catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "ingested",
			Actor: m.Actor, TxID: m.TxID, Detail: string(detail)}); err != nil {
			return err
		}
		if in.Enqueue != nil {
			return in.Enqueue.EnqueueIngested(ctx, tx, a, m.Priority)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if replayed != nil {
		return &Result{Asset: replayed, Replayed: true}, nil
	}
	if in.Log != nil {
		in.Log.InfoContext(ctx, "asset ingested", "asset_id", a.ID, "size", a.Size,
			"sha256", a.SHA256, "format", a.Format, "deduplicated", deduped)
	}
	return &Result{Asset: a, Deduped: deduped}, nil
}

// CleanFilename keeps a client's filename as data: any bytes that are not
// UTF-8, and NUL (which PostgreSQL text cannot hold), become U+FFFD so the
// name survives the database and JSON intact,
// and an absurd length is cut at 4 KiB. It is never used as a path.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	// NUL cannot be stored in PostgreSQL text (nor used in a file name).
	name = strings.ReplaceAll(name, "\x00", "\uFFFD")
	if len(name) > 4096 {
		cut := 4096
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	if name == "" {
		name = "untitled"
	}
	return name
}

// ParseMD5 accepts hex or base64 (Content-MD5 is base64) and returns hex.
func ParseMD5(s string) (string, error) { return parseDigest(s, 16) }

// ParseSHA256 accepts hex or base64 and returns hex.
func ParseSHA256(s string) (string, error) { return parseDigest(s, 32) }

func parseDigest(s string, n int) (string, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == n {
		return hex.EncodeToString(b), nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == n {
			return hex.EncodeToString(b), nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrBadChecksum, s)
}
