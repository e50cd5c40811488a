package fixity

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// TaskMD5 is the name of the task that fills in a deferred MD5.
const TaskMD5 = "md5"

// MD5Task computes the MD5 of an original whose upload left it out
// (STOR_INGEST_MD5=deferred: only SHA-256 is computed as the bytes arrive,
// MD5 being the slowest part of a fast upload). It reads the original once
// from the store and records the digest with a "checksum.md5" event. It is
// optional: an asset is ready without it.
func MD5Task() pipeline.Task {
	return pipeline.Task{
		Name: TaskMD5, Class: pipeline.Light, MaxAttempts: 5,
		Applies: func(a *catalog.Asset) bool { return a.MD5 == "" },
		// Reading at a slow disk's pace, plus slack.
		TimeoutFor: func(a *catalog.Asset) time.Duration {
			if a == nil {
				return 10 * time.Minute
			}
			return 10*time.Minute + time.Duration(a.Size/(10<<20))*time.Second
		},
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			a := tc.Asset
			// Identical bytes uploaded before: their MD5 is this one's.
			known, err := catalog.KnownMD5(ctx, tc.DB().Reader(), a.SHA256)
			if err != nil {
				return err
			}
			if known != "" {
				return recordMD5(ctx, tc, a, known, "asset with the same sha256", a.Size)
			}
			rc, err := tc.Store().Open(ctx, a.BlobKey, 0, -1)
			if errors.Is(err, storage.ErrNotExist) {
				return pipeline.Permanentf("md5: the original is missing: %w", err)
			}
			if err != nil {
				return fmt.Errorf("md5: %w", err)
			}
			// copyPaced: the audits' read loop, unpaced, counting the bytes.
			h := md5.New()
			n, err := copyPaced(ctx, h, rc, nil)
			rc.Close()
			if err != nil {
				return fmt.Errorf("md5: %w", err)
			}
			if n != a.Size {
				return pipeline.Permanentf("md5: the original holds %d bytes, the asset says %d", n, a.Size)
			}
			sum := hex.EncodeToString(h.Sum(nil))
			return recordMD5(ctx, tc, a, sum, "original", n)
		},
	}
}

// recordMD5 sets the asset's MD5 with its event, once.
func recordMD5(ctx context.Context, tc *pipeline.TaskContext, a *catalog.Asset, sum, from string, n int64) error {
	return tc.DB().InTx(ctx, func(tx *sql.Tx) error {
		set, err := catalog.SetAssetMD5(ctx, tx, a.ID, sum)
		if err != nil || !set {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"md5": sum, "bytes": n, "from": from})
		return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "checksum.md5", Actor: "system",
			TxID: a.TxID, Detail: string(detail)})
	})
}
