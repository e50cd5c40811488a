package node_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
	"stor/internal/s3test"
	"stor/internal/storage"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// onS3 points a test node at bucket on endpoint (host:port, plain HTTP).
func onS3(srv *s3test.Server, endpoint, bucket string) func(*config.Config) {
	return func(c *config.Config) {
		c.S3Endpoint, c.S3Bucket, c.S3Region = "http://"+endpoint, bucket, srv.Region
		c.S3AccessKey, c.S3SecretKey = srv.AccessKey, srv.SecretKey
		c.S3PartSize = 5 << 20
		c.Workers = 2
		c.RetryBase = 200 * time.Millisecond
	}
}

// video makes a short H.264/AAC clip with ffmpeg.
func video(t *testing.T, secs int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "clip.mp4")
	d := strconv.Itoa(secs)
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=duration="+d+":size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitSettled polls an asset until it is ready or failed.
func waitSettled(t *testing.T, n *nodetest.Node, id string, limit time.Duration) nodetest.Asset {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := n.Get(t, "/api/v1/assets/"+id, n.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("asset %s: %d %s", id, r.Status, r.Body)
		}
		a := r.Asset(t)
		if a.State == "ready" || a.State == "failed" {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("asset %s still %s after %v", id, a.State, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestNodeOnS3 ingests an image (large enough for a pyramid) and a video on
// a node whose store is a MinIO bucket: both become ready, their original
// and derivatives are in the bucket (and nothing under DATA/blobs), and
// downloads (whole, ranged, presigned) and IIIF tiles read them back.
func TestNodeOnS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	n := nodetest.Start(t, onS3(srv, srv.Endpoint, bucket))
	img := nodetest.JPEG(t, 2400, 1600, 3)
	clip := video(t, 2)
	ia := n.MustUpload(t, n.Token, "big.jpg", img)
	va := n.MustUpload(t, n.Token, "clip.mp4", clip)
	for _, a := range []nodetest.Asset{ia, va} {
		got := waitSettled(t, n, a.ID, 3*time.Minute)
		if got.State != "ready" {
			t.Fatalf("%s: state %s (%v)", a.Filename, got.State, deref(got.Error))
		}
	}
	// The video's poster and thumbnails are optional tasks that may still
	// run once it is ready: wait for them.
	vthumb := "derivatives/" + va.ID[:2] + "/" + va.ID + "/thumb-400"
	for deadline := time.Now().Add(2 * time.Minute); !slicesContains(srv.Keys(t, bucket, vthumb), vthumb) && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
	}
	keys := srv.Keys(t, bucket, "")
	want := []string{storage.OriginalKey(hexSHA(img)), storage.OriginalKey(hexSHA(clip)), vthumb,
		"derivatives/" + va.ID[:2] + "/" + va.ID + "/hls/master.m3u8"}
	for _, name := range []string{"thumb-400", "pyramid"} {
		want = append(want, "derivatives/"+ia.ID[:2]+"/"+ia.ID+"/"+name)
	}
	for _, k := range want {
		if !slicesContains(keys, k) {
			t.Errorf("bucket lacks %s; it has %d keys: %v", k, len(keys), keys)
		}
	}
	hls := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "derivatives/"+va.ID[:2]+"/"+va.ID+"/hls/") {
			hls++
		}
	}
	if hls < 3 {
		t.Errorf("bucket has %d HLS objects of the video", hls)
	}
	if files := nodetest.Files(t, filepath.Join(n.DataDir, "blobs")); len(files) != 0 {
		t.Errorf("the disk store was used: %v", files)
	}

	// Downloads through stor: whole, and a range.
	r := n.Get(t, "/api/v1/assets/"+ia.ID+"/original", n.Token, nil)
	if r.Status != 200 || !bytes.Equal(r.Body, img) {
		t.Errorf("original: %d, %d bytes", r.Status, len(r.Body))
	}
	r = n.Get(t, "/api/v1/assets/"+va.ID+"/original", n.Token, http.Header{"Range": {"bytes=100-199"}})
	if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, clip[100:200]) {
		t.Errorf("ranged original: %d, %d bytes", r.Status, len(r.Body))
	}
	// IIIF reads the pyramid from the bucket.
	r = n.Get(t, "/iiif/3/"+ia.ID+"/0,0,512,512/256,/0/default.jpg", n.Token, nil)
	if r.Status != 200 || len(r.Body) < 100 {
		t.Errorf("IIIF tile: %d %.200s", r.Status, r.Body)
	}
	r = n.Get(t, "/media/"+va.ID+"/hls/master.m3u8", n.Token, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "#EXTM3U") {
		t.Errorf("HLS master: %d %.200s", r.Status, r.Body)
	}
}

