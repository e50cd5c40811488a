package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runIn is run with stdin.
func runIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, storBin, args...)
	cmd.Env = os.Environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("stor %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestUserCLI: `stor user create` makes the first admin on a data dir;
// they sign in to the server with that password; `stor user disable`
// locks them out.
func TestUserCLI(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--data-dir", dir, "--workers", "0"}
	if _, errb, code := runIn(t, "short\n", append([]string{"user", "create", "--username", "root"}, common...)...); code == 0 || !strings.Contains(errb, "12 to 1024") {
		t.Errorf("weak password: %d %s", code, errb)
	}
	if _, errb, code := runIn(t, "correct horse battery\n", append([]string{"user", "create", "--username", "root", "--role", "admin"}, common...)...); code != 0 {
		t.Fatalf("create: %d %s", code, errb)
	}
	out, errb, code := runIn(t, "", append([]string{"user", "list"}, common...)...)
	if code != 0 || !strings.Contains(out, "root") || !strings.Contains(out, "admin") || !strings.Contains(out, "active") {
		t.Fatalf("list: %d %s %s", code, out, errb)
	}

	s := startServer(t, dir)
	signIn := func() int {
		code, _ := s.do("POST", "/api/v1/session", "", strings.NewReader(`{"username":"root","password":"correct horse battery"}`),
			http.Header{"Content-Type": {"application/json"}})
		return code
	}
	if code := signIn(); code != 200 {
		t.Fatalf("sign in: %d", code)
	}
	if _, errb, code := runIn(t, "", append([]string{"user", "disable", "--username", "root"}, common...)...); code != 0 {
		t.Fatalf("disable: %d %s", code, errb)
	}
	if code := signIn(); code != 401 {
		t.Errorf("sign in when disabled: %d", code)
	}
	// Ten failed sign-ins (the default) lock the username, even for the
	// right password; `stor user unlock` lifts the lock on the data dir the
	// running server shares.
	if _, errb, code := runIn(t, "", append([]string{"user", "enable", "--username", "root"}, common...)...); code != 0 {
		t.Fatalf("enable: %d %s", code, errb)
	}
	for range 10 {
		s.do("POST", "/api/v1/session", "", strings.NewReader(`{"username":"root","password":"not the password at all"}`),
			http.Header{"Content-Type": {"application/json"}})
	}
	if code := signIn(); code != 429 {
		t.Errorf("sign in after 10 failures: %d, want 429", code)
	}
	if _, errb, code := runIn(t, "", append([]string{"user", "unlock", "--username", "root"}, common...)...); code != 0 {
		t.Fatalf("unlock: %d %s", code, errb)
	}
	if code := signIn(); code != 200 {
		t.Errorf("sign in after unlock: %d", code)
	}
	if _, errb, code := runIn(t, "", append([]string{"user", "unlock", "--username", "root"}, common...)...); code == 0 || !strings.Contains(errb, "no sign-in lock") {
		t.Errorf("unlock of an unlocked user: %d %s", code, errb)
	}
	code, body := s.do("GET", "/api/v1/audit?action=signin.unlock", token, nil, nil)
	if code != 200 || !bytes.Contains(body, []byte(`"target":"root"`)) || !bytes.Contains(body, []byte(`"actor":"cli:`)) {
		t.Errorf("audit of the unlock: %d %s", code, body)
	}
	code, body = s.do("GET", "/api/v1/audit?actor=", token, nil, nil)
	if code != 200 || !bytes.Contains(body, []byte(`"actor":"cli:`)) || !bytes.Contains(body, []byte(`"session.create"`)) {
		t.Errorf("audit: %d %s", code, body)
	}
}
