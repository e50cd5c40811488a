// Command load is a small IIIF tile load generator for loopback
// benchmarks: it builds a deterministic list of Image API 2 requests for a
// W×H image, sends them at a fixed concurrency, bounded by a request count
// and a time limit, and prints requests/s and latency percentiles.
//
// Modes:
//
//   - aligned: tiles a viewer asks for, exactly the tiles and scale factors
//     info.json advertises (tile 256; every level; edge tiles included),
//     chosen uniformly among all tiles of all levels;
//
//   - arbitrary: a random square region of 256 to 4096 pixels anywhere in
//     the image, scaled to 256 pixels wide.
//
//     go run ./bench/load -base http://127.0.0.1:8080/iiif/2/ID -mode aligned -n 5000 -c 8
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("base", "", "image base URI, e.g. http://127.0.0.1:8080/iiif/2/ID")
	mode := flag.String("mode", "aligned", "aligned or arbitrary")
	w := flag.Int("w", 20000, "image width")
	h := flag.Int("h", 20000, "image height")
	tile := flag.Int("tile", 256, "tile size")
	n := flag.Int("n", 3000, "requests")
	c := flag.Int("c", 8, "concurrent requests")
	limit := flag.Duration("t", 60*time.Second, "time limit")
	warm := flag.Int("warm", 50, "warm-up requests (not measured)")
	token := flag.String("token", "", "bearer token")
	seed := flag.Uint64("seed", 1, "random seed (same seed, same URLs)")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "need -base")
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(*seed, 2))
	urls := make([]string, *warm+*n)
	switch *mode {
	case "aligned":
		type lvl struct{ s, cols, rows int }
		var lv []lvl
		total := 0
		for s := 1; ; s *= 2 {
			ts := *tile * s
			l := lvl{s, (*w + ts - 1) / ts, (*h + ts - 1) / ts}
			lv = append(lv, l)
			total += l.cols * l.rows
			if l.cols == 1 && l.rows == 1 {
				break
			}
		}
		for i := range urls {
			k := rng.IntN(total)
			var l lvl
			for _, l = range lv {
				if k < l.cols*l.rows {
					break
				}
				k -= l.cols * l.rows
			}
			ts := *tile * l.s
			x, y := (k%l.cols)*ts, (k/l.cols)*ts
			rw, rh := min(ts, *w-x), min(ts, *h-y)
			urls[i] = fmt.Sprintf("%s/%d,%d,%d,%d/%d,/0/default.jpg", *base, x, y, rw, rh, (rw+l.s-1)/l.s)
		}
	case "arbitrary":
		for i := range urls {
			side := 256 + rng.IntN(4096-256)
			x, y := rng.IntN(*w-side), rng.IntN(*h-side)
			urls[i] = fmt.Sprintf("%s/%d,%d,%d,%d/256,/0/default.jpg", *base, x, y, side, side)
		}
	default:
		fmt.Fprintln(os.Stderr, "mode is aligned or arbitrary")
		os.Exit(2)
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c * 2}, Timeout: 60 * time.Second}
	get := func(u string) (int, int64, error) {
		req, _ := http.NewRequest("GET", u, nil)
		if *token != "" {
			req.Header.Set("Authorization", "Bearer "+*token)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer res.Body.Close()
		nb, err := io.Copy(io.Discard, res.Body)
		return res.StatusCode, nb, err
	}
	run := func(list []string, record bool) (lat []time.Duration, bytes int64, errs int64, wall time.Duration, stored int64) {
		var next atomic.Int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		deadline := time.Now().Add(*limit)
		start := time.Now()
		for range *c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(list) || time.Now().After(deadline) {
						return
					}
					t0 := time.Now()
					st, nb, err := get(list[i])
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					bytes += nb
					if err != nil || st != 200 {
						errs++
						if errs <= 3 {
							fmt.Fprintf(os.Stderr, "error %d %v: %s\n", st, err, list[i])
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return lat, bytes, errs, time.Since(start), 0
	}
	run(urls[:*warm], false)
	lat, bytes, errs, wall, _ := run(urls[*warm:], true)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("mode=%s requests=%d c=%d wall=%.2fs rps=%.1f p50=%.2fms p99=%.2fms mean_bytes=%d errors=%d\n",
		*mode, len(lat), *c, wall.Seconds(), float64(len(lat))/wall.Seconds(), pct(0.50), pct(0.99),
		bytes/int64(max(1, len(lat))), errs)
}
