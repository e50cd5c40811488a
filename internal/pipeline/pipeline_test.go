package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pgtest"
	"stor/internal/pipeline"
)

const token = "pipeline-test-token-0123456789"

// env is one in-process stor node with extra test tasks, served over
// loopback HTTP.
type env struct {
	t    *testing.T
	n    *node.Node
	srv  *httptest.Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachBackend runs fn as a subtest per database: SQLite and PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, fn)
	}
}

// onPostgres reports whether t is the PostgreSQL subtest of eachBackend.
func onPostgres(t *testing.T) bool { return strings.HasSuffix(t.Name(), "/postgres") }

// testConfig is a node config on a fresh database of t's backend.
func testConfig(t *testing.T, dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	if onPostgres(t) {
		cfg.DatabaseURL = pgtest.URL(t)
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.RetryBase = 50 * time.Millisecond
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Workers = 4
	cfg.HeavyWorkers = 2
	return cfg
}

func start(t *testing.T, cfg config.Config, tasks ...pipeline.Task) *env {
	return startPipelineCfg(t, cfg, pipeline.Config{}, tasks...)
}

func startPipelineCfg(t *testing.T, cfg config.Config, pcfg pipeline.Config, tasks ...pipeline.Task) *env {
	t.Helper()
	logs := &syncBuffer{}
	log := logging.New(io.MultiWriter(logs), "json", "debug")
	ctx := context.Background()
	// A non-nil list: exactly these tasks, not this build's media tasks.
	n, err := node.OpenWithPipeline(ctx, cfg, log, pcfg, append([]pipeline.Task{}, tasks...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), token); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.API.Handler())
	n.API.BaseURL = srv.URL
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, n: n, srv: srv, logs: logs}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Stop(sctx)
		srv.Close()
		n.Close()
	})
	return e
}

func (e *env) do(method, path string, body io.Reader, hdr map[string]string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// upload posts a small PNG-looking file (unique content) and returns the
// asset id.
func (e *env) upload(name string, extra map[string]string) string {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(pngBytes(name))
	for k, v := range extra {
		mw.WriteField(k, v)
	}
	mw.Close()
	code, body := e.do("POST", "/api/v1/assets", &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
	if code != http.StatusCreated {
		e.t.Fatalf("upload %s: %d %s", name, code, body)
	}
	var a struct{ ID string }
	json.Unmarshal(body, &a)
	return a.ID
}

// pngBytes is a PNG signature followed by unique bytes: identified as PNG,
// never decoded by the test tasks.
func pngBytes(seed string) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []byte(strings.Repeat(seed, 10))...)
}

