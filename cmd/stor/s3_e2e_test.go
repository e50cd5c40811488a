package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"stor/internal/node/nodetest"
	"stor/internal/s3test"
)

func s3env(srv *s3test.Server, bucket string) []string {
	env := []string{"STOR_S3_ENDPOINT=http://" + srv.Endpoint, "STOR_S3_REGION=" + srv.Region,
		"STOR_S3_ACCESS_KEY=" + srv.AccessKey, "STOR_S3_SECRET_KEY=" + srv.SecretKey, "STOR_FIXITY_BYTES_PER_SECOND=0"}
	if bucket != "" {
		env = append(env, "STOR_S3_BUCKET="+bucket)
	}
	return env
}

// TestMigrateStoreToS3 moves a data dir's blobs to MinIO: verified, then
// resumed (nothing to do), then repaired after objects went missing or
// bad in the bucket; the node then audits its originals on S3.
func TestMigrateStoreToS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	data := t.TempDir()
	if out, errs, code := run(t, nil, "ingest", "--data-dir", data, "--quiet", makeTree(t)); code != 0 {
		t.Fatalf("ingest: %d %s %s", code, out, errs)
	}
	// A derivative bigger than one part (multipart upload).
	big := make([]byte, 6<<20+5)
	rand.Read(big)
	dkey := "derivatives/ab/ab000000-0000-7000-8000-000000000000/pyramid"
	if err := os.MkdirAll(filepath.Join(data, "blobs", filepath.Dir(dkey)), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "blobs", dkey), big, 0o640); err != nil {
		t.Fatal(err)
	}
	env := append(s3env(srv, bucket), "STOR_S3_PART_SIZE=5MiB")
	out, errs, code := run(t, env, "migrate-store", "--to", "s3", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "6 objects: 6 copied") {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errs)
	}
	keys := srv.Keys(t, bucket, "")
	local := nodetest.Files(t, filepath.Join(data, "blobs"))
	if len(keys) != 6 || len(local) != 6 {
		t.Fatalf("bucket %v, disk %v", keys, local)
	}
	for _, k := range local {
		k = filepath.ToSlash(k)
		want, _ := os.ReadFile(filepath.Join(data, "blobs", k))
		obj, err := srv.Client.GetObject(context.Background(), bucket, k, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.ReadFrom(obj)
		obj.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs in the bucket", k)
		}
	}
	// Run again: everything is there.
	out, _, code = run(t, env, "migrate-store", "--to", "s3", "--data-dir", data, "--quiet")
	if code != 0 || !strings.Contains(out, "6 objects: 0 copied (0 bytes), 6 already there and verified") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	// One object gone, one overwritten with other bytes of the same size.
	ctx := context.Background()
	if err := srv.Client.RemoveObject(ctx, bucket, dkey, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	orig := ""
	for _, k := range keys {
		if strings.HasPrefix(k, "originals/") {
			orig = k
		}
	}
	info, _ := srv.Client.StatObject(ctx, bucket, orig, minio.StatObjectOptions{})
	junk := bytes.Repeat([]byte{'x'}, int(info.Size))
	if _, err := srv.Client.PutObject(ctx, bucket, orig, bytes.NewReader(junk), info.Size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, env, "migrate-store", "--to", "s3", "--data-dir", data, "--quiet")
	if code != 0 || !strings.Contains(out, "6 objects: 2 copied") || !strings.Contains(out, "4 already there") {
		t.Fatalf("third run: exit %d\n%s", code, out)
	}
	// The node on the bucket audits its originals there.
	out, errs, code = run(t, env, "fixity", "audit", "--data-dir", data, "--all")
	if code != 0 || !strings.Contains(out, "audited 5 assets: 5 ok, 0 failed") {
		t.Fatalf("audit on S3: exit %d\n%s%s", code, out, errs)
	}
}

// TestS3ReplicaFixity: the originals live on the disk and an
// s3://bucket/prefix replica holds a verified copy. The audit fills the
// replica, then finds a deleted and a corrupted copy in the bucket and
// repairs both from the primary.
func TestS3ReplicaFixity(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	data := t.TempDir()
	env := append(s3env(srv, ""), "STOR_REPLICAS=s3://"+bucket+"/replica/one")
	if out, errs, code := run(t, env, "ingest", "--data-dir", data, "--quiet", makeTree(t)); code != 0 {
		t.Fatalf("ingest: %d %s %s", code, out, errs)
	}
	out, errs, code := run(t, env, "fixity", "audit", "--data-dir", data, "--all")
	if code != 0 || !strings.Contains(out, "audited 5 assets: 5 ok, 0 failed, 5 copies repaired") {
		t.Fatalf("first audit: exit %d\n%s%s", code, out, errs)
	}
	keys := srv.Keys(t, bucket, "")
	if len(keys) != 5 || !strings.HasPrefix(keys[0], "replica/one/originals/sha256/") {
		t.Fatalf("bucket holds %v", keys)
	}
	ctx := context.Background()
	if err := srv.Client.RemoveObject(ctx, bucket, keys[0], minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	info, _ := srv.Client.StatObject(ctx, bucket, keys[1], minio.StatObjectOptions{})
	junk := bytes.Repeat([]byte{'x'}, int(info.Size))
	if _, err := srv.Client.PutObject(ctx, bucket, keys[1], bytes.NewReader(junk), info.Size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	out, errs, code = run(t, env, "fixity", "audit", "--data-dir", data, "--all")
	if code != 0 || !strings.Contains(out, "5 ok, 0 failed, 2 copies repaired") ||
		!strings.Contains(out, "missing→ok") || !strings.Contains(out, "failed→ok") {
		t.Fatalf("audit after damage: exit %d\n%s%s", code, out, errs)
	}
	out, _, code = run(t, env, "fixity", "audit", "--data-dir", data, "--all")
	if code != 0 || !strings.Contains(out, "5 ok, 0 failed, 0 copies repaired") {
		t.Fatalf("third audit: exit %d\n%s", code, out)
	}
}
