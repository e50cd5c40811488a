// Command avbench measures the HLS ladder (issue 7), not in CI:
//
//	go run ./bench/avbench [-secs 60] [-runs 3] [-source phone|testsrc] [-preset veryfast] [-skip node]
//
// It generates a 1080p clip once (cached under
// ${XDG_CACHE_HOME:-~/.cache}/stor/bench/av; -source phone, the default:
// High profile CABAC 17 Mbit/s with sensor-like noise, as users upload;
// -source testsrc: the cheap-to-decode clip of sessions 1-4), then, run by run, in an
// order that rotates so no arm always goes first:
//  1. stor's transcode (av.Transcode: one ffmpeg run, one decode split to
//     every rung, segments published into a disk store as they land),
//  2. the bare ffmpeg command stor runs (same arguments, no Go around it),
//  3. one ffmpeg run per rung with the same filters and encoder settings
//     (video only, as stor's rungs), plus one run for the audio rendition
//     every rung shares (stor's layout: audio encoded once),
//
// and prints, per run and as medians, the CPU (user+sys of ffmpeg and its
// threads, getrusage of the waited-for children) and wall ratios. Then
//  4. upload to first playable segment through a real node (HTTP upload,
//     then polling /api/v1/assets/{id}/av for playable_at); the node is
//     stopped once the clip is playable (-node-finish waits for ready).
package main

import (
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
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"stor/internal/auth"
	"stor/internal/av"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node"
	"stor/internal/pipeline"
	"stor/internal/storage/disk"
)

type arm struct {
	wall, cpu, self time.Duration
}

