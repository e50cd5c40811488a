package webui_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"stor/internal/proc"
	"stor/internal/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// TestBrowserS3Upload: stor on MinIO (s3test; MinIO's CORS allows stor's
// origin, as docs/deployment.md tells a user to configure it), the web UI
// in headless Chromium (web/test/s3upload.mjs): the upload page sees
// uploads.s3_multipart in GET /api/v1/session and uses Uppy's
// @uppy/aws-s3; a 17 MiB JPEG goes to the bucket in three 8 MiB parts,
// the first PUT of part 2 is aborted (connection reset), the upload goes
// on without sending part 1 again (the plugin retries the part itself, or
// Uppy's Retry resumes it; either is accepted), and the asset ends ready.
// A second file is cut off after two parts and the page reloaded: Golden
// Retriever restores it, the user re-selects it, and the same multipart
// upload resumes (parts 1 and 2 not sent again). Afterwards the bucket
// holds the two verified originals and no leftover upload object.
func TestBrowserS3Upload(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run(t, ctx, root, nil, "scripts/build-web.sh")
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "stor")
	run(t, ctx, root, nil, "go", "build", "-o", bin, "./cmd/stor")

	// A JPEG of about 17 MiB (noise does not compress): three parts.
	big := filepath.Join(tmp, "big harbour s3.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-size", "3200x2000", "xc:", "+noise", "Random", "-quality", "100", big)
	big2 := filepath.Join(tmp, "big quay s3.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-seed", "2", "-size", "3200x2000", "xc:", "+noise", "Random", "-quality", "100", big2)
	for _, f := range []string{big, big2} {
		if fi, err := os.Stat(f); err != nil || fi.Size() <= 16<<20 {
			t.Fatalf("test JPEG %s: %v (want > 16 MiB)", f, err)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	// MinIO answers CORS for the origins in MINIO_API_CORS_ALLOW_ORIGIN
	// (it exposes ETag by default); the browser PUTs parts from stor's
	// origin.
	t.Setenv("MINIO_API_CORS_ALLOW_ORIGIN", base)
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)

	const token = "stor_e2e_s3_browser_token_0123456789"
	var serverLog bytes.Buffer
	cmd := proc.Command(ctx, bin, "serve")
	cmd.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_DATA_DIR="+filepath.Join(tmp, "data"),
		"STOR_BOOTSTRAP_TOKEN="+token, "STOR_LOG_FORMAT=text", "STOR_LOG_LEVEL=warn", "STOR_MAX_LOAD_PER_CPU=0",
		"STOR_POLL_INTERVAL=50ms", "STOR_RETRY_BASE=1s",
		"STOR_S3_ENDPOINT=http://"+srv.Endpoint, "STOR_S3_BUCKET="+bucket, "STOR_S3_REGION="+srv.Region,
		"STOR_S3_ACCESS_KEY="+srv.AccessKey, "STOR_S3_SECRET_KEY="+srv.SecretKey)
	cmd.Stdout, cmd.Stderr = &serverLog, &serverLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopServer(cmd)
	waitHealthy(t, base, &serverLog)

	start := time.Now()
	out, err := run2(ctx, filepath.Join(root, "web"), []string{"STOR_URL=" + base, "STOR_TOKEN=" + token,
		"STOR_S3=http://" + srv.Endpoint, "STOR_BIG=" + big, "STOR_BIG2=" + big2}, "node", "test/s3upload.mjs")
	t.Logf("browser test took %s:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatalf("web/test/s3upload.mjs failed: %v: %s\n--- server log ---\n%s", err, failureLine(out), tail(serverLog.String(), 4000))
	}
	for _, re := range []string{`ASSET (\S+)`, `ASSET2 (\S+)`} {
		if regexp.MustCompile(re).FindStringSubmatch(out) == nil {
			t.Fatalf("no %s in the output", re)
		}
	}
	// The bucket: the two originals under originals/, nothing left under
	// uploads/s3/.
	if left := srv.Keys(t, bucket, "uploads/s3/"); len(left) != 0 {
		t.Errorf("upload objects left in the bucket: %v", left)
	}
	var originals int
	for _, k := range srv.Keys(t, bucket, "") {
		if strings.HasPrefix(k, "originals/") {
			originals++
		}
	}
	if originals != 2 {
		t.Errorf("%d originals in the bucket, want 2", originals)
	}
}
