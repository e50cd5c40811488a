// Command avbench measures the HLS ladder (issue 7), not in CI:
//
//	go run ./bench/avbench [-secs 60] [-preset veryfast] [-dir /tmp/stor-avbench]
//
// It generates a testsrc2 1080p clip with a sine once, then times
//  1. stor's transcode (av.Transcode: one ffmpeg run, one decode split to
//     every rung, segments published into a disk store as they land),
//  2. the bare ffmpeg command stor runs (same arguments, no Go around it),
//  3. one ffmpeg run per rung with the same encoder settings,
//  4. upload to first playable segment through a real node (HTTP upload,
//     then polling /api/v1/assets/{id}/av for playable_at).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"stor/internal/auth"
	"stor/internal/av"
	"stor/internal/config"
	"stor/internal/node"
	"stor/internal/pipeline"
	"stor/internal/storage/disk"
)

func main() {
	secs := flag.Int("secs", 60, "clip length in seconds")
	preset := flag.String("preset", "veryfast", "x264 preset")
	size := flag.String("size", "1920x1080", "source picture size")
	dir := flag.String("dir", "/tmp/stor-avbench", "work directory (the source clip is kept)")
	skip := flag.String("skip", "", "comma-separated parts to skip: stor,bare,perrung,node")
	flag.Parse()
	ctx := context.Background()
	must(os.MkdirAll(*dir, 0o750))
	src := filepath.Join(*dir, fmt.Sprintf("src%d.mp4", *secs))
	if *size != "1920x1080" {
		src = filepath.Join(*dir, fmt.Sprintf("src%d-%s.mp4", *secs, *size))
	}
	if _, err := os.Stat(src); err != nil {
		t := time.Now()
		run("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=duration=%d:size=%s:rate=30", *secs, *size),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", *secs),
			"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest", src)
		log.Printf("generated %s in %v", src, time.Since(t).Round(time.Millisecond))
	}
	a, _, err := av.Probe(ctx, src, av.Limits{})
	must(err)
	enc := av.Encoding{Preset: *preset}
	skipped := func(p string) bool { return strings.Contains(","+*skip+",", ","+p+",") }
	load := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		return strings.Join(strings.Fields(string(b))[:3], " ")
	}
	fmt.Printf("clip %d s %s 30 fps, preset %s, %d CPUs, load before: %s\n", *secs, *size, *preset, numCPU(), load())

	var storT, bareT, rungT, storCPU, storSelf, bareCPU, rungCPU time.Duration
	if !skipped("stor") {
		out := filepath.Join(*dir, "stor")
		os.RemoveAll(out)
		store, err := disk.New(filepath.Join(out, "blobs"))
		must(err)
		var first time.Duration
		s0, c0 := cpu()
		start := time.Now()
		tr := &av.Transcode{Store: store, Key: func(n string) string { return "derivatives/be/bench/" + n },
			Src: src, Analysis: a, TempDir: filepath.Join(out, "tmp"), Encoding: enc,
			OnPlayable: func(time.Time) { first = time.Since(start) }}
		res, err := tr.Run(ctx)
		must(err)
		storT = res.Elapsed
		s1, c1 := cpu()
		storCPU, storSelf = c1-c0, s1-s0
		names := []string{}
		for _, r := range res.Plan.Rungs {
			names = append(names, r.Name)
		}
		fmt.Printf("stor one-decode ladder (%s): %.1f s, first playable segment (all rungs) after %.1f s, %d segments; load %s\n",
			strings.Join(names, " "), storT.Seconds(), first.Seconds(), res.Segments, load())
	}
	if !skipped("bare") {
		out := filepath.Join(*dir, "bare")
		os.RemoveAll(out)
		plan := av.BuildPlan(src, a, out, "", enc)
		for i := range plan.Rungs {
			must(os.MkdirAll(filepath.Join(out, "v"+strconv.Itoa(i)), 0o750))
		}
		_, c0 := cpu()
		t := time.Now()
		run("ffmpeg", plan.Args...)
		bareT = time.Since(t)
		_, c1 := cpu()
		bareCPU = c1 - c0
		fmt.Printf("bare ffmpeg, the same command: %.1f s; load %s\n", bareT.Seconds(), load())
		fmt.Printf("  command: ffmpeg %s\n", strings.Join(quote(plan.Args), " "))
	}
	if !skipped("perrung") {
		out := filepath.Join(*dir, "perrung")
		os.RemoveAll(out)
		plan := av.BuildPlan(src, a, out, "", enc)
		gop := strconv.Itoa(int(plan.FPS*4 + 0.5))
		_, c0 := cpu()
		t := time.Now()
		for i, r := range plan.Rungs {
			d := filepath.Join(out, "v"+strconv.Itoa(i))
			must(os.MkdirAll(d, 0o750))
			run("ffmpeg", "-nostdin", "-v", "error", "-i", src, "-map", "0:v:0", "-map", "0:a:0",
				"-vf", fmt.Sprintf("fps=%s,format=yuv420p,scale=%d:%d,setsar=1", a.Video.FrameRateExact, r.Width, r.Height),
				"-c:v", "libx264", "-preset", *preset, "-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
				"-force_key_frames", "expr:gte(t,n_forced*4)", "-b:v", fmt.Sprintf("%dk", r.VideoKbps),
				"-maxrate", fmt.Sprintf("%dk", r.VideoKbps*107/100), "-bufsize", fmt.Sprintf("%dk", r.VideoKbps*3/2),
				"-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000",
				"-f", "hls", "-hls_time", "4", "-hls_playlist_type", "event", "-hls_segment_type", "fmp4",
				"-hls_flags", "temp_file+independent_segments", "-hls_segment_filename", d+"/seg%05d.m4s", d+"/index.m3u8")
		}
		rungT = time.Since(t)
		_, c1 := cpu()
		rungCPU = c1 - c0
		fmt.Printf("one ffmpeg run per rung: %.1f s; load %s\n", rungT.Seconds(), load())
	}
	if storT > 0 && rungT > 0 {
		fmt.Printf("one-decode / per-rung = %.2f× (goal ≤ 0.7×)\n", storT.Seconds()/rungT.Seconds())
	}
	if storT > 0 && bareT > 0 {
		fmt.Printf("stor overhead over bare ffmpeg = %+.1f%% (goal ≤ 5%%)\n", (storT.Seconds()/bareT.Seconds()-1)*100)
	}
	fmt.Printf("CPU time (user+sys): stor's ffmpeg %.1f s + stor's Go side %.2f s; bare ffmpeg %.1f s; per-rung runs %.1f s\n",
		storCPU.Seconds(), storSelf.Seconds(), bareCPU.Seconds(), rungCPU.Seconds())
	if storCPU > 0 && rungCPU > 0 {
		fmt.Printf("CPU one-decode / per-rung = %.2f×\n", storCPU.Seconds()/rungCPU.Seconds())
	}
	if storCPU > 0 && bareCPU > 0 {
		fmt.Printf("CPU stor (ffmpeg + Go) over bare ffmpeg = %+.1f%%\n", ((storCPU+storSelf).Seconds()/bareCPU.Seconds()-1)*100)
	}
	if !skipped("node") {
		nodeFirstSegment(ctx, *dir, src)
	}
}

