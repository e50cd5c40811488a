package format

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

// Samples no installed tool writes, built here byte by byte: camera RAW
// headers, OLE compound files and ZIP packages (no LibreOffice on the
// machine), a few ISO BMFF brands and text formats. Each builder follows the
// format's specification for the parts Identify reads.

// tiffEntry is one IFD entry of a crafted TIFF.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte // stored inline when it fits in 4 bytes
}

// buildTIFF writes a little-endian TIFF: header (magic, then any extra bytes
// such as CR2's marker) and one IFD right after it.
func buildTIFF(header string, entries ...tiffEntry) []byte {
	le := binary.LittleEndian
	b := []byte(header)
	ifd := len(b) + 4
	if len(header) > 4 {
		// The IFD offset sits at 4, inside the header the caller gave.
		b = []byte(header)
		ifd = len(b)
		le.PutUint32(b[4:8], uint32(ifd))
	} else {
		b = le.AppendUint32(b, uint32(ifd))
	}
	data := ifd + 2 + 12*len(entries) + 4 // values too long to be inline go here
	var tail []byte
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, e.count)
		if len(e.value) <= 4 {
			b = append(b, e.value...)
			b = append(b, make([]byte, 4-len(e.value))...)
			continue
		}
		b = le.AppendUint32(b, uint32(data+len(tail)))
		tail = append(tail, e.value...)
	}
	b = le.AppendUint32(b, 0) // no next IFD
	return append(append(b, tail...), make([]byte, 256)...)
}

func ascii(tag uint16, s string) tiffEntry {
	return tiffEntry{tag, 2, uint32(len(s) + 1), append([]byte(s), 0)}
}

var (
	width      = tiffEntry{0x0100, 3, 1, []byte{64, 0}}
	subIFDs    = tiffEntry{tagSubIFDs, 4, 1, []byte{0, 1, 0, 0}}
	dngVersion = tiffEntry{tagDNGVersion, 1, 4, []byte{1, 4, 0, 0}}
)

// oleSector is the sector size of the crafted compound files.
const oleSector = 512

// buildOLE writes a version 3 compound file whose directory holds the given
// stream names after the root entry, spread over as many sectors as needed
// (four entries a sector), chained through the FAT. Sector 0 is stream data,
// sector 1 the FAT, the directory starts at sector 2.
func buildOLE(names ...string) []byte {
	le := binary.LittleEndian
	const (
		endOfChain = 0xFFFFFFFE
		fatSect    = 0xFFFFFFFD
		free       = 0xFFFFFFFF
	)
	entries := append([]string{"Root Entry"}, names...)
	dirSectors := (len(entries) + 3) / 4

	h := make([]byte, oleSector)
	copy(h, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
	le.PutUint16(h[24:], 0x3E)
	le.PutUint16(h[26:], 3)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9) // 512-byte sectors
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], 1) // one FAT sector
	le.PutUint32(h[48:], 2) // directory starts at sector 2
	le.PutUint32(h[56:], 4096)
	le.PutUint32(h[60:], endOfChain)
	le.PutUint32(h[68:], endOfChain)
	for i := range oleDIFATInHdr {
		le.PutUint32(h[76+4*i:], free)
	}
	le.PutUint32(h[76:], 1) // the FAT is sector 1

	data := bytes.Repeat([]byte{0xEC, 0xA5}, oleSector/2)

	fat := make([]byte, oleSector)
	for i := range oleSector / 4 {
		le.PutUint32(fat[4*i:], free)
	}
	le.PutUint32(fat[0:], endOfChain)
	le.PutUint32(fat[4:], fatSect)
	for s := 2; s < 2+dirSectors; s++ {
		next := uint32(s + 1)
		if s == 1+dirSectors {
			next = endOfChain
		}
		le.PutUint32(fat[4*s:], next)
	}

	dir := make([]byte, dirSectors*oleSector)
	for i, name := range entries {
		e := dir[128*i : 128*(i+1)]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66] = 2 // stream
		if i == 0 {
			e[66] = 5 // root storage
		}
		le.PutUint32(e[68:], free) // left sibling
		le.PutUint32(e[72:], free) // right sibling
		le.PutUint32(e[76:], free) // child
		le.PutUint32(e[116:], endOfChain)
	}
	return bytes.Join([][]byte{h, data, fat, dir}, nil)
}

