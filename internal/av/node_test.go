package av_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
	"stor/internal/pipeline"
)

func startNode(t *testing.T) *nodetest.Node {
	// The machine is shared: heavy tasks must not wait for the load
	// average to drop (the pipeline's load gate has its own tests).
	idle := pipeline.Config{Load: func() (float64, int64) { return 0, 1 << 40 }}
	return nodetest.StartPipeline(t, idle, func(c *config.Config) { c.Workers, c.HeavyWorkers = 2, 1 })
}

type assetView struct {
	ID       string            `json:"id"`
	State    string            `json:"state"`
	Error    *string           `json:"error"`
	Kind     string            `json:"kind"`
	Format   string            `json:"format"`
	Width    int               `json:"width"`
	Height   int               `json:"height"`
	Duration float64           `json:"duration_seconds"`
	Links    map[string]string `json:"links"`
	// PlayableAt is set once the stream is playable.
	PlayableAt *string `json:"playable_at"`
}

// waitDone polls an asset until it is ready or failed.
func waitDone(t *testing.T, n *nodetest.Node, id string, within time.Duration) assetView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var a assetView
		n.Get(t, "/api/v1/assets/"+id, n.Token, nil).JSON(t, &a)
		if (a.State == "ready" || a.State == "failed") && tasksSettled(t, n, id) {
			return a
		}
		if time.Now().After(deadline) {
			r := n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil)
			t.Fatalf("asset %s still %s after %v; tasks: %s", id, a.State, within, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tasksSettled reports whether no task of the asset is still to run:
// optional tasks (poster, waveform) may finish after the asset is ready.
func tasksSettled(t *testing.T, n *nodetest.Node, id string) bool {
	var ts struct{ Items []struct{ State string } }
	n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil).JSON(t, &ts)
	for _, tk := range ts.Items {
		switch tk.State {
		case "queued", "running", "retrying":
			return false
		}
	}
	return true
}

func upload(t *testing.T, n *nodetest.Node, name, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return n.MustUpload(t, n.Token, name, b).ID
}

// ffprobeHTTP reads a URL of the node back with ffprobe, authenticated.
func ffprobeHTTP(t *testing.T, n *nodetest.Node, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-headers", "Authorization: Bearer "+n.Token+"\r\n",
		"-print_format", "json", "-show_format", "-show_streams", "-show_programs", n.URL+path).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", path, err, msg)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every container and codec of the table ingests, processes and ends
