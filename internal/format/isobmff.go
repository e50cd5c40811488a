package format

import (
	"encoding/binary"
	"strings"
)

// isoBMFF reads the ftyp box that opens an ISO base media file (MP4,
// QuickTime, 3GPP, HEIF, AVIF, CR3, F4V) and decides by its brands. Our own
// check: mimetype looks at the major brand only, knows neither "crx " nor
// "F4V ", and calls every other ftyp file video/mp4.
//
// JPEG 2000 files are ISO BMFF too, but open with a signature box before
// their ftyp; mimetype handles them.
func isoBMFF(head []byte, ext string) string {
	size, ok := u32(head, 0, binary.BigEndian)
	if !ok || !hasAt(head, 4, "ftyp") || size < 16 || size%4 != 0 {
		return ""
	}
	major := string(at(head, 8, 4))
	if major == "" {
		return ""
	}
	var compatible []string
	for off := 16; off+4 <= int(min(size, uint32(len(head)))); off += 4 {
		compatible = append(compatible, string(head[off:off+4]))
	}

	key := brandKey(major)
	switch key {
	case "", "heif":
		// Generic or unknown major brand, or plain HEIF: a compatible
		// brand may say more. Images first: HEIF files list "mif1"
		// beside "heic" or "avif".
		for _, want := range []string{"cr3", "avif", "heic"} {
			for _, b := range compatible {
				if brandKey(b) == want {
					return want
				}
			}
		}
		if key == "heif" {
			return "heif"
		}
		for _, b := range compatible {
			if k := brandKey(b); k != "" && k != "heif" {
				return k
			}
		}
		// Nothing but generic brands ("isom", "mp42", ...): the
		// extension picks among the formats that use them.
		switch ext {
		case "m4a", "m4v", "mov", "f4v", "3gp", "3g2":
			return ext
		}
		return "mp4"
	}
	return key
}

// brandKey maps a brand that names one format of the table to its key, or
// returns "" for generic and unknown brands.
func brandKey(brand string) string {
	switch brand {
	case "crx ":
		return "cr3"
	case "qt  ":
		return "mov"
	case "M4V ", "M4VH", "M4VP":
		return "m4v"
	case "M4A ", "M4B ", "M4P ", "F4A ", "F4B ":
		return "m4a"
	case "F4V ", "f4v ", "F4P ": // ffmpeg writes "f4v "
		return "f4v"
	case "avif", "avis":
		return "avif"
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs":
		return "heic"
	case "mif1", "msf1", "mif2":
		return "heif"
	case "KDDI":
		return "3g2"
	}
	switch {
	case strings.HasPrefix(brand, "3g2"):
		return "3g2"
	case strings.HasPrefix(brand, "3g"):
		return "3gp" // 3gp4..3gp7, 3gs7, 3ge6, 3gg6, 3gr6, ...
	}
	return ""
}
