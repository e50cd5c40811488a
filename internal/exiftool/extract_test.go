package exiftool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// golden compares got (as indented JSON) with testdata/name.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update once)", path, err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("golden %s differs:\n--- got\n%s\n--- want\n%s", path, b, want)
	}
}

func TestExtractJPEGGolden(t *testing.T) {
	dir := t.TempDir()
	f := makeJPEG(t, dir, "photo.jpg", 64, 48)
	tag(t, f,
		"-XMP-dc:Title=Sunrise over Tōkyō",
		"-IPTC:CodedCharacterSet=UTF8",
		"-IPTC:Keywords=Müller", "-IPTC:Keywords=東京", "-IPTC:Keywords=Ωmega",
		"-EXIF:DateTimeOriginal=2023:05:06 07:08:09",
		"-EXIF:OffsetTimeOriginal=+02:00",
		"-EXIF:GPSLatitude=48.8583", "-EXIF:GPSLatitudeRef=N",
		"-EXIF:GPSLongitude=2.2945", "-EXIF:GPSLongitudeRef=W",
		"-EXIF:Orientation#=6",
		"-EXIF:Artist=Ann Artist",
		"-EXIF:Copyright=© 2023 Ann Artist",
		"-EXIF:Make=Canon", "-EXIF:Model=Canon EOS R5", "-EXIF:LensModel=RF24-105mm F4 L IS USM",
	)
	p := newPool(t, Config{})
	m := extract(t, p, f)
	n := m.Normalized

	if n.Title != "Sunrise over Tōkyō" || n.Creator != "Ann Artist" || n.Rights != "© 2023 Ann Artist" {
		t.Errorf("title/creator/rights = %q / %q / %q", n.Title, n.Creator, n.Rights)
	}
	if want := []string{"Müller", "東京", "Ωmega"}; !slices.Equal(n.Keywords, want) {
		t.Errorf("keywords = %q, want %q", n.Keywords, want)
	}
	if n.GPSLat == nil || n.GPSLon == nil || math.Abs(*n.GPSLat-48.8583) > 1e-9 || math.Abs(*n.GPSLon+2.2945) > 1e-9 {
		t.Errorf("gps = %v, %v", n.GPSLat, n.GPSLon)
	}
	if n.CaptureDate == nil || n.CaptureTZ != "+02:00" {
		t.Fatalf("capture = %v %q", n.CaptureDate, n.CaptureTZ)
	}
	if want := time.Date(2023, 5, 6, 5, 8, 9, 0, time.UTC); !n.CaptureDate.Equal(want) {
		t.Errorf("capture instant = %v, want %v", n.CaptureDate.UTC(), want)
	}
	if got := n.CaptureDate.Format(time.RFC3339); got != "2023-05-06T07:08:09+02:00" {
		t.Errorf("capture wall clock = %s", got)
	}
	if n.Orientation != 6 || n.Width != 64 || n.Height != 48 {
		t.Errorf("orientation %d, size %dx%d", n.Orientation, n.Width, n.Height)
	}
	if n.Make != "Canon" || n.Model != "Canon EOS R5" || n.Lens != "RF24-105mm F4 L IS USM" {
		t.Errorf("make/model/lens = %q %q %q", n.Make, n.Model, n.Lens)
	}

	// Both the numeric and the printed value come from the one run.
	o, ok := m.Get("EXIF", "IFD0:Orientation")
	if !ok || o.Raw != int64(6) || o.Display != "Rotate 90 CW" {
		t.Errorf("IFD0:Orientation = %#v", o)
	}
	lat, ok := m.Get("composite", "Composite:GPSLatitude")
	if !ok || lat.Raw != 48.8583 || !strings.Contains(lat.Display, "deg") {
		t.Errorf("Composite:GPSLatitude = %#v", lat)
	}
	if _, ok := m.Get("xmp", "XMP-dc:Title"); !ok {
		t.Errorf("no xmp XMP-dc:Title in %v", m.Groups["xmp"])
	}
	if v, ok := m.Get("file", "File:MIMEType"); !ok || v.Display != "image/jpeg" {
		t.Errorf("File:MIMEType = %#v", v)
	}
	for g := range m.Groups {
		if g != strings.ToLower(g) {
			t.Errorf("group %q not lower case", g)
		}
	}
	if _, ok := m.Get("file", "System:Directory"); ok {
		t.Error("System:Directory leaked the scratch path")
	}
	golden(t, "photo_normalized.json", n)
}

