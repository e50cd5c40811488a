package exiftool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrSameFile: EmbedFields was asked to write over its source.
var ErrSameFile = errors.New("exiftool: destination is the source file")

// tagArgs turns fields into exiftool write arguments. Values that contain
// a line break cannot travel in the one-argument-per-line protocol: they
// are written to a scratch file in dir and passed as "-TAG<=FILE".
// Empty fields are not written (they never delete existing values).
type tagArgs struct {
	dir  string
	args []string
	n    int
}

func (t *tagArgs) set(tag, value string) error {
	if value == "" {
		return nil
	}
	if !strings.ContainsAny(value, "\r\n") {
		t.args = append(t.args, "-"+tag+"="+value)
		return nil
	}
	t.n++
	f := filepath.Join(t.dir, "value"+strconv.Itoa(t.n)+".txt")
	if err := os.WriteFile(f, []byte(value), 0o600); err != nil {
		return fmt.Errorf("exiftool: scratch value: %w", err)
	}
	t.args = append(t.args, "-"+tag+"<="+f)
	return nil
}

// setNum writes a value with print conversion off ("-TAG#=").
func (t *tagArgs) setNum(tag string, v float64) {
	t.args = append(t.args, "-"+tag+"#="+strconv.FormatFloat(v, 'f', -1, 64))
}

// exifDate formats d for exiftool: "2006:01:02 15:04:05" plus the offset
// when tz is known.
func exifDate(d time.Time, tz string) string {
	s := d.Format("2006:01:02 15:04:05")
	if d.Nanosecond() != 0 {
		s = d.Format("2006:01:02 15:04:05.000")
	}
	if tz != "" {
		s += d.Format("-07:00")
	}
	return s
}

// xmpArgs: the XMP properties a sidecar gets. Creator is one dc:creator
// entry per "; "-separated name, keywords one dc:subject entry each.
func xmpArgs(t *tagArgs, f Normalized) error {
	for _, kv := range [][2]string{
		{"XMP-dc:Title", f.Title},
		{"XMP-dc:Description", f.Description},
		{"XMP-dc:Rights", f.Rights},
		{"XMP-tiff:Make", f.Make},
		{"XMP-tiff:Model", f.Model},
		{"XMP-exifEX:LensModel", f.Lens},
	} {
		if err := t.set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	for _, c := range splitCreators(f.Creator) {
		if err := t.set("XMP-dc:Creator", c); err != nil {
			return err
		}
	}
	for _, k := range f.Keywords {
		if err := t.set("XMP-dc:Subject", k); err != nil {
			return err
		}
	}
	if f.CaptureDate != nil {
		d := exifDate(*f.CaptureDate, f.CaptureTZ)
		t.args = append(t.args, "-XMP-exif:DateTimeOriginal="+d, "-XMP-photoshop:DateCreated="+d)
	}
	if f.GPSLat != nil && f.GPSLon != nil {
		t.setNum("XMP-exif:GPSLatitude", *f.GPSLat)
		t.setNum("XMP-exif:GPSLongitude", *f.GPSLon)
	}
	if f.Orientation >= 1 && f.Orientation <= 8 {
		t.setNum("XMP-tiff:Orientation", float64(f.Orientation))
	}
	return nil
}

func splitCreators(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ";") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func (p *Pool) scratchDir() (string, error) {
	d, err := os.MkdirTemp(p.cfg.TempDir, "stor-exiftool-")
	if err != nil {
		return "", fmt.Errorf("exiftool: scratch dir: %w", err)
	}
	return d, nil
}

// WriteXMPSidecar returns an XMP sidecar (.xmp packet) that exiftool made
// from fields: dc:title, dc:description, dc:creator, dc:rights,
// dc:subject, exif:DateTimeOriginal and photoshop:DateCreated (with the
// offset when CaptureTZ is known), exif:GPSLatitude/GPSLongitude,
// tiff:Make/Model/Orientation and exifEX:LensModel. Width, Height,
// Duration and PageCount describe a file, not its content, and are not
// written.
func (p *Pool) WriteXMPSidecar(ctx context.Context, fields Normalized) ([]byte, error) {
	dir, err := p.scratchDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	t := &tagArgs{dir: dir}
	if err := xmpArgs(t, fields); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "sidecar.xmp")
	args := append([]string{"-o", out}, t.args...)
	_, stderr, err := p.run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("exiftool sidecar: %w", err)
	}
	b, err := os.ReadFile(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &ToolError{Op: "sidecar", Stderr: stderr, Err: ErrNotWritten}
	}
	if err != nil {
		return nil, fmt.Errorf("exiftool sidecar: %w", err)
	}
	return b, nil
}

