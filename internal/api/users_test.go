package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

func jbody(v any) *strings.Reader {
	b, _ := json.Marshal(v)
	return strings.NewReader(string(b))
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// TestUsersAndSessions: a user signs in with a password (argon2id), acts
// as their role, lists and revokes their sessions, signs out; a disabled
// user's sessions and tokens stop working; sessions expire.
func TestUsersAndSessions(t *testing.T) { nodetest.EachBackend(t, testUsersAndSessions) }

func testUsersAndSessions(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	asset := n.MustUpload(t, n.Token, "a.jpg", nodetest.JPEG(t, 16, 16, 1)).ID

	// Creation refuses weak passwords, bad roles and taken names.
	for _, c := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"username": "ann", "password": "short"}, 400},
		{map[string]any{"username": "ann", "password": nodetest.TestPassword, "role": "owner"}, 400},
		{map[string]any{"username": "a b", "password": nodetest.TestPassword}, 400},
	} {
		if r := n.Do(t, "POST", "/api/v1/users", n.Token, jbody(c.body), jsonHeader); r.Status != c.status {
			t.Errorf("create %v: %d %s", c.body, r.Status, r.Body)
		}
	}
	annID, ann := n.NewUser(t, "ann", "editor", "")
	if r := n.Do(t, "POST", "/api/v1/users", n.Token, jbody(map[string]any{"username": "ann", "password": nodetest.TestPassword}), jsonHeader); r.Status != 409 {
		t.Errorf("duplicate username: %d %s", r.Status, r.Body)
	}
	// The stored hash is argon2id, never the password.
	var hash string
	if err := n.DB.Reader().QueryRowContext(context.Background(), `SELECT password_hash FROM users WHERE id = ?`, annID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=2,p=2$") || strings.Contains(hash, nodetest.TestPassword) {
		t.Errorf("password hash %q", hash)
	}

	// Wrong password and unknown user: the same 401.
	for _, body := range []map[string]string{{"username": "ann", "password": "wrong password!!"}, {"username": "nobody", "password": "wrong password!!"}} {
		r := n.Do(t, "POST", "/api/v1/session", "", jbody(body), jsonHeader)
		if r.Status != 401 || r.ErrorCode(t) != "bad_credentials" || len(r.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("sign in %v: %d %s", body, r.Status, r.Body)
		}
	}

	// The session acts as an editor: reads, writes, no admin.
	h := nodetest.SessionHeader(ann)
	r := n.Do(t, "GET", "/api/v1/session", "", nil, h)
	var who struct {
		Username, Role string
		SessionID      string `json:"session_id"`
		Scopes         []string
	}
	r.JSON(t, &who)
	if r.Status != 200 || who.Role != "editor" || strings.Join(who.Scopes, ",") != "read,write" || who.SessionID == "" {
		t.Errorf("whoami: %d %s", r.Status, r.Body)
	}
	if r := n.Do(t, "GET", "/api/v1/assets/"+asset, "", nil, h); r.Status != 200 {
		t.Errorf("editor reads: %d", r.Status)
	}
	if r := n.Do(t, "GET", "/api/v1/tokens", "", nil, h); r.Status != 403 {
		t.Errorf("editor lists tokens: %d", r.Status)
	}
	// CSRF: an unsafe request with the cookie and without the header.
	if r := n.Do(t, "PATCH", "/api/v1/assets/"+asset, "", strings.NewReader(`{}`), http.Header{"Cookie": {"stor_session=" + ann}}); r.Status != 403 {
		t.Errorf("cookie without CSRF header: %d", r.Status)
	}
	// A cross-site browser request says so in Sec-Fetch-Site: refused; a
	// same-origin one (which pages cannot fake) passes like X-Stor-CSRF.
	for site, want := range map[string]int{"cross-site": 403, "same-site": 403, "same-origin": 200} {
		hdr := http.Header{"Cookie": {"stor_session=" + ann}, "Sec-Fetch-Site": {site}, "Content-Type": {"application/json"}}
		if r := n.Do(t, "PATCH", "/api/v1/assets/"+asset, "", strings.NewReader(`{}`), hdr); r.Status != want {
			t.Errorf("cookie with Sec-Fetch-Site %s: %d, want %d: %s", site, r.Status, want, r.Body)
		}
	}

	// A second session; ann lists both and revokes the other.
	second := n.SignIn(t, "ann", nodetest.TestPassword)
	r = n.Do(t, "GET", "/api/v1/sessions", "", nil, h)
	var list struct {
		Items []struct {
			ID              string
			Current, Active bool
			IP              string
		}
	}
	r.JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].IP != "127.0.0.1" {
		t.Fatalf("sessions: %s", r.Body)
	}
	var other string
	for _, s := range list.Items {
		if !s.Current {
			other = s.ID
		}
	}
	// Another user cannot revoke it: 404.
	_, bob := n.NewUser(t, "bob", "viewer", "")
	if r := n.Do(t, "DELETE", "/api/v1/sessions/"+other, "", nil, nodetest.SessionHeader(bob)); r.Status != 404 {
		t.Errorf("bob revokes ann's session: %d", r.Status)
	}
	if r := n.Do(t, "DELETE", "/api/v1/sessions/"+other, "", nil, h); r.Status != 204 {
		t.Errorf("revoke: %d %s", r.Status, r.Body)
	}
	if r := n.Do(t, "GET", "/api/v1/session", "", nil, nodetest.SessionHeader(second)); r.Status != 401 {
		t.Errorf("revoked session: %d", r.Status)
	}

	// A token made by an admin user belongs to them and stops when they
	// are disabled; so do their sessions.
	carolID, carol := n.NewUser(t, "carol", "admin", "")
	r = n.Do(t, "POST", "/api/v1/tokens", "", jbody(map[string]any{"name": "carol's", "scopes": []string{"admin"}}), mergeHeader(nodetest.SessionHeader(carol), jsonHeader))
	var tok struct {
		Token  string
		UserID string `json:"user_id"`
	}
	r.JSON(t, &tok)
	if r.Status != 201 || tok.UserID != carolID {
		t.Fatalf("carol's token: %d %s", r.Status, r.Body)
	}
	if r := n.Do(t, "GET", "/api/v1/users", tok.Token, nil, nil); r.Status != 200 {
		t.Errorf("carol's token: %d", r.Status)
	}
	// Demoted to viewer, her admin token is capped to read.
	if r := n.Do(t, "PATCH", "/api/v1/users/"+carolID, n.Token, strings.NewReader(`{"role":"viewer"}`), nil); r.Status != 200 {
		t.Fatalf("demote: %d %s", r.Status, r.Body)
	}
	if r := n.Do(t, "GET", "/api/v1/users", tok.Token, nil, nil); r.Status != 403 {
		t.Errorf("demoted user's admin token: %d", r.Status)
	}
	if r := n.Do(t, "PATCH", "/api/v1/users/"+carolID, n.Token, strings.NewReader(`{"disabled":true}`), nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct{ token, session string }{{tok.Token, ""}, {"", carol}} {
		if r := n.Do(t, "GET", "/api/v1/session", c.token, nil, nodetest.SessionHeader(c.session)); r.Status != 401 {
			t.Errorf("disabled user (token %v): %d", c.token != "", r.Status)
		}
	}
	if r := n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"username": "carol", "password": nodetest.TestPassword}), jsonHeader); r.Status != 401 {
		t.Errorf("disabled user signs in: %d", r.Status)
	}

	// Password change: needs the current one; other sessions end.
	third := n.SignIn(t, "ann", nodetest.TestPassword)
	if r := n.Do(t, "PUT", "/api/v1/account/password", "", jbody(map[string]string{"current_password": "wrong password!!", "new_password": "another long password"}), mergeHeader(h, jsonHeader)); r.Status != 401 {
		t.Errorf("wrong current password: %d", r.Status)
	}
	if r := n.Do(t, "PUT", "/api/v1/account/password", "", jbody(map[string]string{"current_password": nodetest.TestPassword, "new_password": "another long password"}), mergeHeader(h, jsonHeader)); r.Status != 204 {
		t.Fatalf("change password: %d %s", r.Status, r.Body)
	}
	if r := n.Do(t, "GET", "/api/v1/session", "", nil, nodetest.SessionHeader(third)); r.Status != 401 {
		t.Errorf("other session after password change: %d", r.Status)
	}
	n.SignIn(t, "ann", "another long password")

	// Sessions expire (the clock moved past the TTL).
	n.API.Auth.Now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if r := n.Do(t, "GET", "/api/v1/session", "", nil, h); r.Status != 401 {
		t.Errorf("expired session: %d", r.Status)
	}
	n.API.Auth.Now = nil

	// Sign-out revokes the session and clears the cookie.
	r = n.Do(t, "DELETE", "/api/v1/session", "", nil, h)
	if r.Status != 204 || !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("sign out: %d %v", r.Status, r.Header)
	}
	if r := n.Do(t, "GET", "/api/v1/session", "", nil, h); r.Status != 401 {
		t.Errorf("after sign-out: %d", r.Status)
	}
}