func (e *env) asset(id string) *catalog.Asset {
	e.t.Helper()
	a, err := catalog.GetAsset(context.Background(), e.n.DB.Reader(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) task(id, name string) *catalog.Task {
	e.t.Helper()
	tk, err := catalog.TaskByName(context.Background(), e.n.DB.Reader(), id, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

// waitState waits until the asset reaches one of the states.
func (e *env) waitState(id string, timeout time.Duration, states ...string) *catalog.Asset {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := e.asset(id)
		for _, s := range states {
			if a.State == s {
				return a
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("asset %s is %s after %s, want %v", id, a.State, timeout, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func always(*catalog.Asset) bool { return true }

func TestTransientFailuresRetryThenSucceed(t *testing.T) {
	eachBackend(t, testTransientFailuresRetryThenSucceed)
}

func testTransientFailuresRetryThenSucceed(t *testing.T) {
	var calls atomic.Int32
	e := start(t, testConfig(t, t.TempDir()), pipeline.Task{
		Name: "flaky", Applies: always, Required: true, MaxAttempts: 5, Timeout: 10 * time.Second,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			if calls.Add(1) <= 2 {
				return fmt.Errorf("temporary glitch %d", tc.Attempt)
			}
			return nil
		},
	})
	id := e.upload("flaky.png", nil)
	a := e.waitState(id, 20*time.Second, catalog.StateReady, catalog.StateFailed)
	if a.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", a.State, a.Error)
	}
	tk := e.task(id, "flaky")
	if tk.Attempts != 3 || tk.State != catalog.TaskSucceeded || tk.LastError != "" {
		t.Fatalf("task = %+v, want succeeded after 3 attempts", tk)
	}
	// The API shows the same.
	code, body := e.do("GET", "/api/v1/assets/"+id+"/tasks", nil, nil)
	if code != 200 || !strings.Contains(string(body), `"name":"flaky","state":"succeeded","required":true,"attempts":3`) {
		t.Fatalf("tasks API: %d %s", code, body)
	}
}

func TestPermanentFailureFailsOnceWithReason(t *testing.T) {
	eachBackend(t, testPermanentFailureFailsOnceWithReason)
}

func testPermanentFailureFailsOnceWithReason(t *testing.T) {
	var calls atomic.Int32
	e := start(t, testConfig(t, t.TempDir()), pipeline.Task{
		Name: "broken", Applies: always, Required: true, MaxAttempts: 5,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			calls.Add(1)
			return pipeline.Permanentf("corrupt input: no end of image marker")
		},
	}, pipeline.Task{
		Name: "optional-ok", Applies: always, Required: false,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error { return nil },
	})
	id := e.upload("broken.png", nil)
	a := e.waitState(id, 10*time.Second, catalog.StateFailed, catalog.StateReady)
	if a.State != catalog.StateFailed || !strings.Contains(a.Error, "broken: corrupt input: no end of image marker") {
		t.Fatalf("asset = %s %q, want failed with the reason", a.State, a.Error)
	}
	time.Sleep(300 * time.Millisecond) // a retry would have happened by now
	if n := calls.Load(); n != 1 {
		t.Fatalf("permanent failure ran %d times, want 1", n)
	}
	tk := e.task(id, "broken")
	if tk.State != catalog.TaskFailed || tk.Attempts != 1 || !strings.Contains(tk.LastError, "corrupt input") {
		t.Fatalf("task = %+v", tk)
	}
	// The failed task is listed across assets, and retry queues it again.
	code, body := e.do("GET", "/api/v1/tasks?state=failed", nil, nil)
	if code != 200 || !strings.Contains(string(body), tk.ID) {
		t.Fatalf("GET tasks?state=failed: %d %s", code, body)
	}
	code, body = e.do("POST", "/api/v1/tasks/"+tk.ID+"/retry", nil, nil)
	if code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if calls.Load() != 2 {
		t.Fatalf("retry did not run the task again")
	}
	e.waitState(id, 5*time.Second, catalog.StateFailed)
}

func TestTimeoutKillsChildProcesses(t *testing.T) { eachBackend(t, testTimeoutKillsChildProcesses) }

func testTimeoutKillsChildProcesses(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	e := start(t, testConfig(t, dir), pipeline.Task{
		Name: "hangs", Applies: always, Required: true, MaxAttempts: 1, Timeout: 700 * time.Millisecond,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			// A shell that starts a grandchild and waits: both must die.
			cmd := procCommand(ctx, "sh", "-c", "sleep 300 & echo $! > "+pidFile+"; wait")
			return cmd.Run()
		},
	})
	id := e.upload("hang.png", nil)
	a := e.waitState(id, 15*time.Second, catalog.StateFailed)
	if !strings.Contains(a.Error, "timed out") {
		t.Fatalf("error %q, want a timeout", a.Error)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		// Gone, or a zombie waiting for init to reap it: not running.
		if err != nil || strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %s still running after the task timed out", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPauseIngestResume(t *testing.T) { eachBackend(t, testPauseIngestResume) }

func testPauseIngestResume(t *testing.T) {
	dir := t.TempDir()
	var ran atomic.Int32
	tk := pipeline.Task{Name: "work", Applies: always, Required: true,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error { ran.Add(1); return nil }}
	e := start(t, testConfig(t, dir), tk)
	if code, body := e.do("POST", "/api/v1/processing/pause", nil, nil); code != 200 || !strings.Contains(string(body), `"paused":true`) {
		t.Fatalf("pause: %d %s", code, body)
	}
	// Workers see the pause on their next look at the queue settings
	// (River polls them every 2 s where there is no LISTEN/NOTIFY); 200 ms
	// was enough on a quiet machine but not under CI load.
	time.Sleep(2500 * time.Millisecond)
	var ids []string
	for i := range 10 {
		ids = append(ids, e.upload(fmt.Sprintf("paused-%d.png", i), nil))
	}
	time.Sleep(time.Second)
	for _, id := range ids {
		if a := e.asset(id); a.State != catalog.StateStored {
			t.Fatalf("asset %s is %s while paused, want stored", id, a.State)
		}
	}
	if ran.Load() != 0 {
		t.Fatalf("%d tasks ran while paused", ran.Load())
	}
	code, body := e.do("GET", "/api/v1/processing", nil, nil)
	if code != 200 || !strings.Contains(string(body), `"paused":true`) || !strings.Contains(string(body), `"analyze":{"queued":10}`) {
		t.Fatalf("status: %d %s", code, body)
	}
	if code, body := e.do("POST", "/api/v1/processing/resume", nil, nil); code != 200 {
		t.Fatalf("resume: %d %s", code, body)
	}
	for _, id := range ids {
		e.waitState(id, 15*time.Second, catalog.StateReady)
	}
	if ran.Load() != 10 {
		t.Fatalf("work ran %d times, want 10", ran.Load())
	}
}

func TestHeavyTasksWaitWhileMachineBusy(t *testing.T) {
	eachBackend(t, testHeavyTasksWaitWhileMachineBusy)
}

func testHeavyTasksWaitWhileMachineBusy(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	var ran atomic.Int32
	cfg := testConfig(t, t.TempDir())
	// A pipeline whose machine reports memory exhausted until told not to.
	e := startPipelineCfg(t, cfg, pipeline.Config{Load: func() (float64, int64) {
		if busy.Load() {
			return 0.1, 10 << 20
		}
		return 0.1, 8 << 30
	}}, pipeline.Task{Name: "transcode", Class: pipeline.Heavy, Applies: always, Required: true,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error { ran.Add(1); return nil }})
	id := e.upload("heavy.png", nil)
	time.Sleep(1500 * time.Millisecond)
	if ran.Load() != 0 {
		t.Fatal("a heavy task started while memory was short")
	}
	if tk := e.task(id, "transcode"); tk.State != catalog.TaskQueued || tk.Attempts != 0 {
		t.Fatalf("waiting task = %+v, want queued with no attempt used", tk)
	}
	busy.Store(false)
	e.waitState(id, 20*time.Second, catalog.StateReady)
}

func TestBusyCPUDelaysHeavyTasksOnlySoLong(t *testing.T) {
	eachBackend(t, testBusyCPUDelaysHeavyTasksOnlySoLong)
}

func testBusyCPUDelaysHeavyTasksOnlySoLong(t *testing.T) {
	var ran atomic.Int32
	e := startPipelineCfg(t, testConfig(t, t.TempDir()), pipeline.Config{MaxLoadPerCPU: 2, MaxAdmissionWait: 2 * time.Second,
		Load: func() (float64, int64) { return 50, 8 << 30 }}, // a machine that never calms down
		pipeline.Task{Name: "transcode", Class: pipeline.Heavy, Applies: always, Required: true,
			Run: func(ctx context.Context, tc *pipeline.TaskContext) error { ran.Add(1); return nil }})
	start := time.Now()
	id := e.upload("busy.png", nil)
	time.Sleep(time.Second)
	if ran.Load() != 0 {
		t.Fatal("a heavy task started at once on a busy machine")
	}
	e.waitState(id, 30*time.Second, catalog.StateReady)
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("ready after %s, before the admission wait of 2s", waited)
	}
}

func TestYieldHoldsTaskBack(t *testing.T) { eachBackend(t, testYieldHoldsTaskBack) }

// A task with Yield waits, queued and without using an attempt, while
// Yield reports true (the poster while a video's first segments are made),
// and runs regardless after YieldMax (a ladder that never gets there
// must not hold the poster forever).
func testYieldHoldsTaskBack(t *testing.T) {
	var hold atomic.Bool
	hold.Store(true)
	var ran atomic.Int32
	var attempt atomic.Int32
	e := start(t, testConfig(t, t.TempDir()),
		pipeline.Task{Name: "poster", Applies: func(a *catalog.Asset) bool { return strings.HasPrefix(a.Filename, "held") },
			Required: true, YieldMax: time.Minute,
			Yield: func(ctx context.Context, q catalog.Querier, a *catalog.Asset) bool { return hold.Load() },
			Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
				ran.Add(1)
				attempt.Store(int32(tc.Attempt))
				return nil
			}},
		pipeline.Task{Name: "bounded", Applies: func(a *catalog.Asset) bool { return strings.HasPrefix(a.Filename, "bounded") },
			Required: true, YieldMax: 2 * time.Second,
			Yield: func(ctx context.Context, q catalog.Querier, a *catalog.Asset) bool { return true },
			Run:   func(ctx context.Context, tc *pipeline.TaskContext) error { return nil }})
	held := e.upload("held.png", nil)
	bounded := e.upload("bounded.png", nil)
	time.Sleep(2500 * time.Millisecond)
	if ran.Load() != 0 {
		t.Fatal("the task ran while Yield held it back")
	}
	if tk := e.task(held, "poster"); tk.State != catalog.TaskQueued || tk.Attempts != 0 {
		t.Fatalf("held task = %+v, want queued with no attempt used", tk)
	}
	hold.Store(false)
	e.waitState(held, 20*time.Second, catalog.StateReady)
	if ran.Load() != 1 || attempt.Load() != 1 {
		t.Fatalf("ran %d times, attempt %d; want once, at attempt 1", ran.Load(), attempt.Load())
	}
	e.waitState(bounded, 20*time.Second, catalog.StateReady)
	tk := e.task(bounded, "bounded")
	if tk.StartedAt == nil || tk.StartedAt.Sub(tk.QueuedAt) < 2*time.Second || tk.StartedAt.Sub(tk.QueuedAt) > 10*time.Second {
		t.Fatalf("always-yielding task = %+v; want it started 2-10 s after it was queued (YieldMax 2s)", tk)
	}
}

func TestPauseSurvivesRestart(t *testing.T) { eachBackend(t, testPauseSurvivesRestart) }

func testPauseSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	e := start(t, cfg)
	if code, _ := e.do("POST", "/api/v1/processing/pause", nil, nil); code != 200 {
		t.Fatal("pause failed")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	e.n.Stop(sctx)
	cancel()
	e.srv.Close()
	e.n.Close()

	e2 := start(t, cfg)
	id := e2.upload("after-restart.png", nil)
	time.Sleep(800 * time.Millisecond)
	if a := e2.asset(id); a.State != catalog.StateStored {
		t.Fatalf("asset is %s after a restart while paused, want stored", a.State)
	}
	e2.do("POST", "/api/v1/processing/resume", nil, nil)
	e2.waitState(id, 10*time.Second, catalog.StateReady)
}

func TestAlertWebhookOncePerFinalFailure(t *testing.T) {
	eachBackend(t, testAlertWebhookOncePerFinalFailure)
}

func testAlertWebhookOncePerFinalFailure(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first delivery fails: the alert must be retried, not lost.
		if hits.Add(1) == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := testConfig(t, t.TempDir())
	cfg.AlertWebhookURL = hook.URL
	e := start(t, cfg, pipeline.Task{
		Name: "transient-then-dead", Applies: always, Required: true, MaxAttempts: 2,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			return fmt.Errorf("disk on fire (attempt %d)", tc.Attempt)
		},
	}, pipeline.Task{
		Name: "fine", Applies: always, Required: true,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error { return nil },
	})
	id1 := e.upload("alert-1.png", nil)
	id2 := e.upload("alert-2.png", nil)
	e.waitState(id1, 15*time.Second, catalog.StateFailed)
	e.waitState(id2, 15*time.Second, catalog.StateFailed)
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // no duplicates arrive late
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("got %d alerts, want exactly 2 (one per final failure): %v", len(got), got)
	}
	seen := map[string]bool{}
	for _, m := range got {
		seen[m["asset_id"].(string)] = true
		if m["task"] != "transient-then-dead" || !strings.Contains(m["error"].(string), "disk on fire (attempt 2)") ||
			m["txid"] == "" || !strings.Contains(m["text"].(string), "alert-") || m["filename"] == "" {
			t.Fatalf("alert body %v", m)
		}
	}
	if !seen[id1] || !seen[id2] {
		t.Fatalf("alerts for %v, want %s and %s", seen, id1, id2)
	}
}

func TestTxIDInEveryTaskLogLine(t *testing.T) { eachBackend(t, testTxIDInEveryTaskLogLine) }

func testTxIDInEveryTaskLogLine(t *testing.T) {
	e := start(t, testConfig(t, t.TempDir()), pipeline.Task{
		Name: "logs", Applies: always, Required: true,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			tc.Log.InfoContext(ctx, "doing the work")
			return nil
		},
	})
	id := e.upload("logs.png", nil)
	e.waitState(id, 10*time.Second, catalog.StateReady)
	txid := e.asset(id).TxID
	var lines int
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, id) {
			continue
		}
		lines++
		if !strings.Contains(line, `"txid":"`+txid+`"`) {
			t.Errorf("log line about the asset without its txid %s: %s", txid, line)
		}
	}
	if lines < 4 { // ingested, analyze started/succeeded, logs started/work/succeeded
		t.Fatalf("only %d log lines mention the asset", lines)
	}
	if !strings.Contains(e.logs.String(), `"msg":"doing the work"`) {
		t.Fatal("the task's own log line is missing")
	}
}

