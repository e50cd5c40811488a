package fixity

import (
	"context"
	"strconv"
	"time"

	"stor/internal/catalog"
)

// Settings keys of the audit cycle.
const (
	settingCycleStart    = "fixity.cycle_started_at"
	settingCycleFinished = "fixity.last_cycle_finished_at"
)

// Summary is what one audit run did.
type Summary struct {
	Assets, OK, Failed, Repaired int
	Bytes                        int64
	Duration                     time.Duration
}

// Add counts one result.
func (s *Summary) Add(r *Result) {
	s.Assets++
	s.Bytes += r.Bytes
	s.Repaired += len(r.Repaired)
	if r.Status == catalog.FixityOK {
		s.OK++
	} else {
		s.Failed++
	}
}

// RunBudget audits least-recently-checked assets first until budget bytes
// were read (always at least one asset), as the scheduled audit does.
// fn, when set, sees each result.
func (au *Auditor) RunBudget(ctx context.Context, budget int64, txid string, fn func(*Result)) (*Summary, error) {
	return au.run(ctx, budget, txid, fn)
}

// RunAll audits every live asset once, least recently checked first.
func (au *Auditor) RunAll(ctx context.Context, txid string, fn func(*Result)) (*Summary, error) {
	return au.run(ctx, -1, txid, fn)
}

func (au *Auditor) run(ctx context.Context, budget int64, txid string, fn func(*Result)) (*Summary, error) {
	start := time.Now()
	sum := &Summary{}
	var afterChecked, afterSeq int64
	startMicros := start.UTC().UnixMicro()
	for {
		list, checked, err := catalog.AuditCandidates(ctx, au.DB.Reader(), afterChecked, afterSeq, 100)
		if err != nil {
			return sum, err
		}
		for i, a := range list {
			// Assets checked after this run began were done already (by
			// this run: their checked_at moved past the cursor).
			if checked[i] >= startMicros {
				return au.finish(ctx, sum, start)
			}
			afterChecked, afterSeq = checked[i], a.Seq
			r, err := au.AuditAsset(ctx, a, txid)
			if err != nil {
				return sum, err
			}
			sum.Add(r)
			if fn != nil {
				fn(r)
			}
			if budget >= 0 && sum.Bytes >= budget {
				return au.finish(ctx, sum, start)
			}
		}
		if len(list) < 100 {
			return au.finish(ctx, sum, start)
		}
	}
}

// finish notes a completed cycle: when every live asset has been checked
// since the current cycle began, the cycle is finished now and a new one
// begins.
func (au *Auditor) finish(ctx context.Context, sum *Summary, start time.Time) (*Summary, error) {
	sum.Duration = time.Since(start)
	oldest, all, err := catalog.OldestFixityCheck(ctx, au.DB.Reader())
	if err != nil || !all {
		return sum, err
	}
	v, err := catalog.Setting(ctx, au.DB.Reader(), settingCycleStart)
	if err != nil {
		return sum, err
	}
	cycleStart, _ := strconv.ParseInt(v, 10, 64)
	if oldest.UnixMicro() < cycleStart {
		return sum, nil
	}
	now := strconv.FormatInt(time.Now().UTC().UnixMicro(), 10)
	if err := catalog.SetSetting(ctx, au.DB.Writer(), settingCycleFinished, now); err != nil {
		return sum, err
	}
	return sum, catalog.SetSetting(ctx, au.DB.Writer(), settingCycleStart, now)
}

// LastCycleFinished is when every live asset had last been audited within
// one cycle (nil: never).
func LastCycleFinished(ctx context.Context, db *catalog.DB) (*time.Time, error) {
	v, err := catalog.Setting(ctx, db.Reader(), settingCycleFinished)
	if err != nil || v == "" {
		return nil, err
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, nil
	}
	t := time.UnixMicro(us).UTC()
	return &t, nil
}

// RunBudgetFor is the bytes one scheduled run audits so that everything
// is audited once per cycle: total / cycle × interval.
func RunBudgetFor(total int64, cycle, interval time.Duration) int64 {
	if cycle <= 0 || total <= 0 {
		return 0
	}
	return int64(float64(total) * float64(interval) / float64(cycle))
}

// Scheduled is the periodic audit: it sizes its budget from the live bytes
// and the cycle, then audits.
func (au *Auditor) Scheduled(cycle, interval time.Duration, newTxID func() string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		total, err := catalog.LiveBytes(ctx, au.DB.Reader())
		if err != nil {
			return err
		}
		budget := RunBudgetFor(total, cycle, interval)
		txid := newTxID()
		sum, err := au.RunBudget(ctx, budget, txid, nil)
		if sum != nil {
			au.Log.InfoContext(ctx, "fixity audit", "txid", txid, "assets", sum.Assets, "ok", sum.OK, "failed", sum.Failed,
				"repaired", sum.Repaired, "bytes", sum.Bytes, "budget", budget, "duration_ms", sum.Duration.Milliseconds())
		}
		return err
	}
}