func mergeHeader(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// TestAuditLog: admin actions, sign-ins and downloads of private originals
// are recorded with who, what, when and from where; the table refuses
// updates and deletes; only admins read it.
func TestAuditLog(t *testing.T) { nodetest.EachBackend(t, testAuditLog) }

func testAuditLog(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	asset := n.MustUpload(t, n.Token, "a.jpg", nodetest.JPEG(t, 16, 16, 2)).ID
	n.NewToken(t, []string{"read"}, "")
	_, viewer := n.NewUser(t, "vera", "viewer", "")
	n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"username": "vera", "password": "not her password"}), jsonHeader)
	if r := n.Do(t, "GET", "/api/v1/assets/"+asset+"/original", "", nil, nodetest.SessionHeader(viewer)); r.Status != 200 {
		t.Fatalf("original: %d", r.Status)
	}
	if r := n.Do(t, "GET", "/api/v1/audit", "", nil, nodetest.SessionHeader(viewer)); r.Status != 403 {
		t.Errorf("viewer reads the audit log: %d", r.Status)
	}
	r := n.Do(t, "GET", "/api/v1/audit?limit=50", n.Token, nil, nil)
	var out struct {
		Items []struct {
			Actor, Action, Target, IP, At string
			RequestID                     string `json:"request_id"`
			Detail                        map[string]any
		}
	}
	r.JSON(t, &out)
	got := map[string]string{}
	for _, e := range out.Items {
		got[e.Action] = e.Actor + " " + e.Target
		if e.IP != "127.0.0.1" || e.At == "" || e.RequestID == "" {
			t.Errorf("entry without where/when: %+v", e)
		}
	}
	for action, want := range map[string]string{
		"POST /api/v1/tokens": "token:", "POST /api/v1/users": "token:", "session.create": "user:vera",
		"session.denied": "anonymous vera", "original.download": "user:vera " + asset,
	} {
		if !strings.HasPrefix(got[action], want) {
			t.Errorf("audit %s: %q, want %q...; all: %v", action, got[action], want, got)
		}
	}
	// Filter by action.
	r = n.Do(t, "GET", "/api/v1/audit?action=session.denied", n.Token, nil, nil)
	r.JSON(t, &out)
	if len(out.Items) != 1 {
		t.Errorf("filtered: %s", r.Body)
	}
	// Append-only.
	ctx := context.Background()
	if _, err := n.DB.Writer().ExecContext(ctx, `UPDATE audit_log SET actor = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update of audit_log: %v", err)
	}
	if _, err := n.DB.Writer().ExecContext(ctx, `DELETE FROM audit_log`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete from audit_log: %v", err)
	}
}

// TestRateLimits: sign-in attempts over the limit get 429 with
// Retry-After; so do uploads.
func TestRateLimits(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0; c.SignInRateLimit = 3; c.UploadRateLimit = 2 })
	var last *nodetest.Response
	for range 4 {
		last = n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"username": "x", "password": "y"}), jsonHeader)
	}
	if last.Status != 429 || last.ErrorCode(t) != "rate_limited" {
		t.Fatalf("4th sign-in: %d %s", last.Status, last.Body)
	}
	if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q", last.Header.Get("Retry-After"))
	}
	// Other routes are not limited by it.
	if r := n.Do(t, "GET", "/api/v1/session", n.Token, nil, nil); r.Status != 200 {
		t.Errorf("whoami: %d", r.Status)
	}
	for i := range 3 {
		r := n.Upload(t, n.Token, "u.jpg", nodetest.JPEG(t, 8, 8, i), nil)
		if want := map[bool]int{true: 201, false: 429}[i < 2]; r.Status != want {
			t.Errorf("upload %d: %d %s", i, r.Status, r.Body)
		}
	}
}

// TestSecurityHeaders: every response carries nosniff, a deny-all CSP
// unless the handler has its own, no framing; the UI its own CSP.
func TestSecurityHeaders(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	r := n.Do(t, "GET", "/api/v1/session", n.Token, nil, nil)
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox", "Referrer-Policy": "same-origin",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.Header.Get("Permissions-Policy") == "" {
		t.Error("no Permissions-Policy")
	}
	r = n.Do(t, "GET", "/", "", nil, nil)
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("UI CSP %q", csp)
	}
	// X-Forwarded-Proto from a peer that is not a trusted proxy: ignored.
	r = n.Do(t, "GET", "/healthz", "", nil, http.Header{"X-Forwarded-Proto": {"https"}})
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a forwarded https from an untrusted peer")
	}
	n2 := nodetest.Start(t, func(c *config.Config) { c.Workers = 0; c.TrustedProxies = "127.0.0.0/8" })
	r = n2.Do(t, "GET", "/healthz", "", nil, http.Header{"X-Forwarded-Proto": {"https"}})
	if r.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over https (a trusted proxy's X-Forwarded-Proto)")
	}
}
