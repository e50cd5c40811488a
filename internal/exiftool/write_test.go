package exiftool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func testFields() Normalized {
	lat, lon := -33.8568, 151.2153
	d := time.Date(2021, 7, 8, 9, 10, 11, 0, time.FixedZone("+10:00", 10*3600))
	return Normalized{
		Title:       "Opera House $HOME @night",
		Description: "Line one\nLine two — with \"quotes\" and a backslash \\",
		Creator:     "Ann Artist; Bo Builder",
		Rights:      "CC BY 4.0",
		Keywords:    []string{"Müller", "東京", "Ωmega"},
		CaptureDate: &d,
		CaptureTZ:   "+10:00",
		Make:        "Nikon",
		Model:       "Z 9",
		Lens:        "NIKKOR Z 24-70mm f/2.8 S",
		GPSLat:      &lat,
		GPSLon:      &lon,
		Orientation: 8,
	}
}

// checkRoundTrip compares the fields written with what Extract reads back.
func checkRoundTrip(t *testing.T, got, want Normalized) {
	t.Helper()
	if got.Title != want.Title || got.Description != want.Description || got.Rights != want.Rights {
		t.Errorf("title/description/rights:\n got %q / %q / %q\nwant %q / %q / %q",
			got.Title, got.Description, got.Rights, want.Title, want.Description, want.Rights)
	}
	if got.Creator != want.Creator {
		t.Errorf("creator %q, want %q", got.Creator, want.Creator)
	}
	if !slices.Equal(got.Keywords, want.Keywords) {
		t.Errorf("keywords %q, want %q", got.Keywords, want.Keywords)
	}
	if got.CaptureDate == nil || !got.CaptureDate.Equal(*want.CaptureDate) || got.CaptureTZ != want.CaptureTZ {
		t.Errorf("capture %v %q, want %v %q", got.CaptureDate, got.CaptureTZ, want.CaptureDate, want.CaptureTZ)
	}
	if got.Make != want.Make || got.Model != want.Model || got.Lens != want.Lens {
		t.Errorf("make/model/lens %q %q %q", got.Make, got.Model, got.Lens)
	}
	if got.GPSLat == nil || got.GPSLon == nil || *got.GPSLat != *want.GPSLat || *got.GPSLon != *want.GPSLon {
		t.Errorf("gps %v %v", got.GPSLat, got.GPSLon)
	}
	if got.Orientation != want.Orientation {
		t.Errorf("orientation %d, want %d", got.Orientation, want.Orientation)
	}
}

func TestWriteXMPSidecar(t *testing.T) {
	p := newPool(t, Config{})
	want := testFields()
	b, err := p.WriteXMPSidecar(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<?xpacket begin=")) || !bytes.Contains(b, []byte("<dc:title>")) {
		t.Fatalf("not an XMP packet:\n%s", b)
	}
	f := filepath.Join(t.TempDir(), "side.xmp")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, extract(t, p, f).Normalized, want)

	// Empty fields give an (almost) empty packet, not an error.
	if _, err := p.WriteXMPSidecar(context.Background(), Normalized{Title: "only"}); err != nil {
		t.Errorf("title only: %v", err)
	}
}

func TestEmbedFields(t *testing.T) {
	dir := t.TempDir()
	src := makeJPEG(t, dir, "src.jpg", 40, 30)
	tag(t, src, "-IPTC:Keywords=old", "-EXIF:Artist=Old Artist", "-XMP-dc:Title=Old title")
	before, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(src)

	p := newPool(t, Config{})
	want := testFields()
	dst := filepath.Join(dir, "out", "copy.jpg")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	// A dst left by an earlier run is replaced.
	if err := os.WriteFile(dst, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.EmbedFields(context.Background(), src, dst, want); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(src)
	info2, _ := os.Stat(src)
	if sha256.Sum256(before) != sha256.Sum256(after) || !info.ModTime().Equal(info2.ModTime()) {
		t.Fatal("the original was modified")
	}
	m := extract(t, p, dst)
	checkRoundTrip(t, m.Normalized, want)
	if m.Normalized.Width != 40 {
		t.Errorf("copy lost its image: %+v", m.Normalized)
	}
	// MWG wrote EXIF and, since the file had IPTC, IPTC as well.
	if v, ok := m.Get("exif", "ExifIFD:OffsetTimeOriginal"); !ok || v.Display != "+10:00" {
		t.Errorf("OffsetTimeOriginal = %#v", v)
	}
	if v, ok := m.Get("iptc", "IPTC:Keywords"); !ok || !strings.Contains(v.Display, "東京") {
		t.Errorf("IPTC:Keywords = %#v", v)
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 1 {
		t.Errorf("scratch files left next to dst: %v", entries)
	}

	if err := p.EmbedFields(context.Background(), src, src, want); !errors.Is(err, ErrSameFile) {
		t.Errorf("src == dst: %v, want ErrSameFile", err)
	}
	// A source exiftool cannot write gives a ToolError and no dst.
	bad := filepath.Join(dir, "bad.jpg")
	if err := os.WriteFile(bad, []byte("not a jpeg at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst2 := filepath.Join(dir, "out", "bad-copy.jpg")
	err = p.EmbedFields(context.Background(), bad, dst2, want)
	var te *ToolError
	if !errors.As(err, &te) || !errors.Is(err, ErrNotWritten) {
		t.Errorf("unwritable source: %v, want *ToolError wrapping ErrNotWritten", err)
	}
	if _, err := os.Stat(dst2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dst written for a failed embed: %v", err)
	}
}
