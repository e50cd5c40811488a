package format

import (
	"bytes"
	"encoding/binary"
)

// j2kCodestream recognises a raw JPEG 2000 codestream (.j2k, .j2c): SOC
// marker then SIZ marker. Our own: mimetype knows only the boxed JP2 forms.
func j2kCodestream(head []byte, _ string) string {
	if hasAt(head, 0, "\xFF\x4F\xFF\x51") {
		return "j2k"
	}
	return ""
}

// photoshop tells PSD (version 1) from PSB (version 2, "large document");
// mimetype calls both image/vnd.adobe.photoshop.
func photoshop(head []byte) string {
	v, _ := u16(head, 4, binary.BigEndian)
	switch v {
	case 1:
		return "psd"
	case 2:
		return "psb"
	}
	return ""
}

// bmp confirms mimetype's BMP verdict, which rests on "BM" alone and so takes
// any text that starts with those letters: the file header's reserved words
// must be zero and the DIB header must have one of its known sizes.
func bmp(head []byte) string {
	reserved, ok := u32(head, 6, binary.LittleEndian)
	if !ok || reserved != 0 {
		return ""
	}
	dib, _ := u32(head, 14, binary.LittleEndian)
	switch dib {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return "bmp"
	}
	return ""
}

// illustratorPS returns "ai" for PostScript written by Adobe Illustrator
// (pre-PDF Illustrator files), judged by the %%Creator comment in the header.
// Other PostScript is not in the table.
func illustratorPS(head []byte) string {
	end := bytes.Index(head, []byte("%%EndComments"))
	if end < 0 {
		end = min(len(head), 4096)
	}
	i := bytes.Index(head[:end], []byte("%%Creator:"))
	if i < 0 {
		return ""
	}
	line := head[i:end]
	if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j] // old Mac files end lines with CR alone
	}
	if bytes.Contains(line, []byte("Illustrator")) {
		return "ai"
	}
	return ""
}
