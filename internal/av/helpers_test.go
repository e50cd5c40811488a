package av_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gen runs ffmpeg to make a test file named name in a temp dir.
func gen(t testing.TB, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	full := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	full = append(full, out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", full, err, b)
	}
	return out
}

// testsrc is the lavfi input of a test clip: testsrc video and a sine.
func testsrc(secs float64, size string, rate int) []string {
	d := strconv.FormatFloat(secs, 'f', -1, 64)
	return []string{"-f", "lavfi", "-i", "testsrc=duration=" + d + ":size=" + size + ":rate=" + strconv.Itoa(rate),
		"-f", "lavfi", "-i", "sine=frequency=440:duration=" + d}
}

func sine(secs float64) []string {
	return []string{"-f", "lavfi", "-i", "sine=frequency=440:duration=" + strconv.FormatFloat(secs, 'f', -1, 64)}
}

type probed struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Duration  string `json:"duration"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		Tags      map[string]string
	} `json:"streams"`
	Programs []struct {
		Tags    map[string]string `json:"tags"`
		Streams []struct {
			CodecType string `json:"codec_type"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
		} `json:"streams"`
	} `json:"programs"`
}

// ffprobe reads a file or URL back with the real ffprobe.
func ffprobe(t testing.TB, target string) probed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-print_format", "json", "-show_format",
		"-show_streams", "-show_programs", target).Output()
	if err != nil {
		var ee *exec.ExitError
		if e, ok := err.(*exec.ExitError); ok {
			ee = e
			t.Fatalf("ffprobe %s: %v: %s", target, err, ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v", target, err)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func fdur(p probed) float64 {
	f, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return f
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// masterURIs lists the rung playlist URIs of a master playlist
// ("rVERSION/v0/index.m3u8", ...), without their query.
func masterURIs(t testing.TB, master []byte) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(string(master), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			uri, _, _ := strings.Cut(line, "?")
			out = append(out, uri)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no rung in the master:\n%s", master)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
