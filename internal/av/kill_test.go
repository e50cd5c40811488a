package av_test

import (
	"bytes"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
	"stor/internal/pipeline"
)

// findFFmpeg returns the pid of the ladder ffmpeg a node runs (its
// arguments name the node's data dir and carry -var_stream_map), 0 if none.
func findFFmpeg(t *testing.T, dataDir string) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		if len(args) == 0 || filepath.Base(string(args[0])) != "ffmpeg" {
			continue
		}
		if bytes.Contains(b, []byte("-var_stream_map")) && bytes.Contains(b, []byte(dataDir)) {
			return pid
		}
	}
	return 0
}

// A node whose ladder ffmpeg is SIGKILLed half-way (its whole process
// group, as the OOM killer or an operator would) never serves a
// half-written ladder: the live master is withdrawn, the hls task
// retries, and the asset ends ready with a complete VOD set that ffprobe
// reads back at the right duration.
func TestHLSSurvivesSIGKILL(t *testing.T) {
	idle := pipeline.Config{Load: func() (float64, int64) { return 0, 1 << 40 }}
	n := nodetest.StartPipeline(t, idle, func(c *config.Config) {
		c.Workers, c.HeavyWorkers = 2, 1
		c.RetryBase = 3 * time.Second
	})
	const secs = 40
	src := gen(t, "long.mp4", append(testsrc(secs, "640x360", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	id := upload(t, n, "long.mp4", src)
	live := filepath.Join(n.DataDir, "blobs", "derivatives", id[:2], id, "hls", "live.m3u8")

	// Wait until the stream is playable (live master published), then
	// kill ffmpeg's process group.
	deadline := time.Now().Add(3 * time.Minute)
	pid := 0
	for {
		if _, err := os.Stat(live); err == nil {
			if pid = findFFmpeg(t, n.DataDir); pid != 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("transcode never became playable")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if pgid == syscall.Getpgrp() {
		t.Fatalf("ffmpeg %d shares the test's process group", pid)
	}
	// The dead run's first rung playlist, as the live master lists it.
	rung := masterURIs(t, readFile(t, live))[0]
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()

	// The asset became playable before the kill and says so (playable_at
	// is recorded right after the live master is stored: under load the
	// test may look in between, so it polls).
	var mid assetView
	for {
		n.Get(t, "/api/v1/assets/"+id, n.Token, nil).JSON(t, &mid)
		if mid.PlayableAt != nil || time.Since(killedAt) > time.Minute {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if mid.PlayableAt == nil || mid.State == "ready" {
		t.Fatalf("after the kill: state %s, playable_at %v", mid.State, mid.PlayableAt)
	}

	// Soon after the kill nothing points at the dead run: its version is
	// removed and the master URL (live or final) is gone, or, once the
	// retry has published its first segments, lists the retry's version.
	dead, _, _ := strings.Cut(rung, "/")
	for {
		r := n.Get(t, "/media/"+id+"/hls/master.m3u8", n.Token, nil)
		pl := n.Get(t, "/media/"+id+"/hls/"+rung, n.Token, nil)
		if pl.Status == 404 && (r.Status == 404 || r.Status == 200 && !strings.Contains(string(r.Body), dead)) {
			break
		}
		if time.Since(killedAt) > time.Minute {
			t.Fatalf("%v after the kill: master %d, rung playlist %d\n%s", time.Since(killedAt), r.Status, pl.Status, pl.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	a := waitDone(t, n, id, 5*time.Minute)
	if a.State != "ready" {
		t.Fatalf("state %s, error %v", a.State, a.Error)
	}
	var ts struct {
		Items []struct {
			Name      string
			State     string
			Attempts  int
			LastError *string `json:"last_error"`
		}
	}
	n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil).JSON(t, &ts)
	found := false
	for _, tk := range ts.Items {
		if tk.Name == "hls" {
			found = true
			if tk.State != "succeeded" || tk.Attempts < 2 {
				t.Errorf("hls task %s after %d attempts, want succeeded after a retry", tk.State, tk.Attempts)
			}
		}
	}
	if !found {
		t.Fatal("no hls task")
	}

	// The final set is complete: every rung VOD, every listed segment
	// served, the sum of the segments the clip's length, ffprobe reads the
	// master at the right duration, no live master left.
	m := n.Get(t, "/media/"+id+"/hls/master.m3u8", n.Token, nil)
	if m.Status != 200 || !strings.Contains(string(m.Body), "AVERAGE-BANDWIDTH") {
		t.Fatalf("final master: %d\n%s", m.Status, m.Body)
	}
	rungs := 0
	for _, line := range strings.Split(string(m.Body), "\n") {
		if !strings.HasSuffix(line, "index.m3u8") {
			continue
		}
		rungs++
		dir := strings.TrimSuffix(line, "index.m3u8")
		pl := n.Get(t, "/media/"+id+"/hls/"+line, n.Token, nil)
		body := string(pl.Body)
		if !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(body, "#EXT-X-ENDLIST") {
			t.Errorf("%s is not a finished VOD playlist:\n%s", line, body)
		}
		total := 0.0
		for _, l := range strings.Split(body, "\n") {
			switch {
			case strings.HasPrefix(l, "#EXTINF:"):
				v, _, _ := strings.Cut(strings.TrimPrefix(l, "#EXTINF:"), ",")
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			case strings.HasPrefix(l, "#EXT-X-MAP:"):
				_, rest, _ := strings.Cut(l, `URI="`)
				u, _, _ := strings.Cut(rest, `"`)
				if r := n.Get(t, "/media/"+id+"/hls/"+dir+u, n.Token, nil); r.Status != 200 {
					t.Errorf("init %s%s: %d", dir, u, r.Status)
				}
			case l != "" && !strings.HasPrefix(l, "#"):
				if r := n.Get(t, "/media/"+id+"/hls/"+dir+l, n.Token, nil); r.Status != 200 || len(r.Body) == 0 {
					t.Errorf("segment %s%s: %d, %d bytes", dir, l, r.Status, len(r.Body))
				}
			}
		}
		if math.Abs(total-secs) > 0.1 {
			t.Errorf("%s: segments sum to %.3f s, want %d", line, total, secs)
		}
	}
	if rungs != 2 {
		t.Errorf("master lists %d rungs, want 2:\n%s", rungs, m.Body)
	}
	if d := fdur(ffprobeHTTP(t, n, "/media/"+id+"/hls/master.m3u8")); math.Abs(d-secs) > 0.1 {
		t.Errorf("master read back by ffprobe: %.3f s, want %d", d, secs)
	}
	if _, err := os.Stat(live); !os.IsNotExist(err) {
		t.Errorf("live.m3u8 left behind: %v", err)
	}
	var after assetView
	n.Get(t, "/api/v1/assets/"+id, n.Token, nil).JSON(t, &after)
	if after.PlayableAt == nil || *after.PlayableAt != *mid.PlayableAt {
		t.Errorf("playable_at %v after the retry, %v before: the first time must stay", after.PlayableAt, mid.PlayableAt)
	}
}

// Reprocessing a video through the API: while the new ladder is made the
// old master, its rung playlists and segments are served unchanged; when
// the hls task is done the master lists the new version, and the old
// version is still served for the grace (players that fetched the old
// master just before the switch).
func TestReprocessServesOldLadder(t *testing.T) {
	idle := pipeline.Config{Load: func() (float64, int64) { return 0, 1 << 40 }}
	n := nodetest.StartPipeline(t, idle, func(c *config.Config) { c.Workers, c.HeavyWorkers = 2, 1 })
	src := gen(t, "clip.mp4", append(testsrc(20, "640x360", 25), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")...)
	id := upload(t, n, "clip.mp4", src)
	if a := waitDone(t, n, id, 5*time.Minute); a.State != "ready" {
		t.Fatalf("first transcode: %s", a.State)
	}
	get := func(path string) ([]byte, int) {
		r := n.Get(t, "/media/"+id+"/hls/"+path, n.Token, nil)
		return r.Body, r.Status
	}
	oldMaster, _ := get("master.m3u8")
	oldRung := masterURIs(t, oldMaster)[0]
	oldPl, _ := get(oldRung)
	dir := strings.TrimSuffix(oldRung, "index.m3u8")
	oldSeg, _ := get(dir + "seg00003.m4s")
	if len(oldSeg) == 0 {
		t.Fatalf("no segment 3 in %s", oldPl)
	}
	hlsRuns := func() (string, int) {
		var ts struct {
			Items []struct {
				Name, State string
				Attempts    int
			}
		}
		n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil).JSON(t, &ts)
		for _, tk := range ts.Items {
			if tk.Name == "hls" {
				return tk.State, tk.Attempts
			}
		}
		return "", 0
	}
	r := n.Do(t, "POST", "/api/v1/assets/"+id+"/reprocess", n.Token, strings.NewReader(`{"tasks":["hls"]}`),
		http.Header{"Content-Type": {"application/json"}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("reprocess: %d %s", r.Status, r.Body)
	}
	// Until the switch (the new master, published by the task just before
	// it succeeds) the old ladder is what is served, unchanged; the master
	// changes only to one whose rungs are all finished.
	sawRunning := false
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the master never switched to the reprocessed ladder")
		}
		state, _ := hlsRuns()
		sawRunning = sawRunning || state == "running"
		m, ms := get("master.m3u8")
		if ms != 200 {
			t.Fatalf("master during the reprocess: %d", ms)
		}
		if !bytes.Equal(m, oldMaster) {
			for _, u := range masterURIs(t, m) {
				if pl, s := get(u); s != 200 || !bytes.Contains(pl, []byte("#EXT-X-ENDLIST")) {
					t.Fatalf("the switched master lists an unfinished rung %s: %d\n%s", u, s, pl)
				}
			}
			break
		}
		if state == "succeeded" {
			t.Fatal("hls succeeded but the master still points at the old ladder")
		}
		if pl, s := get(oldRung); s != 200 || !bytes.Equal(pl, oldPl) {
			t.Fatalf("old rung playlist during the reprocess: %d\n%s", s, pl)
		}
		if seg, s := get(dir + "seg00003.m4s"); s != 200 || !bytes.Equal(seg, oldSeg) {
			t.Fatalf("old segment during the reprocess: %d, %d bytes", s, len(seg))
		}
	}
	if !sawRunning {
		t.Log("the hls task finished between two polls: only the before/after states were checked")
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if state, _ := hlsRuns(); state == "succeeded" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("hls task %s a minute after the switch", state)
		}
	}
	m, _ := get("master.m3u8")
	newRung := masterURIs(t, m)[0]
	if newRung == oldRung || !strings.Contains(string(m), "AVERAGE-BANDWIDTH") {
		t.Fatalf("master after the reprocess still points at %s:\n%s", oldRung, m)
	}
	if pl, s := get(newRung); s != 200 || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		t.Fatalf("new rung playlist: %d\n%s", s, pl)
	}
	if d := fdur(ffprobeHTTP(t, n, "/media/"+id+"/hls/master.m3u8")); math.Abs(d-20) > 0.1 {
		t.Errorf("new master read back by ffprobe: %.3f s, want 20", d)
	}
	if seg, s := get(dir + "seg00003.m4s"); s != 200 || !bytes.Equal(seg, oldSeg) {
		t.Errorf("old segment right after the switch (grace): %d", s)
	}
}
