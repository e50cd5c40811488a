package imagetask_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"sort"
	"testing"
	"unicode/utf16"
)

// convert is ImageMagick's, by absolute path (/usr/local/bin/convert is a
// stand-in on the build machines).
const convert = "/usr/bin/convert"

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// writeBombPNG writes a valid PNG header declaring w×h pixels with almost
// no data: a decompression bomb as a decoder sees it.
func writeBombPNG(t *testing.T, path string, w, h uint32) {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		buf.Write(c)
		binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1+3*int(w))) // one row of zeros
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tiffEntry is one IFD entry of a crafted TIFF.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	val      []byte
}

func le16(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func le32(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// writeIFD appends an IFD (and its out-of-line values) to buf.
func writeIFD(buf *bytes.Buffer, es []tiffEntry) {
	sort.Slice(es, func(i, j int) bool { return es[i].tag < es[j].tag })
	dataOff := uint32(buf.Len()) + 2 + uint32(len(es))*12 + 4
	var data bytes.Buffer
	buf.Write(le16(uint16(len(es))))
	for _, e := range es {
		buf.Write(le16(e.tag, e.typ))
		buf.Write(le32(e.count))
		if len(e.val) <= 4 {
			v := make([]byte, 4)
			copy(v, e.val)
			buf.Write(v)
			continue
		}
		buf.Write(le32(dataOff + uint32(data.Len())))
		data.Write(e.val)
		if data.Len()%2 == 1 {
			data.WriteByte(0)
		}
	}
	buf.Write(le32(0))
	buf.Write(data.Bytes())
}

// makeDNG writes a minimal DNG the way cameras lay them out: IFD0 with
// DNGVersion, Make, Orientation and a small raw-ish image, and a SubIFD
// holding a full-size JPEG preview (NewSubfileType 1, Compression 7), which
// ExifTool reports as PreviewImage.
func makeDNG(t *testing.T, path string, preview []byte, pw, ph uint32, orientation uint16) {
	const w, h = 64, 48
	raw := bytes.Repeat([]byte{128}, w*h)
	build := func(subOff, rawOff, jpgOff uint32) *bytes.Buffer {
		var o bytes.Buffer
		o.WriteString("II*\x00")
		o.Write(le32(8))
		writeIFD(&o, []tiffEntry{
			{254, 4, 1, le32(0)}, {256, 4, 1, le32(w)}, {257, 4, 1, le32(h)}, {258, 3, 1, le16(8)},
			{259, 3, 1, le16(1)}, {262, 3, 1, le16(1)}, {271, 2, 6, []byte("Canon\x00")},
			{273, 4, 1, le32(rawOff)}, {274, 3, 1, le16(orientation)}, {277, 3, 1, le16(1)},
			{278, 4, 1, le32(h)}, {279, 4, 1, le32(uint32(len(raw)))},
			{330, 4, 1, le32(subOff)}, {0xC612, 1, 4, []byte{1, 4, 0, 0}},
		})
		sub := uint32(o.Len())
		writeIFD(&o, []tiffEntry{
			{254, 4, 1, le32(1)}, {256, 4, 1, le32(pw)}, {257, 4, 1, le32(ph)}, {258, 3, 3, le16(8, 8, 8)},
			{259, 3, 1, le16(7)}, {262, 3, 1, le16(6)}, {273, 4, 1, le32(jpgOff)}, {277, 3, 1, le16(3)},
			{278, 4, 1, le32(ph)}, {279, 4, 1, le32(uint32(len(preview)))},
		})
		if subOff != 0 && sub != subOff {
			t.Fatalf("dng layout moved: %d != %d", sub, subOff)
		}
		o.Write(raw)
		o.Write(preview)
		return &o
	}
	// Offsets do not change the layout's sizes: build once to learn them.
	o := build(0, 0, 0)
	var probe bytes.Buffer
	probe.WriteString("II*\x00")
	probe.Write(le32(8))
	writeIFD(&probe, []tiffEntry{
		{254, 4, 1, nil}, {256, 4, 1, nil}, {257, 4, 1, nil}, {258, 3, 1, nil},
		{259, 3, 1, nil}, {262, 3, 1, nil}, {271, 2, 6, []byte("Canon\x00")},
		{273, 4, 1, nil}, {274, 3, 1, nil}, {277, 3, 1, nil}, {278, 4, 1, nil}, {279, 4, 1, nil},
		{330, 4, 1, nil}, {0xC612, 1, 4, nil},
	})
	total := uint32(o.Len())
	o = build(uint32(probe.Len()), total-uint32(len(preview)+len(raw)), total-uint32(len(preview)))
	if err := os.WriteFile(path, o.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildOLE makes a compound file whose root holds streams of these names
// (no data): enough for a ZVI ("Image", "Tags", "Contents") to be told.
func buildOLE(names ...string) []byte {
	const sector, difatInHeader = 512, 109
	le := binary.LittleEndian
	const (
		endOfChain = 0xFFFFFFFE
		fatSect    = 0xFFFFFFFD
		free       = 0xFFFFFFFF
	)
	entries := append([]string{"Root Entry"}, names...)
	dirSectors := (len(entries) + 3) / 4
	h := make([]byte, sector)
	copy(h, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
	le.PutUint16(h[24:], 0x3E)
	le.PutUint16(h[26:], 3)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9)
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], 1)
	le.PutUint32(h[48:], 2)
	le.PutUint32(h[56:], 4096)
	le.PutUint32(h[60:], endOfChain)
	le.PutUint32(h[68:], endOfChain)
	for i := range difatInHeader {
		le.PutUint32(h[76+4*i:], free)
	}
	le.PutUint32(h[76:], 1)
	data := bytes.Repeat([]byte{0xEC, 0xA5}, sector/2)
	fat := make([]byte, sector)
	for i := range sector / 4 {
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
	dir := make([]byte, dirSectors*sector)
	for i, name := range entries {
		e := dir[128*i : 128*(i+1)]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66] = 2
		if i == 0 {
			e[66] = 5
		}
		le.PutUint32(e[68:], free)
		le.PutUint32(e[72:], free)
		le.PutUint32(e[76:], free)
		le.PutUint32(e[116:], endOfChain)
	}
	return bytes.Join([][]byte{h, data, fat, dir}, nil)
}

// makeLinearDNG writes a DNG with no preview at all: a w×h LinearRaw RGB
// image (left half red, right half blue), which only a real RAW decoder
// (dcraw) can render.
func makeLinearDNG(t *testing.T, path string, w, h uint32) {
	pix := make([]byte, 0, w*h*3)
	for range h {
		for x := range w {
			if x < w/2 {
				pix = append(pix, 200, 30, 30)
			} else {
				pix = append(pix, 30, 30, 200)
			}
		}
	}
	build := func(off uint32) *bytes.Buffer {
		var o bytes.Buffer
		o.WriteString("II*\x00")
		o.Write(le32(8))
		writeIFD(&o, []tiffEntry{
			{254, 4, 1, le32(0)}, {256, 4, 1, le32(w)}, {257, 4, 1, le32(h)}, {258, 3, 3, le16(8, 8, 8)},
			{259, 3, 1, le16(1)}, {262, 3, 1, le16(34892)}, {271, 2, 6, []byte("Canon\x00")},
			{272, 2, 6, []byte("Test1\x00")}, {273, 4, 1, le32(off)}, {274, 3, 1, le16(1)},
			{277, 3, 1, le16(3)}, {278, 4, 1, le32(h)}, {279, 4, 1, le32(uint32(len(pix)))},
			{284, 3, 1, le16(1)}, {0xC612, 1, 4, []byte{1, 4, 0, 0}},
		})
		o.Write(pix)
		return &o
	}
	o := build(0)
	o = build(uint32(o.Len() - len(pix)))
	if err := os.WriteFile(path, o.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
