package format

import (
	"bytes"
	"unicode/utf8"
)

// textExts are the extensions under which UTF-8 text is taken as "txt". Plain
// text has no magic bytes, so without such a name it is no format of ours:
// source code, CSV or HTML uploaded by mistake stays unidentified.
var textExts = map[string]bool{"txt": true, "log": true, "md": true, "markdown": true}

// plainText returns "txt" for valid UTF-8 without NUL bytes when the name says
// plain text. mimetype's own text check allows other encodings; stor renders
// and indexes UTF-8 only.
func plainText(head []byte, ext string) string {
	if !textExts[ext] || bytes.IndexByte(head, 0) >= 0 {
		return ""
	}
	if len(head) == HeadSize {
		// The head may cut the last character short.
		for i := len(head) - 1; i >= 0 && i >= len(head)-utf8.UTFMax; i-- {
			if utf8.RuneStart(head[i]) {
				if !utf8.FullRune(head[i:]) {
					head = head[:i]
				}
				break
			}
		}
	}
	if !utf8.Valid(head) {
		return ""
	}
	return "txt"
}
