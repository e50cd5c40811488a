package metatask_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	goldenTitle   = "Brücke über den Fluss"
	goldenDesc    = "Abendlicht am Fluss, 東京"
	goldenCreator = "Anna Müller"
	goldenRights  = "© 2021 Anna Müller"
)

// goldenJPEG is a JPEG with known EXIF, IPTC (UTF-8) and XMP values, all
// written by exiftool.
func goldenJPEG(t *testing.T, dir string) string {
	p := makeJPEG(t, dir, "golden.jpg", 64, 48)
	exiftoolWrite(t, p, "-charset", "iptc=UTF8", "-IPTC:CodedCharacterSet=UTF8",
		"-XMP-dc:Title="+goldenTitle, "-IPTC:ObjectName="+goldenTitle,
		"-EXIF:ImageDescription="+goldenDesc, "-XMP-dc:Description="+goldenDesc, "-IPTC:Caption-Abstract="+goldenDesc,
		"-EXIF:Artist="+goldenCreator, "-XMP-dc:Creator="+goldenCreator, "-IPTC:By-line="+goldenCreator,
		"-EXIF:Copyright="+goldenRights, "-XMP-dc:Rights="+goldenRights, "-IPTC:CopyrightNotice="+goldenRights,
		"-XMP-dc:Subject=Müller", "-XMP-dc:Subject=東京", "-IPTC:Keywords=Müller", "-IPTC:Keywords=東京",
		"-EXIF:DateTimeOriginal=2021:06:15 14:30:00", "-EXIF:OffsetTimeOriginal=+09:00",
		"-EXIF:GPSLatitude=35.6895", "-EXIF:GPSLatitudeRef=N", "-EXIF:GPSLongitude=74.006", "-EXIF:GPSLongitudeRef=W",
		"-EXIF:Orientation#=6", "-EXIF:Make=Canon", "-EXIF:Model=Canon EOS R5", "-EXIF:LensModel=RF24-105mm F4 L IS USM")
	return p
}

// truncatedEXIF puts an APP1 Exif segment whose IFD0 claims 40 entries
// but holds one, right after the SOI of a valid JPEG.
func truncatedEXIF(jpeg []byte) []byte {
	payload := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x28\x00")
	payload = append(payload, 0x0f, 0x01, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00) // Make, offset past the end
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpeg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpeg[2:]...)
}

