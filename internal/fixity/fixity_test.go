package fixity_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/fixity"
	"stor/internal/node/nodetest"
	"stor/internal/pipeline"
	"stor/internal/premis"
	"stor/internal/storage"
)

// webhook counts the alert posts it receives.
type webhook struct {
	mu     sync.Mutex
	bodies []map[string]any
	srv    *httptest.Server
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		w.mu.Lock()
		w.bodies = append(w.bodies, m)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) fixityAlerts() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.bodies {
		if b["task"] == "fixity" {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func upload(t *testing.T, n *nodetest.Node, name string, data []byte) nodetest.Asset {
	t.Helper()
	r := n.Do(t, "POST", "/api/v1/assets?ignore_unsupported=1&filename="+name, n.Token, bytes.NewReader(data),
		http.Header{"Content-Type": {"application/octet-stream"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	return r.Asset(t)
}

type assetView struct {
	State  string `json:"state"`
	Fixity struct {
		Status    string  `json:"status"`
		CheckedAt *string `json:"checked_at"`
	} `json:"fixity"`
}

func getAsset(t *testing.T, n *nodetest.Node, id string) assetView {
	t.Helper()
	r := n.Get(t, "/api/v1/assets/"+id, n.Token, nil)
	var v assetView
	r.JSON(t, &v)
	return v
}

func eventTypes(t *testing.T, n *nodetest.Node, id string) []string {
	t.Helper()
	evs, err := catalog.ListEvents(context.Background(), n.DB.Reader(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runScheduled runs the periodic audit through the job queue (as River's
// schedule would) and waits until the asset's last check is newer.
func runScheduled(t *testing.T, n *nodetest.Node, id string) {
	t.Helper()
	ctx := context.Background()
	before, _ := catalog.GetFixityStatus(ctx, n.DB.Reader(), id)
	if err := n.Pipe.RunPeriodicNow(ctx, "fixity"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scheduled audit", 30*time.Second, func() bool {
		s, _ := catalog.GetFixityStatus(ctx, n.DB.Reader(), id)
		return s.Status != catalog.FixityUnchecked && s.CheckedAt.After(before.CheckedAt)
	})
}

func replicatedNode(t *testing.T, hook string, more ...func(*config.Config)) (*nodetest.Node, string) {
	rep := t.TempDir()
	n := nodetest.Start(t, append([]func(*config.Config){func(c *config.Config) {
		c.Replicas = "dir:" + rep
		c.AlertWebhookURL = hook
		c.FixityInterval = time.Hour
		c.FixityBytesPerSecond = 0
	}}, more...)...)
	return n, rep
}

// TestFlippedByteDetectedAlertedRepaired is the first must-show.
func TestFlippedByteDetectedAlertedRepaired(t *testing.T) {
	hook := newWebhook(t)
	n, rep := replicatedNode(t, hook.srv.URL)
	// A webhook subscription to fixity.failed gets the event too.
	sub := newWebhook(t)
	body, _ := json.Marshal(map[string]any{"url": sub.srv.URL, "events": []string{"fixity.failed"}})
	if r := n.Do(t, "POST", "/api/v1/webhooks", n.Token, bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}}); r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	data := randomBytes(300<<10, 1)
	a := upload(t, n, "master.bin", data)
	// replicate is required: ready means the replica holds a verified copy.
	waitFor(t, "ready", 30*time.Second, func() bool { return getAsset(t, n, a.ID).State == catalog.StateReady })
	key := storage.OriginalKey(a.SHA256)
	primary := filepath.Join(n.DataDir, "blobs", filepath.FromSlash(key))
	replica := filepath.Join(rep, filepath.FromSlash(key))
	if fileSHA(t, replica) != a.SHA256 {
		t.Fatal("the replica does not hold the original")
	}
	if evs := eventTypes(t, n, a.ID); count(evs, "replicated") != 1 {
		t.Fatalf("events %v: want one replicated", evs)
	}
	if v := getAsset(t, n, a.ID); v.Fixity.Status != "unchecked" || v.Fixity.CheckedAt != nil {
		t.Fatalf("fixity before any audit = %+v", v.Fixity)
	}

	// Flip one byte of the stored original, in place.
	f, err := os.OpenFile(primary, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	f.ReadAt(buf, 12345)
	buf[0] ^= 0x01
	f.WriteAt(buf, 12345)
	f.Close()

	runScheduled(t, n, a.ID)
	ctx := context.Background()
	checks, err := catalog.ListFixityChecks(ctx, n.DB.Reader(), catalog.FixityCheckFilter{AssetID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var sawFailed bool
	for _, c := range checks {
		if c.Copy == "primary" && c.Outcome == catalog.FixityFailed && c.Expected == a.SHA256 && c.Actual != a.SHA256 &&
			c.Algorithm == "sha256" && c.Bytes == int64(len(data)) {
			sawFailed = true
		}
	}
	if !sawFailed {
		t.Fatalf("no failed check of the primary recorded: %+v", checks)
	}
	evs := eventTypes(t, n, a.ID)
	if count(evs, "fixity.failed") != 1 || count(evs, "repaired") != 1 {
		t.Fatalf("events %v: want fixity.failed and repaired once", evs)
	}
	waitFor(t, "one fixity alert", 20*time.Second, func() bool { return hook.fixityAlerts() == 1 })
	waitFor(t, "the fixity.failed webhook event", 20*time.Second, func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		for _, b := range sub.bodies {
			if d, _ := b["data"].(map[string]any); b["type"] == "fixity.failed" && d["asset_id"] == a.ID {
				return true
			}
		}
		return false
	})
	if fileSHA(t, primary) != a.SHA256 {
		t.Fatal("the primary was not repaired from the replica")
	}
	if v := getAsset(t, n, a.ID); v.Fixity.Status != "ok" || v.Fixity.CheckedAt == nil {
		t.Fatalf("after repair fixity = %+v", v.Fixity)
	}

	// A second audit passes, with no new event and no new alert.
	runScheduled(t, n, a.ID)
	if v := getAsset(t, n, a.ID); v.Fixity.Status != "ok" {
		t.Fatalf("second audit: fixity = %+v", v.Fixity)
	}
	if evs2 := eventTypes(t, n, a.ID); len(evs2) != len(evs) {
		t.Fatalf("second audit added events: %v → %v", evs, evs2)
	}
	time.Sleep(500 * time.Millisecond)
	if k := hook.fixityAlerts(); k != 1 {
		t.Fatalf("%d fixity alerts, want exactly 1", k)
	}

	// The history exports as PREMIS 3 with the checks in it.
	r := n.Get(t, "/api/v1/assets/"+a.ID+"/premis", n.Token, nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("premis: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var doc struct {
		XMLName xml.Name
		Events  []struct {
			Type    string `xml:"eventType"`
			Outcome string `xml:"eventOutcomeInformation>eventOutcome"`
		} `xml:"event"`
		Fixity []string `xml:"object>objectCharacteristics>fixity>messageDigest"`
	}
	if err := xml.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("premis is not XML: %v", err)
	}
	if doc.XMLName.Space != premis.Namespace || doc.XMLName.Local != "premis" {
		t.Fatalf("root element %v", doc.XMLName)
	}
	types := map[string]int{}
	failures := 0
	for _, e := range doc.Events {
		types[e.Type]++
		if strings.HasPrefix(e.Outcome, "failure") {
			failures++
		}
	}
	if types["ingestion"] != 1 || types["replication"] != 1 || types["recovery"] != 1 || types["fixity check"] < 5 || failures < 2 {
		t.Fatalf("premis events %v (%d failures)", types, failures)
	}
	if len(doc.Fixity) == 0 || doc.Fixity[0] != a.SHA256 {
		t.Fatalf("premis object fixity %v", doc.Fixity)
	}
}

// TestMissingReplicaCopiedAgain: a replica's file deleted is detected and
// copied again from the primary.
func TestMissingReplicaCopiedAgain(t *testing.T) {
	n, rep := replicatedNode(t, "")
	a := upload(t, n, "x.bin", randomBytes(100<<10, 2))
	waitFor(t, "ready", 30*time.Second, func() bool { return getAsset(t, n, a.ID).State == catalog.StateReady })
	replica := filepath.Join(rep, filepath.FromSlash(storage.OriginalKey(a.SHA256)))
	if err := os.Remove(replica); err != nil {
		t.Fatal(err)
	}
	runScheduled(t, n, a.ID)
	checks, _ := catalog.ListFixityChecks(context.Background(), n.DB.Reader(), catalog.FixityCheckFilter{AssetID: a.ID, Outcome: catalog.FixityMissing})
	if len(checks) != 1 || checks[0].Copy != "dir:"+rep {
		t.Fatalf("missing checks: %+v", checks)
	}
	if fileSHA(t, replica) != a.SHA256 {
		t.Fatal("the replica was not copied again")
	}
	evs, _ := catalog.ListEvents(context.Background(), n.DB.Reader(), a.ID)
	var repaired map[string]any
	for _, e := range evs {
		if e.Type == "repaired" {
			json.Unmarshal([]byte(e.Detail), &repaired)
		}
	}
	if repaired["copy"] != "dir:"+rep || repaired["from"] != "primary" {
		t.Fatalf("repaired event %v", repaired)
	}
	if v := getAsset(t, n, a.ID); v.Fixity.Status != "ok" {
		t.Fatalf("fixity %+v", v.Fixity)
	}
}

// TestNoGoodCopyStaysFlagged: with no replica, a corrupt original stays
// failed (in the API) until the bytes are right again.
func TestNoGoodCopyStaysFlagged(t *testing.T) {
	hook := newWebhook(t)
	n := nodetest.Start(t, func(c *config.Config) { c.AlertWebhookURL = hook.srv.URL; c.FixityInterval = 0 })
	data := randomBytes(64<<10, 3)
	a := upload(t, n, "y.bin", data)
	primary := filepath.Join(n.DataDir, "blobs", filepath.FromSlash(storage.OriginalKey(a.SHA256)))
	if err := os.Remove(primary); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // twice: still one event, one alert
		if _, err := n.Auditor.RunAll(ctx, "t1", nil); err != nil {
			t.Fatal(err)
		}
	}
	if v := getAsset(t, n, a.ID); v.Fixity.Status != "failed" {
		t.Fatalf("fixity %+v, want failed", v.Fixity)
	}
	if evs := eventTypes(t, n, a.ID); count(evs, "fixity.failed") != 1 {
		t.Fatalf("events %v", evs)
	}
	waitFor(t, "the alert", 20*time.Second, func() bool { return hook.fixityAlerts() == 1 })
	failed, _ := catalog.FailedFixity(ctx, n.DB.Reader(), 10)
	if len(failed) != 1 || !strings.Contains(failed[0].Reason, "no good copy") {
		t.Fatalf("failed list %+v", failed)
	}
	// Someone puts the right bytes back: the next audit clears the flag.
	if err := os.WriteFile(primary, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Auditor.RunAll(ctx, "t2", nil); err != nil {
		t.Fatal(err)
	}
	if v := getAsset(t, n, a.ID); v.Fixity.Status != "ok" {
		t.Fatalf("fixity %+v, want ok", v.Fixity)
	}
	if evs := eventTypes(t, n, a.ID); count(evs, "fixity.ok") != 1 {
		t.Fatalf("events %v", evs)
	}
	last, _ := fixity.LastCycleFinished(ctx, n.DB)
	if last == nil {
		t.Fatal("a full audit did not record a finished cycle")
	}
	time.Sleep(300 * time.Millisecond)
	if k := hook.fixityAlerts(); k != 1 {
		t.Fatalf("%d alerts", k)
	}
}

// TestPaceBudgetHolds: an audit of N bytes at X bytes/s takes at least
// N/X seconds.
func TestPaceBudgetHolds(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.FixityInterval = 0 })
	const size, files, rate = 1 << 20, 3, 2 << 20 // 3 MiB at 2 MiB/s: ≥ 1.5 s
	for i := range files {
		upload(t, n, "p.bin", randomBytes(size, byte(10+i)))
	}
	au := fixity.NewAuditor(n.DB, n.Store, nil, n.Log)
	au.Pacer = fixity.NewPacer(rate)
	start := time.Now()
	sum, err := au.RunAll(context.Background(), "pace", nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	want := time.Duration(float64(size*files) / rate * float64(time.Second))
	if sum.Bytes != size*files || sum.OK != files {
		t.Fatalf("summary %+v", sum)
	}
	if took < want-20*time.Millisecond {
		t.Fatalf("audit of %d bytes at %d B/s took %s, want ≥ %s", sum.Bytes, rate, took, want)
	}
	t.Logf("%d bytes at %d B/s: %s (floor %s)", sum.Bytes, rate, took, want)

	// The scheduled budget: total / cycle × interval, at least one asset.
	if b := fixity.RunBudgetFor(30<<30, 720*time.Hour, time.Hour); b != (30<<30)/720 {
		t.Fatalf("budget %d", b)
	}
	au.Pacer = nil
	sum, err = au.RunBudget(context.Background(), 1, "budget", nil)
	if err != nil || sum.Assets != 1 {
		t.Fatalf("a tiny budget audits one asset: %+v %v", sum, err)
	}
}

// TestPurge: after retention, bytes go; a blob another asset still
// references stays.
func TestPurge(t *testing.T) {
	n, _ := replicatedNode(t, "", func(c *config.Config) { c.PurgeAfter = 50 * time.Millisecond })
	ctx := context.Background()
	shared := randomBytes(50<<10, 20)
	a := upload(t, n, "a.bin", shared)
	b := n.Do(t, "POST", "/api/v1/assets?ignore_unsupported=1&filename=b.bin", n.Token, bytes.NewReader(shared),
		http.Header{"Content-Type": {"application/octet-stream"}, "Idempotency-Key": {"other"}}).Asset(t)
	c := upload(t, n, "c.bin", randomBytes(50<<10, 21))
	if a.ID == b.ID {
		t.Fatal("want two assets with the same bytes")
	}
	for _, id := range []string{a.ID, b.ID, c.ID} {
		waitFor(t, "ready", 30*time.Second, func() bool { return getAsset(t, n, id).State == catalog.StateReady })
	}
	// A derivative of c.
	dkey := pipeline.DerivativeKey(c.ID, "thumb.jpg")
	if _, err := n.Store.Put(ctx, dkey, strings.NewReader("thumb")); err != nil {
		t.Fatal(err)
	}
	if err := catalog.PutDerivative(ctx, n.DB.Writer(), &catalog.Derivative{AssetID: c.ID, Name: "thumb.jpg",
		BlobKey: dkey, ContentType: "image/jpeg", Size: 5, Task: "t"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.ID, c.ID} {
		if r := n.Do(t, "DELETE", "/api/v1/assets/"+id, n.Token, nil, nil); r.Status != 200 {
			t.Fatalf("delete: %d", r.Status)
		}
	}
	exists := func(st storage.Store, key string) bool {
		_, err := st.Stat(ctx, key)
		if err != nil && !errors.Is(err, storage.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	repStore := n.Replicas[0].Store
	// Before retention passes, nothing goes.
	if k, err := n.Purger.Run(ctx, "p0"); err != nil || k != 0 {
		// PurgeAfter is 50ms: the deletes may already be older. Then the
		// check below covers it.
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := n.Purger.Run(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	keyC, keyShared := storage.OriginalKey(c.SHA256), storage.OriginalKey(a.SHA256)
	if exists(n.Store, keyC) || exists(repStore, keyC) || exists(n.Store, dkey) {
		t.Fatal("c's original (primary or replica) or derivative survived the purge")
	}
	if !exists(n.Store, keyShared) || !exists(repStore, keyShared) {
		t.Fatal("the blob b still references was purged")
	}
	if ds, _ := catalog.ListDerivatives(ctx, n.DB.Reader(), c.ID); len(ds) != 0 {
		t.Fatalf("derivative rows left: %v", ds)
	}
	for _, id := range []string{a.ID, c.ID} {
		if v := getAsset(t, n, id); v.State != catalog.StateDeleted {
			t.Fatalf("purged asset state %q", v.State)
		}
		if evs := eventTypes(t, n, id); count(evs, "purged") != 1 {
			t.Fatalf("events %v", evs)
		}
	}
	// Purging again does nothing; once b goes too, the shared blob goes.
	if k, _ := n.Purger.Run(ctx, "p2"); k != 0 {
		t.Fatalf("purged %d again", k)
	}
	n.Do(t, "DELETE", "/api/v1/assets/"+b.ID, n.Token, nil, nil)
	time.Sleep(100 * time.Millisecond)
	if k, err := n.Purger.Run(ctx, "p3"); err != nil || k != 1 {
		t.Fatalf("purge b: %d %v", k, err)
	}
	if exists(n.Store, keyShared) || exists(repStore, keyShared) {
		t.Fatal("the shared blob survived its last asset's purge")
	}
}

// TestDerivativeAudit: with derivatives audited, the first audit records a
// derivative's checksum, a later change to its bytes flags the asset, and
// a derivative made again gets a new baseline.
func TestDerivativeAudit(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.FixityInterval = 0; c.FixityDerivatives = true })
	ctx := context.Background()
	a := upload(t, n, "d.bin", randomBytes(10<<10, 30))
	put := func(body string) {
		key := pipeline.DerivativeKey(a.ID, "thumb.jpg")
		if _, err := n.Store.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if err := catalog.PutDerivative(ctx, n.DB.Writer(), &catalog.Derivative{AssetID: a.ID, Name: "thumb.jpg",
			BlobKey: key, ContentType: "image/jpeg", Size: int64(len(body)), Task: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	put("first thumbnail")
	asset, _ := catalog.GetAsset(ctx, n.DB.Reader(), a.ID)
	r, err := n.Auditor.AuditAsset(ctx, asset, "d1")
	if err != nil || r.Status != catalog.FixityOK || len(r.Checks) != 2 || r.Checks[1].Object != "derivative:thumb.jpg" {
		t.Fatalf("first audit: %+v %v", r, err)
	}
	p := filepath.Join(n.DataDir, "blobs", filepath.FromSlash(pipeline.DerivativeKey(a.ID, "thumb.jpg")))
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(p, []byte("first thumbnaiL"), 0o640) // rot, not a new derivative row
	r, _ = n.Auditor.AuditAsset(ctx, asset, "d2")
	if r.Status != catalog.FixityFailed || !strings.Contains(r.Reason, "derivative thumb.jpg") {
		t.Fatalf("rotten derivative: %+v", r)
	}
	time.Sleep(10 * time.Millisecond)
	put("second thumbnail") // the task ran again
	r, _ = n.Auditor.AuditAsset(ctx, asset, "d3")
	if r.Status != catalog.FixityOK {
		t.Fatalf("remade derivative: %+v", r)
	}
	if evs := eventTypes(t, n, a.ID); count(evs, "fixity.failed") != 1 || count(evs, "fixity.ok") != 1 {
		t.Fatalf("events %v", evs)
	}
}
