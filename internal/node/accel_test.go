package node_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// TestAccelRedirect: with STOR_ACCEL_REDIRECT on the disk store, an
// authorized download of an original or a derivative is an empty 200
// whose X-Accel-Redirect names the object under the prefix, which is the
// file under DATA/blobs/ that nginx's internal location (alias) sends;
// the headers stor sets still go with it, a download rate becomes
// X-Accel-Limit-Rate, and an unauthorized request is refused by stor
// without the header.
func TestAccelRedirect(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) {
		c.AccelRedirect = "/_stor_blobs/"
		c.DownloadRate = 1 << 20
	})
	img := nodetest.JPEG(t, 300, 200, 5)
	a := n.MustUpload(t, n.Token, "accel photo.jpg", img)
	if got := waitSettled(t, n, a.ID, 2*time.Minute); got.State != "ready" {
		t.Fatalf("state %s", got.State)
	}
	r := n.Get(t, "/api/v1/assets/"+a.ID+"/original", "", nil)
	if r.Status != http.StatusUnauthorized || r.Header.Get("X-Accel-Redirect") != "" {
		t.Errorf("unauthenticated: %d, X-Accel-Redirect %q", r.Status, r.Header.Get("X-Accel-Redirect"))
	}
	for path, want := range map[string][]byte{
		"/api/v1/assets/" + a.ID + "/original?download=1":   img,
		"/api/v1/assets/" + a.ID + "/derivatives/thumb-150": nil,
	} {
		r := n.Get(t, path, n.Token, nil)
		accel := r.Header.Get("X-Accel-Redirect")
		if r.Status != http.StatusOK || len(r.Body) != 0 || !strings.HasPrefix(accel, "/_stor_blobs/") {
			t.Fatalf("%s: %d, %d bytes, X-Accel-Redirect %q", path, r.Status, len(r.Body), accel)
		}
		// What nginx's `location /_stor_blobs/ { internal; alias DATA/blobs/; }` sends.
		file := filepath.Join(n.DataDir, "blobs", filepath.FromSlash(strings.TrimPrefix(accel, "/_stor_blobs/")))
		b, err := os.ReadFile(file)
		if err != nil || len(b) == 0 || (want != nil && !bytes.Equal(b, want)) {
			t.Errorf("%s: %s: %d bytes, %v", path, file, len(b), err)
		}
		if got := r.Header.Get("X-Accel-Limit-Rate"); got != "1048576" {
			t.Errorf("%s: X-Accel-Limit-Rate %q, want 1048576", path, got)
		}
		if r.Header.Get("Content-Type") == "" {
			t.Errorf("%s: no Content-Type", path)
		}
		if want != nil && !strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="accel photo.jpg"`) {
			t.Errorf("%s: Content-Disposition %q", path, r.Header.Get("Content-Disposition"))
		}
	}
}
