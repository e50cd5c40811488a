package metatask

import (
	"testing"
	"time"

	"stor/internal/exiftool"
)

func TestCaptureDateRoundTrip(t *testing.T) {
	tokyo := time.FixedZone("+09:00", 9*3600)
	cases := []struct {
		t      time.Time
		tz     string
		stored string
	}{
		{time.Date(2021, 6, 15, 14, 30, 0, 0, tokyo), "+09:00", "2021-06-15T14:30:00+09:00"},
		{time.Date(2021, 6, 15, 14, 30, 0, 0, time.FixedZone("+00:00", 0)), "+00:00", "2021-06-15T14:30:00+00:00"},
		{time.Date(2021, 6, 15, 14, 30, 0, 0, time.UTC), "Z", "2021-06-15T14:30:00Z"},
		{time.Date(2021, 6, 15, 14, 30, 0, 500_000_000, time.UTC), "", "2021-06-15T14:30:00.5"},
	}
	for _, c := range cases {
		d := Descriptive(exiftool.Normalized{CaptureDate: &c.t, CaptureTZ: c.tz})
		if d.CaptureDate != c.stored {
			t.Errorf("stored %q, want %q", d.CaptureDate, c.stored)
		}
		n := Normalized(d)
		if n.CaptureDate == nil || !n.CaptureDate.Equal(c.t) || n.CaptureTZ != c.tz {
			t.Errorf("%q read back as %v %q, want %v %q", c.stored, n.CaptureDate, n.CaptureTZ, c.t, c.tz)
		}
	}
}

func TestCutString(t *testing.T) {
	s, cut := cutString("ääää", 3) // cut inside the second ä
	if !cut || s[:2] != "ä" || s[2] != ' ' {
		t.Errorf("cutString = %q, %v", s, cut)
	}
	if s, cut := cutString("short", 10); cut || s != "short" {
		t.Errorf("cutString = %q, %v", s, cut)
	}
}
