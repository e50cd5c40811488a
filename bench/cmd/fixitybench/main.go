// Command fixitybench measures fixity audits (not run in CI):
//
//  1. throughput: an audit of every original with no pace limit against
//     plain `sha256sum` of the same stored files (both from the page cache,
//     alternating, best of -runs);
//
//  2. API latency: GET /api/v1/assets p50/p99 while idle and while an audit
//     runs at its budget (-budget bytes/s), and the audit's achieved rate.
//
//     go run ./bench/cmd/fixitybench -files 16 -size 33554432
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/fixity"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/node"
)

func main() {
	dir := flag.String("dir", "bench/out/fixity", "work directory (on the disk to measure)")
	files := flag.Int("files", 16, "originals to store")
	size := flag.Int64("size", 32<<20, "bytes per original")
	runs := flag.Int("runs", 3, "throughput runs (best of)")
	budget := flag.Int64("budget", 50e6, "pace of the audit during the latency test, bytes/s")
	latFor := flag.Duration("latency-for", 10*time.Second, "how long each latency phase lasts")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if err := run(*dir, *files, *size, *runs, *budget, *latFor, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(dir string, files int, size int64, runs int, budget int64, latFor time.Duration, keep bool) error {
	ctx := context.Background()
	os.RemoveAll(dir)
	if !keep {
		defer os.RemoveAll(dir)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Addr, cfg.Workers, cfg.FixityInterval = filepath.Join(dir, "data"), ln.Addr().String(), 0, 0
	cfg.BootstrapToken = "fixitybench_token_0123456789"
	n, err := node.Open(ctx, cfg, logging.New(io.Discard, "json", "error"))
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), cfg.BootstrapToken); err != nil {
		return err
	}
	go n.Serve(ln)
	defer n.Shutdown(ctx)

	fmt.Printf("storing %d originals of %d bytes...\n", files, size)
	var paths []string
	for i := range files {
		res, err := n.Ingest.Ingest(ctx, io.LimitReader(rand.Reader, size), ingest.Meta{
			Filename: fmt.Sprintf("f%03d.bin", i), Project: "bench", IgnoreUnsupported: true, Actor: "bench", TxID: "bench"})
		if err != nil {
			return err
		}
		p, err := n.Store.(interface {
			LocalPath(context.Context, string) (string, error)
		}).LocalPath(ctx, res.Asset.BlobKey)
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	total := int64(files) * size

	// 1. Throughput.
	au := fixity.NewAuditor(n.DB, n.Store, nil, n.Log)
	bestSum, bestAudit := time.Duration(1<<62), time.Duration(1<<62)
	exec.Command("cat", paths...).Run() // warm the page cache for both
	for r := 1; r <= runs; r++ {
		t0 := time.Now()
		out, err := exec.Command("sha256sum", paths...).Output()
		if err != nil {
			return fmt.Errorf("sha256sum: %w", err)
		}
		ds := time.Since(t0)
		if strings.Count(string(out), "\n") != files {
			return fmt.Errorf("sha256sum printed %q", out)
		}
		t0 = time.Now()
		sum, err := au.RunAll(ctx, "bench", nil)
		if err != nil {
			return err
		}
		da := time.Since(t0)
		if sum.OK != files {
			return fmt.Errorf("audit: %+v", sum)
		}
		fmt.Printf("run %d: sha256sum %s (%.0f MB/s), audit %s (%.0f MB/s), audit/sha256sum %.2f\n", r,
			ds.Round(time.Millisecond), mbps(total, ds), da.Round(time.Millisecond), mbps(total, da), ds.Seconds()/da.Seconds())
		bestSum, bestAudit = min(bestSum, ds), min(bestAudit, da)
	}
	fmt.Printf("best: sha256sum %.0f MB/s, audit %.0f MB/s, ratio %.2f\n", mbps(total, bestSum), mbps(total, bestAudit),
		bestSum.Seconds()/bestAudit.Seconds())

	// 2. API latency, idle and during a paced audit.
	client := &http.Client{}
	measure := func(stop func() bool) []time.Duration {
		var lat []time.Duration
		for !stop() {
			req, _ := http.NewRequest("GET", "http://"+cfg.Addr+"/api/v1/assets?limit=50", nil)
			req.Header.Set("Authorization", "Bearer "+cfg.BootstrapToken)
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				log.Fatalf("GET /api/v1/assets: %s", resp.Status)
			}
			lat = append(lat, time.Since(t0))
			time.Sleep(5 * time.Millisecond)
		}
		return lat
	}
	end := time.Now().Add(latFor)
	idle := measure(func() bool { return time.Now().After(end) })
	au.Pacer = fixity.NewPacer(budget)
	var done atomic.Bool
	var auditBytes int64
	var auditDur time.Duration
	go func() {
		t0 := time.Now()
		// Audit everything repeatedly until the phase ends.
		for time.Since(t0) < latFor {
			sum, err := au.RunAll(ctx, "bench-paced", nil)
			if err != nil {
				log.Fatal(err)
			}
			auditBytes += sum.Bytes
		}
		auditDur = time.Since(t0)
		done.Store(true)
	}()
	busy := measure(done.Load)
	fmt.Printf("GET /api/v1/assets idle: n=%d p50 %s p99 %s\n", len(idle), pct(idle, 50), pct(idle, 99))
	fmt.Printf("GET /api/v1/assets during audit at %.0f MB/s budget: n=%d p50 %s p99 %s\n", float64(budget)/1e6, len(busy), pct(busy, 50), pct(busy, 99))
	fmt.Printf("paced audit read %d bytes in %s: %.1f MB/s (budget %.1f MB/s)\n", auditBytes, auditDur.Round(time.Millisecond),
		mbps(auditBytes, auditDur), float64(budget)/1e6)
	return nil
}

func mbps(b int64, d time.Duration) float64 { return float64(b) / 1e6 / d.Seconds() }

func pct(l []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}
