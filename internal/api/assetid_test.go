package api

import "testing"

func TestPossibleAssetID(t *testing.T) {
	for id, want := range map[string]bool{
		"01a20600-37f7-7e2c-92c3-e4d219113b79":    true,  // UUIDv7, as ingest makes
		"01a20600-37f7-7e2c-92c3-e4d219113b79~p3": true,  // a document page
		"7e2c4cd4-e6dc-11f1-a79e-02fc00000001":    false, // UUIDv1 (the IIIF validator's random id)
		"9b2f1c0e-4a7d-4c1e-8f3a-2d6b5e7c9a10":    false, // UUIDv4
		"01a2060037f77e2c92c3e4d219113b79":        false, // not the canonical form
		"[frob]":                                  false,
		"":                                        false,
	} {
		if got := possibleAssetID(id); got != want {
			t.Errorf("possibleAssetID(%q) = %v, want %v", id, got, want)
		}
	}
}
