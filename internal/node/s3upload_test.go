package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"stor/internal/api"
	"stor/internal/node/nodetest"
	"stor/internal/s3test"
	"stor/internal/storage"
)

// uppy plays @uppy/aws-s3's Companion client (src/s3-client/CompanionS3.ts
// of 6.1.0, the one uppy 6.0.1 ships) against companionEndpoint =
// BASE/api/v1/uploads: the same paths, methods and bodies.
type uppy struct {
	t       *testing.T
	n       *nodetest.Node
	token   string
	session string // a web UI session instead of the token
}

func (u *uppy) call(method, path string, body any, out any) int {
	u.t.Helper()
	var rd *bytes.Reader
	h := http.Header{}
	if u.session != "" {
		h = nodetest.SessionHeader(u.session)
	}
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
		h.Set("Content-Type", "application/json")
	} else {
		rd = bytes.NewReader(nil)
	}
	r := u.n.Do(u.t, method, "/api/v1/uploads/s3"+path, u.token, rd, h)
	if out != nil && r.Status == 200 {
		r.JSON(u.t, out)
	}
	return r.Status
}

func (u *uppy) create(filename, typ string) (uploadID, key string) {
	u.t.Helper()
	var res struct{ UploadID, Key string }
	if st := u.call("POST", "/multipart", map[string]any{"filename": filename, "type": typ, "metadata": map[string]string{"name": filename}}, &res); st != 200 {
		u.t.Fatalf("create: %d", st)
	}
	return res.UploadID, res.Key
}

func (u *uppy) putPart(uploadID, key string, part int, data []byte) string {
	u.t.Helper()
	var signed struct {
		URL     string `json:"url"`
		Expires int    `json:"expires"`
	}
	q := url.Values{"key": {key}}
	if st := u.call("GET", fmt.Sprintf("/multipart/%s/%d?%s", url.PathEscape(uploadID), part, q.Encode()), nil, &signed); st != 200 || signed.URL == "" {
		u.t.Fatalf("sign part %d: %d", part, st)
	}
	req, _ := http.NewRequest("PUT", signed.URL, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		u.t.Fatalf("PUT part %d to S3: %d", part, resp.StatusCode)
	}
	return strings.Trim(resp.Header.Get("ETag"), `"`)
}

type partJSON struct {
	PartNumber int
	ETag       string
	Size       int64
}

