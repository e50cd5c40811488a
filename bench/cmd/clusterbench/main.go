// Command clusterbench compares the shapes stor runs in, on this machine:
//
//   - embedded: one `stor serve` (API and workers in one process) on
//     SQLite and the local disk;
//   - scaleout-1w: two `stor serve --workers=0` and one `stor worker` on
//     PostgreSQL and MinIO (started here on loopback, like the tests do:
//     internal/pgtest and internal/s3test; a fresh database and bucket per
//     shape and run, every process with a data dir of its own);
//   - scaleout-2w: the same with two `stor worker`.
//
// Every shape gets the same files: -n JPEGs plus one large image with a
// tiled pyramid. It measures
//
//   - ingest: the uploads (request to 201, -c at once, spread over the API
//     processes), files/s;
//   - processing: from the first upload until every asset is ready,
//     assets/s (the workers' throughput);
//   - tiles: -tiles IIIF tile requests of the large image at -tc at once,
//     spread over the API processes, requests/s.
//
// The shapes are interleaved: -runs rounds, each running every shape once
// (the order reversed every other round, so load drifting over time
// does not favour one shape). It prints every run and, from the same
// rounds, the ratios the issue asks for: scale-out vs embedded for ingest
// and tiles, two worker processes vs one for processing (median of the
// rounds).
//
//	go run ./bench/cmd/clusterbench
package main

import (
	"bytes"
	"encoding/base64"
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
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"stor/internal/pgtest"
	"stor/internal/s3test"
)

const token = "stor_clusterbench_token_0123456789"

func main() {
	n := flag.Int("n", 24, "JPEGs to ingest per shape")
	size := flag.Int("size", 1200, "long edge of those JPEGs")
	c := flag.Int("c", 8, "uploads at once")
	tiles := flag.Int("tiles", 600, "IIIF tile requests per shape")
	tc := flag.Int("tc", 8, "tile requests at once")
	workers := flag.Int("workers", 2, "STOR_WORKERS of each worker process (and of the embedded one)")
	heavy := flag.Int("heavy", 1, "STOR_HEAVY_WORKERS of each worker process")
	runs := flag.Int("runs", 2, "rounds of every shape")
	shapes := flag.String("shapes", "embedded,scaleout-1w,scaleout-2w", "shapes to run")
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
	defer pgtest.Stop()
	defer s3test.Stop()
	fmt.Printf("generating %d JPEGs (%dpx) and one 6000x4000 image...\n", *n, *size)
	files := genFiles(*n, *size)
	big := genJPEG(6000, 4000, 99)
	var extra []string
	if *env != "" {
		extra = strings.Split(*env, ",")
	}
	order := strings.Split(*shapes, ",")
	res := map[string][][3]float64{}
	for round := range *runs {
		o := slices.Clone(order)
		if round%2 == 1 {
			slices.Reverse(o)
		}
		for _, shape := range o {
			data := filepath.Join(work, shape)
			os.RemoveAll(data)
			r := run(shape, *storBin, data, extra, files, big, *c, *tiles, *tc, *workers, *heavy)
			fmt.Printf("run %d  %-12s ingest %7.1f files/s   processing %6.2f assets/s   tiles %7.1f req/s\n",
				round+1, shape, r[0], r[1], r[2])
			res[shape] = append(res[shape], r)
			os.RemoveAll(data)
		}
	}
	// ratio is the median over the rounds of a[i]/b[i] for metric m.
	ratio := func(a, b string, m int) string {
		if len(res[a]) == 0 || len(res[b]) == 0 {
			return "n/a"
		}
		var rs []float64
		for i := range res[a] {
			rs = append(rs, res[a][i][m]/res[b][i][m])
		}
		slices.Sort(rs)
		med := rs[len(rs)/2]
		if len(rs)%2 == 0 {
			med = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
		}
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = fmt.Sprintf("%.0f%%", 100*r)
		}
		return fmt.Sprintf("%4.0f%%  (runs: %s)", 100*med, strings.Join(parts, " "))
	}
	fmt.Printf("\nratios (median of %d interleaved rounds):\n", *runs)
	fmt.Printf("ingest      scale-out (PostgreSQL+MinIO, 2 API) / embedded (SQLite+disk): %s\n", ratio("scaleout-1w", "embedded", 0))
	fmt.Printf("tiles       scale-out (PostgreSQL+MinIO, 2 API) / embedded (SQLite+disk): %s\n", ratio("scaleout-1w", "embedded", 2))
	fmt.Printf("processing  scale-out with 2 worker processes / with 1:                  %s\n", ratio("scaleout-2w", "scaleout-1w", 1))
	fmt.Printf("processing  scale-out with 1 worker process / embedded:                  %s\n", ratio("scaleout-1w", "embedded", 1))
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
	env = slices.Clone(env)
	switch shape {
	case "embedded":
		p := start(bin, data, append(env, w...), lg("serve"), "serve")
		procs, apis = append(procs, p), append(apis, p)
	case "scaleout-1w", "scaleout-2w":
		dsn, drop, err := pgtest.NewDatabase()
		if err != nil {
			fatal(err)
		}
		defer drop()
		srv, err := s3test.StartServer()
		if err != nil {
			fatal(err)
		}
		bucket, err := srv.NewBucket()
		if err != nil {
			fatal(err)
		}
		env = append(env, "STOR_DATABASE_URL="+dsn, "STOR_S3_ENDPOINT=http://"+srv.Endpoint, "STOR_S3_BUCKET="+bucket,
			"STOR_S3_REGION="+srv.Region, "STOR_S3_ACCESS_KEY="+srv.AccessKey, "STOR_S3_SECRET_KEY="+srv.SecretKey,
			"STOR_SIGNING_KEYS=bench:"+base64.StdEncoding.EncodeToString([]byte("clusterbench-signing-key-0123456789")))
		// Every process has a data dir of its own: nothing is shared on disk.
		own := func(name string) string {
			d := filepath.Join(data, name)
			if err := os.MkdirAll(d, 0o755); err != nil {
				fatal(err)
			}
			return d
		}
		for i := range 2 {
			name := fmt.Sprintf("api%d", i)
			p := start(bin, own(name), append(env, "STOR_WORKERS=0"), lg(name), "serve")
			procs, apis = append(procs, p), append(apis, p)
		}
		nw := 1
		if shape == "scaleout-2w" {
			nw = 2
		}
		for i := range nw {
			name := fmt.Sprintf("worker%d", i)
			procs = append(procs, start(bin, own(name), append(env, w...), lg(name), "worker"))
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
