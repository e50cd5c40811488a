package replica

import (
	"errors"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    []string // locations
		wantErr error
		bad     bool
	}{
		{in: "", want: nil},
		{in: "dir:/a/b, dir:/c/", want: []string{"/a/b", "/c"}},
		{in: "dir:relative", bad: true},
		{in: "dir:/a,dir:/a", bad: true},
		{in: "s3://bucket/prefix", want: []string{"bucket/prefix"}},
		{in: "s3://bucket/a/../b", bad: true},
		{in: "s3:///nobucket", bad: true},
		{in: "ftp://x", bad: true},
		{in: "primary", bad: true},
	} {
		got, err := ParseList(c.in)
		switch {
		case c.wantErr != nil:
			if !errors.Is(err, c.wantErr) {
				t.Errorf("ParseList(%q) = %v, want %v", c.in, err, c.wantErr)
			}
		case c.bad:
			if err == nil {
				t.Errorf("ParseList(%q) accepted %v", c.in, got)
			}
		default:
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("ParseList(%q) = %v, %v", c.in, got, err)
			}
			for i, sp := range got {
				if sp.Location != c.want[i] || (sp.Scheme != "dir") != strings.HasPrefix(c.in, "s3") {
					t.Errorf("ParseList(%q)[%d] = %+v", c.in, i, sp)
				}
			}
		}
	}
}