func TestPriorityInteractiveBeforeBulk(t *testing.T) {
	eachBackend(t, testPriorityInteractiveBeforeBulk)
}

func testPriorityInteractiveBeforeBulk(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Workers = 1
	var order []string
	var mu sync.Mutex
	e := start(t, cfg, pipeline.Task{
		Name: "slow", Applies: always, Required: true,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			mu.Lock()
			order = append(order, tc.Asset.Filename)
			mu.Unlock()
			time.Sleep(30 * time.Millisecond)
			return nil
		},
	})
	e.do("POST", "/api/v1/processing/pause", nil, nil)
	time.Sleep(100 * time.Millisecond)
	var bulk []string
	for i := range 40 {
		bulk = append(bulk, e.upload(fmt.Sprintf("bulk-%02d.png", i), map[string]string{"priority": "bulk"}))
	}
	inter := e.upload("interactive.png", nil)
	e.do("POST", "/api/v1/processing/resume", nil, nil)
	e.waitState(inter, 20*time.Second, catalog.StateReady)
	done := 0
	for _, id := range bulk {
		if e.asset(id).State == catalog.StateReady {
			done++
		}
	}
	if done > 10 {
		t.Fatalf("%d of 40 bulk assets were ready before the interactive one", done)
	}
	for _, id := range bulk {
		e.waitState(id, 60*time.Second, catalog.StateReady)
	}
}

