package uploads_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/node"
)

// fetchNode is an in-process node serving the API on a test server.
func fetchNode(t *testing.T, allowPrivate bool, exempt ...string) (*node.Node, *httptest.Server) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Workers = 0
	cfg.FetchAllowPrivate = allowPrivate
	cfg.FetchTimeout = 20 * time.Second
	ctx := context.Background()
	n, err := node.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	n.Fetch.Policy.Exempt = exempt
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), testToken); err != nil {
		t.Fatal(err)
	}
	if err := n.Fetch.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.API.Handler())
	t.Cleanup(func() { srv.Close(); n.Fetch.Stop(); n.Close() })
	return n, srv
}

func postFromURL(t *testing.T, api, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", api+"/api/v1/assets/from-url", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	m, _ := e["message"].(string)
	return c + ": " + m
}

// Every way of pointing the fetch at an internal address is refused, with
// the first hop, a redirect, IPv6 and a name that resolves to loopback.
// The policy is the default (STOR_FETCH_ALLOW_PRIVATE false); the one
// loopback server the redirect tests need is exempted by its exact
// address, so the refusals below are of the redirect targets.
func TestFromURLRefusesInternalAddresses(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret")
	}))
	defer target.Close()
	_, port, _ := strings.Cut(target.Listener.Addr().String(), ":")
	var redirector *httptest.Server
	redirector = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to-10":
			http.Redirect(w, r, "http://10.0.0.1/x", http.StatusFound)
		case r.URL.Path == "/to-localhost":
			http.Redirect(w, r, "http://localhost:"+port+"/", http.StatusFound)
		case r.URL.Path == "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusMovedPermanently)
		case r.URL.Path == "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			var n int
			fmt.Sscanf(r.URL.Path, "/loop/%d", &n)
			http.Redirect(w, r, fmt.Sprintf("/loop/%d", n+1), http.StatusFound)
		}
	}))
	defer redirector.Close()
	_, api := fetchNode(t, false, redirector.Listener.Addr().String())

	cases := []struct {
		url, code string
		status    int
	}{
		{target.URL + "/", "address_not_allowed", 403},
		{"http://127.0.0.1:" + port + "/", "address_not_allowed", 403},
		{"http://169.254.169.254/latest/meta-data/", "address_not_allowed", 403},
		{"http://[::1]:" + port + "/", "address_not_allowed", 403},
		{"http://[::ffff:127.0.0.1]:" + port + "/", "address_not_allowed", 403},
		{"http://[fd00:ec2::254]/", "address_not_allowed", 403},
		{"http://localhost:" + port + "/", "address_not_allowed", 403},
		{"http://0.0.0.0:" + port + "/", "address_not_allowed", 403},
		{"http://100.64.1.1/", "address_not_allowed", 403},
		{redirector.URL + "/to-10", "address_not_allowed", 403},
		{redirector.URL + "/to-localhost", "address_not_allowed", 403},
		{redirector.URL + "/to-metadata", "address_not_allowed", 403},
		{redirector.URL + "/to-file", "invalid_url", 400},
		{redirector.URL + "/loop/0", "too_many_redirects", 400},
		{"ftp://example.com/x", "invalid_url", 400},
		{"file:///etc/passwd", "invalid_url", 400},
		{"not a url", "invalid_url", 400},
	}
	for _, c := range cases {
		status, out := postFromURL(t, api.URL, `{"url":"`+c.url+`"}`)
		if status != c.status || !strings.HasPrefix(errCode(out), c.code+":") {
			t.Errorf("%s: %d %s, want %d %s", c.url, status, errCode(out), c.status, c.code)
		} else {
			t.Logf("%s: %d %s", c.url, status, errCode(out))
		}
	}
	// Nothing was created by any of them.
	req, _ := http.NewRequest("GET", api.URL+"/api/v1/assets?state=uploading", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"items":[]`) {
		t.Fatalf("refused fetches made assets: %s", b)
	}
}

// With STOR_FETCH_ALLOW_PRIVATE (every server in a test is on loopback,
// so a successful fetch needs it): 202 with the asset uploading and its
// progress, then the asset stored with the right sha256. A download cut
// short leaves the asset failed with the reason. Metadata addresses stay
// refused even then.
func TestFromURLFetches(t *testing.T) {
	body := make([]byte, 8<<20)
	rand.NewChaCha8([32]byte{5, 6}).Read(body)
	sum := sha256.Sum256(body)
	release := make(chan struct{})
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file.bin":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:1<<20])
			w.(http.Flusher).Flush()
			<-release // the client sees the asset uploading meanwhile
			w.Write(body[1<<20:])
		case "/short.bin":
			w.Header().Set("Content-Length", "1000000")
			w.Write(body[:1000])
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer remote.Close()
	defer close(release)
	_, api := fetchNode(t, true)

	status, out := postFromURL(t, api.URL, `{"url":"`+remote.URL+`/file.bin","ignore_unsupported":true}`)
	if status != 202 || out["state"] != "uploading" || out["filename"] != "file.bin" {
		t.Fatalf("from-url: %d %v", status, out)
	}
	id := out["id"].(string)
	waitAsset := func(id string, until func(assetResp) bool) assetResp {
		deadline := time.Now().Add(20 * time.Second)
		for {
			a := getAsset(t, api.URL, id)
			if until(a) {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("asset %s: %+v", id, a)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	a := waitAsset(id, func(a assetResp) bool { return a.Progress != nil && a.Progress.ReceivedBytes >= 1<<20 })
	t.Logf("while fetching: state %s, received %d bytes", a.State, a.Progress.ReceivedBytes)
	release <- struct{}{}
	a = waitAsset(id, func(a assetResp) bool { return a.State != "uploading" })
	if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(body)) || a.State == "failed" {
		t.Fatalf("fetched asset: %+v", a)
	}

	status, out = postFromURL(t, api.URL, `{"url":"`+remote.URL+`/short.bin","filename":"s.bin"}`)
	if status != 202 {
		t.Fatalf("short: %d %v", status, out)
	}
	a = waitAsset(out["id"].(string), func(a assetResp) bool { return a.State != "uploading" })
	if a.State != "failed" || !strings.Contains(a.Error, "cut short") {
		t.Fatalf("a cut download: %+v", a)
	}
	t.Logf("cut download: %s: %s", a.State, a.Error)

	if status, out = postFromURL(t, api.URL, `{"url":"`+remote.URL+`/missing"}`); status != 502 {
		t.Fatalf("404 upstream: %d %v", status, out)
	}
	if status, out = postFromURL(t, api.URL, `{"url":"http://169.254.169.254/"}`); status != 403 {
		t.Fatalf("metadata with private allowed: %d %v", status, out)
	}
}

func getAsset(t *testing.T, api, id string) assetResp {
	t.Helper()
	req, _ := http.NewRequest("GET", api+"/api/v1/assets/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a assetResp
	json.NewDecoder(resp.Body).Decode(&a)
	return a
}
