package av

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"stor/internal/proc"
	"stor/internal/storage"
)

// HLS layout below an asset's derivative prefix (pipeline.DerivativeKey):
//
//	hls/master.m3u8              published last, when every rung is complete
//	hls/live.m3u8                the master while transcoding (rungs published so far)
//	hls/VER/v0/index.m3u8        rung playlists: EVENT while transcoding, VOD at the end
//	hls/VER/v0/init_0.mp4        fMP4 init segment
//	hls/VER/v0/seg00000.m4s      media segments
//	hls/VER/vN/...               the audio rendition every rung shares (N = rungs)
//
// VER is the version of the ladder: every transcode (a reprocess too)
// writes a new one, so the segments of the published ladder are never
// overwritten while a viewer plays them. PublishMaster switches the master
// to the new version in one atomic Put and then removes the older ones.
// Ladders made before versions existed sit at hls/v0/... (no VER) and
// count as older than any version.
const (
	MasterName = "hls/master.m3u8"
	LiveName   = "hls/live.m3u8"
)

// NewVersion names a new ladder version: "r", the time in milliseconds
// (base 36, fixed width, so that names sort by age) and 16 random bits.
func NewVersion() string {
	ms := strconv.FormatInt(time.Now().UnixMilli(), 36)
	if len(ms) < 10 {
		ms = strings.Repeat("0", 10-len(ms)) + ms
	}
	return fmt.Sprintf("r%s%04x", ms, rand.IntN(1<<16))
}

var versionName = regexp.MustCompile(`^r[0-9a-z]{14}$`)

// versionOf is the ladder version of a key below hls/ ("r…/v0/seg.m4s"):
// the version, "" for the unversioned layout ("v0/..."), ok false for
// anything else (master.m3u8, live.m3u8).
func versionOf(rel string) (string, bool) {
	first, _, ok := strings.Cut(rel, "/")
	if !ok {
		return "", false
	}
	if versionName.MatchString(first) {
		return first, true
	}
	if len(first) > 1 && first[0] == 'v' && strings.Trim(first[1:], "0123456789") == "" {
		return "", true
	}
	return "", false
}

// Transcode is one HLS (+ progressive MP4) transcode of an asset.
type Transcode struct {
	Store storage.Store
	// Key maps a derivative name ("hls/v0/seg00000.m4s") to its store key.
	Key      func(name string) string
	Src      string
	Analysis *Analysis
	TempDir  string
	MP4      bool // also make the progressive MP4
	Encoding Encoding
	// Progress gets percent done; OnPlayable is called once, when the
	// first segment of every rung and the live master are published.
	Progress   func(pct int)
	OnPlayable func(t time.Time)
	Log        *slog.Logger
	// Poll is how often the output directory is scanned (default 200ms).
	Poll time.Duration
	// Version is the ladder version written (default NewVersion()).
	Version string
}

// Result is what a finished transcode made. The master playlist is NOT
// published by Transcode: the caller publishes Master last (after the MP4).
type Result struct {
	Plan     *Plan
	Master   []byte
	MP4Path  string // local progressive MP4, "" if none
	Elapsed  time.Duration
	Segments int
	Version  string // the ladder version the master points at
}

