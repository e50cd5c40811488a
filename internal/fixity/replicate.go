package fixity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// ReplicateTask is the pipeline task that puts a verified copy of each
// original on every replica. It is required: an asset is not ready (an
// archive does not trust it) until every replica holds its bytes. A copy
// already there is re-hashed rather than rewritten, so the task is
// idempotent.
func ReplicateTask(replicas []Copy) pipeline.Task {
	return pipeline.Task{
		Name: "replicate", Required: true, Class: pipeline.Light, MaxAttempts: 5,
		Applies: func(*catalog.Asset) bool { return true },
		// Copying and re-hashing at a slow disk's pace, plus slack.
		TimeoutFor: func(a *catalog.Asset) time.Duration {
			if a == nil {
				return 10 * time.Minute
			}
			return 10*time.Minute + time.Duration(a.Size/(10<<20))*time.Second*time.Duration(len(replicas)+1)
		},
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			a := tc.Asset
			for i := range replicas {
				if err := replicateOne(ctx, tc, a, &replicas[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func replicateOne(ctx context.Context, tc *pipeline.TaskContext, a *catalog.Asset, r *Copy) error {
	au := &Auditor{DB: tc.DB()}
	copied := false
	c := au.check(ctx, r, a.ID, "original", a.BlobKey, a.SHA256, a.Size, nil, "")
	if c.Outcome != catalog.FixityOK {
		err := CopyVerified(ctx, tc.Store(), r.Store, a.BlobKey, a.SHA256)
		if errors.Is(err, ErrMismatch) {
			return pipeline.Permanentf("replicate to %s: the primary copy is corrupt: %w", r.Name, err)
		}
		if errors.Is(err, storage.ErrNotExist) {
			return pipeline.Permanentf("replicate to %s: the primary copy is missing: %w", r.Name, err)
		}
		if err != nil {
			return fmt.Errorf("replicate to %s: %w", r.Name, err)
		}
		copied = true
		c = au.check(ctx, r, a.ID, "original", a.BlobKey, a.SHA256, a.Size, nil, "")
		if c.Outcome != catalog.FixityOK {
			return fmt.Errorf("replicate to %s: the copy does not verify: %s", r.Name, describe(c))
		}
	}
	c.TxID = a.TxID
	if err := catalog.AddFixityCheck(ctx, tc.DB().Writer(), &c); err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"copy": r.Name, "blob_key": a.BlobKey, "sha256": c.Actual,
		"bytes": c.Bytes, "copied": copied, "check_seq": c.Seq})
	return catalog.AddEvent(ctx, tc.DB().Writer(), catalog.Event{AssetID: a.ID, Type: "replicated", Actor: "system",
		TxID: a.TxID, Detail: string(detail)})
}