// zipEntry is one member of a crafted ZIP package.
type zipEntry struct {
	name, body string
	stored     bool   // uncompressed, sizes in the local header (as ODF's mimetype)
	extra      []byte // extra field
}

func buildZIP(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.stored {
			hdr := &zip.FileHeader{
				Name: e.name, Method: zip.Store, Extra: e.extra,
				CRC32: crc32.ChecksumIEEE([]byte(e.body)),
				// Sizes in the local header, as ODF writers store mimetype.
				CompressedSize64: uint64(len(e.body)), UncompressedSize64: uint64(len(e.body)),
			}
			f, err := w.CreateRaw(hdr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Extra: e.extra})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ooxml builds an Office Open XML package whose main part is part.
func ooxml(t *testing.T, contentTypes, part string) []byte {
	return buildZIP(t,
		zipEntry{name: "[Content_Types].xml", body: contentTypes, stored: true},
		zipEntry{name: "_rels/.rels", body: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>`},
		zipEntry{name: part, body: "<x/>"},
	)
}

// odf builds an OpenDocument package of the given media type.
func odf(t *testing.T, mediaType string, extra []byte) []byte {
	return buildZIP(t,
		zipEntry{name: "mimetype", body: mediaType, stored: true, extra: extra},
		zipEntry{name: "content.xml", body: "<office:document-content/>"},
		zipEntry{name: "META-INF/manifest.xml", body: "<manifest:manifest/>"},
	)
}

// ftyp builds an ISO BMFF file start: an ftyp box then an empty mdat box.
func ftyp(major string, compatible ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(16+4*len(compatible)))
	b = append(b, "ftyp"+major+"\x00\x00\x02\x00"+strings.Join(compatible, "")...)
	return append(b, "\x00\x00\x00\x08mdat"...)
}

// id3 returns an empty ID3v2.4 tag with size bytes of padding.
func id3(size int) []byte {
	b := []byte("ID3\x04\x00\x00")
	b = append(b, byte(size>>21&0x7F), byte(size>>14&0x7F), byte(size>>7&0x7F), byte(size&0x7F))
	return append(b, make([]byte, size)...)
}

// flacHead is a FLAC stream whose only metadata block is STREAMINFO.
var flacHead = append([]byte("fLaC\x80\x00\x00\x22"), make([]byte, 34+64)...)

func TestIdentifyCrafted(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	bigTypes := `<Types>` + strings.Repeat(`<Default Extension="x" ContentType="y"/>`, 120) + `</Types>`
	hugeTypes := `<Types>` + strings.Repeat(`<Default Extension="x" ContentType="y"/>`, 1800) + `</Types>`
	textPastHead := append(bytes.Repeat([]byte("a"), HeadSize-1), "é"...)[:HeadSize] // cuts é in two

	cases := []struct {
		name string
		head []byte
		file string
		want string // "" means not identified
	}{
		// Camera RAW (crafted headers: no tool here writes RAW).
		{"crw", append([]byte("II\x1a\x00\x00\x00HEAPCCDR"), make([]byte, 32)...), "IMG_0001.CRW", "crw"},
		{"crw bare", append([]byte("II\x1a\x00\x00\x00HEAPCCDR"), make([]byte, 32)...), "", "crw"},
		{"cr2", buildTIFF("II*\x00\x00\x00\x00\x00CR\x02\x00\x00\x00\x00\x00", width, ascii(tagMake, "Canon")), "", "cr2"},
		{"cr2 named jpg", buildTIFF("II*\x00\x00\x00\x00\x00CR\x02\x00\x00\x00\x00\x00", width), "x.jpg", "cr2"},
		{"dng", buildTIFF("II*\x00", width, ascii(tagMake, "Canon"), dngVersion), "x.dng", "dng"},
		{"dng named tif", buildTIFF("II*\x00", width, dngVersion), "x.tif", "dng"},
		{"tif named dng", buildTIFF("II*\x00", width), "x.dng", "tif"},
		{"tif named cr2", buildTIFF("II*\x00", width), "x.cr2", "tif"},
		{"nef by name", buildTIFF("II*\x00", width), "DSC_0001.NEF", "nef"},
		{"nef by make", buildTIFF("II*\x00", width, ascii(tagMake, "NIKON CORPORATION"), subIFDs), "", "nef"},
		{"nikon tif", buildTIFF("II*\x00", width, ascii(tagMake, "NIKON CORPORATION")), "", "tif"},
		{"nikon tif named tif", buildTIFF("II*\x00", width, ascii(tagMake, "NIKON CORPORATION"), subIFDs), "x.tiff", "tif"},
		{"canon named nef", buildTIFF("II*\x00", width, ascii(tagMake, "Canon")), "x.nef", "tif"},
		{"arw by name", buildTIFF("II*\x00", width, ascii(tagMake, "SONY")), "x.arw", "arw"},
		{"arw by make", buildTIFF("II*\x00", width, ascii(tagMake, "SONY"), subIFDs), "", "arw"},
		{"orf", buildTIFF("IIRO", width), "", "orf"},
		{"orf IIRS", buildTIFF("IIRS", width), "x.orf", "orf"},
		{"rw2", buildTIFF("IIU\x00", width), "", "rw2"},
		{"raf", append([]byte("FUJIFILMCCD-RAW 0201FF383501"), make([]byte, 64)...), "", "raf"},
		{"cr3", ftyp("crx ", "crx ", "isom"), "", "cr3"},
		{"zvi", buildOLE("Image", "Tags", "Contents"), "scan.zvi", "zvi"},
		{"zvi named doc", buildOLE("Image", "Tags", "Contents"), "scan.doc", ""},

		// OLE documents (crafted compound files).
		{"doc", buildOLE("Data", "1Table", "\x05SummaryInformation", "WordDocument"), "", "doc"},
		{"doc named zvi", buildOLE("1Table", "WordDocument"), "x.zvi", "doc"},
		{"xls", buildOLE("Workbook", "\x05SummaryInformation"), "", "xls"},
		{"xls BIFF5", buildOLE("Book"), "", "xls"},
		{"ppt", buildOLE("PowerPoint Document", "Current User"), "", "ppt"},
		{"ole unknown", buildOLE("Something"), "x.ppt", ""},
		{"ole dir past head named xls", oleDirAt(buildOLE(), 5000), "x.XLS", "xls"},
		{"ole dir past head bare", oleDirAt(buildOLE(), 5000), "", ""},
		{"ole dir loop", oleLoop(buildOLE("A", "B", "C", "D", "E")), "x.doc", "doc"},

		// ZIP documents (built with archive/zip).
		{"docx", ooxml(t, "<Types/>", "word/document.xml"), "", "docx"},
		{"xlsx", ooxml(t, "<Types/>", "xl/workbook.xml"), "", "xlsx"},
		{"pptx", ooxml(t, "<Types/>", "ppt/presentation.xml"), "", "pptx"},
		{"docx past 3 KiB", ooxml(t, bigTypes, "word/document.xml"), "", "docx"},
		{"pptx past 3 KiB", ooxml(t, bigTypes, "ppt/presentation.xml"), "x.docx", "pptx"},
		{"docx past head named docx", ooxml(t, hugeTypes, "word/document.xml")[:HeadSize], "x.docx", "docx"},
		{"docx past head bare", ooxml(t, hugeTypes, "word/document.xml")[:HeadSize], "", ""},
		{"odt", odf(t, "application/vnd.oasis.opendocument.text", nil), "", "odt"},
		{"ods", odf(t, "application/vnd.oasis.opendocument.spreadsheet", nil), "", "ods"},
		{"odp", odf(t, "application/vnd.oasis.opendocument.presentation", nil), "", "odp"},
		{"odt with extra field", odf(t, "application/vnd.oasis.opendocument.text", []byte{0x55, 0x54, 5, 0, 1, 0x60, 0x1d, 0x7e, 0x65}), "", "odt"}, // Info-ZIP "UT" timestamp,
		{"plain zip named docx", buildZIP(t, zipEntry{name: "a.txt", body: "hi"}), "x.docx", ""},

		// ISO BMFF brands.
		{"isom", ftyp("isom", "isom", "avc1"), "", "mp4"},
		{"isom named mov", ftyp("isom", "isom"), "x.mov", "mov"},
		{"isom named jpg", ftyp("isom", "isom"), "x.jpg", "mp4"},
		{"qt named mp4", ftyp("qt  ", "qt  "), "x.mp4", "mov"},
		{"mp42 with M4V", ftyp("mp42", "isom", "M4V "), "", "m4v"},
		{"heif", ftyp("mif1", "mif1"), "", "heif"},
		{"heif with heic", ftyp("mif1", "mif1", "heic"), "", "heic"},
		{"heif with avif", ftyp("mif1", "mif1", "miaf", "avif"), "", "avif"},
		{"3gp5", ftyp("3gp5", "3gp5", "isom"), "", "3gp"},
		{"3g2a", ftyp("3g2a", "3g2a"), "", "3g2"},
		{"old quicktime", []byte("\x00\x00\x00\x08wide\x00\x00\x10\x00mdat\x00\x00\x00\x00"), "", "mov"},
		{"bad ftyp size", []byte("\x00\x00\x00\x07ftypisom\x00\x00\x00\x00"), "x.mp4", ""},

		// Other containers mimetype lumps together or misses.
		{"flac, STREAMINFO last", flacHead, "", "flac"},
		{"flac after ID3", append(id3(32), flacHead...), "x.mp3", "flac"},
		{"aac after ID3", append(id3(16), 0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC), "", "aac"},
		{"m2ts", m2ts(4), "x.m2ts", "ts"},
		{"psd version 3", append([]byte("8BPS\x00\x03"), make([]byte, 32)...), "x.psd", ""},

		// Documents and text.
		{"pdf", []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"), "x.pdf", "pdf"},
		{"pdf named ai", []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"), "logo.AI", "ai"},
		{"illustrator ps", []byte("%!PS-Adobe-3.0\n%%Creator: Adobe Illustrator(R) 8.0\n%%EndComments\n"), "", "ai"},
		{"illustrator ps, CR lines", []byte("%!PS-Adobe-2.0 EPSF-1.2\r%%Creator:Adobe Illustrator(TM) 1.0b2-\r%%EndComments\r"), "", "ai"},
		{"other ps", []byte("%!PS-Adobe-3.0\n%%Creator: dvips\n%%Title: Illustrator manual\n%%EndComments\n"), "x.ai", ""},
		{"svg", []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>`), "", "svg"},
		{"svg no declaration", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), "x.txt", "svg"},
		{"rtf", []byte(`{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} Hello\par}`), "", "rtf"},
		{"txt", []byte("Hello, wörld.\nSecond line.\n"), "notes.txt", "txt"},
		{"txt upper case", []byte("Hello.\n"), "NOTES.TXT", "txt"},
		{"txt bare", []byte("Hello.\n"), "", ""},
		{"markdown", []byte("# Title\n"), "README.markdown", "txt"},
		{"long extension", []byte("Hello.\n"), "x.txtxtxtxtxt", ""},
		{"txt named mp4", []byte("this is not a video\n"), "movie.mp4", ""},
		{"txt starting BM", []byte("BMW 320i, 1987, red\n"), "cars.txt", "txt"},
		{"text starting BM named bmp", []byte("BMW 320i, 1987, red\n"), "cars.bmp", ""},
		{"txt latin-1", []byte("caf\xe9\n"), "x.txt", ""},
		{"txt with NUL", []byte("a\x00b\n"), "x.txt", ""},
		{"txt cut at head size", textPastHead, "x.txt", "txt"},
		{"txt of G every 188 bytes", bytes.Repeat(append([]byte("G"), bytes.Repeat([]byte("."), 187)...), 5), "x.ts", ""},

		// The bytes decide.
		{"png named jpg", png, "photo.jpg", "png"},
		{"png named JPEG", png, "PHOTO.JPEG", "png"},
		{"garbage named mp4", garbage(4096), "movie.mp4", ""},
		{"empty", nil, "x.png", ""},
		{"empty named txt", []byte{}, "x.txt", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, c.head, c.file, c.want)
			for n := range min(len(c.head), 300) {
				prefixOK(t, c.head[:n], c.file)
			}
		})
	}
}