func TestExtractPrecedence(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, Config{})
	base := []string{
		"-IPTC:CodedCharacterSet=UTF8",
		"-EXIF:ImageDescription=exif description",
		"-IPTC:Caption-Abstract=iptc description",
		"-XMP-dc:Description=xmp description",
		"-IPTC:By-line=IPTC Person",
		"-XMP-dc:Creator=XMP Person",
		"-IPTC:Keywords=iptc1", "-IPTC:Keywords=iptc2",
		"-XMP-dc:Subject=xmp1", "-XMP-dc:Subject=xmp2",
		"-IPTC:ObjectName=iptc title",
		"-XMP-dc:Title=xmp title",
		"-EXIF:DateTimeOriginal=2020:01:02 03:04:05",
		"-XMP-photoshop:DateCreated=1999:09:09 09:09:09+05:00",
		"-XMP-tiff:Orientation#=3",
		"-EXIF:Orientation#=8",
	}

	// No IPTC digest: IPTC counts as in sync, XMP wins over IPTC; EXIF
	// wins over both where it has the field.
	f1 := makeJPEG(t, dir, "nodigest.jpg", 16, 16)
	tag(t, f1, base...)
	n := extract(t, p, f1).Normalized
	if n.Description != "exif description" {
		t.Errorf("description = %q, want EXIF's", n.Description)
	}
	if n.Creator != "XMP Person" {
		t.Errorf("creator = %q, want XMP's (no EXIF Artist, IPTC in sync)", n.Creator)
	}
	if !slices.Equal(n.Keywords, []string{"xmp1", "xmp2"}) {
		t.Errorf("keywords = %q, want XMP's", n.Keywords)
	}
	if n.Title != "xmp title" {
		t.Errorf("title = %q, want XMP's", n.Title)
	}
	if n.CaptureDate == nil || n.CaptureDate.Format("2006-01-02 15:04:05") != "2020-01-02 03:04:05" || n.CaptureTZ != "" {
		t.Errorf("capture = %v %q, want EXIF's without zone", n.CaptureDate, n.CaptureTZ)
	}
	if n.Orientation != 8 {
		t.Errorf("orientation = %d, want EXIF's 8", n.Orientation)
	}

	// A stored IPTC digest that does not match the IPTC: the IPTC was
	// edited by a tool that left XMP behind, so IPTC wins over XMP.
	f2 := makeJPEG(t, dir, "stale.jpg", 16, 16)
	tag(t, f2, base...)
	tag(t, f2, "-Photoshop:IPTCDigest=00000000000000000000000000000001")
	n = extract(t, p, f2).Normalized
	if n.Creator != "IPTC Person" {
		t.Errorf("stale digest: creator = %q, want IPTC's", n.Creator)
	}
	if !slices.Equal(n.Keywords, []string{"iptc1", "iptc2"}) {
		t.Errorf("stale digest: keywords = %q, want IPTC's", n.Keywords)
	}
	if n.Description != "exif description" {
		t.Errorf("stale digest: description = %q, want EXIF's still", n.Description)
	}

	// No EXIF date: XMP photoshop:DateCreated with its offset.
	f3 := makeJPEG(t, dir, "xmpdate.jpg", 16, 16)
	tag(t, f3, "-XMP-photoshop:DateCreated=1999:09:09 09:09:09-05:30")
	n = extract(t, p, f3).Normalized
	if n.CaptureDate == nil || n.CaptureTZ != "-05:30" || n.CaptureDate.Format(time.RFC3339) != "1999-09-09T09:09:09-05:30" {
		t.Errorf("xmp date = %v %q", n.CaptureDate, n.CaptureTZ)
	}
}

func TestExtractPDF(t *testing.T) {
	f := filepath.Join(t.TempDir(), "doc.pdf")
	writePDF(t, f, 3, "A Report", "Bea Author")
	n := extract(t, newPool(t, Config{}), f).Normalized
	if n.PageCount != 3 || n.Title != "A Report" || n.Creator != "Bea Author" {
		t.Errorf("pdf = %+v", n)
	}
	if n.CaptureDate == nil || n.CaptureTZ != "+01:00" || n.CaptureDate.Format(time.RFC3339) != "2022-03-04T05:06:07+01:00" {
		t.Errorf("pdf date = %v %q", n.CaptureDate, n.CaptureTZ)
	}
}

