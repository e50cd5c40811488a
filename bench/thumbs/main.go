// Command thumbs times 400px thumbnails of the benchmark images with stor's
// libvips path (in process, vips.Engine.Thumbnail as the thumbnail task
// calls it), imgproxy (over HTTP) or ImageMagick (/usr/bin/convert
// -thumbnail 400x400, one process per image), at the same concurrency.
// stor encodes at the thumbnail task's default quality (80, as imgproxy's
// default; both with optimised Huffman tables), so the outputs are alike.
//
//	go run ./bench/thumbs -tool stor -dir /tmp/stor-bench/data/thumbs/jpg -c 2
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"stor/internal/imagetask"
	"stor/internal/vips"
)

func main() {
	tool := flag.String("tool", "stor", "stor, imgproxy or convert; six or six-png: the thumbnail task's six outputs (150/400/1024, WebP and JPEG) from one decode (vips Thumbnails, session 4) or, as before session 4, via a 1024 px PNG decoded again per output")
	dir := flag.String("dir", "/tmp/stor-bench/data/thumbs/jpg", "directory of images")
	conc := flag.Int("c", 2, "images in flight at once")
	rounds := flag.Int("rounds", 1, "passes over the directory")
	imgproxy := flag.String("imgproxy", "http://127.0.0.1:28081", "imgproxy base URL")
	root := flag.String("imgproxy-root", "/tmp/stor-bench/data", "IMGPROXY_LOCAL_FILESYSTEM_ROOT")
	threads := flag.Int("threads", 0, "libvips threads per pipeline (vips.Config.Concurrency; 0: libvips default)")
	pid := flag.Int("pid", 0, "imgproxy's process id: report its CPU time too (from /proc)")
	quality := flag.Int("q", imagetask.DefaultConfig().ThumbQuality, "stor's JPEG quality (default: the thumbnail task's, STOR_THUMBNAIL_QUALITY's default)")
	warm := flag.Int("warm", 0, "untimed images first, -c at a time (warm-up: page cache, libvips start, imgproxy's pools, stor's threads)")
	outDir := flag.String("out", "", "stor and imgproxy: also write each thumbnail to this directory (NAME.jpg), to compare outputs")
	flag.Parse()

	files, _ := filepath.Glob(filepath.Join(*dir, "*"))
	sort.Strings(files)
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "no files in", *dir)
		os.Exit(1)
	}
	var eng *vips.Engine
	if *tool == "stor" || strings.HasPrefix(*tool, "six") {
		var err error
		if eng, err = vips.Startup(vips.Config{Concurrency: *threads, MaxPixels: 1 << 30}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	tmp, _ := os.MkdirTemp("", "thumbs-")
	defer os.RemoveAll(tmp)

	one := func(i int, path string) (int, error) {
		switch *tool {
		case "stor":
			b, info, err := eng.Thumbnail(path, vips.ThumbOpts{Size: 400, Format: vips.JPEG, Quality: *quality})
			if err == nil && max(info.Width, info.Height) != 400 {
				err = fmt.Errorf("thumbnail is %dx%d", info.Width, info.Height)
			}
			if err == nil {
				err = save(*outDir, path, b)
			}
			return len(b), err
		case "six":
			ts, err := eng.Thumbnails(path, sixOpts(*quality))
			n := 0
			for _, t := range ts {
				n += len(t.Data)
			}
			return n, err
		case "six-png":
			b, _, err := eng.Thumbnail(path, vips.ThumbOpts{Size: 1024, Format: vips.PNG})
			if err != nil {
				return 0, err
			}
			base := filepath.Join(tmp, fmt.Sprintf("%d.png", i))
			defer os.Remove(base)
			if err := os.WriteFile(base, b, 0o600); err != nil {
				return 0, err
			}
			n := 0
			for _, o := range sixOpts(*quality) {
				b, _, err := eng.Thumbnail(base, o)
				if err != nil {
					return 0, err
				}
				n += len(b)
			}
			return n, nil
		case "imgproxy":
			rel, _ := filepath.Rel(*root, path)
			res, err := http.Get(*imgproxy + "/insecure/rs:fit:400:400/plain/local:///" + rel + "@jpg")
			if err != nil {
				return 0, err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				return 0, fmt.Errorf("imgproxy %d: %s", res.StatusCode, b)
			}
			if err == nil {
				err = save(*outDir, path, b)
			}
			return len(b), err
		case "convert":
			out := filepath.Join(tmp, fmt.Sprintf("%d.jpg", i))
			if b, err := exec.Command("/usr/bin/convert", path, "-thumbnail", "400x400", out).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("convert: %v: %s", err, b)
			}
			fi, err := os.Stat(out)
			if err != nil {
				return 0, err
			}
			return int(fi.Size()), nil
		}
		return 0, fmt.Errorf("unknown tool %q", *tool)
	}

	// Warm-up at the same concurrency as the timed run, so that every
	// worker (and, for stor, every OS thread and libvips' per-thread
	// state) has run before the clock starts.
	var wwg sync.WaitGroup
	for w := range *conc {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for i := w; i < *warm; i += *conc {
				if _, err := one(i, files[i%len(files)]); err != nil {
					fmt.Fprintln(os.Stderr, "warm-up:", err)
					os.Exit(1)
				}
			}
		}()
	}
	wwg.Wait()
	var jobs []string
	for range *rounds {
		jobs = append(jobs, files...)
	}
	ch := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	var bytes int
	var errs []string
	cpu0 := cpuTime(*tool, *pid)
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				t0 := time.Now()
				n, err := one(i, jobs[i])
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				bytes += n
				if err != nil {
					errs = append(errs, filepath.Base(jobs[i])+": "+err.Error())
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		ch <- i
	}
	close(ch)
	wg.Wait()
	wall := time.Since(start)
	cpu := cpuTime(*tool, *pid) - cpu0
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("tool=%s dir=%s images=%d c=%d wall=%.2fs throughput=%.2f img/s cpu_per_image=%.1fms p50=%dms max=%dms out=%dKiB errors=%d\n",
		*tool, *dir, len(jobs), *conc, wall.Seconds(), float64(len(jobs))/wall.Seconds(), cpu.Seconds()*1000/float64(len(jobs)),
		lat[len(lat)/2].Milliseconds(), lat[len(lat)-1].Milliseconds(), bytes/1024, len(errs))
	if len(errs) > 0 {
		fmt.Println(strings.Join(errs, "\n"))
		os.Exit(1)
	}
}

// save writes b to dir/NAME.jpg (NAME: src's base name without its
// extension) when dir is set.
func save(dir, src string, b []byte) error {
	if dir == "" {
		return nil
	}
	name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
	return os.WriteFile(filepath.Join(dir, name+".jpg"), b, 0o644)
}

// sixOpts are the thumbnail task's outputs with its default sizes.
func sixOpts(q int) []vips.ThumbOpts {
	var o []vips.ThumbOpts
	for _, s := range []int{1024, 400, 150} {
		o = append(o, vips.ThumbOpts{Size: s, Format: vips.WebP, Quality: q}, vips.ThumbOpts{Size: s, Format: vips.JPEG, Quality: q})
	}
	return o
}

// cpuTime is the user+system CPU time so far of the process doing the
// work: this one for stor, imgproxy's (from /proc/PID/stat) for imgproxy,
// and the reaped children (the convert processes) for convert. CPU time
// is steadier than wall time on a machine shared with other work.
func cpuTime(tool string, pid int) time.Duration {
	switch tool {
	case "imgproxy":
		if pid == 0 {
			return 0
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		var ut, st int64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
	case "convert":
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
