package api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/ingest"
	"stor/internal/node/nodetest"
)

func sums(b []byte) (md5hex, shahex string) {
	m, s := md5.Sum(b), sha256.Sum256(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// multipartBody builds a form with a "file" part (filename given raw in
// the part's Content-Disposition, encoded as a browser or curl would) and
// extra fields.
func multipartBody(t *testing.T, filename string, data []byte, partHeader textproto.MIMEHeader, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	h := textproto.MIMEHeader{}
	for k, v := range partHeader {
		h[k] = v
	}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": filename}))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func uploadMultipart(t *testing.T, n *nodetest.Node, token, filename string, data []byte, partHeader textproto.MIMEHeader, fields map[string]string) *nodetest.Response {
	t.Helper()
	body, ct := multipartBody(t, filename, data, partHeader, fields)
	return n.Do(t, "POST", "/api/v1/assets", token, body, http.Header{"Content-Type": {ct}})
}

type list struct {
	Items      []nodetest.Asset `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

func listAssets(t *testing.T, n *nodetest.Node, token, query string) list {
	t.Helper()
	r := n.Get(t, "/api/v1/assets?"+query, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list ?%s: %d %s", query, r.Status, r.Body)
	}
	var l list
	r.JSON(t, &l)
	return l
}

// assertNothingKept checks that a refused upload left no asset, no stored
// original and no spool file.
func assertNothingKept(t *testing.T, n *nodetest.Node, wantAssets int) {
	t.Helper()
	if l := listAssets(t, n, n.Token, "limit=1000"); len(l.Items) != wantAssets {
		t.Errorf("%d assets listed, want %d", len(l.Items), wantAssets)
	}
	if got := len(n.Originals(t)); got != wantAssets && wantAssets == 0 {
		t.Errorf("%d files under blobs/originals, want none: %v", got, n.Originals(t))
	}
	if sp := nodetest.Files(t, filepath.Join(n.DataDir, "spool")); len(sp) != 0 {
		t.Errorf("spool files left behind: %v", sp)
	}
}

func TestIngestJPEGAndServeOriginal(t *testing.T) {
	nodetest.EachBackend(t, testIngestJPEGAndServeOriginal)
}

func testIngestJPEGAndServeOriginal(t *testing.T) {
	n := nodetest.Start(t)
	data := nodetest.JPEG(t, 320, 240, 1)
	wantMD5, wantSHA := sums(data)
	before := time.Now().Add(-time.Second)

	r := n.Upload(t, n.Token, "Starry Night.jpg", data, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	a := r.Asset(t)
	if a.SHA256 != wantSHA || a.MD5 != wantMD5 || a.Size != int64(len(data)) {
		t.Errorf("asset sha256 %s md5 %s size %d; want %s %s %d", a.SHA256, a.MD5, a.Size, wantSHA, wantMD5, len(data))
	}
	if a.Kind != "image" || a.Format != "jpg" || a.ContentType != "image/jpeg" {
		t.Errorf("asset kind %q format %q content_type %q; want image, jpg, image/jpeg", a.Kind, a.Format, a.ContentType)
	}
	if a.Filename != "Starry Night.jpg" || a.Project != "default" || a.State != "stored" || a.Error != nil {
		t.Errorf("asset filename %q project %q state %q error %v", a.Filename, a.Project, a.State, a.Error)
	}
	created, err := time.Parse(time.RFC3339, a.CreatedAt)
	if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("created_at %q is not an RFC 3339 time of now (%v)", a.CreatedAt, err)
	}
	if _, err := time.Parse(time.RFC3339, a.UpdatedAt); err != nil {
		t.Errorf("updated_at %q: %v", a.UpdatedAt, err)
	}
	self := n.URL + "/api/v1/assets/" + a.ID
	if a.Links["self"] != self || a.Links["original"] != self+"/original" {
		t.Errorf("links = %v", a.Links)
	}
	if loc := r.Header.Get("Location"); loc != self {
		t.Errorf("Location = %q, want %q", loc, self)
	}
	// Every field of API.md's asset object is present.
	var raw map[string]any
	r.JSON(t, &raw)
	for _, k := range []string{"id", "filename", "size", "md5", "sha256", "content_type", "kind", "format",
		"pronom", "state", "error", "project", "created_at", "updated_at", "links"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("asset JSON lacks %q: %s", k, r.Body)
		}
	}

	if g := n.Get(t, "/api/v1/assets/"+a.ID, n.Token, nil); g.Status != 200 || g.Asset(t).SHA256 != wantSHA {
		t.Errorf("GET asset: %d %s", g.Status, g.Body)
	}

	orig := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, nil)
	if orig.Status != 200 || !bytes.Equal(orig.Body, data) {
		t.Fatalf("GET original: %d, %d bytes, identical %v", orig.Status, len(orig.Body), bytes.Equal(orig.Body, data))
	}
	h := orig.Header
	if h.Get("Content-Type") != "image/jpeg" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if h.Get("ETag") != `"`+wantSHA+`"` {
		t.Errorf("ETag = %q, want the quoted sha256", h.Get("ETag"))
	}
	if h.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges = %q", h.Get("Accept-Ranges"))
	}
	lm, err := http.ParseTime(h.Get("Last-Modified"))
	if err != nil || lm.Sub(created.Truncate(time.Second)).Abs() > time.Second {
		t.Errorf("Last-Modified = %q (%v), want the creation time %v", h.Get("Last-Modified"), err, created)
	}
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "inline" || params["filename"] != "Starry Night.jpg" {
		t.Errorf("Content-Disposition = %q", h.Get("Content-Disposition"))
	}
	dl := n.Get(t, "/api/v1/assets/"+a.ID+"/original?download=1", n.Token, nil)
	if disp, params, _ := mime.ParseMediaType(dl.Header.Get("Content-Disposition")); disp != "attachment" || params["filename"] != "Starry Night.jpg" {
		t.Errorf("?download=1 Content-Disposition = %q", dl.Header.Get("Content-Disposition"))
	}

	rg := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, http.Header{"Range": {"bytes=0-99"}})
	if rg.Status != http.StatusPartialContent || !bytes.Equal(rg.Body, data[:100]) {
		t.Errorf("Range 0-99: %d with %d bytes (first 100 bytes: %v)", rg.Status, len(rg.Body), bytes.Equal(rg.Body, data[:min(100, len(rg.Body))]))
	}
	if cr := rg.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes 0-99/%d", len(data)) {
		t.Errorf("Content-Range = %q", cr)
	}
	tailR := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, http.Header{"Range": {"bytes=-10"}})
	if tailR.Status != 206 || !bytes.Equal(tailR.Body, data[len(data)-10:]) {
		t.Errorf("Range -10: %d, %d bytes", tailR.Status, len(tailR.Body))
	}
	bad := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, http.Header{"Range": {fmt.Sprintf("bytes=%d-", len(data)+10)}})
	if bad.Status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: %d, want 416", bad.Status)
	}

	nm := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, http.Header{"If-None-Match": {`"` + wantSHA + `"`}})
	if nm.Status != http.StatusNotModified || len(nm.Body) != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304 and none", nm.Status, len(nm.Body))
	}
	other := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, http.Header{"If-None-Match": {`"deadbeef"`}})
	if other.Status != 200 {
		t.Errorf("If-None-Match with another tag: %d, want 200", other.Status)
	}

	// The same file through multipart, to a named project: same bytes,
	// one stored blob, a second asset.
	m := uploadMultipart(t, n, n.Token, "copy.jpeg", data, nil, map[string]string{"project": "museum"})
	if m.Status != http.StatusCreated {
		t.Fatalf("multipart POST: %d %s", m.Status, m.Body)
	}
	ma := m.Asset(t)
	if ma.ID == a.ID || ma.SHA256 != wantSHA || ma.Project != "museum" || ma.Filename != "copy.jpeg" || ma.Format != "jpg" {
		t.Errorf("multipart asset = %+v", ma)
	}
	if got := n.Originals(t); len(got) != 1 || filepath.ToSlash(got[0]) != "sha256/"+wantSHA[:2]+"/"+wantSHA[2:4]+"/"+wantSHA {
		t.Errorf("originals = %v, want the one content-addressed file", got)
	}
	assertNothingKept(t, n, 2) // and no spool file
}

func TestUploadRefusals(t *testing.T) {
	n := nodetest.Start(t)
	data := nodetest.JPEG(t, 64, 64, 2)
	post := func(header http.Header, body io.Reader) *nodetest.Response {
		return n.Do(t, "POST", "/api/v1/assets", n.Token, body, header)
	}
	r := post(http.Header{"Content-Type": {"application/octet-stream"}}, bytes.NewReader(data))
	if r.Status != 400 || r.ErrorCode(t) != "missing_filename" {
		t.Errorf("raw body without a filename: %d %s", r.Status, r.Body)
	}
	r = n.Upload(t, n.Token, "empty.jpg", nil, nil)
	if r.Status != 400 || r.ErrorCode(t) != "empty_upload" {
		t.Errorf("empty body: %d %s", r.Status, r.Body)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("project", "x")
	mw.Close()
	r = post(http.Header{"Content-Type": {mw.FormDataContentType()}}, &buf)
	if r.Status != 400 || r.ErrorCode(t) != "missing_file" {
		t.Errorf("multipart without a file: %d %s", r.Status, r.Body)
	}
	// The raw filename may also come as ?filename=.
	r = n.Do(t, "POST", "/api/v1/assets?filename=q.jpg", n.Token, bytes.NewReader(data), nil)
	if r.Status != 201 || r.Asset(t).Filename != "q.jpg" {
		t.Errorf("?filename=: %d %s", r.Status, r.Body)
	}
}

func TestChecksumMismatch(t *testing.T) {
	n := nodetest.Start(t)
	data := nodetest.JPEG(t, 100, 80, 3)
	goodMD5, goodSHA := sums(data)
	wrongMD5, wrongSHA := sums([]byte("other bytes"))
	b64 := func(h string) string { b, _ := hex.DecodeString(h); return base64.StdEncoding.EncodeToString(b) }

	type attempt struct {
		name      string
		multipart bool
		query     string
		header    http.Header
		part      textproto.MIMEHeader
		fields    map[string]string
	}
	cases := func(m5, sha string) []attempt {
		return []attempt{
			{name: "form md5", multipart: true, fields: map[string]string{"md5": m5}},
			{name: "form sha256", multipart: true, fields: map[string]string{"sha256": sha}},
			{name: "part Content-MD5", multipart: true, part: textproto.MIMEHeader{"Content-Md5": {b64(m5)}}},
			{name: "query md5", query: "?md5=" + m5},
			{name: "query sha256", query: "?sha256=" + sha},
			{name: "Content-MD5", header: http.Header{"Content-Md5": {b64(m5)}}},
			{name: "Digest md5", header: http.Header{"Digest": {"md5=" + b64(m5)}}},
			{name: "Digest sha-256", header: http.Header{"Digest": {"sha-256=" + b64(sha)}}},
			{name: "Repr-Digest sha-256", header: http.Header{"Repr-Digest": {"sha-256=:" + b64(sha) + ":"}}},
			{name: "multipart with Repr-Digest", multipart: true, header: http.Header{"Repr-Digest": {"sha-256=:" + b64(sha) + ":"}}},
		}
	}
	send := func(a attempt) *nodetest.Response {
		if a.multipart {
			body, ct := multipartBody(t, "c.jpg", data, a.part, a.fields)
			h := http.Header{"Content-Type": {ct}}
			for k, v := range a.header {
				h[k] = v
			}
			return n.Do(t, "POST", "/api/v1/assets"+a.query, n.Token, body, h)
		}
		h := http.Header{"Content-Disposition": {`attachment; filename="c.jpg"`}}
		for k, v := range a.header {
			h[k] = v
		}
		return n.Do(t, "POST", "/api/v1/assets"+a.query, n.Token, bytes.NewReader(data), h)
	}
	for _, a := range cases(wrongMD5, wrongSHA) {
		r := send(a)
		if r.Status != http.StatusBadRequest || r.ErrorCode(t) != "checksum_mismatch" {
			t.Errorf("%s wrong: %d %s, want 400 checksum_mismatch", a.name, r.Status, r.Body)
		}
	}
	assertNothingKept(t, n, 0)

	r := n.Upload(t, n.Token, "c.jpg", data, http.Header{"Content-Md5": {"not a checksum"}})
	if r.Status != 400 || r.ErrorCode(t) != "invalid_checksum" {
		t.Errorf("malformed Content-MD5: %d %s", r.Status, r.Body)
	}
	assertNothingKept(t, n, 0)

	for i, a := range cases(goodMD5, goodSHA) {
		r := send(a)
		if r.Status != http.StatusCreated {
			t.Errorf("%s right: %d %s, want 201", a.name, r.Status, r.Body)
		}
		if l := listAssets(t, n, n.Token, ""); len(l.Items) != i+1 {
			t.Errorf("after %d good uploads %d assets", i+1, len(l.Items))
		}
	}
}

func TestAuth(t *testing.T) { nodetest.EachBackend(t, testAuth) }

func testAuth(t *testing.T) {
	n := nodetest.Start(t)
	data := nodetest.JPEG(t, 32, 32, 4)
	a := n.MustUpload(t, n.Token, "a.jpg", data)

	// Every authenticated route refuses a request without a token.
	for _, rt := range n.API.Routes() {
		if rt.Scope == "" {
			continue
		}
		path := strings.ReplaceAll(rt.Pattern, "{id}", a.ID)
		r := n.Do(t, rt.Method, path, "", nil, nil)
		if r.Status != http.StatusUnauthorized || r.ErrorCode(t) != "unauthenticated" {
			t.Errorf("%s %s without a token: %d %s, want 401", rt.Method, path, r.Status, r.Body)
		}
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s 401 without WWW-Authenticate", rt.Method, path)
		}
	}
	for _, h := range []string{"Bearer stor_nonsense", "Basic dXNlcjpwYXNz", "Bearer ", n.Token} {
		r := n.Get(t, "/api/v1/assets", "", http.Header{"Authorization": {h}})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", h, r.Status)
		}
	}

	read := n.NewToken(t, []string{"read"}, "")
	if r := n.Upload(t, read, "b.jpg", data, nil); r.Status != http.StatusForbidden || r.ErrorCode(t) != "forbidden" {
		t.Errorf("read-only token POST: %d %s, want 403", r.Status, r.Body)
	}
	if r := n.Do(t, "DELETE", "/api/v1/assets/"+a.ID, read, nil, nil); r.Status != http.StatusForbidden {
		t.Errorf("read-only token DELETE: %d, want 403", r.Status)
	}
	if r := n.Get(t, "/api/v1/assets/"+a.ID+"/original", read, nil); r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Errorf("read token GET original: %d", r.Status)
	}
	write := n.NewToken(t, []string{"write"}, "")
	if r := n.Upload(t, write, "w.jpg", data, nil); r.Status != http.StatusCreated {
		t.Errorf("write token POST: %d %s", r.Status, r.Body)
	}
	if r := n.Get(t, "/api/v1/assets", write, nil); r.Status != http.StatusForbidden {
		t.Errorf("write-only token listing: %d, want 403 (write does not imply read)", r.Status)
	}
	body := strings.NewReader(`{"name":"x","scopes":["admin"]}`)
	if r := n.Do(t, "POST", "/api/v1/tokens", write, body, nil); r.Status != http.StatusForbidden {
		t.Errorf("write token creating a token: %d, want 403", r.Status)
	}
	if r := n.Get(t, "/api/v1/tokens", read, nil); r.Status != http.StatusForbidden {
		t.Errorf("read token listing tokens: %d, want 403", r.Status)
	}
	// Token secrets are never listed.
	r := n.Get(t, "/api/v1/tokens", n.Token, nil)
	if r.Status != 200 || strings.Contains(string(r.Body), read) || strings.Contains(string(r.Body), nodetest.AdminToken) {
		t.Errorf("token list %d leaks a secret: %s", r.Status, r.Body)
	}
	if nodetest.Backend(t) == "postgres" {
		var leaks int
		if err := n.DB.Reader().QueryRowContext(context.Background(), `SELECT count(*) FROM tokens
			WHERE position(? in concat(id, name, secret_hash, scopes, project)) > 0`, read).Scan(&leaks); err != nil || leaks != 0 {
			t.Errorf("a token secret is stored in clear in the database (%d rows, %v)", leaks, err)
		}
	} else if bytes.Contains(mustRead(t, filepath.Join(n.DataDir, "stor.db")), []byte(read)) {
		t.Errorf("a token secret is stored in clear in the database")
	}

	// Revoked and expired tokens are refused.
	var toks struct {
		Items []struct{ ID, Name string }
	}
	r.JSON(t, &toks)
	for _, tk := range toks.Items {
		if tk.Name == "test" {
			n.Do(t, "DELETE", "/api/v1/tokens/"+tk.ID, n.Token, nil, nil)
		}
	}
	if r := n.Get(t, "/api/v1/assets", read, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", r.Status)
	}
	body = strings.NewReader(`{"name":"short","scopes":["read"],"expires_at":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`)
	cr := n.Do(t, "POST", "/api/v1/tokens", n.Token, body, nil)
	var exp struct{ Token string }
	cr.JSON(t, &exp)
	if r := n.Get(t, "/api/v1/assets", exp.Token, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", r.Status)
	}
	for _, bad := range []string{`{"name":"x","scopes":["root"]}`, `{"scopes":["read"]}`, `not json`} {
		if r := n.Do(t, "POST", "/api/v1/tokens", n.Token, strings.NewReader(bad), nil); r.Status != 400 {
			t.Errorf("token body %s: %d, want 400", bad, r.Status)
		} else {
			r.ErrorCode(t)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(path + "-wal")
	return append(b, wal...)
}

func TestProjectToken(t *testing.T) {
	n := nodetest.Start(t)
	mk := func(name, project string, seed int) nodetest.Asset {
		r := n.Upload(t, n.Token, name, nodetest.JPEG(t, 40, 30, seed), nil)
		_ = r
		r = uploadMultipart(t, n, n.Token, name, nodetest.JPEG(t, 40, 30, seed+100), nil, map[string]string{"project": project})
		if r.Status != 201 {
			t.Fatalf("upload to %s: %d %s", project, r.Status, r.Body)
		}
		return r.Asset(t)
	}
	a := mk("a.jpg", "A", 1)
	b := mk("b.jpg", "B", 2)
	tokA := n.NewToken(t, []string{"read", "write"}, "A")

	for _, p := range []string{"", "/original", "/events"} {
		r := n.Get(t, "/api/v1/assets/"+b.ID+p, tokA, nil)
		if r.Status != http.StatusNotFound || r.ErrorCode(t) != "not_found" {
			t.Errorf("project-A token GET asset of B%s: %d %s, want 404", p, r.Status, r.Body)
		}
		if r := n.Get(t, "/api/v1/assets/"+a.ID+p, tokA, nil); r.Status != 200 {
			t.Errorf("project-A token GET asset of A%s: %d", p, r.Status)
		}
	}
	if r := n.Do(t, "DELETE", "/api/v1/assets/"+b.ID, tokA, nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("project-A token DELETE asset of B: %d, want 404", r.Status)
	}
	for _, q := range []string{"", "project=B", "sha256=" + b.SHA256, "kind=image"} {
		for _, it := range listAssets(t, n, tokA, q).Items {
			if it.Project != "A" {
				t.Errorf("project-A token listing ?%s shows %s of project %s", q, it.ID, it.Project)
			}
		}
	}
	if l := listAssets(t, n, tokA, ""); len(l.Items) != 1 || l.Items[0].ID != a.ID {
		t.Errorf("project-A listing = %d items, want just its asset", len(l.Items))
	}
	// Uploads of a project token land in its project; another project is refused.
	if r := n.Upload(t, tokA, "c.jpg", nodetest.JPEG(t, 8, 8, 9), nil); r.Status != 201 || r.Asset(t).Project != "A" {
		t.Errorf("project-A token upload: %d %s", r.Status, r.Body)
	}
	r := uploadMultipart(t, n, tokA, "d.jpg", nodetest.JPEG(t, 8, 8, 10), nil, map[string]string{"project": "B"})
	if r.Status != http.StatusForbidden {
		t.Errorf("project-A token upload to B: %d %s, want 403", r.Status, r.Body)
	}
	if l := listAssets(t, n, n.Token, "project=B"); len(l.Items) != 1 {
		t.Errorf("project B has %d assets after the refused upload, want 1", len(l.Items))
	}
}

func TestIdempotencyKey(t *testing.T) { nodetest.EachBackend(t, testIdempotencyKey) }

func testIdempotencyKey(t *testing.T) {
	n := nodetest.Start(t)
	data := nodetest.JPEG(t, 50, 50, 5)
	key := http.Header{"Idempotency-Key": {"upload-42"}}
	first := n.Upload(t, n.Token, "i.jpg", data, key)
	second := n.Upload(t, n.Token, "i.jpg", data, key)
	if first.Status != 201 || second.Status != 201 {
		t.Fatalf("statuses %d, %d", first.Status, second.Status)
	}
	if a, b := first.Asset(t), second.Asset(t); a.ID != b.ID {
		t.Errorf("same Idempotency-Key gave two assets: %s, %s", a.ID, b.ID)
	}
	if second.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay not marked Idempotent-Replayed")
	}
	// Many retries at once still make one asset.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := n.Upload(t, n.Token, "j.jpg", data, http.Header{"Idempotency-Key": {"race"}})
			if r.Status == 201 {
				ids[i] = r.Asset(t).ID
			} else {
				t.Errorf("concurrent retry: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("concurrent retries with one key gave different assets: %v", ids)
			break
		}
	}
	if l := listAssets(t, n, n.Token, ""); len(l.Items) != 2 {
		t.Errorf("%d assets, want 2 (one per key)", len(l.Items))
	}
	// Another token's key is its own.
	other := n.NewToken(t, []string{"write", "read"}, "")
	if r := n.Upload(t, other, "i.jpg", data, key); r.Status != 201 || r.Asset(t).ID == first.Asset(t).ID {
		t.Errorf("another token's same key replayed the first token's asset")
	}
}

func TestConcurrentSameBytes(t *testing.T) { nodetest.EachBackend(t, testConcurrentSameBytes) }

func testConcurrentSameBytes(t *testing.T) {
	n := nodetest.Start(t)
	data := nodetest.JPEG(t, 400, 300, 6)
	_, sha := sums(data)
	var wg sync.WaitGroup
	ids := make(chan string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := n.Upload(t, n.Token, fmt.Sprintf("same-%d.jpg", i), data, nil)
			if r.Status != 201 {
				t.Errorf("upload %d: %d %s", i, r.Status, r.Body)
				return
			}
			ids <- r.Asset(t).ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct assets, want 20", len(seen))
	}
	if l := listAssets(t, n, n.Token, "sha256="+sha); len(l.Items) != 20 {
		t.Errorf("%d assets with the sha256, want 20", len(l.Items))
	}
	if got := n.Originals(t); len(got) != 1 {
		t.Errorf("%d files under blobs/originals, want exactly 1: %v", len(got), got)
	}
	assertNothingKept(t, n, 20)
	// Every one of them serves the bytes.
	for id := range seen {
		if r := n.Get(t, "/api/v1/assets/"+id+"/original", n.Token, nil); !bytes.Equal(r.Body, data) {
			t.Errorf("asset %s serves %d other bytes", id, len(r.Body))
		}
	}
}

func TestHostileFilenames(t *testing.T) {
	n := nodetest.Start(t)
	wd, _ := os.Getwd()
	wdBefore := nodetest.Files(t, wd)
	parentBefore, _ := os.ReadDir(filepath.Dir(n.DataDir))

	names := []string{
		"../../etc/passwd",
		"/etc/passwd",
		`..\..\windows\win.ini`,
		"nul\x00byte.jpg",
		strings.Repeat("a", 5000) + ".jpg",
		strings.Repeat("日", 5000),
		"ctl\x01\x07\x1b[31mred\r\nX-Injected: 1.jpg",
		"invoice\u202Egpj.exe",
		"bad utf8 \xff\xfe.jpg",
		"quote\"back\\slash;semi.jpg",
		"",
	}
	seed := 0
	for _, door := range []string{"raw", "multipart"} {
		for _, name := range names {
			seed++
			data := nodetest.JPEG(t, 16, 16, seed)
			var r *nodetest.Response
			if door == "raw" {
				q := ""
				if name == "" {
					q = "?filename=" // still no name: refused below
				}
				h := http.Header{"Content-Disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": name})}}
				r = n.Do(t, "POST", "/api/v1/assets"+q, n.Token, bytes.NewReader(data), h)
				if name == "" {
					if r.Status != 400 {
						t.Errorf("raw upload with no filename: %d", r.Status)
					}
					continue
				}
			} else {
				r = uploadMultipart(t, n, n.Token, name, data, nil, nil)
			}
			if r.Status != http.StatusCreated {
				t.Errorf("%s upload of %.40q: %d %.300s", door, name, r.Status, r.Body)
				continue
			}
			want := ingest.CleanFilename(name)
			if name != "" && !strings.Contains(name, "\xff") && !strings.Contains(name, "\x00") && len(name) <= 4096 && want != name {
				t.Errorf("CleanFilename changed the valid name %.40q to %.40q", name, want)
			}
			a := r.Asset(t)
			if a.Filename != want {
				t.Errorf("%s: filename %.60q came back as %.60q", door, want, a.Filename)
			}
			if g := n.Get(t, "/api/v1/assets/"+a.ID, n.Token, nil).Asset(t); g.Filename != want {
				t.Errorf("%s: GET filename %.60q, want %.60q", door, g.Filename, want)
			}
			o := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, nil)
			if o.Status != 200 || !bytes.Equal(o.Body, data) {
				t.Errorf("%s: original of %.40q: %d", door, name, o.Status)
			}
			cd := o.Header.Get("Content-Disposition")
			if strings.ContainsAny(cd, "\x00\r\n") || o.Header.Get("X-Injected") != "" {
				t.Errorf("%s: Content-Disposition carries raw control characters: %q", door, cd)
			}
			if _, p, err := mime.ParseMediaType(cd); err != nil || p["filename"] != want {
				t.Errorf("%s: Content-Disposition %.200q gives filename %.60q (%v), want %.60q", door, cd, p["filename"], err, want)
			}
		}
	}
	// 5,000 characters are cut to CleanFilename's 4 KiB, on a rune boundary.
	if got := ingest.CleanFilename(strings.Repeat("日", 5000)); len(got) > 4096 || !strings.HasPrefix(strings.Repeat("日", 5000), got) {
		t.Errorf("CleanFilename of 5,000 runes gave %d bytes", len(got))
	}

	// Nothing was written outside the data dir, and nothing in it is named
	// after a client's filename.
	parentAfter, _ := os.ReadDir(filepath.Dir(n.DataDir))
	if len(parentAfter) != len(parentBefore) {
		t.Errorf("entries beside the data dir changed: %v -> %v", parentBefore, parentAfter)
	}
	if after := nodetest.Files(t, wd); !slices.Equal(after, wdBefore) {
		t.Errorf("files appeared in the working directory")
	}
	for _, f := range nodetest.Files(t, n.DataDir) {
		f = filepath.ToSlash(f)
		// Derivatives live at keys made of the asset id and a fixed name
		// (a derivative being written is the store's .tmp-N beside it);
		// tasks still running have scratch files under tmp/.
		ok := f == "stor.db" || f == "stor.db-wal" || f == "stor.db-shm" || f == "signing.key" ||
			(strings.HasPrefix(f, "blobs/originals/sha256/") && len(filepath.Base(f)) == 64) ||
			regexp.MustCompile(`^blobs/derivatives/[0-9a-f]{2}/[0-9a-f-]{36}/([a-z0-9-]+|\.tmp-[0-9]+)$`).MatchString(f) ||
			strings.HasPrefix(f, "tmp/")
		if !ok {
			t.Errorf("unexpected file in the data dir: %q", f)
		}
	}
}

func TestMaxUploadSize(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.MaxUploadSize = 1 << 20 })
	jpegHead := nodetest.JPEG(t, 8, 8, 1)
	big := func(size int) []byte {
		b := make([]byte, size)
		copy(b, jpegHead)
		for i := len(jpegHead); i < size; i++ {
			b[i] = byte(i * 31)
		}
		return b
	}
	for _, c := range []struct {
		name string
		do   func() *nodetest.Response
	}{
		{"3 MiB raw", func() *nodetest.Response { return n.Upload(t, n.Token, "big.jpg", big(3<<20), nil) }},
		{"1 MiB + 1 raw", func() *nodetest.Response { return n.Upload(t, n.Token, "big.jpg", big(1<<20+1), nil) }},
		{"1.5 MiB chunked", func() *nodetest.Response {
			// No Content-Length: the server only finds out while reading.
			return n.Do(t, "POST", "/api/v1/assets", n.Token, io.MultiReader(bytes.NewReader(big(3<<19))),
				http.Header{"Content-Disposition": {`attachment; filename="big.jpg"`}})
		}},
		{"1.5 MiB multipart", func() *nodetest.Response {
			return uploadMultipart(t, n, n.Token, "big.jpg", big(3<<19), nil, nil)
		}},
	} {
		r := c.do()
		if r.Status != http.StatusRequestEntityTooLarge || r.ErrorCode(t) != "upload_too_large" {
			t.Errorf("%s: %d %.200s, want 413 upload_too_large", c.name, r.Status, r.Body)
		}
		assertNothingKept(t, n, 0)
	}
	// Exactly the maximum is fine.
	if r := n.Upload(t, n.Token, "max.jpg", big(1<<20), nil); r.Status != 201 {
		t.Errorf("upload of exactly the maximum: %d %s", r.Status, r.Body)
	}
}

func TestFormats(t *testing.T) {
	n := nodetest.Start(t)
	junk := bytes.Repeat([]byte("not a known format \x01\x02\x03"), 100)
	r := n.Upload(t, n.Token, "data.bin", junk, nil)
	if r.Status != http.StatusUnsupportedMediaType || r.ErrorCode(t) != "unsupported_format" {
		t.Errorf("unknown bytes: %d %s, want 415 unsupported_format", r.Status, r.Body)
	}
	r = uploadMultipart(t, n, n.Token, "data.bin", junk, nil, nil)
	if r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("unknown bytes, multipart: %d, want 415", r.Status)
	}
	assertNothingKept(t, n, 0)

	r = n.Do(t, "POST", "/api/v1/assets?ignore_unsupported=1", n.Token, bytes.NewReader(junk),
		http.Header{"Content-Disposition": {`attachment; filename="data.bin"`}})
	if r.Status != 201 {
		t.Fatalf("ignore_unsupported=1: %d %s", r.Status, r.Body)
	}
	if a := r.Asset(t); a.Kind != "other" || a.ContentType != "application/octet-stream" {
		t.Errorf("ignore_unsupported asset: kind %q content_type %q, want other, application/octet-stream", a.Kind, a.ContentType)
	}
	r = uploadMultipart(t, n, n.Token, "data2.bin", append(junk, 'x'), nil, map[string]string{"ignore_unsupported": "1"})
	if r.Status != 201 || r.Asset(t).Kind != "other" {
		t.Errorf("ignore_unsupported=1 form field: %d %s", r.Status, r.Body)
	}

	// Magic bytes win over the extension.
	p := n.MustUpload(t, n.Token, "photo.jpg", nodetest.PNG(t, 20, 20, 1))
	if p.Format != "png" || p.ContentType != "image/png" || p.Kind != "image" {
		t.Errorf("a PNG named .jpg: format %q content_type %q kind %q, want png image/png image", p.Format, p.ContentType, p.Kind)
	}
	j := n.MustUpload(t, n.Token, "picture.png", nodetest.JPEG(t, 20, 20, 1))
	if j.Format != "jpg" || j.ContentType != "image/jpeg" {
		t.Errorf("a JPEG named .png: format %q content_type %q, want jpg image/jpeg", j.Format, j.ContentType)
	}
	noext := n.MustUpload(t, n.Token, "no extension", nodetest.JPEG(t, 20, 20, 2))
	if noext.Format != "jpg" {
		t.Errorf("a JPEG without an extension: format %q", noext.Format)
	}
	if o := n.Get(t, "/api/v1/assets/"+p.ID+"/original", n.Token, nil); o.Header.Get("Content-Type") != "image/png" {
		t.Errorf("original of the PNG served as %q", o.Header.Get("Content-Type"))
	}
}

func TestListPaging(t *testing.T) { nodetest.EachBackend(t, testListPaging) }

func testListPaging(t *testing.T) {
	n := nodetest.Start(t)
	var want []string
	for i := range 120 {
		want = append(want, n.MustUpload(t, n.Token, fmt.Sprintf("p%03d.jpg", i), nodetest.JPEG(t, 8, 8, i)).ID)
	}
	slices.Reverse(want) // newest first
	var got []string
	cursor, pages := "", 0
	for {
		q := "limit=50"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		l := listAssets(t, n, n.Token, q)
		pages++
		if len(l.Items) > 50 {
			t.Fatalf("page of %d items with limit=50", len(l.Items))
		}
		for _, it := range l.Items {
			got = append(got, it.ID)
		}
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging gave %d ids (%d pages), want all 120 once, newest first", len(got), pages)
	}
	if pages != 3 {
		t.Errorf("%d pages for 120 assets at 50, want 3", pages)
	}
	// The default limit is 50; limits and cursors are checked.
	if l := listAssets(t, n, n.Token, ""); len(l.Items) != 50 || l.NextCursor == nil {
		t.Errorf("default listing: %d items", len(l.Items))
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=x", "cursor=bogus", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("-5"))} {
		r := n.Get(t, "/api/v1/assets?"+q, n.Token, nil)
		if r.Status != 400 {
			t.Errorf("?%s: %d, want 400", q, r.Status)
		} else {
			r.ErrorCode(t)
		}
	}
	// An upload between pages does not disturb the pages after it.
	l1 := listAssets(t, n, n.Token, "limit=50")
	n.MustUpload(t, n.Token, "late.jpg", nodetest.JPEG(t, 8, 8, 999))
	l2 := listAssets(t, n, n.Token, "limit=50&cursor="+url.QueryEscape(*l1.NextCursor))
	if len(l2.Items) != 50 || l2.Items[0].ID != want[50] {
		t.Errorf("second page after a new upload starts at %v, want %s", l2.Items[0].ID, want[50])
	}
}

func TestListFilters(t *testing.T) { nodetest.EachBackend(t, testListFilters) }

func testListFilters(t *testing.T) {
	// An API-only node (no workers): the assets stay "stored", so the state
	// filter is tested without racing the processing tasks.
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	img := n.MustUpload(t, n.Token, "Sunflowers.jpg", nodetest.JPEG(t, 8, 8, 1))
	png := n.MustUpload(t, n.Token, "water lilies.png", nodetest.PNG(t, 8, 8, 2))
	r := n.Do(t, "POST", "/api/v1/assets?ignore_unsupported=1&project=archive", n.Token,
		strings.NewReader("plain text notes"), http.Header{"Content-Disposition": {`attachment; filename="notes.xyz"`}})
	other := r.Asset(t)
	gone := n.MustUpload(t, n.Token, "gone.jpg", nodetest.JPEG(t, 8, 8, 3))
	if r := n.Do(t, "DELETE", "/api/v1/assets/"+gone.ID, n.Token, nil, nil); r.Status != 200 {
		t.Fatalf("delete: %d", r.Status)
	}
	ids := func(q string) []string {
		var out []string
		for _, it := range listAssets(t, n, n.Token, q).Items {
			out = append(out, it.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"", sorted(img.ID, png.ID, other.ID)},
		{"kind=image", sorted(img.ID, png.ID)},
		{"kind=other", sorted(other.ID)},
		{"kind=video", nil},
		{"format=png", sorted(png.ID)},
		{"state=stored", sorted(img.ID, png.ID, other.ID)},
		{"state=deleted", sorted(gone.ID)},
		{"project=archive", sorted(other.ID)},
		{"project=default", sorted(img.ID, png.ID)},
		{"project=nope", nil},
		{"sha256=" + img.SHA256, sorted(img.ID)},
		{"sha256=" + strings.ToUpper(png.SHA256), sorted(png.ID)},
		{"sha256=" + gone.SHA256, nil},
		{"q=sunflower", sorted(img.ID)},
		{"q=%25", nil}, // a literal %, not a wildcard
		{"kind=image&project=default&format=jpg", sorted(img.ID)},
	} {
		if got := ids(c.q); !slices.Equal(got, c.want) {
			t.Errorf("?%s = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestSoftDelete(t *testing.T) { nodetest.EachBackend(t, testSoftDelete) }

func testSoftDelete(t *testing.T) {
	// No workers: the history holds exactly what the API did.
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	data := nodetest.JPEG(t, 30, 30, 7)
	a := n.MustUpload(t, n.Token, "d.jpg", data)
	r := n.Do(t, "DELETE", "/api/v1/assets/"+a.ID, n.Token, nil, nil)
	if r.Status != 200 || r.Asset(t).State != "deleted" {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if l := listAssets(t, n, n.Token, ""); len(l.Items) != 0 {
		t.Errorf("deleted asset still listed")
	}
	g := n.Get(t, "/api/v1/assets/"+a.ID, n.Token, nil)
	var raw map[string]any
	g.JSON(t, &raw)
	if g.Status != 200 || raw["state"] != "deleted" || raw["deleted_at"] == nil {
		t.Errorf("GET deleted asset: %d %s", g.Status, g.Body)
	}
	if o := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, nil); o.Status != 404 {
		t.Errorf("original of a deleted asset: %d, want 404", o.Status)
	} else {
		o.ErrorCode(t)
	}
	// Deleting again is harmless; the bytes stay until a purge.
	if r := n.Do(t, "DELETE", "/api/v1/assets/"+a.ID, n.Token, nil, nil); r.Status != 200 {
		t.Errorf("second DELETE: %d", r.Status)
	}
	if len(n.Originals(t)) != 1 {
		t.Errorf("soft delete removed the stored bytes")
	}
	ev := n.Get(t, "/api/v1/assets/"+a.ID+"/events", n.Token, nil)
	var events struct {
		Items []struct{ Type, Actor, TxID string }
	}
	ev.JSON(t, &events)
	var types []string
	for _, e := range events.Items {
		types = append(types, e.Type)
		if e.TxID == "" || e.Actor == "" {
			t.Errorf("event %s without txid or actor", e.Type)
		}
	}
	if !slices.Equal(types, []string{"ingested", "deleted"}) {
		t.Errorf("events = %v, want [ingested deleted]", types)
	}
	if r := n.Do(t, "DELETE", "/api/v1/assets/00000000-0000-0000-0000-000000000000", n.Token, nil, nil); r.Status != 404 {
		t.Errorf("DELETE of an unknown id: %d", r.Status)
	}
}

func TestHealthRequestIDAndErrors(t *testing.T) {
	n := nodetest.Start(t)
	h := n.Get(t, "/healthz", "", nil)
	var health map[string]string
	h.JSON(t, &health)
	if h.Status != 200 || health["status"] != "ok" {
		t.Errorf("/healthz: %d %s", h.Status, h.Body)
	}
	rd := n.Get(t, "/readyz", "", nil)
	var ready map[string]string
	rd.JSON(t, &ready)
	if rd.Status != 200 || ready["database"] != "ok" || ready["storage"] != "ok" {
		t.Errorf("/readyz: %d %s", rd.Status, rd.Body)
	}

	// The API description is public.
	oa := n.Get(t, "/api/openapi.json", "", nil)
	var doc struct{ OpenAPI string }
	oa.JSON(t, &doc)
	if oa.Status != 200 || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("/api/openapi.json: %d, openapi %q", oa.Status, doc.OpenAPI)
	}

	// Every response carries X-Request-ID: successes, errors, 304s, unknown paths.
	a := n.MustUpload(t, n.Token, "r.jpg", nodetest.JPEG(t, 8, 8, 1))
	seen := map[string]bool{}
	for _, c := range []struct {
		method, path, token string
		header              http.Header
		status              int
	}{
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/api/v1/assets", "", nil, 401},
		{"GET", "/api/v1/assets/" + a.ID, nodetest.AdminToken, nil, 200},
		{"GET", "/api/v1/assets/nope", nodetest.AdminToken, nil, 404},
		{"GET", "/api/v1/assets/" + a.ID + "/original", nodetest.AdminToken, http.Header{"If-None-Match": {`"` + a.SHA256 + `"`}}, 304},
		{"GET", "/api/v1/no-such-endpoint", nodetest.AdminToken, nil, 404},
		{"POST", "/api/v1/assets", nodetest.AdminToken, nil, 400},
	} {
		r := n.Do(t, c.method, c.path, c.token, nil, c.header)
		if r.Status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, r.Status, c.status)
		}
		id := r.Header.Get("X-Request-ID")
		if id == "" || seen[id] {
			t.Errorf("%s %s: X-Request-ID %q missing or reused", c.method, c.path, id)
		}
		seen[id] = true
		if r.Status >= 400 {
			r.ErrorCode(t) // the one error shape
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s error Content-Type %q", c.method, c.path, ct)
			}
		}
		sent := n.Do(t, c.method, c.path, c.token, nil, merge(c.header, http.Header{"X-Request-Id": {"client-chosen-id-" + fmt.Sprint(len(seen))}}))
		if got := sent.Header.Get("X-Request-ID"); got != "client-chosen-id-"+fmt.Sprint(len(seen)) {
			t.Errorf("%s %s: sent X-Request-ID not echoed, got %q", c.method, c.path, got)
		}
	}
	// An unreasonable id is replaced, not echoed.
	long := strings.Repeat("x", 500)
	if got := n.Get(t, "/healthz", "", http.Header{"X-Request-Id": {long}}).Header.Get("X-Request-ID"); got == long || got == "" {
		t.Errorf("a 500-character X-Request-ID was echoed (or none given)")
	}

	// The logs carry the request id and the transaction id.
	r := n.Upload(t, n.Token, "logged.jpg", nodetest.JPEG(t, 8, 8, 2), http.Header{"X-Request-Id": {"trace-me-123"}})
	var lines []string
	for _, l := range strings.Split(n.Logs(), "\n") {
		if strings.Contains(l, `"request_id":"trace-me-123"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 || !strings.Contains(strings.Join(lines, "\n"), r.Asset(t).ID) {
		t.Errorf("log lines of request trace-me-123 do not show the upload: %q", lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"txid":"`) {
			t.Errorf("log line without txid: %s", l)
		}
	}
}

func merge(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}