// ready with its duration (±0.1 s) and an HLS master.
func TestFormatsIngestReady(t *testing.T) {
	const d = 2
	v := testsrc(d, "320x240", 25)
	s := sine(d)
	cases := []struct {
		name string
		args []string
	}{
		{"h264.mp4", append(v, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")},
		{"h264.mov", append(v, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")},
		{"h264.m4v", append(v, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-f", "mp4")},
		{"h264-opus.mkv", append(v, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus", "-shortest")},
		{"vp9-opus.webm", append(v, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-c:a", "libopus", "-shortest")},
		{"vp8-vorbis.webm", append(v, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-c:a", "libvorbis", "-shortest")},
		{"mpeg4.avi", append(v, "-c:v", "mpeg4", "-c:a", "libmp3lame", "-shortest")},
		{"mpeg2.mpg", append(v, "-c:v", "mpeg2video", "-c:a", "mp2", "-shortest", "-f", "vob")},
		{"h264.ts", append(v, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")},
		{"flv1.flv", append(v, "-c:v", "flv1", "-c:a", "libmp3lame", "-ar", "44100", "-shortest")},
		{"h264.3gp", append(v, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "1", "-shortest")},
		{"wmv2.wmv", append(v, "-c:v", "wmv2", "-c:a", "wmav2", "-shortest")},
		{"a.mp3", append(s, "-c:a", "libmp3lame")},
		{"a.flac", append(s, "-c:a", "flac")},
		{"a.aif", append(s, "-c:a", "pcm_s16be", "-f", "aiff")},
		{"a.wav", append(s, "-c:a", "pcm_s16le")},
		{"a.ogg", append(s, "-c:a", "libvorbis")},
		{"a.opus", append(s, "-c:a", "libopus")},
		{"a.m4a", append(s, "-c:a", "aac")},
		{"a.wma", append(s, "-c:a", "wmav2")},
	}
	n := startNode(t)
	ids := map[string]string{}
	for _, c := range cases {
		ids[c.name] = upload(t, n, c.name, gen(t, c.name, c.args...))
	}
	for _, c := range cases {
		a := waitDone(t, n, ids[c.name], 3*time.Minute)
		if a.State != "ready" {
			msg := ""
			if a.Error != nil {
				msg = *a.Error
			}
			r := n.Get(t, "/api/v1/assets/"+a.ID+"/tasks", n.Token, nil)
			t.Errorf("%s (%s/%s): %s %s; tasks %s", c.name, a.Kind, a.Format, a.State, msg, r.Body)
			continue
		}
		// A lossy audio codec's frames pad the end; the container says so.
		if math.Abs(a.Duration-d) > 0.1 {
			t.Errorf("%s: duration %.3f, want %d ± 0.1", c.name, a.Duration, d)
		}
		r := n.Get(t, "/media/"+a.ID+"/hls/master.m3u8", n.Token, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), "CODECS=") {
			t.Errorf("%s: master %d %s", c.name, r.Status, r.Body)
		}
		if a.Kind == "video" && (a.Width != 320 || a.Height != 240) {
			t.Errorf("%s: %dx%d", c.name, a.Width, a.Height)
		}
		t.Logf("%-16s %s/%s %.3f s", c.name, a.Kind, a.Format, a.Duration)
	}
}

// The ladder over HTTP: master and rungs read back with ffprobe, right
// content types and caching, Range on segments, links on the asset,
// poster, thumbnails, storyboard, MP4, analysis and playable_at.
func TestVideoOverHTTP(t *testing.T) {
	n := startNode(t)
	src := gen(t, "clip.mp4", append(testsrc(3, "640x360", 30), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	id := upload(t, n, "clip.mp4", src)
	a := waitDone(t, n, id, 2*time.Minute)
	if a.State != "ready" {
		t.Fatalf("state %s %v", a.State, *a.Error)
	}
	if a.PlayableAt == nil {
		t.Error("asset has no playable_at")
	}
	if a.Links["hls"] != n.URL+"/media/"+id+"/hls/master.m3u8" || a.Links["thumbnail"] != n.URL+"/api/v1/assets/"+id+"/derivatives/thumb-400" ||
		a.Links["poster"] == "" {
		t.Errorf("links %v", a.Links)
	}
	m := n.Get(t, "/media/"+id+"/hls/master.m3u8", n.Token, nil)
	if m.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Errorf("master content type %q", m.Header.Get("Content-Type"))
	}
	for _, want := range []string{"BANDWIDTH=", "RESOLUTION=426x240", "RESOLUTION=640x360", `CODECS="avc1.`} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("master lacks %s:\n%s", want, m.Body)
		}
	}
	p := ffprobeHTTP(t, n, "/media/"+id+"/hls/master.m3u8")
	if d := fdur(p); math.Abs(d-3) > 0.1 {
		t.Errorf("master over HTTP: duration %.3f", d)
	}
	if len(p.Programs) != 2 {
		t.Errorf("programs %d, want 2", len(p.Programs))
	}
	rungs := masterURIs(t, m.Body)
	v0, v1 := strings.TrimSuffix(rungs[0], "index.m3u8"), strings.TrimSuffix(rungs[1], "index.m3u8")
	if !regexp.MustCompile(`^r[0-9a-z]{14}/v0/$`).MatchString(v0) {
		t.Errorf("rung URI %q: want a versioned ladder directory", rungs[0])
	}
	pl := n.Get(t, "/media/"+id+"/hls/"+v0+"index.m3u8", n.Token, nil)
	if !strings.Contains(pl.Header.Get("Cache-Control"), "max-age") || !strings.Contains(string(pl.Body), "VOD") {
		t.Errorf("finished rung playlist: %v\n%s", pl.Header, pl.Body)
	}
	init := n.Get(t, "/media/"+id+"/hls/"+v0+"init_0.mp4", n.Token, nil)
	if init.Status != 200 || init.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("init: %d %v", init.Status, init.Header)
	}
	seg := n.Get(t, "/media/"+id+"/hls/"+v0+"seg00000.m4s", n.Token, http.Header{"Range": {"bytes=0-99"}})
	if seg.Status != http.StatusPartialContent || len(seg.Body) != 100 || seg.Header.Get("Content-Type") != "video/iso.segment" ||
		!strings.Contains(seg.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("segment range: %d %d %v", seg.Status, len(seg.Body), seg.Header)
	}
	// A signed URL's token is carried into child URIs, so a player that has
	// only the master's signed URL can fetch everything below it.
	sr := n.Do(t, "POST", "/api/v1/assets/"+id+"/signed-url", n.Token, strings.NewReader(`{"what":"hls","expires_in":"10m"}`),
		http.Header{"Content-Type": {"application/json"}})
	var signedURL struct{ Token string }
	if err := json.Unmarshal(sr.Body, &signedURL); err != nil || signedURL.Token == "" {
		t.Fatalf("signed-url: %d %s", sr.Status, sr.Body)
	}
	tok := url.QueryEscape(signedURL.Token)
	tq := n.Get(t, "/media/"+id+"/hls/"+v1+"index.m3u8?token="+tok, "", nil)
	if tq.Status != 200 || !strings.Contains(string(tq.Body), "seg00000.m4s?token="+tok) || !strings.Contains(string(tq.Body), `init_1.mp4?token=`+tok+`"`) {
		t.Errorf("token not carried: %d\n%s", tq.Status, tq.Body)
	}
	for _, bad := range []string{"../../x", "v0/../../master.m3u8", "v0/other.txt", "master.m3u8x", "rshort/v0/index.m3u8", v0 + "../" + v0 + "index.m3u8"} {
		if r := n.Get(t, "/media/"+id+"/hls/"+bad, n.Token, nil); r.Status != 404 {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}
	if r := n.Get(t, "/media/"+id+"/hls/master.m3u8", "", nil); r.Status != 401 {
		t.Errorf("unauthenticated: %d", r.Status)
	}
	// Poster and thumbnails.
	for name, want := range map[string][2]int{"poster": {640, 360}, "thumb-400": {400, 225}, "thumb-150-jpg": {150, 84}, "thumb-1024": {640, 360}} {
		r := n.Get(t, "/api/v1/assets/"+id+"/derivatives/"+name, n.Token, nil)
		if r.Status != 200 {
			t.Errorf("%s: %d", name, r.Status)
			continue
		}
		f, _ := os.CreateTemp(t.TempDir(), "d")
		f.Write(r.Body)
		f.Close()
		ip := ffprobe(t, f.Name())
		if ip.Streams[0].Width != want[0] || ip.Streams[0].Height != want[1] {
			t.Errorf("%s is %dx%d, want %v", name, ip.Streams[0].Width, ip.Streams[0].Height, want)
		}
	}
	vtt := n.Get(t, "/api/v1/assets/"+id+"/derivatives/storyboard.vtt", n.Token, nil)
	if !strings.HasPrefix(string(vtt.Body), "WEBVTT") || !strings.Contains(string(vtt.Body), "storyboard.jpg#xywh=1440,810,160,90") {
		t.Errorf("storyboard.vtt:\n%.400s", vtt.Body)
	}
	sb := n.Get(t, "/api/v1/assets/"+id+"/derivatives/storyboard.jpg", n.Token, nil)
	if sb.Status != 200 || sb.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("storyboard.jpg %d", sb.Status)
	}
	mp4 := n.Get(t, "/api/v1/assets/"+id+"/derivatives/mp4", n.Token, http.Header{"Range": {"bytes=4-7"}})
	if mp4.Status != 206 || string(mp4.Body) != "ftyp" {
		t.Errorf("mp4 range: %d %q", mp4.Status, mp4.Body)
	}
	var av struct {
		Analysis struct {
			Container string
			Video     struct {
				Codec     string
				FrameRate float64 `json:"frame_rate"`
				HDR       bool
			}
			Audio struct {
				Channels   int
				SampleRate int `json:"sample_rate"`
			}
		}
		PlayableAt *string `json:"playable_at"`
	}
	n.Get(t, "/api/v1/assets/"+id+"/av", n.Token, nil).JSON(t, &av)
	if av.Analysis.Video.Codec != "h264" || av.Analysis.Video.FrameRate != 30 || av.Analysis.Audio.Channels != 1 ||
		av.Analysis.Audio.SampleRate != 44100 || av.PlayableAt == nil {
		t.Errorf("av: %+v", av)
	}
	// The poster yielded to the ladder's first segments: it started once
	// the clip was playable, not beside the first segments.
	var ts struct {
		Items []struct {
			Name      string
			StartedAt *string `json:"started_at"`
		}
	}
	n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil).JSON(t, &ts)
	poster := false
	for _, tk := range ts.Items {
		if tk.Name != "poster" {
			continue
		}
		poster = true
		started, err1 := time.Parse(time.RFC3339Nano, deref(tk.StartedAt))
		playable, err2 := time.Parse(time.RFC3339Nano, deref(av.PlayableAt))
		if err1 != nil || err2 != nil || started.Before(playable) {
			t.Errorf("poster started %v, clip playable %v: want the poster after the first segments", deref(tk.StartedAt), deref(av.PlayableAt))
		}
	}
	if !poster {
		t.Errorf("no poster task in %+v", ts.Items)
	}
	// The live master is gone once the final one is there.
	if _, err := os.Stat(n.DataDir + "/blobs/derivatives/" + id[:2] + "/" + id + "/hls/live.m3u8"); !os.IsNotExist(err) {
		t.Errorf("live.m3u8 left behind: %v", err)
	}
}

// Audio only: an AAC-only HLS rendition, access copy, waveform and
// loudness. A one-frame video and a silent video still get a ladder.
func TestAudioOneFrameSilent(t *testing.T) {
	n := startNode(t)
	audio := upload(t, n, "tone.flac", gen(t, "tone.flac", append(sine(3), "-c:a", "flac")...))
	oneFrame := upload(t, n, "one.mp4", gen(t, "one.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast"))
	silent := upload(t, n, "silent.mp4", gen(t, "silent.mp4", "-f", "lavfi", "-i", "testsrc=duration=3:size=322x242:rate=25", "-c:v", "libx264", "-preset", "ultrafast"))

	a := waitDone(t, n, audio, 2*time.Minute)
	if a.State != "ready" || a.Links["waveform"] == "" {
		t.Fatalf("audio: %+v", a)
	}
	m := string(n.Get(t, "/media/"+audio+"/hls/master.m3u8", n.Token, nil).Body)
	if !strings.Contains(m, `CODECS="mp4a.40.2"`) || strings.Contains(m, "RESOLUTION") {
		t.Errorf("audio master:\n%s", m)
	}
	p := ffprobeHTTP(t, n, "/media/"+audio+"/hls/master.m3u8")
	if d := fdur(p); math.Abs(d-3) > 0.1 || len(p.Streams) != 1 || p.Streams[0].CodecName != "aac" {
		t.Errorf("audio HLS: %.3f s, %+v", d, p.Streams)
	}
	acc := n.Get(t, "/api/v1/assets/"+audio+"/derivatives/audio-access", n.Token, nil)
	if acc.Status != 200 || acc.Header.Get("Content-Type") != "audio/mp4" {
		t.Errorf("access copy %d", acc.Status)
	}
	var wf struct {
		SampleRate int     `json:"sample_rate"`
		Length     int     `json:"length"`
		Data       []int16 `json:"data"`
	}
	n.Get(t, "/api/v1/assets/"+audio+"/derivatives/waveform.json", n.Token, nil).JSON(t, &wf)
	if wf.Length < 900 || wf.Length > 1001 || len(wf.Data) != 2*wf.Length {
		t.Errorf("waveform: length %d, %d values", wf.Length, len(wf.Data))
	}
	// A 440 Hz sine at lavfi's default amplitude (1/8): peaks near ±4096.
	if mx := wf.Data[101]; mx < 3500 || mx > 4700 {
		t.Errorf("waveform peak %d, want ~4096", mx)
	}
	png := n.Get(t, "/api/v1/assets/"+audio+"/derivatives/waveform.png", n.Token, nil)
	if png.Status != 200 || string(png.Body[1:4]) != "PNG" {
		t.Errorf("waveform.png %d", png.Status)
	}
	var av struct {
		Loudness struct {
			I    float64 `json:"integrated_lufs"`
			Peak float64 `json:"true_peak_dbfs"`
		}
	}
	n.Get(t, "/api/v1/assets/"+audio+"/av", n.Token, nil).JSON(t, &av)
	// 1/8 full scale sine: −18 dBFS peak; ≈ −21 LUFS.
	if math.Abs(av.Loudness.Peak+18) > 1 || math.Abs(av.Loudness.I+21) > 2 {
		t.Errorf("loudness %+v", av.Loudness)
	}

	o := waitDone(t, n, oneFrame, 2*time.Minute)
	if o.State != "ready" {
		t.Errorf("one-frame video: %s %v", o.State, *o.Error)
	}
	om := n.Get(t, "/media/"+oneFrame+"/hls/master.m3u8", n.Token, nil)
	if r := n.Get(t, "/media/"+oneFrame+"/hls/"+masterURIs(t, om.Body)[0], n.Token, nil); !strings.Contains(string(r.Body), "seg00000.m4s") {
		t.Errorf("one-frame rung:\n%s", r.Body)
	}

	s := waitDone(t, n, silent, 2*time.Minute)
	if s.State != "ready" {
		t.Fatalf("silent video: %s %v", s.State, *s.Error)
	}
	sm := string(n.Get(t, "/media/"+silent+"/hls/master.m3u8", n.Token, nil).Body)
	if strings.Contains(sm, "mp4a") || !strings.Contains(sm, "RESOLUTION=318x240") {
		t.Errorf("silent (odd 322x242 source) master:\n%s", sm)
	}
	sp := ffprobeHTTP(t, n, "/media/"+silent+"/hls/master.m3u8")
	if d := fdur(sp); math.Abs(d-3) > 0.1 {
		t.Errorf("silent duration %.3f", d)
	}
}

// aviWithSize makes a tiny raw-video AVI and rewrites the picture size
// its headers declare (avih and the BITMAPINFOHEADER).
func aviWithSize(t *testing.T, w, h int32) []byte {
	b := readFile(t, gen(t, "raw.avi", "-f", "lavfi", "-i", "testsrc=duration=1:size=32x24:rate=5", "-c:v", "rawvideo", "-pix_fmt", "bgr24"))
	i := strings.Index(string(b), "avih")
	binary.LittleEndian.PutUint32(b[i+8+32:], uint32(w))
	binary.LittleEndian.PutUint32(b[i+8+36:], uint32(h))
	j := strings.Index(string(b), "strf")
	binary.LittleEndian.PutUint32(b[j+8+4:], uint32(w))
	binary.LittleEndian.PutUint32(b[j+8+8:], uint32(h))
	return b
}

// Bad input fails clearly and fast, and nothing hangs.
func TestBadInput(t *testing.T) {
	n := startNode(t)
	full := readFile(t, gen(t, "full.mp4", append(testsrc(3, "320x240", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...))
	// ffmpeg writes moov at the end (no faststart): cut it off.
	moov := strings.LastIndex(string(full), "moov")
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rng.IntN(256))
	}
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"truncated", "cut.mp4", full[:moov/2], "moov atom not found"},
		{"huge", "huge.avi", aviWithSize(t, 100000, 100000), "no valid picture size"},
		{"over limit", "big.avi", aviWithSize(t, 16000, 16000), "16000×16000 pixels, over the limit"},
		{"garbage", "garbage.mp4", garbage, ""},
	}
	for _, c := range cases {
		start := time.Now()
		r := n.Upload(t, n.Token, c.file, c.data, nil)
		if r.Status == http.StatusUnsupportedMediaType {
			// Refused at the door: not identified as any format.
			t.Logf("%s: refused at upload: %s", c.name, r.Body)
			if c.want != "" {
				t.Errorf("%s: refused at upload, want a failed asset with %q", c.name, c.want)
			}
			continue
		}
		if r.Status != http.StatusCreated {
			t.Fatalf("%s: upload %d %s", c.name, r.Status, r.Body)
		}
		a := waitDone(t, n, r.Asset(t).ID, time.Minute)
		el := time.Since(start)
		msg := ""
		if a.Error != nil {
			msg = *a.Error
		}
		if a.State != "failed" || !strings.Contains(msg, c.want) || !strings.Contains(msg, "invalid audio/video input") {
			t.Errorf("%s: %s %q, want failed with %q", c.name, a.State, msg, c.want)
		}
		if el > 15*time.Second {
			t.Errorf("%s took %v to fail", c.name, el)
		}
		// It failed at once: one attempt, not five retries.
		var ts struct {
			Items []struct {
				Name     string
				State    string
				Attempts int
			}
		}
		n.Get(t, "/api/v1/assets/"+a.ID+"/tasks", n.Token, nil).JSON(t, &ts)
		for _, tk := range ts.Items {
			if tk.State == "failed" && tk.Attempts > 1 {
				t.Errorf("%s: task %s failed after %d attempts", c.name, tk.Name, tk.Attempts)
			}
		}
		t.Logf("%s: failed in %v: %s", c.name, el.Round(time.Millisecond), msg)
	}
	if r := n.Upload(t, n.Token, "empty.mp4", nil, nil); r.Status != 400 || r.ErrorCode(t) != "empty_upload" {
		t.Errorf("zero-length upload: %d %s", r.Status, r.Body)
	}
}
