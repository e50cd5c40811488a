package av_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stor/internal/av"
	"stor/internal/storage"
	"stor/internal/storage/disk"
)

var fast = av.Encoding{Preset: "ultrafast"}

type rig struct {
	root  string
	store *disk.Store
}

func newRig(t *testing.T) *rig {
	root := t.TempDir()
	s, err := disk.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{root: root, store: s}
}

func (r *rig) key(name string) string { return "derivatives/te/test/" + name }
func (r *rig) path(name string) string {
	return filepath.Join(r.root, filepath.FromSlash(r.key(name)))
}

func (r *rig) transcode(t *testing.T, ctx context.Context, src string, mp4 bool, onPlayable func()) (*av.Result, error) {
	t.Helper()
	a, _, err := av.Probe(ctx, src, av.Limits{})
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	tr := &av.Transcode{Store: r.store, Key: r.key, Src: src, Analysis: a, TempDir: t.TempDir(), MP4: mp4,
		Encoding: fast, Poll: 50 * time.Millisecond,
		OnPlayable: func(time.Time) {
			if onPlayable != nil {
				onPlayable()
			}
		}}
	res, err := tr.Run(ctx)
	if err == nil {
		r.publish(t, res)
	}
	return res, err
}

// publish switches the master to res's ladder, as the hls task does.
func (r *rig) publish(t *testing.T, res *av.Result) {
	t.Helper()
	ok, err := av.PublishMaster(context.Background(), r.store, r.key, res, 0, func() error {
		_, err := r.store.Put(context.Background(), r.key(av.MasterName), bytes.NewReader(res.Master))
		return err
	})
	if err != nil || !ok {
		t.Fatalf("publish master: %v %v", ok, err)
	}
}

