package uploads_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"stor/internal/pgtest"
	"stor/internal/uploads"
)

// newLocker is one node's locker on the shared database.
func newLocker(t *testing.T, dsn string) *uploads.PGLocker {
	t.Helper()
	l, err := uploads.NewPGLocker(context.Background(), dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	l.HolderPollInterval, l.AcquirerPollInterval = 50*time.Millisecond, 20*time.Millisecond
	t.Cleanup(l.Close)
	return l
}

// TestPGLockerContention: two lockers (two nodes) on one database. The
// second waits for the lock, asks the holder to release it (tusd's
// requestUnlock), gets it once the holder unlocks, and times out with
// ErrLockTimeout while the holder keeps it. Locks of other uploads are
// independent, and a holder whose connections die loses its locks.
func TestPGLockerContention(t *testing.T) {
	dsn := pgtest.URL(t)
	a, b := newLocker(t, dsn), newLocker(t, dsn)
	ctx := context.Background()

	la, _ := a.NewLock("upload-1")
	var released atomic.Int32
	unlocked := make(chan struct{})
	if err := la.Lock(ctx, func() {
		// The holder is asked to let go: finish "the request" and unlock.
		released.Add(1)
		go func() { la.Unlock(); close(unlocked) }()
	}); err != nil {
		t.Fatal(err)
	}

	// Another upload's lock is free.
	other, _ := b.NewLock("upload-2")
	if err := other.Lock(ctx, func() {}); err != nil {
		t.Fatalf("independent lock: %v", err)
	}
	defer other.Unlock()

	// The same upload from the other node: waits, asks, gets it.
	lb, _ := b.NewLock("upload-1")
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := lb.Lock(wctx, func() {}); err != nil {
		t.Fatalf("second locker: %v", err)
	}
	<-unlocked
	if released.Load() != 1 {
		t.Fatalf("holder asked to release %d times, want 1", released.Load())
	}
	t.Logf("handed over in %v", time.Since(start))

	// Now a holder that does not let go: the acquirer times out.
	la2, _ := a.NewLock("upload-1")
	tctx, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if err := la2.Lock(tctx, func() {}); !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("lock held elsewhere: %v, want ErrLockTimeout", err)
	}
	if err := lb.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := la2.Lock(ctx, func() {}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}

	// A node that dies (its connections close) releases its locks.
	c := newLocker(t, dsn)
	lc, _ := c.NewLock("upload-3")
	if err := lc.Lock(ctx, func() {}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ld, _ := b.NewLock("upload-3")
	dctx, cancel3 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel3()
	if err := ld.Lock(dctx, func() {}); err != nil {
		t.Fatalf("lock of a closed locker not released: %v", err)
	}
	ld.Unlock()
	la2.Unlock()
}
