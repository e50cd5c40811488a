// Command clusterbench compares the shapes stor runs in, on this machine:
//
//   - embedded: one `stor serve` (API and workers in one process);
//   - scaleout-1w: two `stor serve --workers=0` and one `stor worker`;
//   - scaleout-2w: two `stor serve --workers=0` and two `stor worker`.
//
// Each shape gets a fresh data dir (SQLite and the local disk, shared by
// its processes; set -env to pass STOR_DATABASE_URL / STOR_S3_* for
// PostgreSQL and S3, then each shape needs an empty database and bucket)
// and the same files: -n JPEGs plus one large image with a tiled pyramid.
// It measures
//
//   - ingest: the uploads (request to 201, -c at once, spread over the API
//     processes), files/s;
//   - processing: from the first upload until every asset is ready,
//     assets/s (the workers' throughput);
//   - tiles: -tiles IIIF tile requests of the large image at -tc at once,
//     spread over the API processes, requests/s.
//
// Results are printed per shape and as ratios to the embedded shape.
//
//	go run ./bench/cmd/clusterbench -n 200 -tiles 2000
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const token = "stor_clusterbench_token_0123456789"

func main() {
	n := flag.Int("n", 200, "JPEGs to ingest per shape")
	size := flag.Int("size", 1600, "long edge of those JPEGs")
	c := flag.Int("c", 8, "uploads at once")
	tiles := flag.Int("tiles", 2000, "IIIF tile requests per shape")
	tc := flag.Int("tc", 8, "tile requests at once")
	workers := flag.Int("workers", 2, "STOR_WORKERS of each worker process (and of the embedded one)")
	heavy := flag.Int("heavy", 1, "STOR_HEAVY_WORKERS of each worker process")
	shapes := flag.String("shapes", "embedded,scaleout-1w,scaleout-2w", "shapes to run, in order")
	storBin := flag.String("stor", "", "stor binary (default: build ./cmd/stor)")
	dir := flag.String("dir", "bench/out/clusterbench", "work dir")
	env := flag.String("env", "", "extra environment for every process, comma-separated NAME=value")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fatal(err)
	}
	work, err := filepath.Abs(*dir)
	if err != nil {
		fatal(err)
	}
	if *storBin == "" {
		*storBin = filepath.Join(work, "stor")
		if out, err := exec.Command("go", "build", "-o", *storBin, "./cmd/stor").CombinedOutput(); err != nil {
			fatal(fmt.Errorf("build: %v\n%s", err, out))
		}
	}
	fmt.Printf("generating %d JPEGs (%dpx) and one 6000x4000 image...\n", *n, *size)
	files := genFiles(*n, *size)
	big := genJPEG(6000, 4000, 99)
	var extra []string
	if *env != "" {
		extra = strings.Split(*env, ",")
	}
	type result struct {
		shape                string
		ingest, process, tps float64
	}
	var results []result
	for _, shape := range strings.Split(*shapes, ",") {
		data := filepath.Join(work, shape)
		os.RemoveAll(data)
		r := run(shape, *storBin, data, extra, files, big, *c, *tiles, *tc, *workers, *heavy)
		fmt.Printf("%-12s ingest %7.1f files/s   processing %6.2f assets/s   tiles %7.1f req/s\n", shape, r[0], r[1], r[2])
		results = append(results, result{shape, r[0], r[1], r[2]})
		os.RemoveAll(data)
	}
	fmt.Printf("\nratios to %s:\n", results[0].shape)
	for _, r := range results[1:] {
		fmt.Printf("%-12s ingest %5.0f%%   processing %5.0f%%   tiles %5.0f%%\n", r.shape,
			100*r.ingest/results[0].ingest, 100*r.process/results[0].process, 100*r.tps/results[0].tps)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "clusterbench:", err)
	os.Exit(1)
}

type file struct {
	name string
	data []byte
}