func main() {
	secs := flag.Int("secs", 60, "clip length in seconds")
	runs := flag.Int("runs", 1, "runs of each ladder arm, interleaved")
	preset := flag.String("preset", "veryfast", "x264 preset")
	size := flag.String("size", "1920x1080", "source picture size")
	source := flag.String("source", "phone", "source clip: phone (High profile, CABAC, 17 Mbit/s, sensor-like noise: what users upload) or testsrc (x264 ultrafast crf 18 testsrc2: the sessions 1-4 source, cheap to decode)")
	dir := flag.String("dir", "/tmp/stor-avbench", "work directory")
	cache := flag.String("cache", defaultCache(), "where the generated source clips are kept")
	printCmds := flag.Bool("print", false, "print the bare ffmpeg command and the per-rung commands, and exit")
	skip := flag.String("skip", "", "comma-separated parts to skip: stor,bare,perrung,node")
	nodeProfile := flag.String("node-cpuprofile", "", "node part: write the stor process's CPU profile from upload complete to playable to this file")
	together := flag.Bool("together", false, "run the stor and bare arms at the same time (each run), so that both see the same machine: on a VM whose speed drifts by 10-15% between minutes, back-to-back arms differ by more than the 5% they are meant to show; each arm's CPU is still its own")
	finish := flag.Bool("node-finish", false, "node part: wait for the asset to be ready instead of stopping once playable")
	flag.Parse()
	ctx := context.Background()
	must(os.MkdirAll(*dir, 0o750))
	must(os.MkdirAll(*cache, 0o750))
	if *source != "phone" && *source != "testsrc" {
		log.Fatalf("-source %q: phone or testsrc", *source)
	}
	src := sourcePath(*cache, *source, *secs, *size)
	generate(src, *source, *secs, *size)
	a, _, err := av.Probe(ctx, src, av.Limits{})
	must(err)
	enc := av.Encoding{Preset: *preset}
	if *printCmds {
		fmt.Println("ffmpeg " + strings.Join(quote(av.BuildPlan(src, a, filepath.Join(*dir, "bare"), "", enc).Args), " "))
		for _, c := range perRungCmds(filepath.Join(*dir, "perrung"), src, a, enc) {
			fmt.Println("ffmpeg " + strings.Join(quote(c), " "))
		}
		return
	}
	skipped := func(p string) bool { return strings.Contains(","+*skip+",", ","+p+",") }
	fmt.Printf("clip %s: %d s %s 30 fps, %s; preset %s, %d CPUs; %s\n", filepath.Base(src), *secs, *size, describe(src), *preset, numCPU(), uptime())

	arms := map[string]func() arm{
		"stor":    func() arm { return storArm(ctx, *dir, src, a, enc) },
		"bare":    func() arm { return bareArm(*dir, src, a, enc) },
		"perrung": func() arm { return perRungArm(*dir, src, a, enc) },
	}
	order := []string{}
	for _, n := range []string{"stor", "bare", "perrung"} {
		if !skipped(n) {
			order = append(order, n)
		}
	}
	var ladderCPU, ladderWall, overCPU, overWall []float64
	for i := 0; i < *runs && len(order) > 0; i++ {
		got := map[string]arm{}
		k := i % len(order)
		seq := append(slices.Clone(order[k:]), order[:k]...)
		if *together && !skipped("stor") && !skipped("bare") {
			got["stor"], got["bare"] = storWithBare(ctx, *dir, src, a, enc)
			for _, n := range []string{"stor", "bare"} {
				fmt.Printf("run %d %-8s wall %6.1f s  CPU %6.1f s (+ Go %.2f s)  %s (together)\n", i+1, n,
					got[n].wall.Seconds(), got[n].cpu.Seconds(), got[n].self.Seconds(), uptime())
			}
			seq = slices.DeleteFunc(seq, func(n string) bool { return n == "stor" || n == "bare" })
		}
		for _, n := range seq {
			got[n] = arms[n]()
			fmt.Printf("run %d %-8s wall %6.1f s  CPU %6.1f s (+ Go %.2f s)  %s\n", i+1, n,
				got[n].wall.Seconds(), got[n].cpu.Seconds(), got[n].self.Seconds(), uptime())
		}
		s, sok := got["stor"]
		if p, ok := got["perrung"]; ok && sok {
			c, w := s.cpu.Seconds()/p.cpu.Seconds(), s.wall.Seconds()/p.wall.Seconds()
			ladderCPU, ladderWall = append(ladderCPU, c), append(ladderWall, w)
			fmt.Printf("run %d one-decode / per-rung: CPU %.3f×  wall %.3f×\n", i+1, c, w)
		}
		if b, ok := got["bare"]; ok && sok {
			c := ((s.cpu+s.self).Seconds()/b.cpu.Seconds() - 1) * 100
			w := (s.wall.Seconds()/b.wall.Seconds() - 1) * 100
			overCPU, overWall = append(overCPU, c), append(overWall, w)
			fmt.Printf("run %d stor over bare ffmpeg: CPU %+.1f%%  wall %+.1f%%\n", i+1, c, w)
		}
	}
	if len(ladderCPU) > 0 {
		fmt.Printf("RATIO one-decode / per-rung (median of %d): CPU %.3f×  wall %.3f×  (goal ≤ 0.7×)\n",
			len(ladderCPU), median(ladderCPU), median(ladderWall))
	}
	if len(overCPU) > 0 {
		fmt.Printf("RATIO stor over the bare ffmpeg command (median of %d): CPU %+.1f%%  wall %+.1f%%  (goal ≤ 5%%)\n",
			len(overCPU), median(overCPU), median(overWall))
	}
	if !skipped("node") {
		nodeFirstSegment(ctx, *dir, src, *secs, *finish, *nodeProfile)
	}
	fmt.Printf("done; %s\n", uptime())
}

// sourcePath is where the generated clip is kept; the testsrc names are
// the sessions 1-4 ones, so a cached clip is reused.
func sourcePath(cache, source string, secs int, size string) string {
	name := "src"
	if source == "phone" {
		name = "phone"
	}
	if size != "1920x1080" {
		return filepath.Join(cache, fmt.Sprintf("%s%d-%s.mp4", name, secs, size))
	}
	return filepath.Join(cache, fmt.Sprintf("%s%d.mp4", name, secs))
}

