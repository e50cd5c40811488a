// Command ingestbench measures stor's ingest against dd on the same disk:
//
//   - big: one file (default 1 GiB) POSTed as a raw body to
//     /api/v1/assets, against `dd if=FILE of=OUT bs=1M conv=fdatasync`;
//   - small: N files (default 10,000, random sizes 4–64 KiB) POSTed with
//     concurrency C (default 4), against C workers each running one
//     `dd if=F of=OUT bs=1M conv=fdatasync` per file.
//
// It builds stor, starts `stor serve` on a fresh data dir inside -dir (on
// the disk being measured), and prints one line per measurement and a
// Markdown table. Not part of CI: run it with bench/run.sh.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const token = "stor_bench_admin_token_0123456789"

type result struct {
	name           string
	stor, dd       time.Duration // best of the runs
	bytes          int64
	files          int
	storAll, ddAll []time.Duration
}

func main() {
	var (
		dir     = flag.String("dir", "bench/out", "work directory (on the disk to measure); a fresh subdirectory is made in it")
		bigSize = flag.Int64("big-size", 1<<30, "size of the big file in bytes")
		runs    = flag.Int("runs", 3, "runs of each big measurement (best and all are reported)")
		nSmall  = flag.Int("small", 10000, "number of small files (0: skip)")
		conc    = flag.Int("concurrency", 4, "concurrent uploads (and dd workers) for small files")
		skipBig = flag.Bool("skip-big", false, "skip the big-file measurement")
		keep    = flag.Bool("keep", false, "keep the work directory")
		storBin = flag.String("stor", "", "stor binary to use (default: go build ./cmd/stor)")
		cpuProf = flag.String("cpuprofile", "", "run stor inside this process and write a CPU profile of the stor uploads to this file (go tool pprof)")
	)
	flag.Parse()
	cpuProfile = *cpuProf
	if err := run(*dir, *bigSize, *runs, *nSmall, *conc, *skipBig, *keep, *storBin); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func run(base string, bigSize int64, runs, nSmall, conc int, skipBig, keep bool, storBin string) error {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(base, "ingest-")
	if err != nil {
		return err
	}
	work, _ = filepath.Abs(work)
	if !keep {
		defer os.RemoveAll(work)
	}
	fmt.Printf("work dir %s\n", work)
	if storBin == "" && cpuProfile == "" {
		storBin = filepath.Join(work, "stor")
		fmt.Println("building stor ...")
		if out, err := exec.Command("go", "build", "-o", storBin, "./cmd/stor").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	var srv *stor
	if cpuProfile != "" {
		srv, err = startInProcess(filepath.Join(work, "data"))
	} else {
		srv, err = startStor(storBin, filepath.Join(work, "data"))
	}
	if err != nil {
		return err
	}
	defer srv.stop()

	var results []result
	if !skipBig {
		r, err := benchBig(srv, work, bigSize, runs)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if nSmall > 0 {
		r, err := benchSmall(srv, work, nSmall, conc)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	report(results, conc)
	return nil
}

type stor struct {
	cmd  *exec.Cmd
	url  string
	stop func()
}

func startStor(bin, dataDir string) (*stor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_DATA_DIR="+dataDir,
		"STOR_BOOTSTRAP_TOKEN="+token, "STOR_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &stor{cmd: cmd, url: "http://" + addr}
	s.stop = func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	for range 400 {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("stor did not start")
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true,
	WriteBufferSize: 1 << 20, ReadBufferSize: 64 << 10}}

// upload POSTs the file at path as a raw body and waits for the 201.
func (s *stor) upload(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, _ := f.Stat()
	req, _ := http.NewRequest("POST", s.url+"/api/v1/assets?ignore_unsupported=1", f)
	req.ContentLength = fi.Size()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Disposition", `attachment; filename="`+filepath.Base(path)+`"`)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, body)
	}
	var a struct{ Size int64 }
	json.Unmarshal(body, &a)
	if a.Size != fi.Size() {
		return fmt.Errorf("POST %s: stored %d bytes of %d", path, a.Size, fi.Size())
	}
	return nil
}

func dd(in, out string) error {
	cmd := exec.Command("dd", "if="+in, "of="+out, "bs=1M", "conv=fdatasync", "status=none")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dd: %v %s", err, b)
	}
	return nil
}

// writeRandom writes size pseudo-random bytes (incompressible, distinct
// per seed) to path and syncs it.
func writeRandom(path string, size int64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 1})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	return f.Sync()
}

// warm reads a file so both contenders read it from the page cache.
func warm(path string) {
	if f, err := os.Open(path); err == nil {
		io.Copy(io.Discard, f)
		f.Close()
	}
}

