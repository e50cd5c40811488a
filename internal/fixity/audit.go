package fixity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// PrimaryName is the copy name of the main store.
const PrimaryName = "primary"

// Copy is one store that holds a copy of every original.
type Copy struct {
	Name  string
	Store storage.Store
}

// Alerter queues an alert webhook delivery inside a transaction
// (*pipeline.Pipeline).
type Alerter interface {
	QueueAlert(ctx context.Context, tx *sql.Tx, a pipeline.Alert) error
}

// Auditor checks assets. Copies[0] is the primary store.
type Auditor struct {
	DB     *catalog.DB
	Copies []Copy
	// Pacer bounds the read rate of checks (nil: no limit). Repairs and
	// the re-check of a repaired copy are not paced: they are urgent.
	Pacer *Pacer
	// Derivatives audits derivatives too (primary store only; a bad one is
	// made again by re-running its task, not copied from a replica).
	Derivatives bool
	// Alerts, when set, gets one alert per asset that becomes failed.
	Alerts Alerter
	Log    *slog.Logger
	// Repair rewrites a bad copy from a good one (default on in NewAuditor).
	Repair bool
}

// NewAuditor returns an auditor over primary and the replicas that
// repairs what it can.
func NewAuditor(db *catalog.DB, primary storage.Store, replicas []Copy, log *slog.Logger) *Auditor {
	return &Auditor{DB: db, Copies: append([]Copy{{PrimaryName, primary}}, replicas...), Log: log, Repair: true}
}

// Result is the audit of one asset.
type Result struct {
	Asset    *catalog.Asset
	Checks   []catalog.FixityCheck // in order, re-checks after repair included
	Repaired []string              // copies rewritten from a good copy
	Status   string                // ok or failed
	Reason   string                // why failed
	Bytes    int64                 // bytes read by the paced checks
}

// AuditAsset checks every copy of an asset's original (and its derivatives
// when asked), repairs bad copies from a good one, and records the checks,
// the asset's fixity and, on a change, events and an alert, in one
// transaction.
func (au *Auditor) AuditAsset(ctx context.Context, a *catalog.Asset, txid string) (*Result, error) {
	prev, err := catalog.GetFixityStatus(ctx, au.DB.Reader(), a.ID)
	if err != nil {
		return nil, err
	}
	res := &Result{Asset: a}
	var good *Copy
	var bad []int
	for i := range au.Copies {
		c := au.check(ctx, &au.Copies[i], a.ID, "original", a.BlobKey, a.SHA256, a.Size, au.Pacer, txid)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Checks = append(res.Checks, c)
		res.Bytes += c.Bytes
		if c.Outcome == catalog.FixityOK {
			if good == nil {
				good = &au.Copies[i]
			}
		} else {
			bad = append(bad, i)
		}
	}
	detected := len(bad) > 0
	var problems []string
	for _, c := range res.Checks {
		if c.Outcome != catalog.FixityOK {
			problems = append(problems, describe(c))
		}
	}
	type repair struct{ copy, from string }
	var repairs []repair
	stillBad := map[string]bool{}
	for _, i := range bad {
		dst := &au.Copies[i]
		if !au.Repair || good == nil {
			stillBad[dst.Name] = true
			continue
		}
		if err := au.copyVerified(ctx, good, dst, a.BlobKey, a.SHA256); err != nil {
			au.Log.ErrorContext(ctx, "fixity: repair failed", "asset_id", a.ID, "copy", dst.Name, "from", good.Name, "err", err)
			stillBad[dst.Name] = true
			continue
		}
		c := au.check(ctx, dst, a.ID, "original", a.BlobKey, a.SHA256, a.Size, nil, txid)
		res.Checks = append(res.Checks, c)
		if c.Outcome != catalog.FixityOK {
			stillBad[dst.Name] = true
			continue
		}
		res.Repaired = append(res.Repaired, dst.Name)
		repairs = append(repairs, repair{dst.Name, good.Name})
	}

	var badDerivs []string
	if au.Derivatives {
		ds, err := catalog.ListDerivatives(ctx, au.DB.Reader(), a.ID)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			c, err := au.checkDerivative(ctx, a.ID, d, txid)
			if err != nil {
				return nil, err
			}
			res.Checks = append(res.Checks, c)
			res.Bytes += c.Bytes
			if c.Outcome != catalog.FixityOK {
				badDerivs = append(badDerivs, d.Name)
				problems = append(problems, describe(c))
			}
		}
	}

	res.Status = catalog.FixityOK
	if len(stillBad) > 0 || len(badDerivs) > 0 {
		res.Status = catalog.FixityFailed
		var parts []string
		for _, c := range au.Copies {
			if stillBad[c.Name] {
				parts = append(parts, "copy "+c.Name+" of the original")
			}
		}
		for _, d := range badDerivs {
			parts = append(parts, "derivative "+d+" (reprocess its task)")
		}
		res.Reason = "bad: " + strings.Join(parts, ", ")
		if good == nil && len(stillBad) > 0 {
			res.Reason += "; no good copy of the original to repair from"
		}
	}

	now := time.Now()
	ctx = context.WithoutCancel(ctx) // record what was found even if the run is ending
	err = au.DB.InTx(ctx, func(tx *sql.Tx) error {
		for i := range res.Checks {
			if err := catalog.AddFixityCheck(ctx, tx, &res.Checks[i]); err != nil {
				return err
			}
		}
		if err := catalog.SetFixityStatus(ctx, tx, catalog.FixityStatus{AssetID: a.ID, Status: res.Status,
			CheckedAt: now, Reason: res.Reason}); err != nil {
			return err
		}
		event := func(typ string, detail any) error {
			b, _ := json.Marshal(detail)
			return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: typ, Actor: "system", TxID: txid, Detail: string(b)})
		}
		if (detected || len(badDerivs) > 0) && prev.Status != catalog.FixityFailed {
			if err := event("fixity.failed", map[string]any{"problems": problems, "check_seqs": seqs(res.Checks)}); err != nil {
				return err
			}
			if au.Alerts != nil {
				if err := au.Alerts.QueueAlert(ctx, tx, pipeline.Alert{AssetID: a.ID, Filename: a.Filename,
					Subject: "fixity", Error: strings.Join(problems, "; "), TxID: txid}); err != nil {
					return err
				}
			}
		}
		for _, r := range repairs {
			if err := event("repaired", map[string]any{"object": "original", "copy": r.copy, "from": r.from,
				"blob_key": a.BlobKey, "sha256": a.SHA256, "bytes": a.Size}); err != nil {
				return err
			}
		}
		if prev.Status == catalog.FixityFailed && res.Status == catalog.FixityOK && len(repairs) == 0 {
			if err := event("fixity.ok", map[string]any{"from": catalog.FixityFailed}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func seqs(cs []catalog.FixityCheck) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Seq)
	}
	return out
}

