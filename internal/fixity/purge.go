package fixity

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// Purger removes the bytes of assets deleted more than After ago: their
// derivatives, and their original (on every copy) unless another asset
// not yet purged has the same content-addressed bytes. The asset row and
// its history stay, with an event "purged".
type Purger struct {
	DB     *catalog.DB
	Copies []Copy // Copies[0] is the primary
	After  time.Duration
	Log    *slog.Logger
}

// Run purges every asset due and returns how many it purged.
func (p *Purger) Run(ctx context.Context, txid string) (int, error) {
	n := 0
	for {
		list, err := catalog.PurgeCandidates(ctx, p.DB.Reader(), time.Now().Add(-p.After), 100)
		if err != nil {
			return n, err
		}
		for _, a := range list {
			if err := p.purge(ctx, a, txid); err != nil {
				return n, err
			}
			n++
		}
		if len(list) < 100 {
			return n, nil
		}
	}
}

func (p *Purger) purge(ctx context.Context, a *catalog.Asset, txid string) error {
	primary := p.Copies[0].Store
	ds, err := catalog.ListDerivatives(ctx, p.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := primary.Delete(ctx, d.BlobKey); err != nil {
			return fmt.Errorf("purge %s: %w", a.ID, err)
		}
	}
	// Files a task wrote but never recorded (a crash between the two).
	prefix := pipeline.DerivativeKey(a.ID, "x")
	prefix = strings.TrimSuffix(prefix, "x")
	var stray []string
	if err := primary.List(ctx, prefix, func(o storage.Object) error { stray = append(stray, o.Key); return nil }); err != nil {
		return fmt.Errorf("purge %s: %w", a.ID, err)
	}
	for _, k := range stray {
		if err := primary.Delete(ctx, k); err != nil {
			return fmt.Errorf("purge %s: %w", a.ID, err)
		}
	}

	refs, err := catalog.CountOtherBlobRefs(ctx, p.DB.Reader(), a.BlobKey, a.ID)
	if err != nil {
		return err
	}
	removed := false
	if refs == 0 {
		if err := primary.Delete(ctx, a.BlobKey); err != nil {
			return fmt.Errorf("purge %s: %w", a.ID, err)
		}
		// An ingest of the same bytes may have found the blob just before
		// it went: look again before the replicas go too, and put the
		// primary back from a replica if so.
		if refs, err = catalog.CountOtherBlobRefs(ctx, p.DB.Writer(), a.BlobKey, a.ID); err != nil {
			return err
		}
		if refs > 0 {
			p.restore(ctx, a)
		} else {
			for _, c := range p.Copies[1:] {
				if err := c.Store.Delete(ctx, a.BlobKey); err != nil {
					return fmt.Errorf("purge %s from %s: %w", a.ID, c.Name, err)
				}
			}
			removed = true
		}
	}
	now := time.Now()
	return p.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := catalog.DeleteDerivatives(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := catalog.MarkPurged(ctx, tx, a.ID, now); err != nil {
			return err
		}
		detail := map[string]any{"derivatives": len(ds) + len(stray), "original_removed": removed,
			"blob_key": a.BlobKey, "retention": p.After.String()}
		if !removed {
			detail["original_kept_for"] = refs
		}
		b, _ := json.Marshal(detail)
		return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "purged", Actor: "system", TxID: txid,
			Detail: string(b)})
	})
}

func (p *Purger) restore(ctx context.Context, a *catalog.Asset) {
	for _, c := range p.Copies[1:] {
		if err := CopyVerified(ctx, c.Store, p.Copies[0].Store, a.BlobKey, a.SHA256); err == nil {
			p.Log.WarnContext(ctx, "purge: blob was claimed by a new asset meanwhile; restored", "blob_key", a.BlobKey, "from", c.Name)
			return
		}
	}
	p.Log.ErrorContext(ctx, "purge: blob was claimed by a new asset meanwhile and no replica could restore it",
		"blob_key", a.BlobKey)
}