// Run transcodes, publishing segments and EVENT playlists into the store
// as they land, and the final VOD playlists when ffmpeg is done. On any
// failure (cancellation included) the live master is withdrawn and no
// master is returned.
func (t *Transcode) Run(ctx context.Context) (res *Result, err error) {
	start := time.Now()
	out := filepath.Join(t.TempDir, "hls")
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, fmt.Errorf("av: %w", err)
	}
	mp4 := ""
	if t.MP4 && t.Analysis.Video != nil {
		mp4 = filepath.Join(t.TempDir, "progressive.mp4")
	}
	plan := BuildPlan(t.Src, t.Analysis, out, mp4, t.Encoding)
	if t.Version == "" {
		t.Version = NewVersion()
	}
	n := plan.Variants()
	for i := range n {
		if err := os.MkdirAll(filepath.Join(out, "v"+strconv.Itoa(i)), 0o750); err != nil {
			return nil, fmt.Errorf("av: %w", err)
		}
	}
	pub := &publisher{t: t, plan: plan, dir: out, rungs: make([]*rungState, n)}
	for i := range pub.rungs {
		pub.rungs[i] = &rungState{uploaded: map[string]bool{}}
	}
	defer func() {
		if err != nil {
			// Withdraw the live master so nothing points at a dead run,
			// and this run's version (no master points at it; a retry
			// writes a new one). The published ladder, if any, stays.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			t.Store.Delete(dctx, t.Key(LiveName))
			removeVersion(dctx, t.Store, t.Key, t.Version)
			cancel()
		}
	}()

	cmd := proc.Command(ctx, "ffmpeg", plan.Args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("av: %w", err)
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("av: start ffmpeg: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.readProgress(stdout)
	}()

	// Publish while ffmpeg runs.
	done := make(chan error, 1)
	go func() {
		wg.Wait()
		done <- cmd.Wait()
	}()
	poll := t.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-tick.C:
			if err := pub.pass(ctx, false); err != nil {
				t.logf("publishing segments", "err", err)
			}
		}
	}
	if waitErr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("av: transcode: %w", ctx.Err())
		}
		return nil, fmt.Errorf("av: ffmpeg: %w: %s", waitErr, stderr.String())
	}
	if err := pub.pass(ctx, true); err != nil {
		return nil, err
	}
	if plan.MP4 != "" {
		if _, err := proc.Run(ctx, "ffmpeg", plan.MP4Args()...); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("av: transcode: %w", ctx.Err())
			}
			return nil, fmt.Errorf("av: progressive mp4: %w", err)
		}
	}
	if !pub.playable && t.OnPlayable != nil {
		// ffmpeg finished between two scans (a short clip): playable now,
		// with the master the caller publishes next.
		t.OnPlayable(time.Now())
	}
	master, err := pub.master(true)
	if err != nil {
		return nil, err
	}
	if t.Progress != nil {
		t.Progress(100)
	}
	res = &Result{Plan: plan, Master: master, MP4Path: mp4, Elapsed: time.Since(start), Version: t.Version}
	for _, r := range pub.rungs {
		res.Segments += len(r.segs)
	}
	return res, nil
}

func (t *Transcode) logf(msg string, args ...any) {
	if t.Log != nil {
		t.Log.Warn(msg, args...)
	}
}

// readProgress parses ffmpeg's -progress key=value lines.
func (t *Transcode) readProgress(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k != "out_time_us" || t.Progress == nil || t.Analysis.Duration <= 0 {
			continue
		}
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil || us < 0 {
			continue
		}
		pct := int(float64(us) / 1e6 / t.Analysis.Duration * 100)
		t.Progress(min(99, pct))
	}
	io.Copy(io.Discard, r)
}

type segment struct {
	name string
	dur  float64
	size int64
}

type rungState struct {
	init     string
	initDone bool
	uploaded map[string]bool
	segs     []segment
	playlist []byte // last published
	codecs   string
	seenMod  time.Time // stat of the local playlist at the last read
	seenSize int64
}

type publisher struct {
	t        *Transcode
	plan     *Plan
	dir      string
	rungs    []*rungState
	playable bool
}

var segName = regexp.MustCompile(`^[A-Za-z0-9_]+\.(m4s|mp4)$`)

