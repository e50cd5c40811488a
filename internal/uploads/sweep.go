package uploads

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/lockfile"
)

// Sweep removes uploads idle for longer than the expiry: their data, info,
// state and lock files. An upload whose lock is held (a request is writing
// to it) is left alone. It returns how many it removed. First it commits
// uploads whose last byte arrived but that never became assets (the
// server died between the two; see finishIfIdle).
func (s *Service) Sweep(ctx context.Context) int {
	entries, err := os.ReadDir(s.store.Dir)
	if err != nil {
		return 0
	}
	seen := map[string]bool{}
	n := 0
	for _, e := range entries {
		name := e.Name()
		id := name
		if i := strings.IndexByte(name, '.'); i >= 0 {
			id = name[:i]
		}
		if seen[id] || !validID.MatchString(id) {
			continue
		}
		seen[id] = true
		if s.finishIfIdle(ctx, id) {
			continue
		}
		if exp := s.expires(id); !exp.IsZero() && time.Now().After(exp) && s.removeIfIdle(ctx, id) {
			n++
		}
	}
	return n
}

// removeIfIdle removes an expired upload unless a request holds its lock.
// It takes the lock file itself (not through filelocker, which would ask
// the holder to let go).
func (s *Service) removeIfIdle(ctx context.Context, id string) bool {
	lf := lockfile.Lockfile(filepath.Join(s.store.Dir, id+".lock"))
	if err := lf.TryLock(); err != nil {
		return false
	}
	if exp := s.expires(id); exp.IsZero() || time.Now().Before(exp) {
		lf.Unlock()
		return false
	}
	size := int64(0)
	if fi, err := os.Stat(s.store.binPath(id)); err == nil {
		size = fi.Size()
	}
	if err := s.store.remove(id); err != nil {
		s.cfg.Log.WarnContext(ctx, "sweep upload", "upload", id, "err", err)
		return false
	}
	s.cfg.Log.InfoContext(ctx, "expired upload removed", "upload", id, "size", size)
	return true
}

// finishIfIdle commits a complete upload nobody is writing to. tusd
// commits in the last PATCH (preFinish); a crash after the last byte was
// stored and before the commit's transaction leaves a complete upload
// behind, which would otherwise sit there until it expired while its
// client, seeing offset == length, believed it done. The idempotency key
// makes this safe when the commit itself had landed.
func (s *Service) finishIfIdle(ctx context.Context, id string) bool {
	st, err := s.store.readState(id)
	if err != nil || st.Partial {
		return false
	}
	u, err := s.store.fs.GetUpload(ctx, id)
	if err != nil {
		return false
	}
	info, err := u.GetInfo(ctx)
	if err != nil || info.IsPartial || info.SizeIsDeferred || info.Offset != info.Size {
		return false
	}
	lf := lockfile.Lockfile(filepath.Join(s.store.Dir, id+".lock"))
	if err := lf.TryLock(); err != nil {
		return false
	}
	defer lf.Unlock()
	// Under the lock: a PATCH that finished meanwhile removed it.
	if _, err := s.store.readState(id); err != nil {
		return false
	}
	assetID, err := s.commit(ctx, info, "")
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "commit of a finished upload", "upload", id, "err", err)
		return true
	}
	s.cfg.Log.InfoContext(ctx, "finished upload committed after a restart", "upload", id, "asset", assetID)
	return true
}

// RunSweeper sweeps at start and then every quarter of the expiry
// (between 1s and 10m) until ctx ends.
func (s *Service) RunSweeper(ctx context.Context) {
	every := min(max(s.cfg.Expiry/4, time.Second), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