func TestReprocessMatchingAndMetrics(t *testing.T) { eachBackend(t, testReprocessMatchingAndMetrics) }

func testReprocessMatchingAndMetrics(t *testing.T) {
	var runs atomic.Int32
	e := start(t, testConfig(t, t.TempDir()), pipeline.Task{
		Name: "count", Applies: always, Required: true,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error { runs.Add(1); return nil },
	})
	var ids []string
	for i := range 3 {
		ids = append(ids, e.upload(fmt.Sprintf("re-%d.png", i), nil))
	}
	for _, id := range ids {
		e.waitState(id, time.Minute, catalog.StateReady)
	}
	code, body := e.do("POST", "/api/v1/reprocess", strings.NewReader(`{"filter":{"format":"png"},"tasks":["count"]}`), nil)
	if code != http.StatusAccepted || !strings.Contains(string(body), `"assets":3`) {
		t.Fatalf("reprocess: %d %s", code, body)
	}
	deadline := time.Now().Add(time.Minute)
	for runs.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if runs.Load() != 6 {
		t.Fatalf("count ran %d times, want 6", runs.Load())
	}
	for _, id := range ids {
		e.waitState(id, time.Minute, catalog.StateReady)
	}
	code, body = e.do("POST", "/api/v1/assets/"+ids[0]+"/reprocess", strings.NewReader(`{"tasks":["nope"]}`), nil)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "unknown_task") {
		t.Fatalf("unknown task: %d %s", code, body)
	}
	code, body = e.do("GET", "/metrics", nil, nil)
	for _, want := range []string{`stor_tasks_succeeded_total{task="count"} 6`, `stor_tasks_duration_seconds_bucket{task="analyze"`,
		`stor_http_request_duration_seconds_count{route="POST /api/v1/assets",status="201"} 3`,
		`stor_tasks_queue_depth{state="queued",task="count"} 0`} {
		if code != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q: %d\n%s", want, code, body)
		}
	}
}