func describe(c catalog.FixityCheck) string {
	switch c.Outcome {
	case catalog.FixityMissing:
		return fmt.Sprintf("%s copy %s: missing", c.Object, c.Copy)
	default:
		s := fmt.Sprintf("%s copy %s: sha256 %s, expected %s", c.Object, c.Copy, c.Actual, c.Expected)
		if c.Error != "" {
			s += " (" + c.Error + ")"
		}
		return s
	}
}

// check re-reads one copy and compares it with expected.
func (au *Auditor) check(ctx context.Context, c *Copy, assetID, object, key, expected string, size int64, p *Pacer, txid string) catalog.FixityCheck {
	fc := catalog.FixityCheck{AssetID: assetID, Object: object, BlobKey: key, Copy: c.Name, Algorithm: "sha256",
		Expected: expected, TxID: txid, CheckedAt: time.Now()}
	start := time.Now()
	defer func() { fc.Duration = time.Since(start) }()
	rc, err := c.Store.Open(ctx, key, 0, -1)
	if errors.Is(err, storage.ErrNotExist) {
		fc.Outcome = catalog.FixityMissing
		fc.Duration = time.Since(start)
		return fc
	}
	if err != nil {
		fc.Outcome, fc.Error = catalog.FixityFailed, err.Error()
		fc.Duration = time.Since(start)
		return fc
	}
	sum, n, err := hashReader(ctx, rc, p)
	rc.Close()
	fc.Actual, fc.Bytes, fc.Duration = sum, n, time.Since(start)
	switch {
	case err != nil:
		fc.Outcome, fc.Error = catalog.FixityFailed, err.Error()
	case sum != expected:
		fc.Outcome = catalog.FixityFailed
		if size >= 0 && n != size {
			fc.Error = "size " + strconv.FormatInt(n, 10) + ", expected " + strconv.FormatInt(size, 10)
		}
	default:
		fc.Outcome = catalog.FixityOK
	}
	return fc
}

// checkDerivative checks a derivative on the primary against the checksum
// its first audit recorded; a derivative made again since then (its row is
// newer than the baseline) gets a new baseline.
func (au *Auditor) checkDerivative(ctx context.Context, assetID string, d *catalog.Derivative, txid string) (catalog.FixityCheck, error) {
	object := "derivative:" + d.Name
	want, _, at, err := catalog.FixityBaseline(ctx, au.DB.Reader(), d.BlobKey)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return catalog.FixityCheck{}, err
	}
	rebase := errors.Is(err, catalog.ErrNotFound) || d.CreatedAt.After(at)
	if !rebase {
		return au.check(ctx, &au.Copies[0], assetID, object, d.BlobKey, want, d.Size, au.Pacer, txid), nil
	}
	// First sight: record what is there now, trusting it.
	c := au.check(ctx, &au.Copies[0], assetID, object, d.BlobKey, "", d.Size, au.Pacer, txid)
	if c.Outcome == catalog.FixityMissing {
		return c, nil
	}
	if c.Error != "" && c.Actual == "" {
		return c, nil
	}
	c.Expected, c.Outcome = c.Actual, catalog.FixityOK
	if err := catalog.SetFixityBaseline(ctx, au.DB.Writer(), d.BlobKey, c.Actual, c.Bytes); err != nil {
		return c, err
	}
	return c, nil
}

// copyVerified writes src's copy of key to dst, checking while it reads
// that the source has the expected checksum: a source that has rotted
// since it was checked makes the Put fail instead of spreading.
func (au *Auditor) copyVerified(ctx context.Context, src, dst *Copy, key, sha string) error {
	return CopyVerified(ctx, src.Store, dst.Store, key, sha)
}

// CopyVerified copies key from src to dst, refusing (and storing nothing)
// when the bytes read from src do not have the sha256 sha.
func CopyVerified(ctx context.Context, src, dst storage.Store, key, sha string) error {
	rc, err := src.Open(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("fixity: copy %s: %w", key, err)
	}
	defer rc.Close()
	if _, err := dst.Put(ctx, key, newVerifyingReader(rc, sha)); err != nil {
		return fmt.Errorf("fixity: copy %s: %w", key, err)
	}
	return nil
}