// keys lists the stored keys below hls/, relative to it.
func (r *rig) keys(t *testing.T) []string {
	t.Helper()
	var out []string
	prefix := r.key("hls/")
	if err := r.store.List(context.Background(), prefix, func(o storage.Object) error {
		out = append(out, strings.TrimPrefix(o.Key, prefix))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLadder(t *testing.T) {
	for _, c := range []struct {
		w, h int
		want string
	}{
		{1920, 1080, "240p:426x240 360p:640x360 480p:852x480 720p:1280x720 1080p:1920x1080"},
		{3840, 2160, "240p:426x240 360p:640x360 480p:852x480 720p:1280x720 1080p:1920x1080"},
		{1080, 1920, "240p:240x426 360p:360x640 480p:480x852 720p:720x1280 1080p:1080x1920"},
		{320, 240, "240p:320x240"},
		{321, 241, "240p:320x240"},
		{160, 120, "120p:160x120"},
		{1, 1, "2p:2x2"},
	} {
		var got []string
		for _, r := range av.Ladder(c.w, c.h) {
			got = append(got, r.Name+":"+itoa(r.Width)+"x"+itoa(r.Height))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("Ladder(%d, %d) = %v, want %s", c.w, c.h, got, c.want)
		}
	}
}

func itoa(v int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + formatInt(v)) }
func formatInt(v int) string {
	if v == 0 {
		return "0"
	}
	s := ""
	for ; v > 0; v /= 10 {
		s = string(rune('0'+v%10)) + s
	}
	return s
}

// The whole ladder in one run: master playlist reads back with ffprobe,
// with BANDWIDTH, RESOLUTION and CODECS; durations match; rung playlists
// end as VOD; segments about 4 s with key frames aligned.
func TestTranscodeLadder(t *testing.T) {
	src := gen(t, "src.mp4", append(testsrc(9, "640x480", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	r := newRig(t)
	res, err := r.transcode(t, context.Background(), src, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Rungs) != 3 {
		t.Fatalf("rungs %+v, want 240p 360p 480p", res.Plan.Rungs)
	}
	master := string(readFile(t, r.path(av.MasterName)))
	for _, want := range []string{"BANDWIDTH=", "AVERAGE-BANDWIDTH=", "RESOLUTION=320x240", "RESOLUTION=480x360",
		"RESOLUTION=640x480", `CODECS="avc1.`, `mp4a.40.2"`, "v2/index.m3u8"} {
		if !strings.Contains(master, want) {
			t.Errorf("master lacks %q:\n%s", want, master)
		}
	}
	p := ffprobe(t, r.path(av.MasterName))
	if d := fdur(p); math.Abs(d-9) > 0.1 {
		t.Errorf("master duration %.3f, want 9 ± 0.1", d)
	}
	if len(p.Programs) != 3 {
		t.Errorf("ffprobe sees %d programs in the master, want 3", len(p.Programs))
	}
	for i, want := range [][2]int{{320, 240}, {480, 360}, {640, 480}} {
		pl := string(readFile(t, r.path("hls/"+res.Version+"/v"+itoa(i)+"/index.m3u8")))
		if !strings.Contains(pl, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(pl, "#EXT-X-ENDLIST") {
			t.Errorf("rung %d playlist is not a finished VOD playlist:\n%s", i, pl)
		}
		if !strings.Contains(pl, "#EXTINF:4.000") {
			t.Errorf("rung %d: no 4 s segments:\n%s", i, pl)
		}
		rp := ffprobe(t, r.path("hls/"+res.Version+"/v"+itoa(i)+"/index.m3u8"))
		var vw, vh int
		audio := false
		for _, s := range rp.Streams {
			if s.CodecType == "video" {
				vw, vh = s.Width, s.Height
			}
			audio = audio || s.CodecType == "audio"
		}
		if vw != want[0] || vh != want[1] || audio {
			t.Errorf("rung %d: %dx%d audio=%v, want %v, video only", i, vw, vh, audio, want)
		}
		if d := fdur(rp); math.Abs(d-9) > 0.1 {
			t.Errorf("rung %d duration %.3f", i, d)
		}
	}
	// The audio: one AAC rendition (v3) that every rung names, encoded
	// once; ffprobe puts it in every program of the master.
	for _, want := range []string{`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac"`, `URI="` + res.Version + `/v3/index.m3u8"`, `AUDIO="aac"`} {
		if !strings.Contains(master, want) {
			t.Errorf("master lacks %q:\n%s", want, master)
		}
	}
	if n := strings.Count(master, `AUDIO="aac"`); n != 3 {
		t.Errorf("%d rungs name the audio group, want 3:\n%s", n, master)
	}
	for i, prog := range p.Programs {
		var kinds []string
		for _, s := range prog.Streams {
			kinds = append(kinds, s.CodecType)
		}
		if strings.Join(kinds, ",") != "video,audio" && strings.Join(kinds, ",") != "audio,video" {
			t.Errorf("program %d of the master: streams %v, want video and audio", i, kinds)
		}
	}
	ap := ffprobe(t, r.path("hls/"+res.Version+"/v3/index.m3u8"))
	if len(ap.Streams) != 1 || ap.Streams[0].CodecType != "audio" || ap.Streams[0].CodecName != "aac" {
		t.Errorf("audio rendition streams %+v, want one AAC", ap.Streams)
	}
	if d := fdur(ap); math.Abs(d-9) > 0.1 {
		t.Errorf("audio rendition duration %.3f", d)
	}
	apl := string(readFile(t, r.path("hls/"+res.Version+"/v3/index.m3u8")))
	if !strings.Contains(apl, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(apl, "#EXT-X-ENDLIST") {
		t.Errorf("audio playlist is not a finished VOD playlist:\n%s", apl)
	}
	if _, err := os.Stat(r.path(av.LiveName)); err != nil {
		// live.m3u8 is removed by the task after the master; here it stays.
		t.Logf("live master: %v", err)
	}
	mp := ffprobe(t, res.MP4Path)
	if d := fdur(mp); math.Abs(d-9) > 0.1 {
		t.Errorf("mp4 duration %.3f", d)
	}
	// The MP4 is the top rung and the audio rendition, copied.
	if len(mp.Streams) != 2 || mp.Streams[0].CodecName != "h264" || mp.Streams[0].Width != 640 ||
		mp.Streams[0].Height != 480 || mp.Streams[1].CodecName != "aac" {
		t.Errorf("mp4 streams %+v, want 640x480 H.264 and AAC", mp.Streams)
	}
	for _, s := range mp.Streams {
		if d, _ := strconv.ParseFloat(s.Duration, 64); math.Abs(d-9) > 0.1 {
			t.Errorf("mp4 %s stream duration %.3f, want 9", s.CodecType, d)
		}
	}
	t.Logf("master:\n%s", master)
	// faststart: moov before mdat.
	b := readFile(t, res.MP4Path)
	if m, d := bytes.Index(b, []byte("moov")), bytes.Index(b, []byte("mdat")); m < 0 || m > d {
		t.Errorf("mp4 is not faststart (moov at %d, mdat at %d)", m, d)
	}
}

// A phone clip stored landscape with a 90° display rotation comes out
// portrait in every rung.
func TestTranscodeRotated(t *testing.T) {
	raw := gen(t, "raw.mp4", append(testsrc(3, "480x360", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	src := gen(t, "rot.mp4", "-i", raw, "-c", "copy", "-metadata:s:v:0", "rotate=90")
	a, _, err := av.Probe(context.Background(), src, av.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Video.Rotation%180 != 90 || a.Video.DisplayWidth != 360 || a.Video.DisplayHeight != 480 {
		t.Fatalf("probe: rotation %d display %dx%d, want 90/270 and 360x480", a.Video.Rotation, a.Video.DisplayWidth, a.Video.DisplayHeight)
	}
	r := newRig(t)
	res, err := r.transcode(t, context.Background(), src, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Rungs) != 2 {
		t.Fatalf("rungs %+v", res.Plan.Rungs)
	}
	for i, want := range [][2]int{{240, 320}, {360, 480}} {
		rp := ffprobe(t, r.path("hls/"+res.Version+"/v"+itoa(i)+"/index.m3u8"))
		for _, s := range rp.Streams {
			if s.CodecType == "video" && (s.Width != want[0] || s.Height != want[1]) {
				t.Errorf("rung %d is %dx%d, want %v (portrait)", i, s.Width, s.Height, want)
			}
		}
	}
}

// Cancelling a transcode half-way (the task's context: a timeout, a
// shutdown) kills ffmpeg and publishes no master; the live master is
// withdrawn.
func TestTranscodeKilledHalfWay(t *testing.T) {
	src := gen(t, "long.mp4", append(testsrc(40, "320x240", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var playable atomic.Bool
	start := time.Now()
	_, err := r.transcode(t, ctx, src, true, func() {
		playable.Store(true)
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !playable.Load() {
		t.Fatal("never became playable before the cancel")
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("cancel took %v", el)
	}
	for _, name := range []string{av.MasterName, av.LiveName} {
		if _, err := r.store.Stat(context.Background(), r.key(name)); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("%s after a killed transcode: %v, want not exist", name, err)
		}
	}
	// The killed run's version is removed whole.
	if k := r.keys(t); len(k) != 0 {
		t.Errorf("left after a killed transcode: %v", k)
	}
}

// A reprocess writes a new ladder version beside the published one: the
// old master and every file of its ladder stay readable, unchanged, while
// the new ladder runs (its first segments already published); the switch
// serves the new ladder; the old version is removed after it.
func TestReprocessKeepsOldLadderUntilSwitch(t *testing.T) {
	ctx := context.Background()
	src := gen(t, "src.mp4", append(testsrc(12, "320x240", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	r := newRig(t)
	old, err := r.transcode(t, ctx, src, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	oldMaster := readFile(t, r.path(av.MasterName))
	oldFiles := map[string][]byte{}
	for _, k := range r.keys(t) {
		if strings.HasPrefix(k, old.Version+"/") {
			oldFiles[k] = readFile(t, r.path("hls/"+k))
		}
	}
	if len(oldFiles) < 5 { // one rung (240p): playlist, init, 3 segments
		t.Fatalf("old ladder has %d files: %v", len(oldFiles), r.keys(t))
	}
	var checks atomic.Int32
	oldIntact := func(when string) {
		checks.Add(1)
		if b, err := os.ReadFile(r.path(av.MasterName)); err != nil || !bytes.Equal(b, oldMaster) {
			t.Errorf("%s: master changed or gone (%v)", when, err)
		}
		for k, want := range oldFiles {
			if b, err := os.ReadFile(r.path("hls/" + k)); err != nil || !bytes.Equal(b, want) {
				t.Errorf("%s: old ladder file %s changed or gone (%v)", when, k, err)
			}
		}
	}

	a, _, err := av.Probe(ctx, src, av.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &av.Transcode{Store: r.store, Key: r.key, Src: src, Analysis: a, TempDir: t.TempDir(),
		Encoding: fast, Poll: 20 * time.Millisecond,
		Progress: func(int) { oldIntact("during the new ladder") },
		OnPlayable: func(time.Time) {
			oldIntact("new ladder playable (live)")
			if _, err := os.Stat(r.path(av.LiveName)); err != nil {
				t.Errorf("new ladder playable but no live master: %v", err)
			}
		}}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version == old.Version || res.Version < old.Version {
		t.Fatalf("new version %q not after old %q", res.Version, old.Version)
	}
	oldIntact("new ladder done, before the switch")
	// While the new ladder ran, ffprobe plays the old master whole.
	if d := fdur(ffprobe(t, r.path(av.MasterName))); math.Abs(d-12) > 0.1 {
		t.Errorf("old master duration %.3f, want 12", d)
	}
	if checks.Load() < 3 {
		t.Errorf("old ladder checked %d times during the run", checks.Load())
	}

	// The switch, with a grace for players that fetched the old master
	// just before it: the old version stays a while, then goes.
	ok, err := av.PublishMaster(ctx, r.store, r.key, res, 10*time.Second, func() error {
		_, err := r.store.Put(ctx, r.key(av.MasterName), bytes.NewReader(res.Master))
		return err
	})
	if err != nil || !ok {
		t.Fatalf("publish: %v %v", ok, err)
	}
	for k, want := range oldFiles {
		if b, err := os.ReadFile(r.path("hls/" + k)); err != nil || !bytes.Equal(b, want) {
			t.Errorf("right after the switch, old ladder file %s changed or gone (%v)", k, err)
		}
	}
	master := string(readFile(t, r.path(av.MasterName)))
	if !strings.Contains(master, res.Version+"/v0/index.m3u8") || strings.Contains(master, old.Version) {
		t.Errorf("master after the switch does not point at %s only:\n%s", res.Version, master)
	}
	if d := fdur(ffprobe(t, r.path(av.MasterName))); math.Abs(d-12) > 0.1 {
		t.Errorf("new master duration %.3f, want 12", d)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var left []string
		for _, k := range r.keys(t) {
			if !strings.HasPrefix(k, res.Version+"/") && k != "master.m3u8" {
				left = append(left, k)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old ladder still stored 2 min after the switch: %v", left)
		}
	}
	// A run that finishes after a newer one was published does not switch
	// back: its version is removed, the newer master stays.
	stale := &av.Result{Version: old.Version, Master: oldMaster}
	ok, err = av.PublishMaster(ctx, r.store, r.key, stale, 0, func() error {
		t.Error("a stale ladder was published")
		return nil
	})
	if ok || err != nil {
		t.Errorf("stale publish = %v, %v", ok, err)
	}
}