func genJPEG(w, h int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(rng.IntN(24))
			img.SetRGBA(x, y, color.RGBA{uint8(x*255/w) + v, uint8(y*255/h) + v, uint8(seed*37) + v, 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	return b.Bytes()
}

func genFiles(n, size int) []file {
	out := make([]file, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = file{fmt.Sprintf("img-%04d.jpg", i), genJPEG(size, size*3/4, uint64(i))}
		}()
	}
	wg.Wait()
	return out
}

type proc struct {
	cmd *exec.Cmd
	url string
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(bin, data string, env []string, logf string, args ...string) *proc {
	addr := freeAddr()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_METRICS_ADDR="+addr, "STOR_DATA_DIR="+data,
		"STOR_BOOTSTRAP_TOKEN="+token, "STOR_LOG_LEVEL=warn", "STOR_MAX_LOAD_PER_CPU=0",
		"STOR_FIXITY_INTERVAL=0", "STOR_PURGE_AFTER=0")
	cmd.Env = append(cmd.Env, env...)
	lf, err := os.Create(logf)
	if err != nil {
		fatal(err)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, lf
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			fatal(fmt.Errorf("%v did not start (see %s)", args, logf))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func do(method, url string, body []byte, hdr map[string]string) ([]byte, int, error) {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// run measures one shape: ingest files/s, processing assets/s, tiles/s.
func run(shape, bin, data string, env []string, files []file, big []byte, c, tiles, tc, workers, heavy int) [3]float64 {
	if err := os.MkdirAll(data, 0o755); err != nil {
		fatal(err)
	}
	w := []string{fmt.Sprintf("STOR_WORKERS=%d", workers), fmt.Sprintf("STOR_HEAVY_WORKERS=%d", heavy)}
	var procs, apis []*proc
	lg := func(name string) string { return filepath.Join(data, name+".log") }
	switch shape {
	case "embedded":
		p := start(bin, data, append(env, w...), lg("serve"), "serve")
		procs, apis = append(procs, p), append(apis, p)
	case "scaleout-1w", "scaleout-2w":
		for i := range 2 {
			p := start(bin, data, append(env, "STOR_WORKERS=0"), lg(fmt.Sprintf("api%d", i)), "serve")
			procs, apis = append(procs, p), append(apis, p)
		}
		nw := 1
		if shape == "scaleout-2w" {
			nw = 2
		}
		for i := range nw {
			procs = append(procs, start(bin, data, append(env, w...), lg(fmt.Sprintf("worker%d", i)), "worker"))
		}
	default:
		fatal(fmt.Errorf("unknown shape %q", shape))
	}
	defer func() {
		for _, p := range procs {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			p.cmd.Wait()
		}
	}()

	// Ingest: the big image first, then the rest, c at once.
	all := append([]file{{"big.jpg", big}}, files...)
	ids := make([]string, len(all))
	t0 := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, c)
	for i, f := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b, code, err := do("POST", apis[i%len(apis)].url+"/api/v1/assets", f.data,
				map[string]string{"Content-Disposition": `attachment; filename="` + f.name + `"`})
			if err != nil || code != 201 {
				fatal(fmt.Errorf("upload %s: %v %d %s", f.name, err, code, b))
			}
			var a struct{ ID string }
			json.Unmarshal(b, &a)
			ids[i] = a.ID
		}()
	}
	wg.Wait()
	ingest := time.Since(t0)

	// Processing: until every asset is ready.
	for {
		b, code, err := do("GET", apis[0].url+"/api/v1/processing", nil, nil)
		if err != nil || code != 200 {
			fatal(fmt.Errorf("processing: %v %d %s", err, code, b))
		}
		var st struct{ Queued, Running int }
		json.Unmarshal(b, &st)
		if st.Queued == 0 && st.Running == 0 {
			b, _, _ = do("GET", apis[0].url+"/api/v1/assets?state=ready&limit=1000", nil, nil)
			var l struct{ Items []json.RawMessage }
			json.Unmarshal(b, &l)
			if len(l.Items) == len(all) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	process := time.Since(t0)

	// Tiles: aligned 512-pixel tiles of every level of the big image.
	var urls []string
	for s := 1; s <= 16; s *= 2 {
		ts := 512 * s
		for y := 0; y < 4000; y += ts {
			for x := 0; x < 6000; x += ts {
				urls = append(urls, fmt.Sprintf("/iiif/3/%s/%d,%d,%d,%d/%d,/0/default.jpg", ids[0], x, y,
					min(ts, 6000-x), min(ts, 4000-y), (min(ts, 6000-x)+s-1)/s))
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := make([]string, tiles)
	for i := range pick {
		pick[i] = urls[rng.IntN(len(urls))]
	}
	t1 := time.Now()
	jobs := make(chan int)
	var errs int
	var mu sync.Mutex
	for range tc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				_, code, err := do("GET", apis[i%len(apis)].url+pick[i], nil, nil)
				if err != nil || code != 200 {
					mu.Lock()
					errs++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range tiles {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	tileDur := time.Since(t1)
	if errs > 0 {
		fatal(fmt.Errorf("%s: %d tile requests failed", shape, errs))
	}
	return [3]float64{float64(len(all)) / ingest.Seconds(), float64(len(all)) / process.Seconds(),
		float64(tiles) / tileDur.Seconds()}
}
