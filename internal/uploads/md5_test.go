package uploads_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stor/internal/tusclient"
)

// With STOR_INGEST_MD5=deferred an upload is received with SHA-256 only
// (the ingested event has no md5) and the "md5" task fills the MD5 in
// afterwards, for tus (with a resume in the middle) and POST alike. A
// client that sends an MD5 still has it verified before anything is
// stored, on every door: tus metadata, Content-MD5, and a multipart md5
// field that comes after the file.
func TestDeferredMD5(t *testing.T) {
	dir := t.TempDir()
	const size = 5_000_011
	path, _ := randomFile(t, dir, size, 11)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	want := hex.EncodeToString(sum[:])
	s := startServer(t, filepath.Join(dir, "data"), "STOR_INGEST_MD5=deferred", "STOR_WORKERS=2")
	c := s.client()
	ctx := context.Background()

	// tus, cut once mid-body, the server restarted, and resumed.
	loc, err := c.Create(ctx, size, fileMeta("deferred.bin"), "")
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.NewReader(data)
	if _, _, err := c.Patch(ctx, loc, 0, &cutReader{r: io.NewSectionReader(f, 0, size), left: 2_000_000}, size); err == nil {
		t.Fatal("cut PATCH succeeded")
	}
	offsetWhenSettled(t, c, loc)
	// A restart: the SHA-256-only state is read back from disk.
	s.kill()
	s.start()
	off := offsetWhenSettled(t, c, loc)
	h, err := c.Upload(ctx, loc, f, off, size, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	tusID := h.Get("Stor-Asset-Id")
	s.waitMD5(t, tusID, want, "original")

	// POST without a checksum: deferred the same way; the bytes are known,
	// so the MD5 is taken from the first asset rather than read again.
	postID := s.post(t, "raw.bin", data, nil, http.StatusCreated)
	s.waitMD5(t, postID, want, "asset with the same sha256")

	// A client MD5 is verified at once, whatever the mode.
	wrong := md5.Sum([]byte("not the file"))
	wrongHex := hex.EncodeToString(wrong[:])
	meta := fileMeta("checked.bin")
	meta["md5"] = wrongHex
	loc, err = c.Create(ctx, size, meta, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(ctx, loc, bytes.NewReader(data), 0, size, size, nil)
	var te *tusclient.Error
	if !errors.As(err, &te) || te.Status != http.StatusBadRequest {
		t.Fatalf("tus upload with a wrong md5: %v, want 400", err)
	}
	s.post(t, "raw.bin", data, http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(wrong[:])}}, http.StatusBadRequest)
	s.postMultipart(t, data, wrongHex, http.StatusBadRequest)
	id := s.postMultipart(t, data, want, http.StatusCreated)
	if a := s.assetMD5(t, id); a != want {
		t.Fatalf("md5 sent after the file: asset md5 %q at once, want %q", a, want)
	}
	meta["md5"] = want
	loc, err = c.Create(ctx, size, meta, "")
	if err != nil {
		t.Fatal(err)
	}
	if h, err = c.Upload(ctx, loc, bytes.NewReader(data), 0, size, size, nil); err != nil {
		t.Fatal(err)
	}
	if a := s.assetMD5(t, h.Get("Stor-Asset-Id")); a != want {
		t.Fatalf("tus with md5 metadata: asset md5 %q at once, want %q", a, want)
	}
}

// waitMD5 checks that the asset was ingested without an MD5 and waits
// for the md5 task to record the right one.
func (s *server) waitMD5(t *testing.T, id, want, from string) {
	t.Helper()
	evs := s.events(t, id)
	if len(evs) == 0 || evs[0].Type != "ingested" || evs[0].Detail["md5"] != "" {
		t.Fatalf("asset %s: first event %+v, want ingested without md5", id, evs)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got := s.assetMD5(t, id); got != "" {
			if got != want {
				t.Fatalf("asset %s: md5 %s, want %s", id, got, want)
			}
			for _, e := range s.events(t, id) {
				if e.Type == "checksum.md5" && e.Detail["md5"] == want && e.Actor == "system" && e.Detail["from"] == from {
					return
				}
			}
			t.Fatalf("asset %s: md5 set without a checksum.md5 event: %+v", id, s.events(t, id))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("asset %s: md5 still empty after 60 s", id)
}

type event struct {
	Type   string         `json:"type"`
	Actor  string         `json:"actor"`
	Detail map[string]any `json:"detail"`
}

func (s *server) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url()+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func (s *server) events(t *testing.T, id string) []event {
	var r struct{ Items []event }
	s.getJSON(t, "/api/v1/assets/"+id+"/events", &r)
	return r.Items
}

func (s *server) assetMD5(t *testing.T, id string) string {
	var a struct{ MD5 string }
	s.getJSON(t, "/api/v1/assets/"+id, &a)
	return a.MD5
}

// post sends a raw-body POST /api/v1/assets and returns the asset id (or
// "" when the status is not 201, after checking it is the one wanted).
func (s *server) post(t *testing.T, name string, data []byte, h http.Header, status int) string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url()+"/api/v1/assets?ignore_unsupported=1", bytes.NewReader(data))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
	return s.send(t, req, status)
}

// postMultipart sends the file first and its md5 field after it.
func (s *server) postMultipart(t *testing.T, data []byte, md5hex string, status int) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "form.bin")
	fw.Write(data)
	mw.WriteField("ignore_unsupported", "1")
	mw.WriteField("md5", md5hex)
	mw.Close()
	req, _ := http.NewRequest("POST", s.url()+"/api/v1/assets", &body)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return s.send(t, req, status)
}

func (s *server) send(t *testing.T, req *http.Request, status int) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("POST %s: %s %s, want %d", req.URL, resp.Status, b, status)
	}
	var a struct{ ID string }
	json.Unmarshal(b, &a)
	return a.ID
}
