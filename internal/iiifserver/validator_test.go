//go:build iiifvalidator

package iiifserver_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"stor/internal/config"
	"stor/internal/vips"
)

// TestOfficialValidator runs the official IIIF Image API validator
// (github.com/IIIF/image-validator) against a live node: 3.0 at level 2 and
// 2.x at level 1 (and level 2), for an image served from its original and
// for the same image served from a pyramid.
//
// The validator is not vendored and cannot be installed by the project's
// scripts without the network (it is not packaged in Debian), so this test
// is behind a build tag and run by hand:
//
//	STOR_IIIF_VALIDATOR=/tmp/iiif-validator go test -tags iiifvalidator -run TestOfficialValidator -v ./internal/iiifserver
//
// It needs /usr/bin/python3 with python3-pil, python3-lxml, python3-bottle
// and python3-magic (scripts/setup.sh with STOR_SETUP_TESTS=1).
func TestOfficialValidator(t *testing.T) {
	vdir := os.Getenv("STOR_IIIF_VALIDATOR")
	if vdir == "" {
		t.Fatal("set STOR_IIIF_VALIDATOR to a checkout of github.com/IIIF/image-validator")
	}
	img, err := os.ReadFile(filepath.Join(vdir, "html", "67352ccc-d1b0-11e1-89ae-279075081939.png"))
	if err != nil {
		t.Fatal(err)
	}
	// The validator sends no credentials: a front door on its own port adds
	// the bearer token, and is the public URL the info.json ids name.
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *config.Config) { c.PublicURL = "http://" + front.Addr().String() })
	h := e.n.API.Handler()
	go http.Serve(front, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+secret)
		h.ServeHTTP(w, r)
	}))
	defer front.Close()

	plain := e.ingest("67352ccc-d1b0-11e1-89ae-279075081939.png", img)
	tiled := e.ingest("validator-tiled.png", append(img, 0)) // a different sha256, same pixels
	src := filepath.Join(t.TempDir(), "v.png")
	os.WriteFile(src, img, 0o644)
	pyr := filepath.Join(t.TempDir(), "v.tif")
	if err := e.eng.Pyramid(src, pyr, vips.PyramidOpts{}); err != nil {
		t.Fatal(err)
	}
	e.derive(tiled, "pyramid", "image/tiff", pyr, 1000, 1000)

	for _, id := range []string{plain, tiled} {
		for _, run := range []struct{ prefix, version, level string }{
			{"iiif/3", "3.0", "2"},
			{"iiif/2", "2.0", "1"},
			{"iiif/2", "2.0", "2"},
		} {
			cmd := exec.Command("/usr/bin/python3", "iiif-validate.py", "-s", front.Addr().String(), "-p", run.prefix,
				"-i", id, "--version="+run.version, "--level", run.level)
			cmd.Dir = vdir
			out, err := cmd.CombinedOutput()
			t.Logf("validator %s level %s, id %s:\n%s", run.version, run.level, id, out)
			if err != nil {
				t.Errorf("validator %s level %s failed: %v", run.version, run.level, err)
			}
		}
	}
}