func TestExtractAudioVideo(t *testing.T) {
	need(t, "ffmpeg")
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone.wav")
	run(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1.5", "-ar", "8000", wav)
	mp4 := filepath.Join(dir, "clip.mp4")
	run(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=10",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata", "title=Clip Title", mp4)
	p := newPool(t, Config{})

	n := extract(t, p, wav).Normalized
	if math.Abs(n.Duration-1.5) > 0.01 {
		t.Errorf("wav duration = %v", n.Duration)
	}
	m := extract(t, p, mp4)
	n = m.Normalized
	if math.Abs(n.Duration-2) > 0.05 || n.Width != 160 || n.Height != 120 {
		t.Errorf("mp4 duration %v size %dx%d", n.Duration, n.Width, n.Height)
	}
	if n.Title != "Clip Title" {
		t.Errorf("mp4 title = %q", n.Title)
	}
}

// TestExtractHostile: truncated EXIF, a 10 MB XMP packet and invalid UTF-8
// give metadata (not a Go error, not a hang), and valid UTF-8 JSON.
func TestExtractHostile(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, Config{})

	t.Run("truncated EXIF", func(t *testing.T) {
		src := makeJPEG(t, dir, "exif.jpg", 32, 32)
		tag(t, src, "-EXIF:Make=Truncated", "-EXIF:ImageDescription="+strings.Repeat("x", 3000),
			"-EXIF:DateTimeOriginal=2023:01:01 00:00:00")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		app1 := bytes.Index(data, []byte("Exif\x00\x00"))
		if app1 < 0 {
			t.Fatal("no EXIF in test file")
		}
		// Cut inside the EXIF block, and also corrupt the IFD entry count.
		for i, cut := range []int{app1 + 12, app1 + 40, app1 + 200, app1 + 1500} {
			f := filepath.Join(dir, "trunc"+string(rune('a'+i))+".jpg")
			if err := os.WriteFile(f, data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			m := extract(t, p, f)
			if m.Error == "" && len(m.Warnings) == 0 {
				t.Errorf("cut at %d: no exiftool warning or error", cut)
			}
			mustValidJSON(t, m)
		}
		bad := bytes.Clone(data)
		bad[app1+6+8] = 0xff // first IFD0 entry count byte
		bad[app1+6+9] = 0xff
		f := filepath.Join(dir, "badifd.jpg")
		if err := os.WriteFile(f, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		mustValidJSON(t, extract(t, p, f))
	})

	t.Run("10 MB XMP", func(t *testing.T) {
		big := strings.Repeat("0123456789abcdéf", 10<<20/17+1) // > 10 MB
		var b bytes.Buffer
		b.WriteString("<?xpacket begin='\uFEFF' id='W5M0MpCehiHzreSzNTczkc9d'?>\n")
		b.WriteString("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>")
		b.WriteString("<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>")
		b.WriteString("<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Big</rdf:li></rdf:Alt></dc:title>")
		b.WriteString("<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>" + big + "</rdf:li></rdf:Alt></dc:description>")
		b.WriteString("</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end='w'?>")
		if b.Len() < 10<<20 {
			t.Fatalf("packet only %d bytes", b.Len())
		}
		f := filepath.Join(dir, "big.xmp")
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		m := extract(t, p, f)
		t.Logf("10 MB XMP extracted in %s", time.Since(start))
		if m.Normalized.Title != "Big" || len(m.Normalized.Description) != len(big) {
			t.Errorf("title %q, description %d bytes (want %d)", m.Normalized.Title, len(m.Normalized.Description), len(big))
		}
		mustValidJSON(t, m)
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		f := makeJPEG(t, dir, "utf8.jpg", 16, 16)
		tag(t, f, "-EXIF:ImageDescription=AAA@@@@@@@ZZZ", "-EXIF:Artist=BBB@@@@@@@YYY",
			"-IPTC:CodedCharacterSet=UTF8", "-IPTC:Caption-Abstract=CCC@@@@@@@XXX",
			"-XMP-dc:Title=DDD@@@@@@@WWW", "-Comment=EEE@@@@@@@VVV")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evil := []byte("\xff\xfe\xc3\x28\x00\xed\xa0") // invalid bytes, a NUL, a surrogate
		if n := bytes.Count(data, []byte("@@@@@@@")); n != 5 {
			t.Fatalf("found %d placeholders, want 5", n)
		}
		data = bytes.ReplaceAll(data, []byte("@@@@@@@"), evil)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m := extract(t, p, f)
		b := mustValidJSON(t, m)
		if bytes.Contains(b, []byte(`\u0000`)) {
			t.Error("NUL survived")
		}
		if !strings.HasPrefix(m.Normalized.Description, "AAA") || !strings.HasPrefix(m.Normalized.Title, "DDD") {
			t.Errorf("description %q, title %q", m.Normalized.Description, m.Normalized.Title)
		}
	})

	t.Run("not media", func(t *testing.T) {
		f := filepath.Join(dir, "random.bin")
		if err := os.WriteFile(f, bytes.Repeat([]byte{0x13, 0x37, 0x00, 0xff}, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
		m := extract(t, p, f)
		if m.Error == "" {
			t.Errorf("want an exiftool error for an unknown file, got %+v", m)
		}
		mustValidJSON(t, m)
	})
}

func mustValidJSON(t *testing.T, m *Metadata) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if !utf8.Valid(b) || !json.Valid(b) {
		t.Fatalf("invalid JSON or UTF-8")
	}
	return b
}

func TestExtractErrors(t *testing.T) {
	p := newPool(t, Config{Size: 1})
	ctx := context.Background()
	if _, err := p.Extract(ctx, "/tmp/a\nb.jpg"); !errors.Is(err, ErrBadPath) {
		t.Errorf("newline path: %v, want ErrBadPath", err)
	}
	if _, err := p.Extract(ctx, filepath.Join(t.TempDir(), "missing.jpg")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	// A file name starting with '-' and with spaces is a file, not an option.
	dir := t.TempDir()
	f := makeJPEG(t, dir, "x.jpg", 8, 8)
	odd := filepath.Join(dir, "-ver  #1 ü.jpg")
	if err := os.Rename(f, odd); err != nil {
		t.Fatal(err)
	}
	if m := extract(t, p, odd); m.Normalized.Width != 8 {
		t.Errorf("odd name: %+v", m.Normalized)
	}
	_ = p.Close()
	if _, err := p.Extract(ctx, odd); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}