// pass publishes what ffmpeg has finished: for each rung, the init
// segment, new media segments, then the playlist listing them (ffmpeg
// renames playlists into place, so a listed segment is complete).
func (p *publisher) pass(ctx context.Context, final bool) error {
	for i, rs := range p.rungs {
		vdir := filepath.Join(p.dir, "v"+strconv.Itoa(i))
		plPath := filepath.Join(vdir, "index.m3u8")
		var seenMod time.Time
		var seenSize int64
		if !final {
			// ffmpeg renames a new playlist into place for each segment:
			// an unchanged stat is an unchanged playlist, nothing to read
			// (the scan runs every 200 ms for the whole transcode).
			st, err := os.Stat(plPath)
			if err != nil {
				continue
			}
			if st.ModTime().Equal(rs.seenMod) && st.Size() == rs.seenSize {
				continue
			}
			seenMod, seenSize = st.ModTime(), st.Size()
		}
		pl, err := os.ReadFile(plPath)
		if errors.Is(err, os.ErrNotExist) {
			if final {
				return fmt.Errorf("av: rung %d has no playlist", i)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("av: %w", err)
		}
		initName, segs, err := parseMedia(pl)
		if err != nil {
			return err
		}
		prefix := "hls/" + p.t.Version + "/v" + strconv.Itoa(i) + "/"
		if initName != "" && !rs.initDone {
			if _, err := p.putFile(ctx, prefix+initName, filepath.Join(vdir, initName)); err != nil {
				return err
			}
			rs.init, rs.initDone = initName, true
			if b, err := os.ReadFile(filepath.Join(vdir, initName)); err == nil {
				rs.codecs = codecsFromInit(b)
			}
		}
		for _, s := range segs {
			if rs.uploaded[s.name] {
				continue
			}
			n, err := p.putFile(ctx, prefix+s.name, filepath.Join(vdir, s.name))
			if err != nil {
				return err
			}
			rs.uploaded[s.name] = true
			s.size = n
			rs.segs = append(rs.segs, s)
		}
		if final {
			pl = bytes.Replace(pl, []byte("#EXT-X-PLAYLIST-TYPE:EVENT"), []byte("#EXT-X-PLAYLIST-TYPE:VOD"), 1)
			if !bytes.Contains(pl, []byte("#EXT-X-ENDLIST")) {
				pl = append(pl, "#EXT-X-ENDLIST\n"...)
			}
		}
		if !bytes.Equal(pl, rs.playlist) && (len(segs) > 0 || final) {
			if _, err := p.t.Store.Put(ctx, p.t.Key(prefix+"index.m3u8"), bytes.NewReader(pl)); err != nil {
				return fmt.Errorf("av: publish playlist: %w", err)
			}
			rs.playlist = pl
		}
		// Only now: a pass that failed above reads the playlist again.
		rs.seenMod, rs.seenSize = seenMod, seenSize
	}
	if !p.playable && !final {
		for _, rs := range p.rungs {
			if len(rs.segs) == 0 || rs.playlist == nil {
				return nil
			}
		}
		m, err := p.master(false)
		if err != nil {
			return err
		}
		if _, err := p.t.Store.Put(ctx, p.t.Key(LiveName), bytes.NewReader(m)); err != nil {
			return fmt.Errorf("av: publish live master: %w", err)
		}
		p.playable = true
		if p.t.OnPlayable != nil {
			p.t.OnPlayable(time.Now())
		}
	}
	return nil
}

func (p *publisher) putFile(ctx context.Context, name, path string) (int64, error) {
	if !segName.MatchString(filepath.Base(path)) {
		return 0, fmt.Errorf("av: unexpected segment name %q", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("av: %w", err)
	}
	defer f.Close()
	n, err := p.t.Store.Put(ctx, p.t.Key(name), f)
	if err != nil {
		return n, fmt.Errorf("av: publish %s: %w", name, err)
	}
	return n, nil
}

// master writes the master playlist. While transcoding (final false)
// BANDWIDTH is the nominal peak; at the end it is measured from the
// segments (peak and average). A video's audio is one rendition that
// every rung names (EXT-X-MEDIA TYPE=AUDIO), its bit rate counted in
// each rung's BANDWIDTH and its codec in each rung's CODECS.
func (p *publisher) master(final bool) ([]byte, error) {
	type rate struct{ peak, avg int64 }
	rates := make([]rate, len(p.rungs))
	for i, rs := range p.rungs {
		nominal := AudioKbps * 1000
		if i < len(p.plan.Rungs) {
			nominal = p.plan.Rungs[i].VideoKbps * 1070
		}
		rates[i].peak = int64(nominal * 11 / 10)
		if !final {
			continue
		}
		if len(rs.segs) == 0 {
			return nil, fmt.Errorf("av: rendition %d made no segments", i)
		}
		var total int64
		var dur float64
		peak := 0.0
		for _, s := range rs.segs {
			total += s.size
			dur += s.dur
			if s.dur > 0.5 {
				peak = max(peak, float64(s.size*8)/s.dur)
			}
		}
		if dur > 0 {
			rates[i].avg = int64(float64(total*8) / dur)
		}
		rates[i].peak = max(int64(peak), rates[i].avg, 1000)
	}
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if len(p.plan.Rungs) == 0 {
		// Audio only: the one rendition is the variant.
		r := rates[0]
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", r.peak)
		if r.avg > 0 {
			fmt.Fprintf(&b, ",AVERAGE-BANDWIDTH=%d", r.avg)
		}
		fmt.Fprintf(&b, ",CODECS=\"mp4a.40.2\"\n%s/v0/index.m3u8\n", p.t.Version)
		return b.Bytes(), nil
	}
	var audio rate
	if p.plan.Audio {
		audio = rates[p.plan.AudioIndex]
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"%s\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"%s/v%d/index.m3u8\"\n",
			AudioGroup, p.t.Version, p.plan.AudioIndex)
	}
	for i, r := range p.plan.Rungs {
		rt := rates[i]
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", rt.peak+audio.peak)
		if rt.avg > 0 {
			fmt.Fprintf(&b, ",AVERAGE-BANDWIDTH=%d", rt.avg+audio.avg)
		}
		codecs := p.rungs[i].codecs
		if codecs == "" {
			codecs = "avc1.64001f"
		}
		if p.plan.Audio {
			codecs += ",mp4a.40.2"
		}
		fmt.Fprintf(&b, ",RESOLUTION=%dx%d,FRAME-RATE=%.3f,CODECS=\"%s\"", r.Width, r.Height, p.plan.FPS, codecs)
		if p.plan.Audio {
			fmt.Fprintf(&b, ",AUDIO=\"%s\"", AudioGroup)
		}
		fmt.Fprintf(&b, "\n%s/v%d/index.m3u8\n", p.t.Version, i)
	}
	return b.Bytes(), nil
}

// AudioGroup is the GROUP-ID of a video ladder's audio rendition.
const AudioGroup = "aac"

// PublishMaster switches the ladder to res's version: put publishes the
// master (one atomic Put, so a player gets the old ladder or the new one,
// whole); then the live master is withdrawn and every older version is
// removed, the one the previous master pointed at included. Until put,
// the previous ladder is untouched and stays playable.
//
// grace delays the removal (in the background; 0: before returning), so
// that a player that fetched the old master just before the switch (it is
// cached for 60 s) can still play it. If the process stops first, the
// next transcode of the asset removes the leftovers, which nothing lists.
//
// A transcode that finds the master already pointing at a newer version
// (a later reprocess finished first) does not publish: it removes its own
// version and returns false.
func PublishMaster(ctx context.Context, store storage.Store, key func(string) string, res *Result, grace time.Duration, put func() error) (bool, error) {
	if cur := masterVersion(ctx, store, key); cur > res.Version {
		removeVersion(ctx, store, key, res.Version)
		return false, nil
	}
	if err := put(); err != nil {
		return false, err
	}
	store.Delete(ctx, key(LiveName))
	if grace > 0 {
		time.AfterFunc(grace, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			removeOlder(ctx, store, key, res.Version)
		})
		return true, nil
	}
	return true, removeOlder(ctx, store, key, res.Version)
}

