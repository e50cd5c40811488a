package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// TestSigninLockout: failed sign-ins of one username from many IPs lock
// it, with 429 signin_locked and Retry-After, the same for a username
// that does not exist; the lock is in the catalog, so a second node on
// the same database (or a restarted one) sees it; it is audit-logged and
// an admin lifts it.
func TestSigninLockout(t *testing.T) { nodetest.EachBackend(t, testSigninLockout) }

func testSigninLockout(t *testing.T) {
	lockout := func(c *config.Config) {
		c.Workers = 0
		c.SignInRateLimit = 0
		c.SignInLockoutAttempts = 3
		c.SignInLockoutWindow = time.Hour
		c.SignInLockoutDuration = 10 * time.Minute
		c.SignInLockoutMax = time.Hour
		c.TrustedProxies = "127.0.0.1" // so each attempt can come from "another IP"
	}
	n := nodetest.Start(t, lockout)
	n.NewUser(t, "ann", "editor", "")
	n.NewUser(t, "bob", "viewer", "")
	signIn := func(n *nodetest.Node, user, pw string, ip int) *nodetest.Response {
		h := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {"203.0.113." + strconv.Itoa(ip)}}
		return n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"username": user, "password": pw}), h)
	}
	type answer struct {
		status int
		code   string
	}
	var got = map[string][]answer{}
	for _, user := range []string{"ann", "ghost"} {
		for i := range 5 {
			r := signIn(n, user, "wrong password "+strconv.Itoa(i), i)
			got[user] = append(got[user], answer{r.Status, r.ErrorCode(t)})
			if i >= 3 {
				ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
				if err != nil || ra < 1 || ra > 600 {
					t.Errorf("%s attempt %d: Retry-After %q", user, i, r.Header.Get("Retry-After"))
				}
			}
		}
	}
	want := []answer{{401, "bad_credentials"}, {401, "bad_credentials"}, {401, "bad_credentials"}, {429, "signin_locked"}, {429, "signin_locked"}}
	for _, user := range []string{"ann", "ghost"} {
		for i, a := range got[user] {
			if a != want[i] {
				t.Errorf("%s attempt %d: %v, want %v", user, i, a, want[i])
			}
		}
	}
	// Locked: even the right password is refused, and the answer is the
	// same, word for word, as for a username that does not exist.
	ra, rg := signIn(n, "ann", nodetest.TestPassword, 9), signIn(n, "ghost", nodetest.TestPassword, 9)
	if ra.Status != 429 || string(ra.Body) != string(rg.Body) {
		t.Errorf("locked ann: %d %s; locked ghost: %d %s", ra.Status, ra.Body, rg.Status, rg.Body)
	}
	// Other usernames are not affected.
	if r := signIn(n, "bob", nodetest.TestPassword, 1); r.Status != 200 {
		t.Errorf("bob: %d %s", r.Status, r.Body)
	}

	// A second node on the same catalog (what a restart also sees).
	n2 := nodetest.Start(t, lockout, func(c *config.Config) {
		c.DatabaseURL, c.DataDir = n.Cfg.DatabaseURL, n.DataDir
	})
	if r := signIn(n2, "ann", nodetest.TestPassword, 50); r.Status != 429 || r.ErrorCode(t) != "signin_locked" {
		t.Errorf("ann on the second node: %d %s", r.Status, r.Body)
	}

	// Audit log: the locks, with the forwarded client IP.
	var audit struct {
		Items []struct{ Actor, Action, Target, IP string }
	}
	n.Get(t, "/api/v1/audit?action=session.locked", n.Token, nil).JSON(t, &audit)
	locked := map[string]string{}
	for _, e := range audit.Items {
		locked[e.Target] = e.IP
	}
	if locked["ann"] != "203.0.113.2" || locked["ghost"] != "203.0.113.2" {
		t.Errorf("session.locked audit entries: %+v", audit.Items)
	}

	// Admins list and lift locks; others may not.
	var list struct {
		Items []struct {
			Username    string
			LockedUntil string `json:"locked_until"`
		}
	}
	n.Get(t, "/api/v1/signin-locks", n.Token, nil).JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("signin-locks: %+v", list.Items)
	}
	_, viewer := n.NewUser(t, "val", "viewer", "")
	if r := n.Do(t, "DELETE", "/api/v1/signin-locks/ann", "", nil, nodetest.SessionHeader(viewer)); r.Status != 403 {
		t.Errorf("unlock by a viewer: %d", r.Status)
	}
	if r := n.Do(t, "DELETE", "/api/v1/signin-locks/ann", n.Token, nil, nil); r.Status != 204 {
		t.Fatalf("unlock: %d %s", r.Status, r.Body)
	}
	if r := n.Do(t, "DELETE", "/api/v1/signin-locks/ann", n.Token, nil, nil); r.Status != 404 {
		t.Errorf("second unlock: %d %s", r.Status, r.Body)
	}
	if r := signIn(n2, "ann", nodetest.TestPassword, 51); r.Status != 200 {
		t.Errorf("ann after unlock, on the second node: %d %s", r.Status, r.Body)
	}
	n.Get(t, "/api/v1/audit?action=signin.unlock", n.Token, nil).JSON(t, &audit)
	// Both admin calls are logged, the 404 as well (with its status).
	if len(audit.Items) != 2 || audit.Items[0].Target != "ann" || audit.Items[1].Target != "ann" {
		t.Errorf("signin.unlock audit entries: %+v", audit.Items)
	}
	if r := signIn(n2, "ghost", nodetest.TestPassword, 52); r.Status != 429 {
		t.Errorf("ghost is still locked: %d", r.Status)
	}

	// Wrong current passwords of a password change count too: a stolen
	// session cannot guess the password.
	_, pat := n2.NewUser(t, "pat", "viewer", "")
	for i := range 4 {
		r := n2.Do(t, "PUT", "/api/v1/account/password", "", jbody(map[string]string{"current_password": "guess number " + strconv.Itoa(i),
			"new_password": "a brand new password"}), nodetest.SessionHeader(pat))
		if want := map[bool]int{true: 401, false: 429}[i < 3]; r.Status != want {
			t.Errorf("password change %d with a wrong current password: %d %s", i, r.Status, r.Body)
		}
	}
	if r := signIn(n2, "pat", nodetest.TestPassword, 53); r.Status != 429 {
		t.Errorf("pat after 3 wrong current passwords: %d", r.Status)
	}
}
