package av

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tasks of one asset that start together share one ffprobe run; a
// failed run is not kept, and a task whose leader was cancelled probes
// for itself.
func TestProbeCacheShares(t *testing.T) {
	var c probeCache
	var runs atomic.Int32
	release := make(chan struct{})
	slow := func(ctx context.Context) (*Analysis, []byte, error) {
		runs.Add(1)
		<-release
		return &Analysis{Duration: 60}, []byte("{}"), nil
	}
	var wg sync.WaitGroup
	got := make([]*Analysis, 3)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := c.get(context.Background(), "asset/sum", slow)
			if err != nil {
				t.Error(err)
			}
			got[i] = a
		}()
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if runs.Load() != 1 || got[0] != got[1] || got[1] != got[2] || got[0].Duration != 60 {
		t.Fatalf("%d runs for three concurrent tasks, results %v; want one shared run", runs.Load(), got)
	}
	if a, _, _ := c.get(context.Background(), "asset/sum", slow); a != got[0] || runs.Load() != 1 {
		t.Fatalf("a later task ran ffprobe again (%d runs)", runs.Load())
	}

	// Failures are not kept.
	bad := errors.New("not a readable audio/video file")
	fails := 0
	failing := func(ctx context.Context) (*Analysis, []byte, error) { fails++; return nil, nil, bad }
	for range 2 {
		if _, _, err := c.get(context.Background(), "other/sum", failing); !errors.Is(err, bad) {
			t.Fatalf("err %v, want the probe's own", err)
		}
	}
	if fails != 2 {
		t.Fatalf("a failed probe was kept: %d runs for two tasks", fails)
	}

	// The leader's task is cancelled while a second task waits on it: the
	// second probes for itself instead of failing.
	lctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	leaderDone := make(chan error, 1)
	go func() {
		_, _, err := c.get(lctx, "third/sum", func(ctx context.Context) (*Analysis, []byte, error) {
			close(started)
			<-ctx.Done()
			return nil, nil, ctx.Err()
		})
		leaderDone <- err
	}()
	<-started
	followerDone := make(chan *Analysis, 1)
	go func() {
		a, _, err := c.get(context.Background(), "third/sum", func(ctx context.Context) (*Analysis, []byte, error) {
			return &Analysis{Duration: 3}, nil, nil
		})
		if err != nil {
			t.Error(err)
		}
		followerDone <- a
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	if a := <-followerDone; a == nil || a.Duration != 3 {
		t.Fatalf("follower got %+v, want its own probe", a)
	}
}
