package format

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests identify real files that real tools (ImageMagick, libvips,
// ffmpeg) write into t.TempDir(). scripts/setup.sh installs the tools
// (STOR_SETUP_TESTS=1 for ImageMagick); a missing tool fails the test.

// tool fails the test when name is not installed.
func tool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed to generate sample files (run scripts/setup.sh with STOR_SETUP_TESTS=1): %v", name, err)
	}
}

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// readHead returns the first HeadSize bytes of a file, as the callers of
// Identify read them.
func readHead(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Fatalf("read %s: %v", path, err)
	}
	return head[:n]
}

// write writes a sample file and returns its path.
func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sample is one generated file and what Identify must make of it.
type sample struct {
	file string   // name in the temp dir; its extension is what Identify sees
	cmd  []string // the command that writes it; OUT stands for its path, DIR for the temp dir
	want string   // the format key expected with the file's name
	// bare is the key expected with no filename at all: "" means the same as
	// want, "-" means not identified.
	bare string
}

func TestIdentifyGeneratedFiles(t *testing.T) {
	for _, name := range []string{"convert", "vips", "ffmpeg"} {
		tool(t, name)
	}
	dir := t.TempDir()
	// Sources the other samples are made from.
	run(t, "convert", "-size", "64x48", "gradient:red-blue", filepath.Join(dir, "src.png"))
	run(t, "convert", filepath.Join(dir, "src.png"), filepath.Join(dir, "src.jpg"))

	video := []string{"-f", "lavfi", "-i", "testsrc=d=1:s=64x48:r=25", "-f", "lavfi", "-i", "sine=d=1", "-shortest"}
	audio := []string{"-f", "lavfi", "-i", "sine=d=1"}
	ff := func(in []string, args ...string) []string {
		cmd := append([]string{"ffmpeg", "-hide_banner", "-loglevel", "error", "-y"}, in...)
		return append(append(cmd, args...), "OUT")
	}
	im := func(to string) []string { return []string{"convert", "DIR/src.png", to} }

	samples := []sample{
		// ImageMagick.
		{file: "a.png", cmd: im("OUT"), want: "png"},
		{file: "a.tif", cmd: im("OUT"), want: "tif"},
		{file: "a.jpg", cmd: im("OUT"), want: "jpg"},
		{file: "a.gif", cmd: im("OUT"), want: "gif"},
		{file: "a.bmp", cmd: im("OUT"), want: "bmp"},
		{file: "a.psd", cmd: im("OUT"), want: "psd"},
		{file: "a.psb", cmd: im("PSB:OUT"), want: "psb"},
		{file: "a.webp", cmd: im("OUT"), want: "webp"},
		{file: "a.jp2", cmd: im("OUT"), want: "jp2"},
		{file: "a.j2k", cmd: im("J2K:OUT"), want: "j2k"},
		// Debian's ImageMagick policy forbids the PDF coder; its AI coder
		// is the same PDF writer under another name.
		{file: "a.pdf", cmd: im("AI:OUT"), want: "pdf"},
		{file: "a.ai", cmd: im("AI:OUT"), want: "ai", bare: "pdf"},
		// libvips.
		{file: "v.avif", cmd: []string{"vips", "copy", "DIR/src.jpg", "OUT"}, want: "avif"},
		{file: "v.heic", cmd: []string{"vips", "copy", "DIR/src.jpg", "OUT"}, want: "heic"},
		{file: "v.jp2", cmd: []string{"vips", "jp2ksave", "DIR/src.jpg", "OUT"}, want: "jp2"},
		// ffmpeg: video containers.
		{file: "f.avi", cmd: ff(video), want: "avi"},
		{file: "f.flv", cmd: ff(video), want: "flv"},
		{file: "f.swf", cmd: ff(video, "-c:v", "flv1", "-c:a", "libmp3lame", "-ar", "44100"), want: "swf"},
		{file: "f.f4v", cmd: ff(video, "-f", "f4v"), want: "f4v"},
		{file: "f.mkv", cmd: ff(video), want: "mkv"},
		{file: "f.webm", cmd: ff(video, "-c:v", "libvpx", "-c:a", "libopus"), want: "webm"},
		{file: "f.mp4", cmd: ff(video), want: "mp4"},
		{file: "f.mov", cmd: ff(video), want: "mov"},
		{file: "f.m4v", cmd: ff(video, "-f", "ipod"), want: "m4v"},
		{file: "f.3gp", cmd: ff(video, "-c:v", "mpeg4", "-c:a", "aac", "-ar", "8000", "-ac", "1"), want: "3gp"},
		{file: "f.3g2", cmd: ff(video, "-c:v", "mpeg4", "-c:a", "aac", "-ar", "8000", "-ac", "1"), want: "3g2"},
		{file: "f.mpg", cmd: ff(video, "-f", "mpeg"), want: "mpg"},
		{file: "f.ts", cmd: ff(video, "-f", "mpegts"), want: "ts"},
		{file: "f.wmv", cmd: ff(video), want: "wmv", bare: "asf"},
		{file: "f.asf", cmd: ff(video, "-f", "asf"), want: "asf"},
		// ffmpeg: audio.
		{file: "f.wma", cmd: ff(audio), want: "wma"},
		{file: "f.mp3", cmd: ff(audio), want: "mp3"},
		{file: "notag.mp3", cmd: ff(audio, "-id3v2_version", "0"), want: "mp3"},
		{file: "f.flac", cmd: ff(audio), want: "flac"},
		{file: "f.aiff", cmd: ff(audio), want: "aif"},
		{file: "c.aif", cmd: ff(audio, "-c:a", "pcm_f32be", "-f", "aiff"), want: "aif"}, // AIFF-C
		{file: "f.wav", cmd: ff(audio), want: "wav"},
		{file: "f.ogg", cmd: ff(audio, "-c:a", "libvorbis"), want: "ogg"},
		{file: "f.opus", cmd: ff(audio), want: "opus"},
		{file: "f.m4a", cmd: ff(audio, "-f", "ipod"), want: "m4a"},
		{file: "f.aac", cmd: ff(audio, "-f", "adts"), want: "aac"},
		// A generic-brand MP4 with audio only: the extension picks M4A.
		{file: "mp4audio.m4a", cmd: ff(audio, "-f", "mp4"), want: "m4a", bare: "mp4"},
	}
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			out := filepath.Join(dir, s.file)
			args := make([]string, len(s.cmd)-1)
			for i, a := range s.cmd[1:] {
				a = strings.ReplaceAll(a, "OUT", out)
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			run(t, s.cmd[0], args...)
			checkSample(t, out, s.want, s.bare)
		})
	}

	// No tool here writes JPEG 2000 Part 2 (JPX): relabel libvips' JP2 with
	// the "jpx " brand, which is all that tells the formats apart.
	t.Run("a.jpf", func(t *testing.T) {
		jp2, err := os.ReadFile(filepath.Join(dir, "v.jp2"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(jp2[16:24], []byte("ftypjp2 ")) {
			t.Fatalf("v.jp2 does not start with a signature box then ftyp: %q", clip(jp2))
		}
		copy(jp2[20:24], "jpx ")
		checkSample(t, write(t, dir, "a.jpf", jp2), "jpf", "jpx")
		checkSample(t, write(t, dir, "a.jpx", jp2), "jpx", "")
	})
}

// checkSample identifies the file under its own name, its name in upper
// case and no name, and every short prefix of it, which must never panic.
func checkSample(t *testing.T, path, want, bare string) {
	t.Helper()
	head := readHead(t, path)
	name := filepath.Base(path)
	expect(t, head, name, want)
	expect(t, head, strings.ToUpper(name), want)
	switch bare {
	case "":
		expect(t, head, "", want)
	case "-":
		expect(t, head, "", "")
	default:
		expect(t, head, "", bare)
	}
	for n := range min(len(head), 600) {
		prefixOK(t, head[:n], name)
	}
}

// expect checks Identify's answer; want "" means not identified.
func expect(t *testing.T, head []byte, name, want string) {
	t.Helper()
	f, ok := Identify(head, name)
	switch {
	case want == "" && ok:
		t.Errorf("Identify(%d bytes %q, %q) = %q, want not identified", len(head), clip(head), clip([]byte(name)), f.Key)
	case want != "" && (!ok || f.Key != want):
		t.Errorf("Identify(%d bytes %q, %q) = %q, %v; want %q", len(head), clip(head), clip([]byte(name)), f.Key, ok, want)
	}
}

// prefixOK checks what Identify says of a prefix is a table entry.
func prefixOK(t *testing.T, head []byte, name string) {
	t.Helper()
	f, ok := Identify(head, name)
	if !ok {
		return
	}
	if g, found := ByKey(f.Key); !found || g != f {
		t.Errorf("Identify(first %d bytes, %q) = %+v, which is not a table entry", len(head), name, f)
	}
	if len(head) == 0 {
		t.Errorf("Identify(empty, %q) = %q, want not identified", name, f.Key)
	}
}

// clip shortens bytes for a message.
func clip(b []byte) []byte {
	if len(b) > 24 {
		return append(bytes.Clone(b[:24]), "..."...)
	}
	return b
}
