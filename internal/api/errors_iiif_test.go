package api

import (
	"fmt"
	"testing"

	"stor/internal/iiif"
)

// TestClassifyIIIF checks that IIIF request errors become 400 and 501.
func TestClassifyIIIF(t *testing.T) {
	_, err := iiif.Parse(iiif.V3, "full/max/0/default.bmp")
	if st, code, _ := Classify(fmt.Errorf("image: %w", err)); st != 400 || code != "bad_request" {
		t.Errorf("bad request: %d %s", st, code)
	}
	if st, code, _ := Classify(&iiif.Error{Param: "format", Value: "x", Reason: "no", Kind: iiif.ErrNotImplemented}); st != 501 || code != "not_implemented" {
		t.Errorf("not implemented: %d %s", st, code)
	}
}