// nodeFirstSegment uploads the clip to a real node (default tasks and
// settings, load gate off) and times upload-complete → playable_at.
func nodeFirstSegment(ctx context.Context, dir, src string) {
	data := filepath.Join(dir, "node")
	os.RemoveAll(data)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.BootstrapToken = ln.Addr().String(), data, "stor_bench_admin_token_0123456789"
	cfg.Workers = 2
	must(cfg.Validate())
	n, err := node.OpenWithPipeline(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		pipeline.Config{Load: func() (float64, int64) { return 0, 1 << 40 }}, nil)
	must(err)
	_, err = auth.Bootstrap(ctx, n.DB.Writer(), cfg.BootstrapToken)
	must(err)
	must(n.Start(ctx))
	go n.Serve(ln)
	defer n.Stop(ctx)
	base := "http://" + cfg.Addr
	body, err := os.ReadFile(src)
	must(err)
	req, _ := http.NewRequest("POST", base+"/api/v1/assets", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cfg.BootstrapToken)
	req.Header.Set("Content-Disposition", `attachment; filename="clip.mp4"`)
	resp, err := http.DefaultClient.Do(req)
	must(err)
	var asset struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&asset)
	resp.Body.Close()
	uploaded := time.Now()
	for {
		r, _ := http.NewRequest("GET", base+"/api/v1/assets/"+asset.ID+"/av", nil)
		r.Header.Set("Authorization", "Bearer "+cfg.BootstrapToken)
		resp, err := http.DefaultClient.Do(r)
		must(err)
		var v struct {
			PlayableAt *string `json:"playable_at"`
		}
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if v.PlayableAt != nil {
			fmt.Printf("node: upload complete → first playable segment (live master + every rung): %.1f s (goal < 10 s)\n", time.Since(uploaded).Seconds())
			break
		}
		if time.Since(uploaded) > 10*time.Minute {
			fmt.Println("node: not playable after 10 min")
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let the transcode finish so the process exits cleanly.
	for {
		r, _ := http.NewRequest("GET", base+"/api/v1/assets/"+asset.ID, nil)
		r.Header.Set("Authorization", "Bearer "+cfg.BootstrapToken)
		resp, err := http.DefaultClient.Do(r)
		must(err)
		var v struct{ State string }
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if v.State == "ready" || v.State == "failed" {
			fmt.Printf("node: asset %s after %.1f s\n", v.State, time.Since(uploaded).Seconds())
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// cpu returns this process's own CPU time and its waited-for children's:
// on a machine shared with other work, CPU time is the steadier measure.
func cpu() (self, children time.Duration) {
	var s, c syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	tv := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return tv(s), tv(c)
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ;[]()*,:%") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