// generate makes the source clip once.
//
// testsrc: testsrc2 and a sine, H.264 ultrafast crf 18 (Constrained
// Baseline-like: CAVLC, no deblocking, no B-frames) + AAC; clips longer
// than a minute are the 60 s clip repeated.
//
// phone: what a phone or camera uploads: testsrc2 with temporal noise
// (sensor grain, so the picture is not trivially compressible), H.264
// High profile, CABAC, x264 preset fast (B-frames, 8x8 transform,
// deblocking), 17 Mbit/s (maxrate 20 Mbit/s), a key frame every second,
// AAC 48 kHz stereo 192k. Decoding it costs about 3.4× the testsrc clip's
// CPU (docs/benchmarks.md). It is a 10 s piece joined secs/10 times
// without re-encoding (generating noisy 1080p at this bit rate costs
// ~5 CPU s per second of clip; the ladder costs the same per second
// either way).
//
// Joined clips use the concat demuxer, -c copy.
func generate(src, source string, secs int, size string) {
	if _, err := os.Stat(src); err == nil {
		return
	}
	t := time.Now()
	tmp := src + ".tmp.mp4"
	piece := 60
	if source == "phone" {
		piece = 10
	}
	if secs > piece && secs%piece == 0 {
		one := sourcePath(filepath.Dir(src), source, piece, size)
		generate(one, source, piece, size)
		list := src + ".txt"
		must(os.WriteFile(list, []byte(strings.Repeat("file '"+one+"'\n", secs/piece)), 0o640))
		defer os.Remove(list)
		run("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", tmp)
	} else if source == "phone" {
		run("ffmpeg", "-nostdin", "-v", "error", "-y",
			"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=duration=%d:size=%s:rate=30,noise=alls=12:allf=t", secs, size),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d:sample_rate=48000", secs),
			"-c:v", "libx264", "-preset", "fast", "-profile:v", "high", "-b:v", "17M", "-maxrate", "20M", "-bufsize", "34M", "-g", "30",
			"-c:a", "aac", "-b:a", "192k", "-ac", "2", "-shortest", tmp)
	} else {
		run("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=duration=%d:size=%s:rate=30", secs, size),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", secs),
			"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest", tmp)
	}
	must(os.Rename(tmp, src))
	log.Printf("generated %s in %v", src, time.Since(t).Round(time.Millisecond))
}

// describe is the source's video codec, profile and bit rate (ffprobe).
func describe(src string) string {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,profile,bit_rate", "-of", "csv=p=0", src).Output()
	if err != nil {
		return "?"
	}
	f := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(f) == 3 {
		if kbps, err := strconv.Atoi(f[2]); err == nil {
			return fmt.Sprintf("%s %s %.1f Mbit/s", f[0], f[1], float64(kbps)/1e6)
		}
	}
	return strings.Join(f, " ")
}

func storArm(ctx context.Context, dir, src string, a *av.Analysis, enc av.Encoding) arm {
	out := filepath.Join(dir, "stor")
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
	s1, c1 := cpu()
	names := []string{}
	for _, r := range res.Plan.Rungs {
		names = append(names, r.Name)
	}
	fmt.Printf("    stor ladder %s: first playable segment (all rungs) after %.1f s, %d segments\n",
		strings.Join(names, " "), first.Seconds(), res.Segments)
	return arm{wall: res.Elapsed, cpu: c1 - c0, self: s1 - s0}
}

func bareArm(dir, src string, a *av.Analysis, enc av.Encoding) arm {
	out := filepath.Join(dir, "bare")
	os.RemoveAll(out)
	plan := av.BuildPlan(src, a, out, "", enc)
	for i := range plan.Variants() {
		must(os.MkdirAll(filepath.Join(out, "v"+strconv.Itoa(i)), 0o750))
	}
	t := time.Now()
	ps := run("ffmpeg", plan.Args...)
	return arm{wall: time.Since(t), cpu: ps.UserTime() + ps.SystemTime()}
}

