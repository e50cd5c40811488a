package format

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// mimetype knows no camera RAW format: it calls the TIFF-based ones
// image/tiff and the others nothing. These checks are our own.

// TIFF tags read from the first IFD.
const (
	tagMake       = 0x010F
	tagSubIFDs    = 0x014A
	tagDNGVersion = 0xC612
)

// cameraRAW recognises camera RAW files and plain TIFF, which shares their
// container.
func cameraRAW(head []byte, ext string) string {
	switch {
	case hasAt(head, 0, "II") && hasAt(head, 6, "HEAPCCDR"):
		return "crw" // Canon CIFF
	case hasAt(head, 0, "FUJIFILMCCD-RAW"):
		return "raf"
	case hasAt(head, 0, "IIRO"), hasAt(head, 0, "IIRS"), hasAt(head, 0, "MMOR"):
		return "orf" // Olympus: TIFF with its own magic number
	case hasAt(head, 0, "IIU\x00"):
		return "rw2" // Panasonic: TIFF with magic number 0x55
	case hasAt(head, 0, "II*\x00"):
		return tiff(head, ext, binary.LittleEndian)
	case hasAt(head, 0, "MM\x00*"):
		return tiff(head, ext, binary.BigEndian)
	}
	return ""
}

// tiff tells plain TIFF from the RAW formats built on it. CR2 and DNG are told
// by their bytes alone. NEF and ARW are plain TIFF to a byte sniffer, so the
// extension decides, unless the Make tag names another maker; without a
// helpful extension, a Nikon or Sony Make with SubIFDs (where those cameras
// keep the raw image) is taken as their RAW.
func tiff(head []byte, ext string, order binary.ByteOrder) string {
	if order == binary.LittleEndian && hasAt(head, 8, "CR\x02") {
		return "cr2"
	}
	ifd := readIFD0(head, order)
	if ifd.dng {
		return "dng"
	}
	maker := strings.ToUpper(ifd.make)
	switch ext {
	case "dng":
		if !ifd.complete {
			return "dng" // DNGVersion may sit in the part we cannot see
		}
	case "nef":
		if maker == "" || strings.HasPrefix(maker, "NIKON") {
			return "nef"
		}
	case "arw":
		if maker == "" || strings.HasPrefix(maker, "SONY") {
			return "arw"
		}
	case "tif", "cr2":
		// A TIFF named .tif is a TIFF; one named .cr2 without the CR
		// marker is not a CR2.
	default:
		if ifd.subIFDs && strings.HasPrefix(maker, "NIKON") {
			return "nef"
		}
		if ifd.subIFDs && strings.HasPrefix(maker, "SONY") {
			return "arw"
		}
	}
	return "tif"
}

// ifd0 is what tiff needs to know of a TIFF's first image file directory.
type ifd0 struct {
	complete bool   // every entry was inside the head
	dng      bool   // has DNGVersion
	subIFDs  bool   // has SubIFDs
	make     string // Make, trimmed; "" when absent or unreadable
}

// readIFD0 reads the first IFD as far as the head holds it.
func readIFD0(head []byte, order binary.ByteOrder) ifd0 {
	var ifd ifd0
	off, ok := u32(head, 4, order)
	if !ok || off > uint32(len(head)) {
		return ifd
	}
	n, ok := u16(head, int(off), order)
	if !ok {
		return ifd
	}
	ifd.complete = true
	for i := 0; i < int(n); i++ {
		e := at(head, int(off)+2+12*i, 12)
		if e == nil {
			ifd.complete = false
			break
		}
		switch order.Uint16(e[0:2]) {
		case tagDNGVersion:
			ifd.dng = true
		case tagSubIFDs:
			ifd.subIFDs = true
		case tagMake:
			ifd.make = tiffASCII(head, e, order)
		}
	}
	return ifd
}

// tiffASCII returns the value of an ASCII entry, cut at 64 bytes, or "".
func tiffASCII(head, entry []byte, order binary.ByteOrder) string {
	const asciiType = 2
	if order.Uint16(entry[2:4]) != asciiType {
		return ""
	}
	n := int(min(order.Uint32(entry[4:8]), 64))
	var v []byte
	if n <= 4 {
		v = entry[8 : 8+n]
	} else {
		off := order.Uint32(entry[8:12])
		if off > uint32(len(head)) {
			return ""
		}
		v = at(head, int(off), n)
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(string(v))
}
