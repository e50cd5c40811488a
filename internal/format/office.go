package format

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

// ole decides among the OLE compound files of the table. mimetype knows Word,
// Excel and PowerPoint by the root entry's CLSID, but only when the directory
// lies within its 3 KiB window; we walk the directory ourselves as far as the
// head holds it and look for each program's main stream, and fall back on
// mimetype's verdict. Zeiss ZVI files have
// no mark of their own that is cheap to check, so the extension names them.
func ole(head []byte, ext, mime string) string {
	// The directory's stream names first: mimetype's fallbacks for Excel
	// and PowerPoint guess from the bytes at offset 512, which in other
	// files can be anything.
	names, complete := oleNames(head)
	for _, n := range names {
		switch n {
		case "WordDocument":
			return "doc"
		case "Workbook", "Book":
			return "xls"
		case "PowerPoint Document":
			return "ppt"
		}
	}
	if ext == "zvi" {
		return "zvi"
	}
	if complete {
		return "" // a whole directory without any of those streams
	}
	// The directory lies (partly) past the head.
	switch mime {
	case "application/msword":
		return "doc"
	case "application/vnd.ms-excel":
		return "xls"
	case "application/vnd.ms-powerpoint":
		return "ppt"
	}
	switch ext {
	case "doc", "xls", "ppt":
		return ext // the bytes allow any of them
	}
	return ""
}

// Sector numbers with special meanings in a compound file.
const (
	oleMaxRegSect = 0xFFFFFFFA // larger values mark the end of a chain and the like
	oleDIFATInHdr = 109        // FAT sector numbers kept in the header
)

// oleNames returns the names of the directory entries of a compound file as
// far as the head holds its directory; complete is false when the directory
// chain leaves the head (or cannot be followed within it).
func oleNames(head []byte) (names []string, complete bool) {
	le := binary.LittleEndian
	shift, ok := u16(head, 30, le)
	if !ok || (shift != 9 && shift != 12) {
		return nil, false
	}
	secSize := 1 << shift
	sector := func(n uint32) []byte { return at(head, (int(n)+1)<<shift, secSize) }
	// next follows the FAT from sector n, using the FAT sectors listed in
	// the header.
	next := func(n uint32) (uint32, bool) {
		perFAT := uint32(secSize / 4)
		idx := n / perFAT
		if idx >= oleDIFATInHdr {
			return 0, false
		}
		fatSec, ok := u32(head, 76+4*int(idx), le)
		if !ok || fatSec >= oleMaxRegSect {
			return 0, false
		}
		return u32(sector(fatSec), 4*int(n%perFAT), le)
	}

	dir, ok := u32(head, 48, le)
	if !ok {
		return nil, false
	}
	// A chain longer than the head has sectors is a loop or leaves it.
	for range len(head)/secSize + 1 {
		if dir >= oleMaxRegSect {
			return names, true
		}
		if dir >= uint32(len(head)) {
			return names, false
		}
		s := sector(dir)
		if s == nil {
			return names, false
		}
		for e := 0; e+128 <= len(s); e += 128 {
			if n := oleEntryName(s[e : e+128]); n != "" {
				names = append(names, n)
			}
		}
		if dir, ok = next(dir); !ok {
			return names, false
		}
	}
	return names, false
}

// oleEntryName decodes the UTF-16LE name of a 128-byte directory entry.
func oleEntryName(entry []byte) string {
	n := int(binary.LittleEndian.Uint16(entry[64:66])) // bytes, with the final NUL
	if n < 2 || n > 64 || n%2 != 0 {
		return ""
	}
	u := make([]uint16, 0, n/2-1)
	for i := 0; i+1 < n-2; i += 2 {
		u = append(u, binary.LittleEndian.Uint16(entry[i:i+2]))
	}
	return string(utf16.Decode(u))
}

// zipDocument decides among the ZIP-based documents of the table when
// mimetype called the file plain application/zip. mimetype looks only at its
// first 3 KiB and wants "[Content_Types].xml" or "_rels/.rels" first; we read
// every local file header in the head.
func zipDocument(head []byte, ext string) string {
	contentTypes := false
	for off := 0; ; {
		i := bytes.Index(head[off:], []byte("PK\x03\x04"))
		if i < 0 {
			break
		}
		off += i
		nameLen, _ := u16(head, off+26, binary.LittleEndian)
		extraLen, _ := u16(head, off+28, binary.LittleEndian)
		name := at(head, off+30, int(nameLen))
		if name == nil {
			break
		}
		switch n := string(name); {
		case n == "[Content_Types].xml":
			contentTypes = true
		case n == "mimetype":
			// ODF keeps its media type stored, uncompressed, first.
			size, _ := u32(head, off+18, binary.LittleEndian)
			body := at(head, off+30+int(nameLen)+int(extraLen), int(min(size, 128)))
			switch string(body) {
			case "application/vnd.oasis.opendocument.text":
				return "odt"
			case "application/vnd.oasis.opendocument.spreadsheet":
				return "ods"
			case "application/vnd.oasis.opendocument.presentation":
				return "odp"
			}
		case bytes.HasPrefix(name, []byte("word/")):
			return "docx"
		case bytes.HasPrefix(name, []byte("xl/")):
			return "xlsx"
		case bytes.HasPrefix(name, []byte("ppt/")):
			return "pptx"
		}
		off += 30 // search on from past this header
	}
	if contentTypes {
		// An Office Open XML package whose parts lie past the head.
		switch ext {
		case "docx", "xlsx", "pptx":
			return ext
		}
	}
	return ""
}
