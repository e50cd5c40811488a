package exiftool

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Normalized holds the descriptive fields reconciled from EXIF, IPTC, XMP
// and the container formats, in one shape for every file. Zero values mean
// "not found". The precedence for each field is in the package doc.
type Normalized struct {
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Creator     string   `json:"creator,omitempty"` // several creators joined with "; "
	Rights      string   `json:"rights,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
	// CaptureDate is when the content was captured (or, for documents and
	// videos without it, created). When its time zone is known, CaptureTZ
	// holds the offset as written ("+02:00", "-05:00", "Z") and CaptureDate
	// is in that fixed zone. When it is not known, CaptureTZ is "" and
	// CaptureDate holds the camera's wall-clock reading in UTC: the
	// instant is then unknown, only the local date and time are.
	CaptureDate *time.Time `json:"capture_date,omitempty"`
	CaptureTZ   string     `json:"capture_tz,omitempty"`
	Make        string     `json:"make,omitempty"`
	Model       string     `json:"model,omitempty"`
	Lens        string     `json:"lens,omitempty"`
	// GPSLat and GPSLon are signed decimal degrees (south and west negative).
	GPSLat *float64 `json:"gps_lat,omitempty"`
	GPSLon *float64 `json:"gps_lon,omitempty"`
	// Width and Height are the stored pixel dimensions (before Orientation
	// is applied); for video the first video track's.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Duration in seconds for audio and video.
	Duration float64 `json:"duration,omitempty"`
	// PageCount for paged documents (PDF).
	PageCount int `json:"page_count,omitempty"`
	// Orientation is the EXIF orientation, 1..8 (1 = upright; 6 = rotate
	// 90° clockwise to display); 0 when absent.
	Orientation int `json:"orientation,omitempty"`
}

// ref names one tag: family-0 group (lower case) and "Family1:Tag".
type ref struct{ g, k string }

func r(g, k string) ref { return ref{g, k} }

// Precedence lists, first found wins. The MWG composites (exiftool -use
// MWG) already reconcile EXIF, IPTC and XMP per the Metadata Working Group
// guidance; the entries after them cover files MWG does not (video, audio,
// PDF, XMP-only files).
var (
	titleRefs = []ref{
		r("xmp", "XMP-dc:Title"), r("iptc", "IPTC:ObjectName"),
		r("quicktime", "ItemList:Title"), r("quicktime", "UserData:Title"), r("quicktime", "Keys:Title"),
		r("pdf", "PDF:Title"), r("riff", "RIFF:Title"), r("id3", "ID3v2_4:Title"),
		r("id3", "ID3v2_3:Title"), r("id3", "ID3v1:Title"), r("vorbis", "Vorbis:Title"),
		r("png", "PNG:Title"),
	}
	descriptionRefs = []ref{
		r("composite", "MWG:Description"), r("xmp", "XMP-dc:Description"),
		r("quicktime", "ItemList:Description"), r("quicktime", "UserData:Description"),
		r("quicktime", "Keys:Description"), r("pdf", "PDF:Subject"), r("riff", "RIFF:Comment"),
		r("png", "PNG:Description"),
	}
	creatorRefs = []ref{
		r("composite", "MWG:Creator"), r("xmp", "XMP-dc:Creator"),
		r("quicktime", "ItemList:Artist"), r("quicktime", "UserData:Artist"), r("quicktime", "Keys:Artist"),
		r("pdf", "PDF:Author"), r("riff", "RIFF:Artist"), r("id3", "ID3v2_4:Artist"),
		r("id3", "ID3v2_3:Artist"), r("id3", "ID3v1:Artist"), r("vorbis", "Vorbis:Artist"),
		r("png", "PNG:Author"),
	}
	rightsRefs = []ref{
		r("composite", "MWG:Copyright"), r("xmp", "XMP-dc:Rights"),
		r("quicktime", "ItemList:Copyright"), r("quicktime", "UserData:Copyright"),
		r("quicktime", "Keys:Copyright"), r("riff", "RIFF:Copyright"), r("png", "PNG:Copyright"),
	}
	keywordRefs = []ref{
		r("composite", "MWG:Keywords"), r("xmp", "XMP-dc:Subject"), r("iptc", "IPTC:Keywords"),
		r("pdf", "PDF:Keywords"), r("xmp", "XMP-pdf:Keywords"), r("quicktime", "Keys:Keywords"),
	}
	// Dates: capture date first, then creation dates.
	dateRefs = []ref{
		r("composite", "MWG:DateTimeOriginal"), r("composite", "Composite:SubSecDateTimeOriginal"),
		r("exif", "ExifIFD:DateTimeOriginal"), r("xmp", "XMP-exif:DateTimeOriginal"),
		r("xmp", "XMP-photoshop:DateCreated"),
		r("quicktime", "Keys:CreationDate"), r("quicktime", "UserData:DateTimeOriginal"),
		r("composite", "MWG:CreateDate"), r("xmp", "XMP-xmp:CreateDate"),
		r("pdf", "PDF:CreateDate"), r("riff", "RIFF:DateCreated"),
		r("quicktime", "QuickTime:CreateDate"),
	}
	makeRefs  = []ref{r("exif", "IFD0:Make"), r("xmp", "XMP-tiff:Make"), r("quicktime", "UserData:Make"), r("quicktime", "Keys:Make")}
	modelRefs = []ref{r("exif", "IFD0:Model"), r("xmp", "XMP-tiff:Model"), r("quicktime", "UserData:Model"), r("quicktime", "Keys:Model")}
	lensRefs  = []ref{
		r("exif", "ExifIFD:LensModel"), r("xmp", "XMP-exifEX:LensModel"), r("xmp", "XMP-aux:Lens"),
		r("composite", "Composite:LensID"), r("composite", "Composite:Lens"),
	}
	latRefs         = []ref{r("composite", "Composite:GPSLatitude"), r("xmp", "XMP-exif:GPSLatitude")}
	lonRefs         = []ref{r("composite", "Composite:GPSLongitude"), r("xmp", "XMP-exif:GPSLongitude")}
	orientationRefs = []ref{r("composite", "MWG:Orientation"), r("exif", "IFD0:Orientation"), r("xmp", "XMP-tiff:Orientation")}
	durationRefs    = []ref{r("composite", "Composite:Duration"), r("quicktime", "QuickTime:Duration"), r("quicktime", "Track1:MediaDuration")}
	pageRefs        = []ref{r("pdf", "PDF:PageCount"), r("xmp", "XMP-xmpTPg:NPages")}
)

// QuickTime:CreateDate (movie header) is UTC by the QuickTime spec; it is
// the one zone-less date whose zone is known.
var utcDates = map[ref]bool{r("quicktime", "QuickTime:CreateDate"): true}

func (m *Metadata) lookup(refs []ref) (Value, ref, bool) {
	for _, rf := range refs {
		if v, ok := m.Groups[rf.g][rf.k]; ok && !emptyValue(v) {
			return v, rf, true
		}
	}
	return Value{}, ref{}, false
}

func emptyValue(v Value) bool {
	switch t := v.Raw.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	}
	return false
}

func (m *Metadata) text(refs []ref) string {
	v, _, ok := m.lookup(refs)
	if !ok {
		return ""
	}
	return strings.TrimSpace(v.Display)
}

func (m *Metadata) number(refs []ref) (float64, bool) {
	for _, rf := range refs {
		v, ok := m.Groups[rf.g][rf.k]
		if !ok {
			continue
		}
		if f, ok := toFloat(v.Raw); ok {
			return f, true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case int64:
		return float64(t), true
	case float64:
		return t, !math.IsNaN(t) && !math.IsInf(t, 0)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// normalize fills m.Normalized from m.Groups.
func (m *Metadata) normalize() {
	n := &m.Normalized
	n.Title = m.text(titleRefs)
	n.Description = m.text(descriptionRefs)
	if v, _, ok := m.lookup(creatorRefs); ok {
		n.Creator = strings.Join(list(v.Raw), "; ")
	}
	n.Rights = m.text(rightsRefs)
	if v, rf, ok := m.lookup(keywordRefs); ok {
		kws := list(v.Raw)
		if rf.g == "pdf" || rf.k == "XMP-pdf:Keywords" {
			// PDF keywords are one free-text string.
			kws = splitKeywords(strings.Join(kws, ","))
		}
		n.Keywords = kws
	}
	for _, rf := range dateRefs {
		v, ok := m.Groups[rf.g][rf.k]
		if !ok {
			continue
		}
		t, tz, ok := parseDate(v.Display)
		if !ok {
			continue
		}
		if tz == "" && utcDates[rf] {
			tz = "Z"
		}
		n.CaptureDate, n.CaptureTZ = &t, tz
		break
	}
	n.Make = m.text(makeRefs)
	n.Model = m.text(modelRefs)
	n.Lens = m.text(lensRefs)
	if lat, ok := m.number(latRefs); ok && lat >= -90 && lat <= 90 {
		if lon, ok := m.number(lonRefs); ok && lon >= -180 && lon <= 180 {
			n.GPSLat, n.GPSLon = &lat, &lon
		}
	}
	n.Width, n.Height = m.dimensions()
	if d, ok := m.number(durationRefs); ok && d > 0 {
		n.Duration = d
	}
	if pc, ok := m.number(pageRefs); ok && pc > 0 && pc < math.MaxInt32 {
		n.PageCount = int(pc)
	}
	if o, ok := m.number(orientationRefs); ok && o >= 1 && o <= 8 {
		n.Orientation = int(o)
	}
}

// dimensions: Composite:ImageSize (-n gives "W H") is what exiftool
// computes for every format; then the common per-format tags.
func (m *Metadata) dimensions() (int, int) {
	if v, ok := m.Groups["composite"]["Composite:ImageSize"]; ok {
		if s, ok := v.Raw.(string); ok {
			f := strings.Fields(strings.ReplaceAll(s, "x", " "))
			if len(f) == 2 {
				w, err1 := strconv.ParseFloat(f[0], 64)
				h, err2 := strconv.ParseFloat(f[1], 64)
				if err1 == nil && err2 == nil && w > 0 && h > 0 {
					return int(w), int(h)
				}
			}
		}
	}
	for _, p := range [][2]ref{
		{r("file", "File:ImageWidth"), r("file", "File:ImageHeight")},
		{r("exif", "ExifIFD:ExifImageWidth"), r("exif", "ExifIFD:ExifImageHeight")},
		{r("exif", "IFD0:ImageWidth"), r("exif", "IFD0:ImageHeight")},
		{r("quicktime", "Track1:ImageWidth"), r("quicktime", "Track1:ImageHeight")},
	} {
		w, ok1 := m.number(p[:1])
		h, ok2 := m.number(p[1:])
		if ok1 && ok2 && w > 0 && h > 0 {
			return int(w), int(h)
		}
	}
	return 0, 0
}

// list flattens a value into trimmed, non-empty strings.
func list(v any) []string {
	var out []string
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			out = append(out, list(x)...)
		}
	case nil:
	default:
		if s := strings.TrimSpace(display(t)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func splitKeywords(s string) []string {
	var out []string
	for _, k := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ';' }) {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// parseDate reads exiftool's date format "2006:01:02 15:04:05[.fff][±hh:mm|Z]"
// (also with '-' or 'T' separators, and date-only values). It returns the
// time and the zone as written ("" when none).
func parseDate(s string) (time.Time, string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 10 || strings.HasPrefix(s, "0000") {
		return time.Time{}, "", false
	}
	// Normalise the date part to 2006-01-02 and the separator to 'T'.
	b := []byte(s)
	if b[4] == ':' || b[4] == '-' {
		b[4] = '-'
	}
	if len(b) > 7 && (b[7] == ':' || b[7] == '-') {
		b[7] = '-'
	}
	if len(b) > 10 && (b[10] == ' ' || b[10] == 'T') {
		b[10] = 'T'
	}
	s = string(b)
	// Split off a zone: "Z", "+hh:mm", "-hh:mm", "+hhmm" after the time.
	tz := ""
	if len(s) > 19 {
		rest := s[19:]
		if i := strings.IndexAny(rest, "Z+-"); i >= 0 {
			tz = rest[i:]
			s = s[:19+i]
		}
	}
	var t time.Time
	var err error
	switch {
	case len(s) == 10:
		t, err = time.Parse("2006-01-02", s)
	case len(s) == 16:
		t, err = time.Parse("2006-01-02T15:04", s)
	default:
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	if err != nil {
		return time.Time{}, "", false
	}
	if tz == "" {
		return t, "", true
	}
	off, ok := parseOffset(tz)
	if !ok {
		return t, "", true
	}
	if tz != "Z" && off == 0 {
		tz = "+00:00"
	}
	loc := time.UTC
	if tz != "Z" {
		loc = time.FixedZone(tz, off)
	}
	t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	return t, tz, true
}

func parseOffset(tz string) (int, bool) {
	if tz == "Z" {
		return 0, true
	}
	if len(tz) < 3 || (tz[0] != '+' && tz[0] != '-') {
		return 0, false
	}
	digits := strings.ReplaceAll(tz[1:], ":", "")
	if len(digits) != 2 && len(digits) != 4 {
		return 0, false
	}
	h, err := strconv.Atoi(digits[:2])
	if err != nil || h > 14 {
		return 0, false
	}
	mins := 0
	if len(digits) == 4 {
		if mins, err = strconv.Atoi(digits[2:]); err != nil || mins > 59 {
			return 0, false
		}
	}
	off := h*3600 + mins*60
	if tz[0] == '-' {
		off = -off
	}
	return off, true
}
