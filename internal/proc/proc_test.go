package proc

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRunNice checks that the program and what it starts run at the lower
// priority, and that plain Run leaves the priority alone.
func TestRunNice(t *testing.T) {
	ctx := context.Background()
	// The test itself may run niced: everything is relative to its own.
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	base, err := strconv.Atoi(strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))[16])
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(min(base+7, 19))
	// Field 19 of /proc/PID/stat is the nice value; the child shell reads
	// its own after a pause (RunNice renices just after the start).
	script := `sleep 0.3; sh -c 'cut -d" " -f19 /proc/$$/stat'`
	out, err := RunNice(ctx, min(base+7, 19), "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("nice of a grandchild under RunNice(%s) = %q", want, got)
	}
	out, err = Run(ctx, "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(base) {
		t.Fatalf("nice under Run = %q, want the test's own %d", got, base)
	}
	if _, err := RunNice(ctx, 5, "sh", "-c", "echo broken >&2; exit 3"); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("a failing program's error carries its stderr: %v", err)
	}
}