// storWithBare runs the stor arm and the bare arm at the same time. The
// bare ffmpeg's CPU is its own (its rusage); the stor arm's is every
// child's CPU in the meantime less the bare one's.
func storWithBare(ctx context.Context, dir, src string, a *av.Analysis, enc av.Encoding) (stor, bare arm) {
	s0, c0 := cpu()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bare = bareArm(dir, src, a, enc)
	}()
	stor = storArm(ctx, dir, src, a, enc)
	<-done
	s1, c1 := cpu()
	stor.cpu, stor.self = c1-c0-bare.cpu, s1-s0
	return stor, bare
}

// perRungArm runs ffmpeg once per rung with the same filters (fps, format,
// av.ScaleFilter) and x264/HLS settings as av.BuildPlan, and once for the
// shared AAC rendition with its settings: the same outputs as stor's.
func perRungArm(dir, src string, a *av.Analysis, enc av.Encoding) arm {
	out := filepath.Join(dir, "perrung")
	os.RemoveAll(out)
	cmds := perRungCmds(out, src, a, enc)
	_, c0 := cpu()
	t := time.Now()
	for _, c := range cmds {
		must(os.MkdirAll(filepath.Dir(c[len(c)-1]), 0o750))
		run("ffmpeg", c...)
	}
	wall := time.Since(t)
	_, c1 := cpu()
	return arm{wall: wall, cpu: c1 - c0}
}

// perRungCmds are the per-rung arm's ffmpeg commands (arguments): one per
// rung, video only, then one for the audio rendition.
func perRungCmds(out, src string, a *av.Analysis, enc av.Encoding) [][]string {
	plan := av.BuildPlan(src, a, out, "", enc)
	hls := func(d string) []string {
		return []string{"-f", "hls", "-hls_time", strconv.Itoa(plan.SegmentSec), "-hls_playlist_type", "event", "-hls_segment_type", "fmp4",
			"-hls_flags", "temp_file+independent_segments", "-hls_segment_filename", d + "/seg%05d.m4s", d + "/index.m3u8"}
	}
	var cmds [][]string
	for i, r := range plan.Rungs {
		d := filepath.Join(out, "v"+strconv.Itoa(i))
		c := []string{"-nostdin", "-v", "error", "-i", src, "-map", "0:v:0",
			"-vf", fmt.Sprintf("fps=%s,format=yuv420p,%s", a.Video.FrameRateExact, av.ScaleFilter(r))}
		c = append(c, plan.RungVideoArgs(i, ":v")...)
		cmds = append(cmds, append(c, hls(d)...))
	}
	if plan.Audio {
		// The same layout as stor's: one audio rendition for every rung.
		d := filepath.Join(out, "v"+strconv.Itoa(plan.AudioIndex))
		c := append([]string{"-nostdin", "-v", "error", "-i", src, "-map", "0:a:0"}, av.AudioArgs()...)
		cmds = append(cmds, append(c, hls(d)...))
	}
	return cmds
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func uptime() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return time.Now().UTC().Format("15:04:05") + " load " + strings.Join(strings.Fields(string(b))[:3], " ")
}

func defaultCache() string {
	d := os.Getenv("XDG_CACHE_HOME")
	if d == "" {
		h, _ := os.UserHomeDir()
		d = filepath.Join(h, ".cache")
	}
	return filepath.Join(d, "stor", "bench", "av")
}

