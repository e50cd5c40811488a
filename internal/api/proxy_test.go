package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// TestForwardedSpoofing: a client that is not a trusted proxy cannot dodge
// the per-IP sign-in limit with made-up X-Forwarded-For, nor get its
// forged address into the audit log, nor a Secure cookie decision; a
// trusted proxy's headers are believed for all three.
func TestForwardedSpoofing(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run("trusted="+strconv.FormatBool(trusted), func(t *testing.T) {
			n := nodetest.Start(t, func(c *config.Config) {
				c.Workers = 0
				c.SignInRateLimit = 3
				c.SignInLockoutAttempts = 0
				if trusted {
					c.TrustedProxies = "127.0.0.1/32, ::1"
				}
			})
			if r := n.Do(t, "POST", "/api/v1/users", n.Token, jbody(map[string]string{"username": "ann", "password": nodetest.TestPassword}), jsonHeader); r.Status != 201 {
				t.Fatalf("create user: %d %s", r.Status, r.Body)
			}
			h := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"203.0.113.5"}}
			r := n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"username": "ann", "password": nodetest.TestPassword}), h)
			if r.Status != 200 {
				t.Fatalf("sign in: %d %s", r.Status, r.Body)
			}
			var secure bool
			for _, c := range (&http.Response{Header: r.Header}).Cookies() {
				if c.Name == "stor_session" {
					secure = c.Secure
				}
			}
			if secure != trusted {
				t.Errorf("session cookie Secure=%v on a forwarded https (trusted proxy: %v)", secure, trusted)
			}
			var sessions struct{ Items []struct{ IP string } }
			cookie := ""
			for _, c := range (&http.Response{Header: r.Header}).Cookies() {
				cookie = c.Value
			}
			n.Get(t, "/api/v1/sessions", "", nodetest.SessionHeader(cookie)).JSON(t, &sessions)
			want := map[bool]string{false: "127.0.0.1", true: "203.0.113.5"}[trusted]
			if len(sessions.Items) != 1 || sessions.Items[0].IP != want {
				t.Errorf("sessions: %+v, want ip %s", sessions.Items, want)
			}
			var statuses []int
			for i := range 3 {
				h := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {"198.51.100." + strconv.Itoa(i)}}
				if i == 1 { // RFC 7239 spelling: believed and ignored the same way
					h = http.Header{"Content-Type": {"application/json"}, "Forwarded": {`for="198.51.100.1:3456";proto=https`}}
				}
				// A different username each time: only the per-IP limit can bite.
				r := n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"username": "u" + strconv.Itoa(i), "password": "nope nope nope"}), h)
				statuses = append(statuses, r.Status)
			}
			if want := map[bool]int{false: 429, true: 401}[trusted]; statuses[2] != want || statuses[1] != 401 {
				t.Errorf("third sign-in from rotating X-Forwarded-For: %v, want %d last", statuses, want)
			}
			var audit struct{ Items []struct{ IP, Target string } }
			n.Get(t, "/api/v1/audit?action=session.denied", n.Token, nil).JSON(t, &audit)
			for _, e := range audit.Items {
				want := "127.0.0.1"
				if trusted {
					want = "198.51.100." + e.Target[1:]
				}
				if e.IP != want {
					t.Errorf("audit of %s: ip %s, want %s", e.Target, e.IP, want)
				}
			}
		})
	}
}

// TestSignInNeedsJSON: a cross-site form (text/plain or urlencoded) that
// spells a JSON body cannot sign a browser in (login CSRF).
func TestSignInNeedsJSON(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	body := `{"token":"` + n.Token + `","pad":"="}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		r := n.Do(t, "POST", "/api/v1/session", "", strings.NewReader(body), http.Header{"Content-Type": {ct}})
		if r.Status != 415 || r.ErrorCode(t) != "json_required" || r.Header.Get("Set-Cookie") != "" {
			t.Errorf("sign-in as %q: %d %s %v", ct, r.Status, r.Body, r.Header.Get("Set-Cookie"))
		}
	}
	r := n.Do(t, "POST", "/api/v1/session", "", jbody(map[string]string{"token": n.Token}), http.Header{"Content-Type": {"application/json; charset=utf-8"}})
	if r.Status != 200 {
		t.Errorf("JSON sign-in: %d %s", r.Status, r.Body)
	}
}
