package metatask

import (
	"sort"
	"strings"
	"time"

	"stor/internal/catalog"
	"stor/internal/exiftool"
)

const localLayout = "2006-01-02T15:04:05.999999999"

// Descriptive turns exiftool's normalised fields into the asset's columns.
// The capture date keeps its zone as written: "2021-06-15T14:30:00+02:00",
// "...Z", or no offset at all when the zone is unknown.
func Descriptive(n exiftool.Normalized) catalog.Descriptive {
	d := catalog.Descriptive{
		Title: n.Title, Description: n.Description, Creator: n.Creator, Rights: n.Rights,
		Keywords: n.Keywords, CameraMake: n.Make, CameraModel: n.Model, Lens: n.Lens,
		GPSLat: n.GPSLat, GPSLon: n.GPSLon, Orientation: n.Orientation,
	}
	if n.CaptureDate != nil {
		t := *n.CaptureDate
		d.CaptureDate = t.Format(localLayout)
		switch {
		case n.CaptureTZ == "Z":
			d.CaptureDate += "Z"
		case n.CaptureTZ != "":
			d.CaptureDate += t.Format("-07:00")
		}
	}
	return d
}

// Normalized is the reverse of Descriptive, for writing the fields out
// (XMP sidecar, embedding).
func Normalized(d catalog.Descriptive) exiftool.Normalized {
	n := exiftool.Normalized{
		Title: d.Title, Description: d.Description, Creator: d.Creator, Rights: d.Rights,
		Keywords: d.Keywords, Make: d.CameraMake, Model: d.CameraModel, Lens: d.Lens,
		GPSLat: d.GPSLat, GPSLon: d.GPSLon, Orientation: d.Orientation,
	}
	if t, tz, ok := ParseCaptureDate(d.CaptureDate); ok {
		n.CaptureDate, n.CaptureTZ = &t, tz
	}
	return n
}

// ParseCaptureDate reads a stored capture date: the time, and its zone as
// exiftool.Normalized.CaptureTZ has it ("Z", "+02:00", or "" when unknown;
// the time is then the wall-clock reading in UTC).
func ParseCaptureDate(s string) (time.Time, string, bool) {
	if s == "" {
		return time.Time{}, "", false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if strings.HasSuffix(s, "Z") {
			return t, "Z", true
		}
		return t, t.Format("-07:00"), true
	}
	if t, err := time.Parse(localLayout, s); err == nil {
		return t, "", true
	}
	return time.Time{}, "", false
}

func sortStrings(s []string) { sort.Strings(s) }