// TestCrashRecovery kills a stor process (SIGKILL) while 50 tasks run,
// restarts it, and checks every task completes with uncorrupted output.
func TestCrashRecovery(t *testing.T) { eachBackend(t, testCrashRecovery) }

func testCrashRecovery(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "crashnode")
	build := exec.Command("go", "build", "-o", bin, "./testdata/crashnode")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	dbURL := ""
	if onPostgres(t) {
		dbURL = pgtest.URL(t)
	}
	addr := freeAddr(t)
	run := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "STOR_DATA_DIR="+dir, "STOR_ADDR="+addr, "STOR_BOOTSTRAP_TOKEN="+token,
			"STOR_WORKERS=8", "STOR_HEAVY_WORKERS=8", "STOR_POLL_INTERVAL=20ms", "STOR_RETRY_BASE=50ms")
		if dbURL != "" {
			// Other nodes may share a PostgreSQL database, so jobs a dead
			// process left running come back after River's rescue horizon,
			// not at restart: keep it short here.
			cmd.Env = append(cmd.Env, "STOR_DATABASE_URL="+dbURL, "CRASHNODE_RESCUE_AFTER=3s")
		}
		cmd.Stderr = crashLog(t)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHTTP(t, "http://"+addr+"/healthz")
		return cmd
	}
	cmd := run()
	base := "http://" + addr
	var ids []string
	for i := range 50 {
		ids = append(ids, uploadTo(t, base, fmt.Sprintf("crash-%02d.png", i)))
	}
	// Let tasks get going, then kill the process hard.
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	cmd = run()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(90 * time.Second)
	for _, id := range ids {
		for {
			var a struct{ State, Error string }
			getJSON(t, base+"/api/v1/assets/"+id, &a)
			if a.State == "ready" {
				break
			}
			if a.State == "failed" || time.Now().After(deadline) {
				t.Fatalf("asset %s: %s %s", id, a.State, a.Error)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The derivative is exactly what one clean run writes.
		var orig, deriv []byte
		orig = getBytes(t, base+"/api/v1/assets/"+id+"/original")
		deriv = getBytes(t, base+"/api/v1/assets/"+id+"/derivatives/copy")
		if !bytes.Equal(bytes.Repeat(orig, 64), deriv) {
			t.Fatalf("asset %s: derivative of %d bytes is not 64 copies of the %d-byte original", id, len(deriv), len(orig))
		}
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string) {
	deadline := time.Now().Add(30 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func authGet(t *testing.T, url string) *http.Response {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func getJSON(t *testing.T, url string, v any) {
	resp := authGet(t, url)
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}

func getBytes(t *testing.T, url string) []byte {
	resp := authGet(t, url)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	b, _ := io.ReadAll(resp.Body)
	return b
}

func uploadTo(t *testing.T, base, name string) string {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(pngBytes(name))
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/assets", &buf)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&a)
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %s", resp.Status)
	}
	return a.ID
}

// crashLog is where crashnode logs: discarded unless STOR_TEST_CRASHLOG
// names a file to append to.
func crashLog(t *testing.T) io.Writer {
	p := os.Getenv("STOR_TEST_CRASHLOG")
	if p == "" {
		return io.Discard
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