// bigXMPPNG is a PNG whose iTXt XMP packet is over 10 MB (a 10 MB
// dc:description).
func bigXMPPNG(t *testing.T, dir string) []byte {
	p := filepath.Join(dir, "plain.png")
	run(t, "/usr/bin/convert", "-size", "40x30", "xc:orange", p)
	desc := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 10<<20/57+1)
	xmp := "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>" +
		"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' " +
		"xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Big XMP</rdf:li>" +
		"</rdf:Alt></dc:title><dc:description><rdf:Alt><rdf:li xml:lang='x-default'>" + desc +
		"</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
	data := append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), xmp...)
	return pngWithChunk(t, readFile(t, p), "iTXt", data)
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestMetadataIdentificationTextEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t)

	golden := readFile(t, goldenJPEG(t, dir))

	pngAsJPG := filepath.Join(dir, "red.png")
	run(t, "/usr/bin/convert", "-size", "32x32", "xc:red", pngAsJPG)

	scan := textImage(t, dir, "scan.png", "Scanned Archive Letter")
	scanJPG := filepath.Join(dir, "scan.jpg")
	run(t, "vips", "copy", scan, scanJPG+"[Q=95,strip]")
	sw := 0
	sh := 0
	for _, kv := range [][2]any{{"width", &sw}, {"height", &sh}} {
		var v int
		if _, err := fmtSscan(string(run(t, "vipsheader", "-f", kv[0].(string), scanJPG)), &v); err != nil {
			t.Fatal(err)
		}
		*kv[1].(*int) = v
	}
	pdf := makePDF([]pdfPage{
		{Text: "Hello Museum page one"},
		{Text: "Second page about paintings"},
		{JPEG: readFile(t, scanJPG), W: sw, H: sh},
	})

	words := readFile(t, textImage(t, dir, "words.png", "Hello Museum"))

	plain := readFile(t, makeJPEG(t, dir, "plain.jpg", 40, 30))
	cut := golden[:200]

	badUTF8 := makeJPEG(t, dir, "bad.jpg", 40, 30)
	exiftoolWrite(t, badUTF8, "-EXIF:Artist=Bad\xff\xfeName", "-EXIF:ImageDescription=caf\xe9 cr\xe8me", "-XMP-dc:Title=Ti\xc3tle")

	embed := makeJPEG(t, dir, "embed.jpg", 40, 30)
	exiftoolWrite(t, embed, "-charset", "iptc=UTF8", "-IPTC:CodedCharacterSet=UTF8",
		"-IPTC:ObjectName=Einbettung Ü", "-IPTC:Keywords=Köln")

	huge := filepath.Join(dir, "huge.jpg")
	run(t, "vips", "black", huge+"[Q=50]", "8000", "7000")

	bmp := filepath.Join(dir, "pic.bmp")
	run(t, "/usr/bin/convert", "-size", "16x16", "xc:blue", bmp)

	ids := map[string]string{
		"golden":    n.upload(t, "golden.jpg", golden),
		"pngasjpg":  n.upload(t, "photo.jpg", readFile(t, pngAsJPG)),
		"pdf":       n.upload(t, "letters.pdf", pdf),
		"words":     n.upload(t, "words.png", words),
		"truncexif": n.upload(t, "truncated-exif.jpg", truncatedEXIF(plain)),
		"cut":       n.upload(t, "cut.jpg", cut),
		"bigxmp":    n.upload(t, "big-xmp.png", bigXMPPNG(t, dir)),
		"badutf8":   n.upload(t, "bad-utf8.jpg", readFile(t, badUTF8)),
		"embed":     n.upload(t, "embed.jpg", readFile(t, embed)),
		"bmp":       n.upload(t, "pic.bmp", readFile(t, bmp)),
		"huge":      n.upload(t, "huge.jpg", readFile(t, huge)),
	}
	assets := map[string]assetView{}
	tasks := map[string]map[string]taskView{}
	for _, k := range []string{"golden", "pngasjpg", "pdf", "words", "truncexif", "cut", "bigxmp", "badutf8", "embed", "bmp", "huge"} {
		assets[k], tasks[k] = n.settle(t, ids[k], 4*time.Minute)
		if tk := tasks[k]["metadata"]; tk.State != "succeeded" {
			t.Errorf("%s: metadata task %s: %v", k, tk.State, deref(tk.LastError))
		}
		if tk := tasks[k]["identify"]; tk.State != "succeeded" {
			t.Errorf("%s: identify task %s: %v", k, tk.State, deref(tk.LastError))
		}
		// A JPEG cut at 200 bytes has its metadata but no pixels: the image
		// tasks fail it, with libvips' reason. Every other asset is ready.
		want := "ready"
		if k == "cut" {
			want = "failed"
		}
		if assets[k].State != want {
			t.Errorf("%s: state %s (%v), want %s", k, assets[k].State, deref(assets[k].Error), want)
		}
	}

	t.Run("golden JPEG: asset fields", func(t *testing.T) {
		a := assets["golden"]
		check := func(name, got, want string) {
			if got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		check("title", a.Title, goldenTitle)
		check("description", a.Description, goldenDesc)
		check("creator", a.Creator, goldenCreator)
		check("rights", a.Rights, goldenRights)
		check("capture_date", a.CaptureDate, "2021-06-15T14:30:00+09:00")
		if !slices.Equal(a.Keywords, []string{"Müller", "東京"}) {
			t.Errorf("keywords = %q", a.Keywords)
		}
		if a.Camera == nil || a.Camera.Make != "Canon" || a.Camera.Model != "Canon EOS R5" || a.Camera.Lens != "RF24-105mm F4 L IS USM" {
			t.Errorf("camera = %+v", a.Camera)
		}
		if a.GPS == nil || math.Abs(a.GPS.Lat-35.6895) > 1e-6 || math.Abs(a.GPS.Lon+74.006) > 1e-6 {
			t.Errorf("gps = %+v, want 35.6895, -74.006", a.GPS)
		}
		// Stored 64×48 with Orientation 6: the asset reports the displayed
		// size, as the image tasks set it (metadata fills only empty sizes).
		if a.Width == nil || *a.Width != 48 || *a.Height != 64 {
			t.Errorf("dimensions = %v×%v, want 48×64 (displayed)", derefInt(a.Width), derefInt(a.Height))
		}
		if len(a.Warnings) != 0 {
			t.Errorf("warnings = %+v", a.Warnings)
		}
		if a.Format != "jpg" || !slices.Contains([]string{"fmt/43", "fmt/44", "fmt/645"}, a.PRONOM) {
			t.Errorf("format %s pronom %s", a.Format, a.PRONOM)
		}
	})

	t.Run("golden JPEG: /metadata groups and values", func(t *testing.T) {
		st, _, body := n.do(t, "GET", "/api/v1/assets/"+ids["golden"]+"/metadata", nil, nil)
		if st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{"exif", "iptc", "xmp", "file", "composite", "normalized", "pronom"} {
			if _, ok := m[g]; !ok {
				t.Errorf("no %q in /metadata (keys %v)", g, keys(m))
			}
		}
		type val struct {
			Raw     any    `json:"raw"`
			Display string `json:"display"`
		}
		var exif, iptc, xmp map[string]val
		json.Unmarshal(m["exif"], &exif)
		json.Unmarshal(m["iptc"], &iptc)
		json.Unmarshal(m["xmp"], &xmp)
		if o := exif["IFD0:Orientation"]; o.Raw != float64(6) || o.Display != "Rotate 90 CW" {
			t.Errorf("IFD0:Orientation = %+v, want raw 6, display Rotate 90 CW", o)
		}
		if v := exif["ExifIFD:OffsetTimeOriginal"]; v.Display != "+09:00" {
			t.Errorf("OffsetTimeOriginal = %+v", v)
		}
		if v := exif["IFD0:Artist"]; v.Display != goldenCreator {
			t.Errorf("IFD0:Artist = %+v", v)
		}
		if v := iptc["IPTC:Keywords"]; v.Display != "Müller, 東京" {
			t.Errorf("IPTC:Keywords = %+v", v)
		}
		if v := iptc["IPTC:ObjectName"]; v.Display != goldenTitle {
			t.Errorf("IPTC:ObjectName = %+v", v)
		}
		if v := xmp["XMP-dc:Title"]; v.Display != goldenTitle {
			t.Errorf("XMP-dc:Title = %+v", v)
		}
		if v := xmp["XMP-dc:Subject"]; v.Display != "Müller, 東京" {
			t.Errorf("XMP-dc:Subject = %+v", v)
		}
		if v := exif["GPS:GPSLatitude"]; v.Raw == nil || !strings.Contains(v.Display, "35 deg") {
			t.Errorf("GPS:GPSLatitude = %+v (want both a number and degrees)", v)
		}
		var norm struct {
			Title       string   `json:"title"`
			Keywords    []string `json:"keywords"`
			Orientation int      `json:"orientation"`
			CaptureTZ   string   `json:"capture_tz"`
		}
		json.Unmarshal(m["normalized"], &norm)
		if norm.Title != goldenTitle || norm.Orientation != 6 || norm.CaptureTZ != "+09:00" || len(norm.Keywords) != 2 {
			t.Errorf("normalized = %+v", norm)
		}
		var pr struct {
			PUID, Format, Signature_version string
		}
		json.Unmarshal(m["pronom"], &pr)
		if !strings.HasPrefix(pr.PUID, "fmt/") || pr.Signature_version == "" {
			t.Errorf("pronom = %s", m["pronom"])
		}
	})

	t.Run("PNG named .jpg: format png, PRONOM fmt/11, extension warning", func(t *testing.T) {
		a := assets["pngasjpg"]
		if a.Format != "png" || a.PRONOM != "fmt/11" {
			t.Errorf("format %s, pronom %s; want png, fmt/11", a.Format, a.PRONOM)
		}
		// (ImageMagick's PNG also draws an exiftool "[minor]" warning about
		// text chunks after IDAT, source "metadata".)
		var ident []string
		for _, w := range a.Warnings {
			if w.Source == "identify" {
				ident = append(ident, w.Message)
			}
		}
		if len(ident) != 1 || !strings.Contains(ident[0], `".jpg"`) || !strings.Contains(ident[0], "fmt/11") {
			t.Errorf("warnings = %+v", a.Warnings)
		}
		var evs struct{ Items []struct{ Type string } }
		n.getJSON(t, "/api/v1/assets/"+ids["pngasjpg"]+"/events", 200, &evs)
		if !slices.ContainsFunc(evs.Items, func(e struct{ Type string }) bool { return e.Type == "format.extension_mismatch" }) {
			t.Errorf("no format.extension_mismatch event: %+v", evs.Items)
		}
		if w := assets["words"]; w.PRONOM != "fmt/11" || len(w.Warnings) != 0 || len(assets["golden"].Warnings) != 0 {
			t.Errorf("words.png: pronom %s, warnings %+v", w.PRONOM, w.Warnings)
		}
	})

	t.Run("PDF: text layer per page, OCR of the scanned page", func(t *testing.T) {
		a := assets["pdf"]
		if a.PRONOM != "fmt/18" || a.PageCount == nil || *a.PageCount != 3 {
			t.Errorf("pronom %s, page_count %v; want fmt/18, 3", a.PRONOM, a.PageCount)
		}
		if tk := tasks["pdf"]["text"]; tk.State != "succeeded" {
			t.Fatalf("text task %s: %v", tk.State, deref(tk.LastError))
		}
		var txt struct {
			Pages []struct {
				Page   int
				Source string
				Text   string
			}
			Text string
		}
		n.getJSON(t, "/api/v1/assets/"+ids["pdf"]+"/text", 200, &txt)
		if len(txt.Pages) != 3 {
			t.Fatalf("pages = %+v", txt.Pages)
		}
		want := []struct{ src, text string }{{"text-layer", "Hello Museum page one"}, {"text-layer", "Second page about paintings"}}
		for i, w := range want {
			p := txt.Pages[i]
			if p.Page != i+1 || p.Source != w.src || strings.TrimSpace(p.Text) != w.text {
				t.Errorf("page %d = %+v, want %s %q", i+1, p, w.src, w.text)
			}
		}
		p3 := txt.Pages[2]
		if p3.Source != "ocr" || !strings.Contains(p3.Text, "Scanned") || !strings.Contains(p3.Text, "Letter") {
			t.Errorf("page 3 = %+v, want OCR of 'Scanned Archive Letter'", p3)
		}
		if !strings.Contains(txt.Text, "Hello Museum page one") || !strings.Contains(txt.Text, "Second page") {
			t.Errorf("joined text = %q", txt.Text)
		}
	})

	t.Run("image of printed words: OCR", func(t *testing.T) {
		var txt struct {
			Pages []struct {
				Source, Text string
			}
		}
		n.getJSON(t, "/api/v1/assets/"+ids["words"]+"/text", 200, &txt)
		if len(txt.Pages) != 1 || txt.Pages[0].Source != "ocr" || strings.TrimSpace(txt.Pages[0].Text) != "Hello Museum" {
			t.Errorf("text = %+v, want OCR 'Hello Museum'", txt.Pages)
		}
	})

	t.Run("image over the OCR bound: OCR reads its 1024-pixel rendition", func(t *testing.T) {
		// The text task runs after the image tasks, so a 56-megapixel image
		// is read from its thumbnail rather than decoded whole, or skipped.
		if tk := tasks["huge"]["text"]; tk.State != "succeeded" {
			t.Errorf("text task %s: %s", tk.State, deref(tk.LastError))
		}
		var txt struct {
			Pages []struct{ Source string }
		}
		n.getJSON(t, "/api/v1/assets/"+ids["huge"]+"/text", 200, &txt)
		if len(txt.Pages) != 1 || txt.Pages[0].Source != "ocr" {
			t.Errorf("/text pages = %+v, want one OCR page", txt.Pages)
		}
	})

	t.Run("bad input degrades: truncated EXIF, cut file, 10 MB XMP, invalid UTF-8", func(t *testing.T) {
		for _, k := range []string{"truncexif", "cut"} {
			a := assets[k]
			if !slices.ContainsFunc(a.Warnings, func(w struct{ Source, Message string }) bool { return w.Source == "metadata" }) {
				t.Errorf("%s: no metadata warning: %+v", k, a.Warnings)
			}
			n.getJSON(t, "/api/v1/assets/"+ids[k]+"/metadata", 200, nil)
		}
		big := assets["bigxmp"]
		if big.Title != "Big XMP" || len(big.Description) > 70<<10 || !strings.HasPrefix(big.Description, "Lorem ipsum") {
			t.Errorf("big XMP: title %q, description %d bytes", big.Title, len(big.Description))
		}
		if !slices.ContainsFunc(big.Warnings, func(w struct{ Source, Message string }) bool {
			return w.Source == "metadata" && strings.Contains(w.Message, "XMP-dc:Description")
		}) {
			t.Errorf("big XMP: warnings %+v", big.Warnings)
		}
		st, _, body := n.do(t, "GET", "/api/v1/assets/"+ids["bigxmp"]+"/metadata", nil, nil)
		if st != 200 || len(body) > 1<<20 {
			t.Errorf("big XMP /metadata: %d, %d bytes", st, len(body))
		}
		bad := assets["badutf8"]
		if !strings.Contains(bad.Creator, "Bad") || !strings.Contains(bad.Creator, "Name") || !utf8.ValidString(bad.Creator) {
			t.Errorf("invalid UTF-8 creator = %q", bad.Creator)
		}
		st, _, body = n.do(t, "GET", "/api/v1/assets/"+ids["badutf8"]+"/metadata", nil, nil)
		if st != 200 || !utf8.Valid(body) || !json.Valid(body) {
			t.Errorf("invalid UTF-8 /metadata: %d, valid UTF-8 %v", st, utf8.Valid(body))
		}
	})

	t.Run("XMP sidecar reads back with exiftool", func(t *testing.T) {
		st, hdr, body := n.do(t, "GET", "/api/v1/assets/"+ids["golden"]+"/metadata.xmp", nil, nil)
		if st != 200 || hdr.Get("Content-Type") != "application/rdf+xml" {
			t.Fatalf("%d %s %.300s", st, hdr.Get("Content-Type"), body)
		}
		p := filepath.Join(dir, "sidecar.xmp")
		os.WriteFile(p, body, 0o600)
		var got []map[string]any
		json.Unmarshal(run(t, "exiftool", "-j", "-XMP-dc:all", "-XMP-exif:DateTimeOriginal", "-XMP-tiff:Orientation#", p), &got)
		if len(got) != 1 {
			t.Fatalf("exiftool: %v", got)
		}
		g := got[0]
		if g["Title"] != goldenTitle || g["Creator"] != goldenCreator || g["Rights"] != goldenRights ||
			g["DateTimeOriginal"] != "2021:06:15 14:30:00+09:00" || g["Orientation"] != float64(6) {
			t.Errorf("sidecar = %v", g)
		}
		if s, _ := g["Subject"].([]any); len(s) != 2 || s[0] != "Müller" || s[1] != "東京" {
			t.Errorf("sidecar subject = %v", g["Subject"])
		}
	})

	t.Run("embed=1: a copy with the fields, the original untouched", func(t *testing.T) {
		a := assets["embed"]
		if a.Title != "Einbettung Ü" {
			t.Fatalf("title from IPTC = %q", a.Title)
		}
		st, hdr, body := n.do(t, "GET", "/api/v1/assets/"+ids["embed"]+"/original?embed=1", nil, nil)
		if st != 200 || hdr.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("%d %s", st, hdr.Get("Content-Type"))
		}
		if sha(body) == a.SHA256 {
			t.Fatal("embed=1 served the original unchanged")
		}
		p := filepath.Join(dir, "embedded.jpg")
		os.WriteFile(p, body, 0o600)
		var got []map[string]any
		json.Unmarshal(run(t, "exiftool", "-j", "-XMP-dc:Title", "-XMP-dc:Subject", p), &got)
		if len(got) != 1 || got[0]["Title"] != "Einbettung Ü" {
			t.Errorf("embedded copy: %v", got)
		}
		_, _, orig := n.do(t, "GET", "/api/v1/assets/"+ids["embed"]+"/original", nil, nil)
		if sha(orig) != a.SHA256 {
			t.Errorf("stored original changed: %s != %s", sha(orig), a.SHA256)
		}
		// The blob on disk itself.
		found := false
		filepath.WalkDir(filepath.Join(n.Cfg.DataDir, "blobs"), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Base(path) == a.SHA256 {
				found = true
				if got := sha(readFile(t, path)); got != a.SHA256 {
					t.Errorf("blob %s hashes to %s", path, got)
				}
			}
			return nil
		})
		if !found {
			t.Errorf("blob of %s not found on disk", a.SHA256)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(n.Cfg.DataDir, "tmp", "embed-*")); len(leftovers) > 0 {
			t.Errorf("temp files left: %v", leftovers)
		}
		st, _, body = n.do(t, "GET", "/api/v1/assets/"+ids["bmp"]+"/original?embed=1", nil, nil)
		if st != 422 || !bytes.Contains(body, []byte(`"embed_unsupported"`)) {
			t.Errorf("BMP embed=1: %d %s", st, body)
		}
	})
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