// nodeFirstSegment uploads the clip to a real node (default tasks and
// settings, load gate off) and times upload-complete → playable_at;
// profile, when set, is where the stor process's CPU profile of that
// window goes.
func nodeFirstSegment(ctx context.Context, dir, src string, secs int, finish bool, profile string) {
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
	defer func() {
		// Without -node-finish the transcode is still running: a short
		// deadline makes Stop cancel it (ffmpeg is killed) instead of
		// draining it.
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		if finish {
			sctx, cancel = context.WithCancel(ctx)
		}
		defer cancel()
		n.Stop(sctx)
	}()
	base := "http://" + cfg.Addr
	body, err := os.Open(src) // streamed: the 10 min clip is 1.5 GB
	must(err)
	defer body.Close()
	st, err := body.Stat()
	must(err)
	req, _ := http.NewRequest("POST", base+"/api/v1/assets", body)
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", "Bearer "+cfg.BootstrapToken)
	req.Header.Set("Content-Disposition", `attachment; filename="clip.mp4"`)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	must(err)
	log.Printf("node: uploaded %d MB in %.1f s", st.Size()>>20, time.Since(t0).Seconds())
	var asset struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&asset)
	resp.Body.Close()
	uploaded := time.Now()
	cpu0 := treeCPU()
	self0, done0 := cpu()
	if profile != "" {
		// The stor process's own CPU between upload and playable (its
		// programs are not in it): go tool pprof -top FILE.
		pf, err := os.Create(profile)
		must(err)
		defer pf.Close()
		must(pprof.StartCPUProfile(pf))
		defer pprof.StopCPUProfile()
	}
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
			took := time.Since(uploaded)
			fmt.Printf("RATIO node, %d s clip: upload complete → first playable segment (live master + every rung): %.1f s (goal < 10 s); %s\n",
				secs, took.Seconds(), uptime())
			fmt.Printf("    CPU spent by the node and its programs in between: %.1f s (the wall time on a loaded machine follows the share of the cores it got)\n",
				(treeCPU() - cpu0).Seconds())
			self1, done1 := cpu()
			fmt.Printf("    of which the stor process %.1f s, programs that finished %.1f s\n", (self1 - self0).Seconds(), (done1 - done0).Seconds())
			if _, by := cpuByProgram(); len(by) > 0 {
				fmt.Printf("    and programs still running: %v\n", by)
			}
			printTasks(ctx, n, asset.ID, uploaded)
			break
		}
		if time.Since(uploaded) > 10*time.Minute {
			fmt.Println("node: not playable after 10 min")
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !finish {
		return // the deferred Stop cancels the transcode (ffmpeg is killed)
	}
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
			printTasks(ctx, n, asset.ID, uploaded)
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

func run(name string, args ...string) *os.ProcessState {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	return cmd.ProcessState
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

// treeCPU is the CPU time (user+sys) of this process and of its running
// children (ffmpeg, exiftool, ... started by the node's tasks) plus its
// waited-for children, from /proc.
func treeCPU() time.Duration {
	total, _ := cpuByProgram()
	return total
}

// cpuByProgram is treeCPU with the share of each running child program
// (by its command line's first two words, e.g. "ffmpeg -nostdin").
func cpuByProgram() (time.Duration, map[string]time.Duration) {
	tick := 100.0 // USER_HZ
	stat := func(pid string) (ppid string, cpu float64) {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return "", 0
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 15 {
			return "", 0
		}
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[11+i], 64) // utime stime cutime cstime
		}
		return f[1], (v[0] + v[1] + v[2] + v[3]) / tick
	}
	self := strconv.Itoa(os.Getpid())
	_, total := stat(self)
	by := map[string]time.Duration{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pp, c := stat(e.Name()); pp == self && e.Name() != self {
			total += c
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			w := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
			name := filepath.Base(w[0])
			for _, a := range w[1:] {
				if strings.HasPrefix(a, "-progress") || strings.HasPrefix(a, "libx264") {
					name += " (ladder)"
					break
				}
			}
			by[name] += time.Duration(c * float64(time.Second))
		}
	}
	return time.Duration(total * float64(time.Second)), by
}

// printTasks shows which tasks ran before the clip became playable (they
// share the cores with the first segments).
func printTasks(ctx context.Context, n *node.Node, assetID string, t0 time.Time) {
	ts, err := catalog.ListTasks(ctx, n.DB.Reader(), catalog.TaskFilter{AssetID: assetID})
	must(err)
	for _, t := range ts {
		at := func(p *time.Time) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprintf("%+.1fs", p.Sub(t0).Seconds())
		}
		fmt.Printf("    task %-12s %-9s started %-7s finished %s\n", t.Name, t.State, at(t.StartedAt), at(t.FinishedAt))
	}
}