// EmbedFields writes fields into a copy of src at dst; src is never
// modified. It uses the MWG write tags (exiftool -use MWG), which put each
// field where the MWG guidance says for the format (for JPEG: EXIF, XMP,
// and IPTC when the file already has IPTC, keeping the IPTC digest in
// step): MWG:Description, MWG:Creator, MWG:Copyright, MWG:Keywords,
// MWG:DateTimeOriginal (EXIF OffsetTimeOriginal too when CaptureTZ is
// known), MWG:Orientation; and XMP-dc:Title, EXIF Make/Model/LensModel and
// EXIF GPS. Fields that are empty are left as they are in the copy.
//
// The copy is written next to dst under a temporary name and renamed over
// dst, so a dst left from an earlier run is replaced whole (idempotent) and
// a failed call leaves no partial dst.
func (p *Pool) EmbedFields(ctx context.Context, src, dst string, fields Normalized) error {
	srcAbs, err := checkPath(src)
	if err != nil {
		return fmt.Errorf("exiftool embed: %w", err)
	}
	dstAbs, err := checkPath(dst)
	if err != nil {
		return fmt.Errorf("exiftool embed: %w", err)
	}
	si, err := os.Stat(srcAbs)
	if err != nil {
		return fmt.Errorf("exiftool embed: %w", err)
	}
	if di, err := os.Stat(dstAbs); err == nil && os.SameFile(si, di) {
		return fmt.Errorf("exiftool embed %s: %w", dst, ErrSameFile)
	}
	dir, err := p.scratchDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	t := &tagArgs{dir: dir}
	for _, kv := range [][2]string{
		{"XMP-dc:Title", fields.Title},
		{"MWG:Description", fields.Description},
		{"MWG:Copyright", fields.Rights},
		{"EXIF:Make", fields.Make},
		{"EXIF:Model", fields.Model},
		{"EXIF:LensModel", fields.Lens},
	} {
		if err := t.set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	for _, c := range splitCreators(fields.Creator) {
		if err := t.set("MWG:Creator", c); err != nil {
			return err
		}
	}
	for _, k := range fields.Keywords {
		if err := t.set("MWG:Keywords", k); err != nil {
			return err
		}
	}
	if fields.CaptureDate != nil {
		t.args = append(t.args, "-MWG:DateTimeOriginal="+exifDate(*fields.CaptureDate, fields.CaptureTZ))
	}
	if fields.GPSLat != nil && fields.GPSLon != nil {
		// Composite GPS tags with -n take signed degrees and set the Refs.
		t.setNum("EXIF:GPSLatitude", abs(*fields.GPSLat))
		t.setNum("EXIF:GPSLongitude", abs(*fields.GPSLon))
		t.args = append(t.args,
			"-EXIF:GPSLatitudeRef="+hemisphere(*fields.GPSLat, "N", "S"),
			"-EXIF:GPSLongitudeRef="+hemisphere(*fields.GPSLon, "E", "W"))
	}
	if fields.Orientation >= 1 && fields.Orientation <= 8 {
		t.setNum("MWG:Orientation", float64(fields.Orientation))
	}

	// IPTC is written only where the file already has it (MWG). If that
	// IPTC is not declared UTF-8, convert it first, or exiftool would
	// write the new values as Latin-1 ("東京" -> "??").
	from, err := p.iptcToUTF8(ctx, srcAbs, dir)
	if err != nil {
		return fmt.Errorf("exiftool embed %s: %w", src, err)
	}

	// exiftool -o refuses an existing output: write to a fresh name in
	// dst's directory, then rename.
	tmp := filepath.Join(filepath.Dir(dstAbs), "."+filepath.Base(dstAbs)+".exiftool-"+filepath.Base(dir))
	args := append([]string{"-use", "MWG", "-o", tmp}, t.args...)
	args = append(args, from)
	_, stderr, err := p.run(ctx, args)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exiftool embed %s: %w", src, err)
	}
	if _, err := os.Stat(tmp); err != nil {
		return &ToolError{Op: "embed", Path: src, Stderr: stderr, Err: ErrNotWritten}
	}
	if err := os.Rename(tmp, dstAbs); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exiftool embed: %w", err)
	}
	return nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func hemisphere(f float64, pos, neg string) string {
	if f < 0 {
		return neg
	}
	return pos
}

// iptcToUTF8 returns src itself when it has no IPTC or UTF-8 IPTC;
// otherwise a scratch copy whose IPTC was re-encoded as UTF-8 (exiftool's
// "-tagsFromFile @ -IPTC:all -CodedCharacterSet=UTF8").
func (p *Pool) iptcToUTF8(ctx context.Context, src, dir string) (string, error) {
	out, _, err := p.run(ctx, []string{"-j", "-n", "-IPTC:all", src})
	if err != nil {
		return "", err
	}
	var res []map[string]any
	if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 {
		return src, nil // unreadable: let the write report it
	}
	if len(res[0]) <= 1 || res[0]["CodedCharacterSet"] == "\x1b%G" {
		return src, nil // only SourceFile: no IPTC; or already UTF-8
	}
	conv := filepath.Join(dir, "iptc-utf8"+filepath.Ext(src))
	_, stderr, err := p.run(ctx, []string{"-o", conv, "-tagsFromFile", "@", "-IPTC:all", "-IPTC:CodedCharacterSet=UTF8", src})
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(conv); err != nil {
		return "", &ToolError{Op: "embed", Path: src, Stderr: stderr, Err: ErrNotWritten}
	}
	return conv, nil
}
