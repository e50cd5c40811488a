package format

import (
	"path"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Kind is the broad family of a format; it decides which tasks an asset needs.
type Kind string

// The kinds of the format table.
const (
	KindImage    Kind = "image"
	KindRaw      Kind = "raw"
	KindDocument Kind = "document"
	KindVideo    Kind = "video"
	KindAudio    Kind = "audio"
	KindOther    Kind = "other"
)

// Format is one entry of the format table.
type Format struct {
	// Key is the format's key in the table, lower-case: "png", "cr2", "mp4".
	Key string
	// Kind is the family the format belongs to.
	Kind Kind
	// ContentType is the media type stor serves the original with.
	ContentType string
}

// HeadSize is how many leading bytes Identify wants; callers pass at most this
// many (fewer when the file is shorter). 64 KiB holds the ZIP local headers of
// an Office file, an OLE directory, an ISO BMFF ftyp box, a TIFF's first IFD
// and an ASF header in all but unusual files.
const HeadSize = 64 << 10

// table is the format table of docs/architecture.md. It is never written to.
var table = []Format{
	// Images.
	{"png", KindImage, "image/png"},
	{"tif", KindImage, "image/tiff"},
	{"jpg", KindImage, "image/jpeg"},
	{"psd", KindImage, "image/vnd.adobe.photoshop"},
	{"psb", KindImage, "image/vnd.adobe.photoshop"},
	{"jp2", KindImage, "image/jp2"},
	{"j2k", KindImage, "image/x-jp2-codestream"},
	{"jpf", KindImage, "image/jpx"},
	{"jpx", KindImage, "image/jpx"},
	{"gif", KindImage, "image/gif"},
	{"webp", KindImage, "image/webp"},
	{"heic", KindImage, "image/heic"},
	{"heif", KindImage, "image/heif"},
	{"avif", KindImage, "image/avif"},
	{"bmp", KindImage, "image/bmp"},
	{"svg", KindImage, "image/svg+xml"},
	// Camera RAW.
	{"crw", KindRaw, "image/x-canon-crw"},
	{"cr2", KindRaw, "image/x-canon-cr2"},
	{"cr3", KindRaw, "image/x-canon-cr3"},
	{"dng", KindRaw, "image/x-adobe-dng"},
	{"nef", KindRaw, "image/x-nikon-nef"},
	{"arw", KindRaw, "image/x-sony-arw"},
	{"orf", KindRaw, "image/x-olympus-orf"},
	{"rw2", KindRaw, "image/x-panasonic-rw2"},
	{"raf", KindRaw, "image/x-fuji-raf"},
	{"zvi", KindRaw, "image/x-zeiss-zvi"},
	// Documents.
	{"pdf", KindDocument, "application/pdf"},
	{"ai", KindDocument, "application/illustrator"},
	{"doc", KindDocument, "application/msword"},
	{"docx", KindDocument, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"xls", KindDocument, "application/vnd.ms-excel"},
	{"xlsx", KindDocument, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"ppt", KindDocument, "application/vnd.ms-powerpoint"},
	{"pptx", KindDocument, "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	{"odt", KindDocument, "application/vnd.oasis.opendocument.text"},
	{"ods", KindDocument, "application/vnd.oasis.opendocument.spreadsheet"},
	{"odp", KindDocument, "application/vnd.oasis.opendocument.presentation"},
	{"rtf", KindDocument, "application/rtf"},
	{"txt", KindDocument, "text/plain"},
	// Video.
	{"avi", KindVideo, "video/x-msvideo"},
	{"swf", KindVideo, "application/x-shockwave-flash"},
	{"flv", KindVideo, "video/x-flv"},
	{"f4v", KindVideo, "video/x-f4v"},
	{"wmv", KindVideo, "video/x-ms-wmv"},
	{"mpg", KindVideo, "video/mpeg"},
	{"asf", KindVideo, "video/x-ms-asf"},
	{"3gp", KindVideo, "video/3gpp"},
	{"3g2", KindVideo, "video/3gpp2"},
	{"mkv", KindVideo, "video/x-matroska"},
	{"webm", KindVideo, "video/webm"},
	{"mp4", KindVideo, "video/mp4"},
	{"mov", KindVideo, "video/quicktime"},
	{"m4v", KindVideo, "video/x-m4v"},
	{"ts", KindVideo, "video/mp2t"},
	// Audio.
	{"mp3", KindAudio, "audio/mpeg"},
	{"flac", KindAudio, "audio/flac"},
	{"aif", KindAudio, "audio/aiff"},
	{"wma", KindAudio, "audio/x-ms-wma"},
	{"wav", KindAudio, "audio/wav"},
	{"ogg", KindAudio, "audio/ogg"},
	{"opus", KindAudio, "audio/ogg"}, // Ogg-encapsulated Opus; what browsers and Apache's mime.types expect
	{"m4a", KindAudio, "audio/mp4"},
	{"aac", KindAudio, "audio/aac"},
}

// ByKey returns the table entry for a format key.
func ByKey(key string) (Format, bool) {
	i := slices.IndexFunc(table, func(f Format) bool { return f.Key == key })
	if i < 0 {
		return Format{}, false
	}
	return table[i], true
}

// Formats returns a copy of the whole format table, in table order.
func Formats() []Format {
	return slices.Clone(table)
}

// Identify decides the format from the file's first bytes and its (untrusted)
// filename. ok is false when the bytes match no supported format; an empty
// head is never a format. Bytes past HeadSize are ignored.
func Identify(head []byte, filename string) (f Format, ok bool) {
	if len(head) == 0 {
		return Format{}, false
	}
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	key := sniff(head, extension(filename))
	if key == "" {
		return Format{}, false
	}
	return ByKey(key)
}

// extAliases maps the other usual spellings of an extension to its table key.
var extAliases = map[string]string{
	"jpeg": "jpg", "jpe": "jpg", "jfif": "jpg",
	"tiff": "tif",
	"aiff": "aif", "aifc": "aif",
	"mpeg": "mpg", "mpe": "mpg", "m2p": "mpg",
	"m2ts": "ts", "mts": "ts",
	"j2c": "j2k", "jpc": "j2k",
	"text": "txt",
}

// extension returns the lower-case extension of an untrusted filename, without
// its dot and with aliases resolved, or "" when it has none worth reading.
func extension(filename string) string {
	// Both separators: browsers send Windows paths too.
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	ext := path.Ext(filename)
	if len(ext) < 2 || len(ext) > len(".markdown") {
		return ""
	}
	ext = strings.ToLower(ext[1:])
	if a, ok := extAliases[ext]; ok {
		return a
	}
	return ext
}

// sniff returns the key of the format the bytes show, or "".
func sniff(head []byte, ext string) string {
	// Checks mimetype has no detector for, or whose members it lumps
	// together, and which must run before it claims the bytes: TIFF-based
	// RAW would be image/tiff, every ftyp box video/mp4.
	for _, check := range []func([]byte, string) string{
		cameraRAW,
		isoBMFF,
		j2kCodestream,
	} {
		if key := check(head, ext); key != "" {
			return key
		}
	}
	mime := mimetype.Detect(head).String()
	if key := byMIME(head, ext, mime); key != "" {
		return key
	}
	// Checks for what mimetype does not know, with signatures weak enough
	// that they run only when mimetype found nothing at all: text that
	// happens to hold 0x47 every 188 bytes is not a transport stream.
	if mime == "application/octet-stream" {
		for _, check := range []func([]byte, string) string{mpegTS, aiff, flac} {
			if key := check(head, ext); key != "" {
				return key
			}
		}
	}
	return plainText(head, ext)
}

// byMIME turns mimetype's verdict into a table key, refining it where the
// table tells apart what a MIME type does not.
func byMIME(head []byte, ext, mime string) string {
	switch mime {
	case "image/png", "image/vnd.mozilla.apng":
		return "png"
	case "image/jpeg":
		return "jpg"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	case "image/tiff":
		return "tif"
	case "image/bmp":
		return bmp(head)
	case "image/vnd.adobe.photoshop":
		return photoshop(head)
	case "image/jp2":
		return "jp2"
	case "image/jpx":
		// Both extensions name JPEG 2000 Part 2 files with the "jpx " brand.
		if ext == "jpf" {
			return "jpf"
		}
		return "jpx"
	case "image/svg+xml":
		return "svg"
	case "application/pdf":
		if ext == "ai" {
			return "ai"
		}
		return "pdf"
	case "application/postscript":
		return illustratorPS(head)
	case "application/x-ole-storage", "application/msword", "application/vnd.ms-excel",
		"application/vnd.ms-powerpoint":
		return ole(head, ext, mime)
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "docx"
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return "xlsx"
	case "application/vnd.openxmlformats-officedocument.presentationml.presentation":
		return "pptx"
	case "application/vnd.oasis.opendocument.text":
		return "odt"
	case "application/vnd.oasis.opendocument.spreadsheet":
		return "ods"
	case "application/vnd.oasis.opendocument.presentation":
		return "odp"
	case "application/zip":
		return zipDocument(head, ext)
	case "text/rtf":
		return "rtf"
	case "video/x-msvideo":
		return "avi"
	case "application/x-shockwave-flash":
		return "swf"
	case "video/x-flv":
		return "flv"
	case "video/x-ms-asf":
		return asf(head, ext)
	case "video/mpeg":
		return "mpg"
	case "video/quicktime":
		// Reached only by old QuickTime files that start with a moov,
		// mdat, free, skip, wide or pnot atom: ftyp files went to isoBMFF.
		return "mov"
	case "video/x-matroska":
		return "mkv"
	case "video/webm":
		return "webm"
	case "audio/mpeg":
		return mpegAudio(head)
	case "audio/flac":
		return "flac"
	case "audio/aiff":
		return "aif"
	case "audio/wav":
		return "wav"
	case "application/ogg", "audio/ogg":
		return oggAudio(head)
	case "audio/aac":
		return adts(head)
	}
	return ""
}