// TestPresignedDownloads: with STOR_S3_PRESIGN, an authorized download is
// a 302 to MinIO that serves the bytes; an unauthorized one is still 401
// and no URL leaks.
func TestPresignedDownloads(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	n := nodetest.Start(t, onS3(srv, srv.Endpoint, bucket), func(c *config.Config) {
		c.S3Presign, c.S3PresignExpiry = true, time.Minute
	})
	img := nodetest.JPEG(t, 300, 200, 4)
	a := n.MustUpload(t, n.Token, "p.jpg", img)
	if got := waitSettled(t, n, a.ID, 2*time.Minute); got.State != "ready" {
		t.Fatalf("state %s", got.State)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, token string) *http.Response {
		req, _ := http.NewRequest("GET", n.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("/api/v1/assets/"+a.ID+"/original", ""); resp.StatusCode != 401 || resp.Header.Get("Location") != "" {
		t.Errorf("unauthenticated: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, want := range map[string][]byte{"/api/v1/assets/" + a.ID + "/original?download=1": img, "/api/v1/assets/" + a.ID + "/derivatives/thumb-150": nil} {
		resp := get(path, n.Token)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://"+srv.Endpoint+"/"+bucket+"/") || !strings.Contains(loc, "X-Amz-Signature=") {
			t.Fatalf("%s: %d, Location %q", path, resp.StatusCode, loc)
		}
		s3resp, err := http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(s3resp.Body)
		s3resp.Body.Close()
		if s3resp.StatusCode != 200 || (want != nil && !bytes.Equal(body.Bytes(), want)) || body.Len() == 0 {
			t.Errorf("following %s: %d, %d bytes", path, s3resp.StatusCode, body.Len())
		}
		if want != nil && !strings.HasPrefix(s3resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("presigned original: Content-Disposition %q", s3resp.Header.Get("Content-Disposition"))
		}
	}
}

// TestS3Faults puts a proxy that breaks 20% of requests between the node
// and MinIO: every ingest still completes, and the retries are counted in
// stor_storage_retries_total.
func TestS3Faults(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	proxy := s3test.StartFaultyProxy(t, srv, 0.2)
	n := nodetest.Start(t, onS3(srv, proxy.Endpoint, bucket))
	files := map[string][]byte{"clip.mp4": video(t, 2), "big.bin.jpg": nodetest.JPEG(t, 2200, 1400, 9)}
	for i := range 6 {
		files[fmt.Sprintf("img%d.jpg", i)] = nodetest.JPEG(t, 400+i*10, 300, i)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for name, b := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := n.Upload(t, n.Token, name, b, nil)
			if r.Status != http.StatusCreated {
				t.Errorf("upload %s: %d %s", name, r.Status, r.Body)
				return
			}
			var a struct{ ID string }
			if err := json.Unmarshal(r.Body, &a); err != nil {
				t.Errorf("upload %s: %v", name, err)
				return
			}
			mu.Lock()
			ids = append(ids, a.ID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if a := waitSettled(t, n, id, 4*time.Minute); a.State != "ready" {
			t.Errorf("%s (%s): %s, %v", a.Filename, id, a.State, deref(a.Error))
		}
	}
	for _, b := range files {
		if !slicesContains(srv.Keys(t, bucket, "originals/"), storage.OriginalKey(hexSHA(b))) {
			t.Errorf("an original is missing from the bucket")
		}
	}
	m := n.Get(t, "/metrics", n.Token, nil)
	total := 0.0
	for _, line := range regexp.MustCompile(`(?m)^stor_storage_retries_total\{op="[a-z_]+"\} ([0-9.e+]+)$`).FindAllStringSubmatch(string(m.Body), -1) {
		v, _ := strconv.ParseFloat(line[1], 64)
		total += v
	}
	t.Logf("proxy: %d requests, %d broken; stor counted %.0f retries", proxy.Requests.Load(), proxy.Failed.Load(), total)
	if proxy.Failed.Load() == 0 || total == 0 {
		t.Errorf("no retries in the metrics (proxy broke %d requests):\n%s", proxy.Failed.Load(), grepLines(string(m.Body), "stor_storage"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
