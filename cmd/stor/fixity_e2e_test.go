package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"stor/internal/node/nodetest"
)

// TestFixityAndBagCLI: the binary audits a data dir (exit 1 on a corrupt
// original with no good copy, repair from a replica otherwise), reports,
// and exports a bag that verifies.
func TestFixityAndBagCLI(t *testing.T) {
	root := makeTree(t)
	data, rep := t.TempDir(), t.TempDir()
	env := []string{"STOR_REPLICAS=dir:" + rep, "STOR_FIXITY_BYTES_PER_SECOND=0"}
	if out, errs, code := run(t, env, "ingest", "--data-dir", data, "--quiet", root); code != 0 {
		t.Fatalf("ingest: %d %s %s", code, out, errs)
	}
	// No worker ran the replicate task: the first audit finds every
	// replica copy missing and puts it there.
	out, errs, code := run(t, env, "fixity", "audit", "--data-dir", data, "--all")
	if code != 0 || !strings.Contains(out, "audited 5 assets: 5 ok, 0 failed, 5 copies repaired") ||
		strings.Count(out, "missing→ok") != 5 {
		t.Fatalf("first audit: exit %d\n%s%s", code, out, errs)
	}
	if got := nodetest.Files(t, filepath.Join(rep, "originals")); len(got) != 5 {
		t.Fatalf("replica holds %d originals", len(got))
	}
	// Corrupt one original on both copies: no good copy, exit 1, reported.
	origs := nodetest.Files(t, filepath.Join(data, "blobs", "originals"))
	for _, base := range []string{filepath.Join(data, "blobs", "originals"), filepath.Join(rep, "originals")} {
		p := filepath.Join(base, origs[0])
		b, _ := os.ReadFile(p)
		b[0] ^= 0xff
		os.WriteFile(p, b, 0o640)
	}
	out, _, code = run(t, env, "fixity", "audit", "--data-dir", data)
	if code != 1 || !strings.Contains(out, "4 ok, 1 failed") {
		t.Fatalf("audit of a corrupt original: exit %d\n%s", code, out)
	}
	out, _, code = run(t, env, "fixity", "report", "--data-dir", data)
	if code != 1 || !strings.Contains(out, "ok 4, failed 1, unchecked 0") || !regexp.MustCompile(`last full cycle finished at 20`).MatchString(out) {
		t.Fatalf("report: exit %d\n%s", code, out)
	}
	if strings.Count(out, "\nfailed ") != 1 {
		t.Fatalf("report lists %d failures:\n%s", strings.Count(out, "\nfailed "), out)
	}
	// Bag one good asset; verify; tamper; verify fails.
	aud, _, _ := run(t, env, "fixity", "audit", "--data-dir", data)
	good := regexp.MustCompile(`(?m)^ok\s+(\S+)`).FindStringSubmatch(aud)
	if good == nil {
		t.Fatalf("no ok asset in %s", aud)
	}
	bag := filepath.Join(t.TempDir(), "bag")
	out, errs, code = run(t, env, "bag", "export", "--data-dir", data, "--asset", good[1], "--out", bag)
	if code != 0 || !strings.Contains(out, "valid bag: 1 payload files") {
		t.Fatalf("bag export: exit %d %s %s", code, out, errs)
	}
	payload := nodetest.Files(t, filepath.Join(bag, "data"))
	p := filepath.Join(bag, "data", payload[0])
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o640)
	if out, errs, code = run(t, nil, "bag", "verify", bag); code != 1 || !strings.Contains(errs, "manifest says") {
		t.Fatalf("verify of a tampered bag: exit %d %s %s", code, out, errs)
	}
}