func benchBig(s *stor, work string, size int64, runs int) (result, error) {
	r := result{name: fmt.Sprintf("one %s file", human(size)), bytes: size, files: 1}
	src := filepath.Join(work, "big.bin")
	fmt.Printf("writing %s of random bytes ...\n", human(size))
	if err := writeRandom(src, size, 1); err != nil {
		return r, err
	}
	for i := range runs {
		// Different bytes each run, so stor stores a new original every time
		// (no dedup shortcut): change the first 8 bytes.
		f, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err != nil {
			return r, err
		}
		fmt.Fprintf(f, "run%05d", i)
		f.Close()
		warm(src)

		out := filepath.Join(work, "dd.out")
		t0 := time.Now()
		if err := dd(src, out); err != nil {
			return r, err
		}
		ddT := time.Since(t0)
		os.Remove(out)

		warm(src)
		stopProfile := startProfile(i)
		t0 = time.Now()
		if err := s.upload(src); err != nil {
			return r, err
		}
		storT := time.Since(t0)
		stopProfile()
		r.ddAll, r.storAll = append(r.ddAll, ddT), append(r.storAll, storT)
		fmt.Printf("big run %d: dd %v (%.0f MB/s), stor %v (%.0f MB/s), ratio %.2f\n", i+1,
			ddT.Round(time.Millisecond), mbps(size, ddT), storT.Round(time.Millisecond), mbps(size, storT),
			ddT.Seconds()/storT.Seconds())
	}
	r.dd, r.stor = slices.Min(r.ddAll), slices.Min(r.storAll)
	return r, nil
}

func benchSmall(s *stor, work string, n, conc int) (result, error) {
	r := result{name: fmt.Sprintf("%d files of 4–64 KiB", n), files: n}
	dir := filepath.Join(work, "small")
	os.MkdirAll(dir, 0o755)
	fmt.Printf("writing %d small files ...\n", n)
	rng := rand.New(rand.NewPCG(7, 7))
	paths := make([]string, n)
	for i := range n {
		size := int64(4<<10 + rng.IntN(60<<10+1))
		paths[i] = filepath.Join(dir, fmt.Sprintf("f%05d.bin", i))
		if err := writeRandom(paths[i], size, uint64(i)+100); err != nil {
			return r, err
		}
		r.bytes += size
	}
	for _, p := range paths {
		warm(p)
	}
	outDir := filepath.Join(work, "small-dd")
	os.MkdirAll(outDir, 0o755)
	each := func(fn func(i int) error) (time.Duration, error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var firstErr atomic.Value
		t0 := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n || firstErr.Load() != nil {
						return
					}
					if err := fn(i); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if e := firstErr.Load(); e != nil {
			return 0, e.(error)
		}
		return time.Since(t0), nil
	}
	var err error
	fmt.Println("dd, one process per file ...")
	if r.dd, err = each(func(i int) error { return dd(paths[i], filepath.Join(outDir, filepath.Base(paths[i]))) }); err != nil {
		return r, err
	}
	os.RemoveAll(outDir)
	fmt.Println("stor, one POST per file ...")
	if r.stor, err = each(func(i int) error { return s.upload(paths[i]) }); err != nil {
		return r, err
	}
	r.ddAll, r.storAll = []time.Duration{r.dd}, []time.Duration{r.stor}
	fmt.Printf("small: dd %v (%.0f files/s), stor %v (%.0f files/s), ratio %.2f\n",
		r.dd.Round(time.Millisecond), float64(n)/r.dd.Seconds(), r.stor.Round(time.Millisecond),
		float64(n)/r.stor.Seconds(), r.dd.Seconds()/r.stor.Seconds())
	return r, nil
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}

func report(rs []result, conc int) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n| workload | dd (conv=fdatasync) | stor POST /api/v1/assets | stor / dd |\n|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s, %.0f MB/s, %.1f files/s | %s, %.0f MB/s, %.1f files/s | **%.0f%%** |\n", r.name,
			r.dd.Round(time.Millisecond), mbps(r.bytes, r.dd), float64(r.files)/r.dd.Seconds(),
			r.stor.Round(time.Millisecond), mbps(r.bytes, r.stor), float64(r.files)/r.stor.Seconds(),
			100*r.dd.Seconds()/r.stor.Seconds())
	}
	for _, r := range rs {
		if len(r.storAll) > 1 {
			fmt.Fprintf(&b, "\n%s, every run: dd %s; stor %s\n", r.name, durs(r.ddAll), durs(r.storAll))
		}
	}
	fmt.Fprintf(&b, "\nsmall files: %d concurrent uploads vs %d concurrent dd workers\n", conc, conc)
	fmt.Print(b.String())
}

func durs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.Round(time.Millisecond).String()
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
