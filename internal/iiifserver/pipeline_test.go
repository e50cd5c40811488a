package iiifserver_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"stor/internal/node/nodetest"
)

// TestWithPipeline ingests images through the API, lets the real image
// tasks make their derivatives, and serves them: a large image from its
// pyramid (stored tiles), a small one from its original.
func TestWithPipeline(t *testing.T) {
	n := nodetest.Start(t)
	big := n.MustUpload(t, n.Token, "big.png", pngBytes(t, pattern(2600, 1800)))
	small := n.MustUpload(t, n.Token, "small.png", pngBytes(t, pattern(300, 200)))
	deadline := time.Now().Add(3 * time.Minute)
	for _, id := range []string{big.ID, small.ID} {
		for {
			a := n.Get(t, "/api/v1/assets/"+id, n.Token, nil).Asset(t)
			if a.State == "ready" {
				break
			}
			if a.State == "failed" || time.Now().After(deadline) {
				t.Fatalf("asset %s: state %s", id, a.State)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	r := n.Get(t, "/iiif/3/"+big.ID+"/info.json", n.Token, nil)
	var info struct {
		Width, Height int
		Tiles         []struct {
			Width        int
			ScaleFactors []int
		}
	}
	if err := json.Unmarshal(r.Body, &info); err != nil || r.Status != 200 {
		t.Fatalf("info: %d %s", r.Status, r.Body)
	}
	if info.Width != 2600 || info.Height != 1800 || len(info.Tiles) != 1 || info.Tiles[0].Width != 256 ||
		len(info.Tiles[0].ScaleFactors) != 5 { // 2600 → 1300, 650, 325, 163: five levels
		t.Errorf("info from the pyramid: %s", r.Body)
	}
	r = n.Get(t, "/iiif/3/"+big.ID+"/512,256,256,256/256,/0/default.jpg", n.Token, nil)
	if r.Status != 200 || r.Header.Get("X-Stor-Tile") != "stored" {
		t.Errorf("tile: %d %q", r.Status, r.Header.Get("X-Stor-Tile"))
	}
	r = n.Get(t, "/iiif/2/"+small.ID+"/full/full/90/default.png", n.Token, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("small: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
}
