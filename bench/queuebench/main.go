// Command queuebench pushes N no-op tasks through stor's pipeline (River
// on SQLite, the embedded default) and reports throughput and the latency
// from enqueue to start (p50/p99). Not a test: run it by hand.
//
//	go run ./bench/queuebench -n 10000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pipeline"
)

func main() {
	n := flag.Int("n", 10000, "tasks")
	workers := flag.Int("workers", 4, "workers")
	flag.Parse()
	if err := run(*n, *workers); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(n, workers int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "queuebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DataDir, cfg.Workers, cfg.PollInterval = dir, workers, 50*time.Millisecond
	noop := pipeline.Task{Name: "noop", Applies: func(*catalog.Asset) bool { return true },
		Run: func(context.Context, *pipeline.TaskContext) error { return nil }}
	nd, err := node.OpenWith(ctx, cfg, logging.New(io.Discard, "json", "error"), []pipeline.Task{noop})
	if err != nil {
		return err
	}
	defer nd.Close()
	// Queue everything while paused, so enqueue and work are measured apart.
	if err := nd.Pipe.Pause(ctx); err != nil {
		return err
	}
	if err := nd.Start(ctx); err != nil {
		return err
	}
	t0 := time.Now()
	for i := range n {
		body := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), fmt.Sprint(i)...)
		if _, err := nd.Ingest.Ingest(ctx, bytes.NewReader(body), ingest.Meta{Filename: fmt.Sprintf("%d.png", i), Project: "bench", TxID: "bench"}); err != nil {
			return err
		}
	}
	enq := time.Since(t0)
	fmt.Printf("enqueued %d assets (asset row + first job in one transaction each) in %s: %.0f/s\n", n, enq.Round(time.Millisecond), float64(n)/enq.Seconds())
	t1 := time.Now()
	if err := nd.Pipe.Resume(ctx); err != nil {
		return err
	}
	for {
		st, err := nd.Pipe.Status(ctx)
		if err != nil {
			return err
		}
		if st.Tasks["noop"][catalog.TaskSucceeded] == n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	work := time.Since(t1)
	tasks := 2 * n // analyze + noop per asset
	fmt.Printf("ran %d tasks (analyze + noop per asset) with %d workers in %s: %.0f tasks/s\n", tasks, workers, work.Round(time.Millisecond), float64(tasks)/work.Seconds())
	// Latency from enqueue to start on a running queue: uploads arrive one
	// every 20 ms (50/s, below the throughput above), and each analyze
	// task's queued_at → started_at is measured.
	const trickle = 500
	before := time.Now()
	var ids []string
	for i := range trickle {
		body := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), fmt.Sprint("t", i)...)
		res, err := nd.Ingest.Ingest(ctx, bytes.NewReader(body), ingest.Meta{Filename: fmt.Sprintf("t%d.png", i), Project: "bench", TxID: "bench"})
		if err != nil {
			return err
		}
		ids = append(ids, res.Asset.ID)
		time.Sleep(20 * time.Millisecond)
	}
	var lat []time.Duration
	for _, id := range ids {
		for {
			t, err := catalog.TaskByName(ctx, nd.DB.Reader(), id, "analyze")
			if err == nil && t.StartedAt != nil {
				lat = append(lat, t.StartedAt.Sub(t.QueuedAt))
				break
			}
			if time.Since(before) > 5*time.Minute {
				return fmt.Errorf("analyze of %s never started", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	slices.Sort(lat)
	fmt.Printf("enqueue→start on a running queue (%d uploads at 50/s): p50 %s, p99 %s\n", len(lat),
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nd.Stop(sctx)
	return nil
}