// oleDirAt points a compound file's directory at sector n.
func oleDirAt(b []byte, n uint32) []byte {
	binary.LittleEndian.PutUint32(b[48:], n)
	return b
}

// oleLoop makes the directory chain of a compound file point back at itself.
func oleLoop(b []byte) []byte {
	fat := b[2*oleSector:]
	binary.LittleEndian.PutUint32(fat[4*3:], 2) // sector 3 -> 2 -> 3 -> ...
	return b
}

// m2ts returns n M2TS packets: a 4-byte timestamp, then a 188-byte TS packet.
func m2ts(n int) []byte {
	var b []byte
	for range n {
		b = append(b, 0, 0, 0, 0, 0x47, 0x1F, 0xFF, 0x10)
		b = append(b, make([]byte, 184)...)
	}
	return b
}

// garbage returns n reproducible pseudo-random bytes.
func garbage(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func TestIdentifyHostileNames(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tif := buildTIFF("II*\x00", width)
	for _, name := range []string{
		"../../etc/passwd",
		"../../x.nef",
		"a\x00.png",
		"x.nef\x00.tif",
		strings.Repeat("a", 5000),
		strings.Repeat("a", 5000) + ".nef",
		strings.Repeat(".", 5000),
		"." + strings.Repeat("n", 5000),
		"\xff\xfe\xfd.\xff",
		`C:\Users\x\photo.NEF`,
		"x.", ".", "..", "/", "",
	} {
		for _, head := range [][]byte{png, tif, nil, {0}} {
			f, ok := Identify(head, name)
			if ok {
				if g, found := ByKey(f.Key); !found || g != f {
					t.Errorf("Identify(%q, %q) = %+v, not a table entry", clip(head), clip([]byte(name)), f)
				}
			}
		}
		if f, ok := Identify(png, name); !ok || f.Key != "png" {
			t.Errorf("Identify(png, %q) = %q, %v; want png", clip([]byte(name)), f.Key, ok)
		}
	}
	// A path's directories are no extension, and Windows paths count too.
	expect(t, tif, "../raw.nef/photo", "tif")
	expect(t, tif, `C:\raw\photo.NEF`, "nef")
	expect(t, tif, "photo.nef\x00.tif", "tif")
}

func TestTable(t *testing.T) {
	// Every key the architecture's format table names.
	keys := strings.Fields(`png tif jpg psd psb jp2 j2k jpf jpx gif webp heic heif avif bmp svg
		crw cr2 cr3 dng nef arw orf rw2 raf zvi
		pdf ai doc docx xls xlsx ppt pptx odt ods odp rtf txt
		avi swf flv f4v wmv mpg asf 3gp 3g2 mkv webm mp4 mov m4v ts
		mp3 flac aif wma wav ogg opus m4a aac`)
	all := Formats()
	if len(all) != len(keys) {
		t.Errorf("Formats() has %d entries, want %d", len(all), len(keys))
	}
	for _, k := range keys {
		f, ok := ByKey(k)
		if !ok {
			t.Errorf("ByKey(%q) not found", k)
			continue
		}
		if f.Key != k || f.ContentType == "" || !strings.Contains(f.ContentType, "/") {
			t.Errorf("ByKey(%q) = %+v", k, f)
		}
		switch f.Kind {
		case KindImage, KindRaw, KindDocument, KindVideo, KindAudio:
		default:
			t.Errorf("ByKey(%q).Kind = %q", k, f.Kind)
		}
	}
	if _, ok := ByKey("exe"); ok {
		t.Error(`ByKey("exe") found`)
	}
	if _, ok := ByKey("PNG"); ok {
		t.Error(`ByKey("PNG") found: keys are lower-case`)
	}
}
