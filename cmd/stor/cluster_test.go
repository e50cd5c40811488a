package main

// The cluster test: several stor processes on one database and one store
// (2 × `stor serve --workers=0`, 2 × `stor worker`), 200 mixed files
// ingested at once through both API nodes, a worker killed with SIGKILL in
// the middle of a transcode and the other one restarted with SIGTERM (a
// rolling restart). Every asset must end ready with each of its tasks
// applied once in effect, and the store must hold exactly the objects the
// catalog names, with the right bytes.
//
// The backend is a parameter (clusterBackend): the embedded one (SQLite and
// the local disk, every process on one data dir), PostgreSQL with the local
// disk, and PostgreSQL with MinIO (a data dir per process).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stor/internal/pgtest"
	"stor/internal/s3test"
	"stor/internal/storage"
	"stor/internal/storage/disk"
	s3store "stor/internal/storage/s3"
)

// clusterBackend is where the processes of a cluster keep their data.
type clusterBackend struct {
	name string
	// env is the environment of process i (data dir, database, store).
	env func(t *testing.T, i int) []string
	// store opens the shared blob store, for the test's own checks.
	store func(t *testing.T) storage.Store
}

// embeddedBackend: SQLite and the local disk, one data dir shared by every
// process on this machine (the shape a single big machine runs).
func embeddedBackend(t *testing.T) clusterBackend {
	dir := t.TempDir()
	return clusterBackend{
		name: "sqlite+disk",
		env:  func(*testing.T, int) []string { return []string{"STOR_DATA_DIR=" + dir} },
		store: func(t *testing.T) storage.Store {
			s, err := disk.New(filepath.Join(dir, "blobs"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

// postgresBackend: PostgreSQL (pgtest: a server on loopback, a fresh
// database) and the local disk shared by every process through one data
// dir.
func postgresBackend(t *testing.T) clusterBackend {
	be := embeddedBackend(t)
	url := pgtest.URL(t)
	disk := be.env
	be.name = "postgres+disk"
	be.env = func(t *testing.T, i int) []string { return append(disk(t, i), "STOR_DATABASE_URL="+url) }
	return be
}

// postgresS3Backend: the scale-out shape of the issue: PostgreSQL and one
// MinIO bucket (s3test: a real server on loopback), each process with a
// data dir of its own (nothing shared on disk) and the same signing keys.
func postgresS3Backend(t *testing.T) clusterBackend {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	url := pgtest.URL(t)
	root := t.TempDir()
	s3env := []string{"STOR_DATABASE_URL=" + url, "STOR_S3_ENDPOINT=http://" + srv.Endpoint, "STOR_S3_BUCKET=" + bucket,
		"STOR_S3_REGION=" + srv.Region, "STOR_S3_ACCESS_KEY=" + srv.AccessKey, "STOR_S3_SECRET_KEY=" + srv.SecretKey,
		"STOR_SIGNING_KEYS=cluster:" + base64.StdEncoding.EncodeToString([]byte("cluster-test-signing-key-0123456789"))}
	return clusterBackend{
		name: "postgres+s3",
		env: func(t *testing.T, i int) []string {
			return append([]string{"STOR_DATA_DIR=" + filepath.Join(root, fmt.Sprintf("node-%d", i))}, s3env...)
		},
		store: func(t *testing.T) storage.Store {
			st, err := s3store.New(context.Background(), s3store.Config{Endpoint: "http://" + srv.Endpoint, Bucket: bucket,
				Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PartSize: 5 << 20})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
}

func TestClusterEmbedded(t *testing.T) { runCluster(t, embeddedBackend(t)) }

func TestClusterPostgres(t *testing.T) { runCluster(t, postgresBackend(t)) }

func TestClusterPostgresS3(t *testing.T) { runCluster(t, postgresS3Backend(t)) }

// proc is one stor child process of a cluster.
type proc struct {
	name   string
	cmd    *exec.Cmd
	url    string // API or health address
	logs   *lockedBuffer
	done   chan struct{}
	exitEr error
}

func (p *proc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s still running %v after the signal", p.name, timeout)
	}
	if p.exitEr == nil {
		return 0
	}
	if ee, ok := p.exitEr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// logLines returns the JSON log lines of p that have msg.
func (p *proc) logLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// startProc runs `stor args...` with env and waits for its /healthz.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(storBin, args...)
	// STOR_SHUTDOWN_TIMEOUT stays above 5 s: net/http's Shutdown waits up
	// to 5 s for a connection accepted but not yet used (a client's spare
	// dial), and hitting the timeout makes serve exit 1.
	cmd.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_METRICS_ADDR="+addr, "STOR_BOOTSTRAP_TOKEN="+token,
		"STOR_LOG_LEVEL=info", "STOR_POLL_INTERVAL=50ms", "STOR_MAX_LOAD_PER_CPU=0", "STOR_RETRY_BASE=1s",
		"STOR_DRAIN_TIMEOUT=3s", "STOR_SHUTDOWN_TIMEOUT=15s", "STOR_FIXITY_INTERVAL=0", "STOR_PURGE_AFTER=0")
	cmd.Env = append(cmd.Env, env...)
	p := &proc{name: name, cmd: cmd, url: "http://" + addr, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.Discard, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitEr = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if p.running() {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", name, tail(p.logs.String(), 4000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if !p.running() {
			t.Fatalf("%s exited: %v\n%s", name, p.exitEr, p.logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer /healthz", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// genFile is one generated input file.
type genFile struct {
	name, kind string
	data       []byte
}

// genMedia makes n distinct small files of every kind: images (Go's
// encoders), videos and audio (ffmpeg), PDFs (by hand). long is a video
// long enough that its transcode is caught while it runs.
func genMedia(t *testing.T, images, videos, audios, pdfs int) (files []genFile, long genFile) {
	t.Helper()
	dir := t.TempDir()
	ff := func(out string, args ...string) []byte {
		args = append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
		args = append(args, filepath.Join(dir, out))
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
		}
		b, err := os.ReadFile(filepath.Join(dir, out))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range images {
		img := image.NewRGBA(image.Rect(0, 0, 48+i%16, 40))
		for y := range 40 {
			for x := range 48 + i%16 {
				img.Set(x, y, color.RGBA{uint8(i * 7), uint8(x * 5), uint8(y * 6), 255})
			}
		}
		var b bytes.Buffer
		name := fmt.Sprintf("img-%03d.png", i)
		if i%2 == 0 {
			png.Encode(&b, img)
		} else {
			name = fmt.Sprintf("img-%03d.jpg", i)
			jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
		}
		files = append(files, genFile{name, "image", b.Bytes()})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 2)
	add := func(f genFile) { mu.Lock(); files = append(files, f); mu.Unlock() }
	// Videos: a few encodes, then distinct files by remuxing them with a
	// different comment (cheap: no encode per file).
	bases := 3
	for i := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ff(fmt.Sprintf("base-%d.mp4", i), "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=64x48:rate=10:duration=1,hue=h=%d", i*90),
				"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=1", 300+100*i), "-c:v", "libx264", "-preset", "ultrafast",
				"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
		}()
	}
	wg.Wait()
	for i := range videos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("vid-%03d.mp4", i)
			add(genFile{name, "video", ff(name, "-i", filepath.Join(dir, fmt.Sprintf("base-%d.mp4", i%bases)),
				"-c", "copy", "-metadata", fmt.Sprintf("comment=cluster video %d", i))})
		}()
	}
	// Audio: WAV written here, a few MP3s by ffmpeg.
	for i := range audios {
		if i%5 != 4 {
			add(genFile{fmt.Sprintf("aud-%03d.wav", i), "audio", sineWAV(200+7*i, 8000, 8000)})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("aud-%03d.mp3", i)
			add(genFile{name, "audio", ff(name, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=1", 200+7*i))})
		}()
	}
	wg.Wait()
	for i := range pdfs {
		files = append(files, genFile{fmt.Sprintf("doc-%03d.pdf", i), "pdf",
			pdfDoc([][2]int{{200, 100}, {100, 200}}[:1+i%2], fmt.Sprintf("cluster page %d", i))})
	}
	// The long one: 10 s at 320x240, seconds of transcode.
	long = genFile{"long.mp4", "video", ff("long.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=10",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")}
	return files, long
}

// sineWAV is a mono 16-bit WAV of n samples of a sine at freq Hz.
func sineWAV(freq, rate, n int) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(1))
	le(uint32(rate))
	le(uint32(2 * rate))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		le(int16(8000 * math.Sin(2*math.Pi*float64(freq)*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

// pdfDoc writes a PDF by hand: one page per size (points), text on each.
func pdfDoc(sizes [][2]int, text string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n")
	var kids []string
	for i := range sizes {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", len(sizes), strings.Join(kids, " ")))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, sz := range sizes {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>",
			sz[0], sz[1], 5+2*i))
		content := fmt.Sprintf("BT /F1 12 Tf 10 %d Td (%s) Tj ET", sz[1]/2, text)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// api is a tiny client of the API nodes, safe from any goroutine.
type api struct{ urls []string }

func (c api) get(i int, path string, v any) error {
	req, _ := http.NewRequest("GET", c.urls[i%len(c.urls)]+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if bp, ok := v.(*[]byte); ok {
		*bp = b
		return nil
	}
	return json.Unmarshal(b, v)
}

func (c api) upload(i int, f genFile) (string, error) {
	req, _ := http.NewRequest("POST", c.urls[i%len(c.urls)]+"/api/v1/assets", bytes.NewReader(f.data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Disposition", `attachment; filename="`+f.name+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("upload %s: %d %s", f.name, resp.StatusCode, b)
	}
	var a struct{ ID string }
	if err := json.Unmarshal(b, &a); err != nil {
		return "", err
	}
	return a.ID, nil
}

type clusterAsset struct {
	ID, State, Filename, Kind, SHA256 string
}

func (c api) assets(t *testing.T) []clusterAsset {
	t.Helper()
	var all []clusterAsset
	cursor := ""
	for {
		var page struct {
			Items      []clusterAsset
			NextCursor *string `json:"next_cursor"`
		}
		if err := c.get(len(all), "/api/v1/assets?limit=1000&cursor="+cursor, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return all
		}
		cursor = *page.NextCursor
	}
}

func runCluster(t *testing.T, be clusterBackend) {
	start := time.Now()
	// 200 files: 120 images, 30 videos, 30 audio, 19 PDFs and the long
	// video. STOR_CLUSTER_FILES scales that down (or up) for a quick run on
	// a busy machine, in the same proportions.
	total := 200
	if v := os.Getenv("STOR_CLUSTER_FILES"); v != "" {
		if _, err := fmt.Sscan(v, &total); err != nil || total < 10 {
			t.Fatalf("STOR_CLUSTER_FILES=%q: want a number of at least 10", v)
		}
	}
	files, long := genMedia(t, total*120/200, total*30/200, total*30/200, total-1-total*120/200-2*(total*30/200))
	files = append([]genFile{long}, files...) // 200, the long one first
	t.Logf("%s: generated %d files in %v", be.name, len(files), time.Since(start).Round(time.Millisecond))

	n := 0
	env := func() []string { n++; return be.env(t, n) }
	api1 := startProc(t, "api1", append(env(), "STOR_WORKERS=0"), "serve")
	api2 := startProc(t, "api2", append(env(), "STOR_WORKERS=0"), "serve")
	workerEnv := []string{"STOR_WORKERS=2", "STOR_HEAVY_WORKERS=1"}
	workers := []*proc{
		startProc(t, "worker1", append(env(), workerEnv...), "worker"),
		startProc(t, "worker2", append(env(), workerEnv...), "worker"),
	}
	c := api{urls: []string{api1.url, api2.url}}

	// 200 uploads at once, alternating between the API nodes.
	ids := make([]string, len(files))
	errs := make(chan error, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	ingestStart := time.Now()
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := c.upload(i, f)
			if err != nil {
				errs <- err
				return
			}
			ids[i] = id
		}()
	}

	// Meanwhile: kill the worker that transcodes the long video while it
	// does, and restart the other one gracefully (a rolling restart).
	// The first transcode (hls) seen running is the target: the long
	// video's most likely, but on a busy machine any one will do, as long
	// as it is still running when the SIGKILL lands.
	killed := ""
	deadline := time.Now().Add(15 * time.Minute)
scan:
	for killed == "" {
		if time.Now().After(deadline) {
			t.Fatal("no worker started a transcode")
		}
		for i, w := range workers {
			for _, l := range w.logLines("task started") {
				if l["task"] != "hls" {
					continue
				}
				done := false
				for _, s := range w.logLines("task succeeded") {
					if s["task"] == "hls" && s["asset_id"] == l["asset_id"] {
						done = true
					}
				}
				if done {
					continue
				}
				w.cmd.Process.Signal(syscall.SIGKILL)
				w.exitCode(t, 10*time.Second)
				for _, s := range w.logLines("task succeeded") {
					if s["task"] == "hls" && s["asset_id"] == l["asset_id"] {
						done = true // finished just before the kill: try again on the restarted worker
					}
				}
				t.Logf("killed %s with SIGKILL during the transcode of %v (%v after the start; finished first: %v)",
					w.name, l["asset_id"], time.Since(ingestStart).Round(time.Millisecond), done)
				other := workers[1-i]
				workers = []*proc{startProc(t, "worker3", append(env(), workerEnv...), "worker")}
				if done {
					workers = append(workers, other)
					continue scan
				}
				killed = w.name
				// Rolling restart of the other worker: SIGTERM drains it.
				other.cmd.Process.Signal(syscall.SIGTERM)
				if code := other.exitCode(t, 60*time.Second); code != 0 {
					t.Errorf("%s exited %d after SIGTERM", other.name, code)
				}
				if len(other.logLines("drained")) != 1 {
					t.Errorf("%s did not log its drain", other.name)
				}
				workers = append(workers, startProc(t, "worker4", append(env(), workerEnv...), "worker"))
				continue scan
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("ingested %d files through 2 API nodes in %v", len(files), time.Since(ingestStart).Round(time.Millisecond))

	// Every asset ends ready. A shared CI machine may be slow: the limit
	// is on progress (some asset becomes ready every 3 minutes), with a
	// progress line every 30 s.
	var list []clusterAsset
	lastReady, lastProgress, lastLog := -1, time.Now(), time.Now()
	for {
		list = c.assets(t)
		states := map[string]int{}
		for _, a := range list {
			states[a.State]++
		}
		if states["ready"] == len(files) && len(list) == len(files) {
			break
		}
		if states["failed"] > 0 {
			for _, a := range list {
				if a.State == "failed" {
					var b []byte
					c.get(0, "/api/v1/assets/"+a.ID+"/tasks", &b)
					t.Errorf("%s failed: %s", a.Filename, b)
				}
			}
			t.FailNow()
		}
		if states["ready"] > lastReady {
			lastReady, lastProgress = states["ready"], time.Now()
		}
		if time.Since(lastLog) > 30*time.Second {
			var b []byte
			c.get(0, "/api/v1/processing", &b)
			t.Logf("%v: %v; processing %s", time.Since(ingestStart).Round(time.Second), states, b)
			lastLog = time.Now()
		}
		if time.Since(lastProgress) > 3*time.Minute {
			var b []byte
			c.get(0, "/api/v1/processing", &b)
			t.Fatalf("no asset became ready for 3 minutes: %v of %d; processing %s", states, len(files), b)
		}
		time.Sleep(time.Second)
	}
	t.Logf("all %d assets ready %v after the ingest began", len(files), time.Since(ingestStart).Round(time.Millisecond))

	// Optional tasks (OCR, posters, waveforms) may still run: wait for an
	// empty queue.
	for idle, since := 0, time.Now(); ; {
		var st struct{ Queued, Running int }
		if err := c.get(0, "/api/v1/processing", &st); err != nil {
			t.Fatal(err)
		}
		if st.Queued == 0 && st.Running == 0 {
			break
		}
		if st.Queued+st.Running != idle {
			idle, since = st.Queued+st.Running, time.Now()
		}
		if time.Since(since) > 3*time.Minute {
			t.Fatalf("optional tasks stuck: %d queued, %d running", st.Queued, st.Running)
		}
		time.Sleep(time.Second)
	}

	// The killed transcode was requeued by a live worker and ran again.
	orphans := 0
	for _, w := range workers {
		orphans += len(w.logLines("requeued a task left running by a dead process"))
	}
	if orphans < 1 {
		t.Errorf("no worker requeued the killed worker's transcode")
	}

	checkClusterAssets(t, c, be, files, ids, list)

	// Everything stops cleanly on SIGTERM.
	for _, p := range append(workers, api1, api2) {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range append(workers, api1, api2) {
		if code := p.exitCode(t, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", p.name, code)
		}
	}
	t.Logf("%s cluster test: %v in all", be.name, time.Since(start).Round(time.Millisecond))
}

// checkClusterAssets checks every asset's tasks, events and derivatives,
// and the store's objects and bytes.
func checkClusterAssets(t *testing.T, c api, be clusterBackend, files []genFile, ids []string, list []clusterAsset) {
	t.Helper()
	byID := map[string]clusterAsset{}
	for _, a := range list {
		byID[a.ID] = a
	}
	type deriv struct {
		Name string
		Size int64
		Task string
	}
	// Derivative name sets, per kind of generated file: all alike.
	shapes := map[string]map[string]string{} // kind → derivative names → first file
	wantKeys := map[string]int64{}           // store key → size
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id := ids[i]
			a, ok := byID[id]
			if !ok {
				t.Errorf("%s: asset %s not listed", f.name, id)
				return
			}
			sum := sha256.Sum256(f.data)
			if a.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: sha256 %s, want %x", f.name, a.SHA256, sum)
			}
			// The original, through an API node, byte for byte.
			var orig []byte
			if err := c.get(i+1, "/api/v1/assets/"+id+"/original", &orig); err != nil || !bytes.Equal(orig, f.data) {
				t.Errorf("%s: original differs (%v)", f.name, err)
			}
			// Tasks: each succeeded, each applied once.
			var tasks struct {
				Items []struct {
					Name, State string
					Attempts    int
				}
			}
			if err := c.get(i, "/api/v1/assets/"+id+"/tasks", &tasks); err != nil {
				t.Error(err)
				return
			}
			var events struct {
				Items []struct {
					Type   string
					Detail map[string]any
				}
			}
			if err := c.get(i, "/api/v1/assets/"+id+"/events", &events); err != nil {
				t.Error(err)
				return
			}
			succeeded, types := map[string]int{}, map[string]int{}
			for _, e := range events.Items {
				types[e.Type]++
				if e.Type == "task.succeeded" {
					succeeded[fmt.Sprint(e.Detail["task"])]++
				}
			}
			for _, tk := range tasks.Items {
				if tk.State != "succeeded" {
					t.Errorf("%s: task %s %s", f.name, tk.Name, tk.State)
				}
				if succeeded[tk.Name] != 1 {
					t.Errorf("%s: task %s succeeded %d times in the events, want once", f.name, tk.Name, succeeded[tk.Name])
				}
			}
			if len(succeeded) != len(tasks.Items) {
				t.Errorf("%s: %d tasks, %d succeeded in the events", f.name, len(tasks.Items), len(succeeded))
			}
			if types["state.ready"] != 1 || types["ingested"] != 1 {
				t.Errorf("%s: events %v: want one ingested and one state.ready", f.name, types)
			}
			// Derivatives: each served by an API node, unique by name.
			var ds []deriv
			if err := c.get(i, "/api/v1/assets/"+id+"/derivatives", &ds); err != nil {
				t.Error(err)
				return
			}
			var names []string
			seen := map[string]bool{}
			for _, d := range ds {
				if seen[d.Name] {
					t.Errorf("%s: derivative %s twice", f.name, d.Name)
				}
				seen[d.Name] = true
				names = append(names, d.Name)
				if strings.Contains(d.Name, "/") {
					continue // an HLS playlist: served by the HLS routes; checked in the store below
				}
				var b []byte
				if err := c.get(i+1, "/api/v1/assets/"+id+"/derivatives/"+d.Name, &b); err != nil || int64(len(b)) != d.Size || d.Size == 0 {
					t.Errorf("%s: derivative %s: %d bytes served, %d listed (%v)", f.name, d.Name, len(b), d.Size, err)
				}
			}
			sort.Strings(names)
			kind := f.kind + filepath.Ext(f.name)
			if f.kind == "pdf" {
				var k int
				fmt.Sscanf(f.name, "doc-%d.pdf", &k)
				kind += fmt.Sprintf("/%d-pages", 1+k%2) // odd ones have two pages
			}
			if f.name == "long.mp4" {
				kind = "long"
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				wantKeys["derivatives/"+id[:2]+"/"+id+"/"+d.Name] = d.Size
			}
			wantKeys[storage.OriginalKey(a.SHA256)] = int64(len(f.data))
			if shapes[kind] == nil {
				shapes[kind] = map[string]string{}
			}
			shapes[kind][strings.Join(names, ",")] = f.name
		}()
	}
	wg.Wait()
	for kind, s := range shapes {
		if len(s) != 1 {
			t.Errorf("%s files got different derivatives: %v", kind, s)
		}
	}

	// The store holds exactly those objects, with those sizes; each
	// original hashes to its name.
	st := be.store(t)
	ctx := context.Background()
	got := map[string]int64{}
	for _, prefix := range []string{"originals/", "derivatives/"} {
		err := st.List(ctx, prefix, func(o storage.Object) error { got[o.Key] = o.Size; return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	originals := 0
	for k, size := range wantKeys {
		gs, ok := got[k]
		if !ok || gs != size {
			t.Errorf("store: %s: %d bytes (present %v), want %d", k, gs, ok, size)
		}
		if strings.HasPrefix(k, "originals/") {
			originals++
			r, err := st.Open(ctx, k, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			io.Copy(h, r)
			r.Close()
			if hex.EncodeToString(h.Sum(nil)) != filepath.Base(k) {
				t.Errorf("store: %s does not hash to its name", k)
			}
		}
	}
	// HLS ladders keep their renditions and segments beside the master
	// playlist (derivatives/../ID/hls/...): those belong to the asset whose
	// hls/master.m3u8 is listed.
	ladder := 0
	for k := range got {
		if _, ok := wantKeys[k]; ok {
			continue
		}
		if i := strings.Index(k, "/hls/"); i > 0 {
			if _, ok := wantKeys[k[:i]+"/hls/master.m3u8"]; ok {
				ladder++
				continue
			}
		}
		t.Errorf("store: %s is in no asset", k)
	}
	if originals != len(files) || len(got) != len(wantKeys)+ladder {
		t.Errorf("store: %d objects (%d originals), want %d (%d) + %d HLS files", len(got), originals, len(wantKeys), len(files), ladder)
	}
	t.Logf("store: %d objects verified (%d originals, %d derivatives); derivative shapes %v", len(got), originals, len(got)-originals, len(shapes))
}
