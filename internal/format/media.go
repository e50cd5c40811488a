package format

import "bytes"

// mpegAudio confirms mimetype's MP3 verdict. An ID3v2 tag can also precede
// FLAC or ADTS AAC, which mimetype then calls MP3, so look past the tag; a
// bare frame sync must be a valid MPEG audio layer III header.
func mpegAudio(head []byte) string {
	if !hasAt(head, 0, "ID3") {
		if mp3Frame(head) {
			return "mp3"
		}
		return ""
	}
	size, ok := id3Size(head)
	if !ok {
		return "mp3" // a malformed tag: keep mimetype's word for it
	}
	rest := at(head, size, len(head)-size)
	switch {
	case flac(rest, "") != "":
		return "flac"
	case adts(rest) != "":
		return "aac"
	}
	return "mp3"
}

// id3Size returns the length of the ID3v2 tag that opens head, footer
// included.
func id3Size(head []byte) (int, bool) {
	hdr := at(head, 0, 10)
	if hdr == nil {
		return 0, false
	}
	n := 0
	for _, b := range hdr[6:10] { // "syncsafe": 7 bits a byte
		if b >= 0x80 {
			return 0, false
		}
		n = n<<7 | int(b)
	}
	n += 10
	if hdr[5]&0x10 != 0 {
		n += 10 // footer present
	}
	return n, true
}

// mp3Frame reports whether head opens with a valid MPEG-1/2/2.5 layer III
// frame header.
func mp3Frame(head []byte) bool {
	h := at(head, 0, 4)
	if h == nil || h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
		return false
	}
	version := h[1] >> 3 & 3
	layer := h[1] >> 1 & 3
	bitrate := h[2] >> 4
	rate := h[2] >> 2 & 3
	return version != 1 && layer == 1 && bitrate != 15 && rate != 3
}

// adts confirms an ADTS AAC frame header: sync, layer 0, a valid sampling
// frequency index. mimetype checks only the first two bytes.
func adts(head []byte) string {
	h := at(head, 0, 7)
	if h == nil || h[0] != 0xFF || h[1]&0xF6 != 0xF0 || h[2]>>2&0xF > 12 {
		return ""
	}
	return "aac"
}

// flac recognises a FLAC stream: "fLaC" then a STREAMINFO block. Our own:
// mimetype expects STREAMINFO not to be the last metadata block and so misses
// files that have no other.
func flac(head []byte, _ string) string {
	if hasAt(head, 0, "fLaC") && len(head) > 4 && head[4]&0x7F == 0 {
		return "flac"
	}
	return ""
}

// aiff recognises AIFF and AIFF-C. Our own for AIFF-C: mimetype knows AIFF only.
func aiff(head []byte, _ string) string {
	if hasAt(head, 0, "FORM") && (hasAt(head, 8, "AIFF") || hasAt(head, 8, "AIFC")) {
		return "aif"
	}
	return ""
}

// oggAudio tells Ogg Opus from other Ogg audio by the first packet of the
// first page, which mimetype calls audio/ogg alike. Ogg video (Theora) is not
// in the table.
func oggAudio(head []byte) string {
	nseg := at(head, 26, 1)
	if nseg == nil {
		return ""
	}
	p := 27 + int(nseg[0]) // the first packet follows the segment table
	switch {
	case hasAt(head, p, "OpusHead"):
		return "opus"
	case hasAt(head, p, "\x01vorbis"), hasAt(head, p, "\x7FFLAC"), hasAt(head, p, "Speex   "):
		return "ogg"
	}
	return ""
}

// mpegTS recognises an MPEG transport stream: a 0x47 sync byte every 188
// bytes, or every 192 after a 4-byte timestamp (M2TS, AVCHD). Our own:
// mimetype has no detector for it. At least three packets must be in view.
func mpegTS(head []byte, _ string) string {
	for _, p := range []struct{ size, off int }{{188, 0}, {192, 4}} {
		n := 0
		for off := p.off; off < len(head) && n < 16; off += p.size {
			if head[off] != 0x47 {
				n = -1
				break
			}
			n++
		}
		if n >= 3 {
			return "ts"
		}
	}
	return ""
}

// ASF object and stream type GUIDs, as stored (first three fields little-endian).
var (
	asfStreamProperties = []byte{0x91, 0x07, 0xDC, 0xB7, 0xB7, 0xA9, 0xCF, 0x11, 0x8E, 0xE6, 0x00, 0xC0, 0x0C, 0x20, 0x53, 0x65}
	asfAudioMedia       = []byte{0x40, 0x9E, 0x69, 0xF8, 0x4D, 0x5B, 0xCF, 0x11, 0xA8, 0xFD, 0x00, 0x80, 0x5F, 0x5C, 0x44, 0x2B}
	asfVideoMedia       = []byte{0xC0, 0xEF, 0x19, 0xBC, 0x4D, 0x5B, 0xCF, 0x11, 0xA8, 0xFD, 0x00, 0x80, 0x5F, 0x5C, 0x44, 0x2B}
)

// asf tells WMA (audio only) from WMV and plain ASF, which mimetype calls
// video/x-ms-asf alike, by the stream types in the header's Stream
// Properties objects; the extension decides where the streams allow it.
func asf(head []byte, ext string) string {
	var audio, video bool
	for rest := head; ; {
		i := bytes.Index(rest, asfStreamProperties)
		if i < 0 {
			break
		}
		// The stream type GUID follows the object's GUID and 8-byte size.
		switch t := at(rest, i+24, 16); {
		case bytes.Equal(t, asfAudioMedia):
			audio = true
		case bytes.Equal(t, asfVideoMedia):
			video = true
		}
		rest = rest[i+len(asfStreamProperties):]
	}
	switch {
	case video:
		if ext == "wmv" {
			return "wmv"
		}
		return "asf"
	case audio:
		return "wma"
	}
	// No stream in view: the extension is all there is to go on.
	switch ext {
	case "wma", "wmv":
		return ext
	}
	return "asf"
}
