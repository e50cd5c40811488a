// Package exiftool reads and writes EXIF, IPTC, XMP, ICC, maker notes and
// container metadata through a small pool of long-lived ExifTool processes
// ("exiftool -stay_open True -@ -"). A file never costs a process start:
// Perl and ExifTool's modules load once per process.
//
// # Why not github.com/barasher/go-exiftool
//
// This package drives the stay_open protocol itself (write one argument
// per line, then "-execute<N>"; read stdout until "{ready<N>}"). The
// go-exiftool wrapper (v1.10.0) has no per-call timeout or context, does
// not expose the *exec.Cmd (so a hung process cannot be killed, let alone
// its process group), starts its process without Setpgid, and reads
// stderr and stdout without per-command framing. A per-file timeout with
// kill-and-replace needs exactly those, and the protocol is small.
//
// # Processes
//
// NewPool starts Config.Size processes (default 2), each in its own
// process group (Setpgid) and with Pdeathsig, so none outlives stor. A call
// takes a process from the pool, waiting for one if all are busy. When a
// call exceeds Config.Timeout (default 30s), its context ends, exiftool
// dies, or its output exceeds Config.MaxOutput, the whole process group is
// killed with SIGKILL, reaped, and its slot is restarted on next use; the
// other processes keep serving. Each command ends its stderr with
// "-echo4 {ready<N>}" so exiftool's messages are attributed to the right
// call. File paths are made absolute and may not contain a newline or NUL
// (ErrBadPath); values that contain line breaks are passed through scratch
// files ("-TAG<=FILE"), since the protocol is one argument per line.
//
// # Extraction
//
// One exiftool command per file: "-j -l -G0:1 -a -use MWG". With -l the
// JSON carries, for each tag, the print-converted value ("val") and the
// numeric -n value ("num", when different), so Value.Raw and Value.Display
// come from the same run. Binary data is never extracted (no -b): its
// Display is exiftool's summary "(Binary data N bytes, use -b option to
// extract)".
//
// Grouping: Metadata.Groups is keyed by family-0 group in lower case
// ("exif", "iptc", "xmp", "file", "icc_profile", "makernotes",
// "quicktime", "pdf", "composite", "jfif", "riff", "exiftool", ...), which is
// the grouping the API serves, and within a group by "Family1:Tag"
// ("IFD0:Make", "ExifIFD:DateTimeOriginal", "GPS:GPSLatitude",
// "XMP-dc:Title", "IPTC:Keywords", "MWG:Creator", "Composite:ImageSize"),
// so the precise location of every tag is kept. Duplicates in one family-1
// group get " (2)", " (3)" suffixes. The file-system tags of the scratch
// copy (family-1 "System": name, directory, dates, permissions) are
// dropped, except FileSize.
//
// Text: exiftool writes UTF-8 JSON; strings are decoded by encoding/json
// (which turns invalid UTF-8 into U+FFFD) and NUL characters are removed,
// so everything in Metadata marshals to valid UTF-8 JSON that PostgreSQL
// jsonb accepts.
//
// # Normalized fields and their precedence
//
// The EXIF/IPTC/XMP reconciliation follows the Metadata Working Group
// guidance (Guidelines for Handling Image Metadata 2.0) as implemented by
// ExifTool's MWG module (checked with Debian's ExifTool 12.57):
//
//   - Description, Creator, Rights (MWG:Description, MWG:Creator,
//     MWG:Copyright): the EXIF value (ImageDescription, Artist, Copyright)
//     when present and not blank; otherwise the XMP value (dc:description,
//     dc:creator, dc:rights) when the file has no IPTC, or has XMP and
//     either no stored IPTC digest (Photoshop:IPTCDigest, in the APP13
//     resource block) or one that matches the current IPTC (IPTC in sync with XMP); otherwise the IPTC
//     value (Caption-Abstract, By-line, CopyrightNotice), which was edited
//     by a tool that did not keep XMP in step.
//   - Keywords (MWG:Keywords): no EXIF equivalent; XMP dc:subject vs IPTC
//     Keywords by the same IPTC digest rule.
//   - DateTimeOriginal (MWG:DateTimeOriginal): EXIF DateTimeOriginal with
//     SubSecTimeOriginal and OffsetTimeOriginal (Composite
//     SubSecDateTimeOriginal), then EXIF DateTimeOriginal alone, then XMP
//     photoshop:DateCreated (digest rule), then IPTC DateCreated +
//     TimeCreated.
//   - Orientation (MWG:Orientation): EXIF Orientation, then XMP
//     tiff:Orientation.
//
// Loading MWG also switches ExifTool to "strict MWG conformance": EXIF,
// IPTC and XMP found in non-standard places are ignored with a Warning
// (reported in Metadata.Warnings), and EXIF strings are read as UTF-8.
//
// The MWG list does not cover everything stor shows, so each field has an
// ordered fallback list (normalize.go; first non-empty wins):
//
//   - Title: XMP dc:title, IPTC ObjectName, QuickTime ItemList/UserData/Keys
//     Title, PDF Title, RIFF Title, ID3 Title, Vorbis Title, PNG Title.
//   - Description/Creator/Rights after MWG: XMP, QuickTime, PDF (Subject,
//     Author), RIFF, ID3, Vorbis, PNG text chunks.
//   - Keywords after MWG: XMP dc:subject, IPTC Keywords, PDF Keywords (one
//     string, split on ',' and ';'), XMP-pdf Keywords, QuickTime Keys.
//   - CaptureDate: MWG DateTimeOriginal, Composite SubSecDateTimeOriginal,
//     ExifIFD DateTimeOriginal, XMP exif:DateTimeOriginal, XMP
//     photoshop:DateCreated, QuickTime Keys CreationDate, UserData
//     DateTimeOriginal, MWG CreateDate, XMP xmp:CreateDate, PDF CreateDate,
//     RIFF DateCreated, QuickTime CreateDate (UTC by the QuickTime spec).
//     CaptureTZ is the offset written with the date (for EXIF:
//     OffsetTimeOriginal, which the MWG composite folds in); "" when none
//     is known, and then CaptureDate is the wall-clock reading in UTC.
//   - Make, Model: EXIF IFD0, XMP tiff, QuickTime. Lens: ExifIFD
//     LensModel, XMP exifEX:LensModel, XMP aux:Lens, Composite LensID.
//   - GPSLat/GPSLon: Composite GPSLatitude/GPSLongitude (-n: signed
//     decimal degrees from the EXIF value and its Ref), then XMP exif GPS.
//   - Width/Height: Composite ImageSize, then File, EXIF, QuickTime tags.
//   - Duration (seconds): Composite Duration, QuickTime Duration, Track1
//     MediaDuration. PageCount: PDF PageCount, XMP xmpTPg:NPages.
//
// # Writing
//
// WriteXMPSidecar has exiftool build an .xmp packet from Normalized
// fields ("exiftool -o out.xmp -XMP-dc:Title=..."); EmbedFields writes them
// with the MWG write tags into a copy of a file ("exiftool -use MWG -o
// COPY ... SRC"), never into the original. Both go through the pool.
package exiftool