// removeOlder removes every ladder version older than ver.
func removeOlder(ctx context.Context, store storage.Store, key func(string) string, ver string) error {
	old := map[string]bool{}
	prefix := key("hls/")
	err := store.List(ctx, prefix, func(o storage.Object) error {
		if v, ok := versionOf(strings.TrimPrefix(o.Key, prefix)); ok && v < ver {
			old[v] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("av: listing old ladders: %w", err)
	}
	for v := range old {
		if err := removeVersion(ctx, store, key, v); err != nil {
			return err
		}
	}
	return nil
}

// masterVersion is the version the published master points at ("" for
// none or the unversioned layout).
func masterVersion(ctx context.Context, store storage.Store, key func(string) string) string {
	rc, err := store.Open(ctx, key(MasterName), 0, 64<<10)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			v, _ := versionOf(line)
			return v
		}
	}
	return ""
}

// removeVersion deletes the objects of one ladder version ("" the
// unversioned hls/vN/ directories).
func removeVersion(ctx context.Context, store storage.Store, key func(string) string, ver string) error {
	prefix := key("hls/")
	var keys []string
	err := store.List(ctx, prefix, func(o storage.Object) error {
		if v, ok := versionOf(strings.TrimPrefix(o.Key, prefix)); ok && v == ver {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("av: listing ladder %q: %w", ver, err)
	}
	for _, k := range keys {
		if err := store.Delete(ctx, k); err != nil {
			return fmt.Errorf("av: removing ladder %q: %w", ver, err)
		}
	}
	return nil
}

// parseMedia reads a media playlist: the init segment and the segments.
func parseMedia(pl []byte) (string, []segment, error) {
	var init string
	var segs []segment
	dur := 0.0
	for _, line := range strings.Split(string(pl), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			if _, rest, ok := strings.Cut(line, `URI="`); ok {
				init, _, _ = strings.Cut(rest, `"`)
			}
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			dur = parseFloat(v)
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if !segName.MatchString(line) {
				return "", nil, fmt.Errorf("av: unexpected segment URI %q", line)
			}
			segs = append(segs, segment{name: line, dur: dur})
		}
	}
	if init != "" && !segName.MatchString(init) {
		return "", nil, fmt.Errorf("av: unexpected init URI %q", init)
	}
	return init, segs, nil
}

// codecsFromInit reads the RFC 6381 codec string of an H.264 track from
// the avcC box of an fMP4 init segment ("avc1.64001f"); "" if none.
func codecsFromInit(b []byte) string {
	i := bytes.Index(b, []byte("avcC"))
	if i < 0 || i+8 > len(b) {
		return ""
	}
	return fmt.Sprintf("avc1.%02x%02x%02x", b[i+5], b[i+6], b[i+7])
}

// tailBuffer keeps the last 4 KiB written to it (ffmpeg's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