// TestDirectS3Upload: a 12 MiB image uploaded in three parts straight to
// MinIO, with a resume (list parts) in the middle, is verified and ingested
// by stor under the key it hashed; a client naming another key is refused;
// an abort drops the parts; the sweeper aborts abandoned uploads.
func TestDirectS3Upload(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	n := nodetest.Start(t, onS3(srv, srv.Endpoint, bucket))
	u := &uppy{t: t, n: n, token: n.Token}

	// A big, incompressible-ish JPEG: noise, so it is > 10 MiB.
	img := nodetest.JPEG(t, 3000, 3000, 11)
	for len(img) < 11<<20 {
		img = append(img, img...) // trailing bytes after EOI: still a JPEG to identify
	}
	img = img[:11<<20+777]
	id, key := u.create("big.jpg", "image/jpeg")
	if !strings.HasPrefix(key, api.S3UploadPrefix) {
		t.Fatalf("key %q: stor must choose it", key)
	}
	const part = 5 << 20
	etag1 := u.putPart(id, key, 1, img[:part])
	// Resume: the client lost its state and asks what S3 has.
	var parts []partJSON
	if st := u.call("GET", "/multipart/"+url.PathEscape(id)+"?key="+url.QueryEscape(key), nil, &parts); st != 200 || len(parts) != 1 ||
		parts[0].PartNumber != 1 || strings.Trim(parts[0].ETag, `"`) != etag1 || parts[0].Size != part {
		t.Fatalf("list parts: %d %+v", st, parts)
	}
	etag2 := u.putPart(id, key, 2, img[part:2*part])
	etag3 := u.putPart(id, key, 3, img[2*part:])
	// Another token cannot touch it; a wrong key is refused.
	other := &uppy{t: t, n: n, token: n.NewToken(t, []string{"write", "read"}, "")}
	if st := other.call("GET", "/multipart/"+url.PathEscape(id)+"?key="+url.QueryEscape(key), nil, nil); st != 404 {
		t.Errorf("another token listing the parts: %d, want 404", st)
	}
	completeBody := map[string]any{"parts": []map[string]any{{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}, {"PartNumber": 3, "ETag": etag3}}}
	if st := u.call("POST", "/multipart/"+url.PathEscape(id)+"/complete?key="+url.QueryEscape("originals/sha256/00/00/evil"), completeBody, nil); st != 404 {
		t.Errorf("complete naming another key: %d, want 404", st)
	}
	var done struct {
		Location string
		Key      string
		Asset    nodetest.Asset
	}
	if st := u.call("POST", "/multipart/"+url.PathEscape(id)+"/complete?key="+url.QueryEscape(key), completeBody, &done); st != 200 {
		t.Fatalf("complete: %d", st)
	}
	want := hexSHA(img)
	if done.Key != storage.OriginalKey(want) || done.Asset.SHA256 != want || done.Asset.Size != int64(len(img)) ||
		done.Location != n.URL+"/api/v1/assets/"+done.Asset.ID || done.Asset.Format != "jpg" || done.Asset.Filename != "big.jpg" {
		t.Fatalf("complete answered %+v", done)
	}
	// A retried complete answers the same asset.
	var again struct{ Asset nodetest.Asset }
	if st := u.call("POST", "/multipart/"+url.PathEscape(id)+"/complete?key="+url.QueryEscape(key), completeBody, &again); st != 200 || again.Asset.ID != done.Asset.ID {
		t.Errorf("retried complete: %d %s", st, again.Asset.ID)
	}
	if a := waitSettled(t, n, done.Asset.ID, 3*time.Minute); a.State != "ready" {
		t.Errorf("state %s %v", a.State, deref(a.Error))
	}
	keys := srv.Keys(t, bucket, "")
	if !slicesContains(keys, storage.OriginalKey(want)) {
		t.Errorf("no original in the bucket: %v", keys)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, api.S3UploadPrefix) {
			t.Errorf("the upload object is left: %s", k)
		}
	}
	r := n.Get(t, "/api/v1/assets/"+done.Asset.ID+"/original", n.Token, nil)
	if !bytes.Equal(r.Body, img) {
		t.Errorf("the original reads back %d bytes", len(r.Body))
	}

	// Abort drops the upload.
	id2, key2 := u.create("x.jpg", "image/jpeg")
	u.putPart(id2, key2, 1, img[:1000])
	if st := u.call("DELETE", "/multipart/"+url.PathEscape(id2)+"?key="+url.QueryEscape(key2), nil, nil); st != 200 {
		t.Errorf("abort: %d", st)
	}
	if st := u.call("GET", "/multipart/"+url.PathEscape(id2)+"?key="+url.QueryEscape(key2), nil, nil); st != 404 {
		t.Errorf("listing an aborted upload: %d, want 404", st)
	}

	// The sweeper aborts abandoned uploads (age 0: all of them).
	id3, key3 := u.create("y.jpg", "image/jpeg")
	u.putPart(id3, key3, 1, img[:1000])
	time.Sleep(10 * time.Millisecond)
	k, err := api.SweepS3Uploads(context.Background(), n.DB, n.Store, time.Millisecond)
	if err != nil || k != 1 {
		t.Errorf("sweep: %d, %v (want 1)", k, err)
	}
	for u := range srv.Client.ListIncompleteUploads(context.Background(), bucket, "", true) {
		t.Errorf("pending upload left after the sweep: %s", u.Key)
	}
	// On a disk store the routes say so.
	d := nodetest.Start(t)
	if r := d.Do(t, "POST", "/api/v1/uploads/s3/multipart", d.Token, strings.NewReader(`{"filename":"a.jpg"}`), http.Header{"Content-Type": {"application/json"}}); r.Status != 501 {
		t.Errorf("direct upload on a disk store: %d", r.Status)
	}
}

// TestDirectS3UploadProjectMoved: a user moved to another project between
// starting a direct upload and completing it cannot complete it into the
// project they no longer see: the upload is a 404 to them.
func TestDirectS3UploadProjectMoved(t *testing.T) {
	srv := s3test.Start(t)
	n := nodetest.Start(t, onS3(srv, srv.Endpoint, srv.Bucket(t)))
	uid, session := n.NewUser(t, "mover", "editor", "loans")
	u := &uppy{t: t, n: n, session: session}
	var res struct{ UploadID, Key string }
	if st := u.call("POST", "/multipart", map[string]any{"filename": "m.jpg", "type": "image/jpeg"}, &res); st != 200 {
		t.Fatalf("create: %d", st)
	}
	img := nodetest.JPEG(t, 64, 64, 3)
	etag := u.putPart(res.UploadID, res.Key, 1, img)
	if r := n.Do(t, "PATCH", "/api/v1/users/"+uid, n.Token, strings.NewReader(`{"project":"elsewhere"}`), http.Header{"Content-Type": {"application/json"}}); r.Status != 200 {
		t.Fatalf("move user: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"parts": []map[string]any{{"PartNumber": 1, "ETag": etag}}}
	if st := u.call("POST", "/multipart/"+url.PathEscape(res.UploadID)+"/complete?key="+url.QueryEscape(res.Key), body, nil); st != 404 {
		t.Errorf("complete into a project the user no longer sees: %d, want 404", st)
	}
	var list struct{ Items []nodetest.Asset }
	n.Get(t, "/api/v1/assets?project=loans", n.Token, nil).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("an asset landed in loans: %+v", list.Items)
	}
}
