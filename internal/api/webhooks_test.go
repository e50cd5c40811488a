package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// receiver checks deliveries exactly as docs/api.md tells integrators to:
// parse Stor-Signature "t=UNIX,v1=HEX", recompute HMAC-SHA256(secret,
// t + "." + raw body), compare in constant time, and refuse a timestamp
// more than 5 minutes away.
type receiver struct {
	secret string
	mu     sync.Mutex
	events []map[string]any
	failN  int // answer 500 to the first failN deliveries
	seen   int
}

func verifyStorSignature(secret, header string, body []byte, now time.Time) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return false
	}
	if d := now.Sub(time.Unix(t, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return false // a replay (or a clock far off)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !verifyStorSignature(rc.secret, r.Header.Get("Stor-Signature"), body, time.Now()) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.seen++
	if rc.seen <= rc.failN {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var ev map[string]any
	json.Unmarshal(body, &ev)
	rc.events = append(rc.events, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		out = append(out, e["type"].(string))
	}
	return out
}

func TestWebhooks(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.RetryBase = 20 * time.Millisecond; c.Workers = 2 })
	rc := &receiver{failN: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	b, h := jsonBody(map[string]any{"url": srv.URL + "/hook", "events": []string{"asset.ready", "asset.deleted", "asset.failed"}})
	if r := n.Do(t, "POST", "/api/v1/webhooks", n.NewToken(t, []string{"read", "write"}, ""), b, h); r.Status != http.StatusForbidden {
		t.Fatalf("webhook by a write token: %d", r.Status)
	}
	for _, bad := range []map[string]any{{"url": "ftp://x/", "events": []string{"asset.ready"}}, {"url": srv.URL, "events": []string{"asset.exploded"}}, {"url": srv.URL}} {
		b, h := jsonBody(bad)
		if r := n.Do(t, "POST", "/api/v1/webhooks", n.Token, b, h); r.Status != http.StatusBadRequest {
			t.Fatalf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
	b, h = jsonBody(map[string]any{"url": srv.URL + "/hook", "events": []string{"asset.ready", "asset.deleted", "asset.failed"}})
	r := n.Do(t, "POST", "/api/v1/webhooks", n.Token, b, h)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var hook struct{ ID, Secret string }
	r.JSON(t, &hook)
	if !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("secret %q", hook.Secret)
	}
	rc.mu.Lock()
	rc.secret = hook.Secret
	rc.mu.Unlock()
	if l := n.Get(t, "/api/v1/webhooks", n.Token, nil); l.Status != 200 || strings.Contains(string(l.Body), hook.Secret) || !strings.Contains(string(l.Body), hook.ID) {
		t.Fatalf("list shows the secret or lacks the hook: %s", l.Body)
	}

	a := n.MustUpload(t, n.Token, "w.jpg", nodetest.JPEG(t, 64, 48, 9))
	deadline := time.Now().Add(90 * time.Second)
	for !slicesContains(rc.types(), "asset.ready") {
		if time.Now().After(deadline) {
			t.Fatalf("no asset.ready; deliveries: %s", n.Get(t, "/api/v1/webhooks/"+hook.ID+"/deliveries", n.Token, nil).Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := n.Do(t, "DELETE", "/api/v1/assets/"+a.ID, n.Token, nil, nil); r.Status >= 300 {
		t.Fatalf("delete: %d", r.Status)
	}
	for !slicesContains(rc.types(), "asset.deleted") {
		if time.Now().After(deadline) {
			t.Fatalf("no asset.deleted; deliveries: %s", n.Get(t, "/api/v1/webhooks/"+hook.ID+"/deliveries", n.Token, nil).Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc.mu.Lock()
	ev := rc.events[0]
	rc.mu.Unlock()
	if data, _ := ev["data"].(map[string]any); data["asset_id"] != a.ID || ev["id"] == "" {
		t.Fatalf("event %v", ev)
	}
	// The log: the first delivery took three attempts (two 500s), the
	// second one.
	var log struct {
		Items []struct {
			Event, State string
			Attempts     int
			LastStatus   int `json:"last_status"`
		}
	}
	// The receiver has the event before the delivery is marked delivered:
	// wait for the log to catch up.
	for {
		n.Get(t, "/api/v1/webhooks/"+hook.ID+"/deliveries", n.Token, nil).JSON(t, &log)
		if len(log.Items) == 2 && log.Items[0].State != "pending" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(log.Items) != 2 || log.Items[1].Event != "asset.ready" || log.Items[1].Attempts != 3 || log.Items[1].State != "delivered" ||
		log.Items[0].Event != "asset.deleted" || log.Items[0].Attempts != 1 || log.Items[0].LastStatus != 204 {
		t.Fatalf("delivery log %+v", log.Items)
	}

	// The receiver refuses a replay: a genuine signature over the same body
	// with a timestamp 6 minutes old, and a tampered body.
	body := []byte(`{"id":"x","type":"asset.ready"}`)
	old := time.Now().Add(-6 * time.Minute).Unix()
	m := hmac.New(sha256.New, []byte(hook.Secret))
	m.Write([]byte(strconv.FormatInt(old, 10) + "." + string(body)))
	replay := "t=" + strconv.FormatInt(old, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
	for name, hdr := range map[string]string{"replay": replay} {
		req, _ := http.NewRequest("POST", srv.URL+"/hook", bytes.NewReader(body))
		req.Header.Set("Stor-Signature", hdr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s accepted: %d", name, resp.StatusCode)
		}
	}
	now := time.Now().Unix()
	m = hmac.New(sha256.New, []byte(hook.Secret))
	m.Write([]byte(strconv.FormatInt(now, 10) + "." + string(body)))
	fresh := "t=" + strconv.FormatInt(now, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
	if verifyStorSignature(hook.Secret, fresh, append(body, ' '), time.Now()) || !verifyStorSignature(hook.Secret, fresh, body, time.Now()) {
		t.Fatal("the recipe must accept exactly the signed body")
	}

	// Deleted subscriptions get nothing more; their log stays readable.
	if r := n.Do(t, "DELETE", "/api/v1/webhooks/"+hook.ID, n.Token, nil, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete webhook: %d", r.Status)
	}
	if r := n.Get(t, "/api/v1/webhooks/"+hook.ID+"/deliveries", n.Token, nil); r.Status != 200 {
		t.Fatalf("log after delete: %d", r.Status)
	}
	if r := n.Get(t, "/api/v1/webhooks/nope/deliveries", n.Token, nil); r.Status != 404 {
		t.Fatalf("log of no hook: %d", r.Status)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
