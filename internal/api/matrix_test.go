package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// Expectations of a token of another project (read+write, limited to
// project "elsewhere") on each route: "404" (the asset is hidden), "403"
// (the route needs admin), "ok" (allowed: not 401/403/404), "any" (allowed
// to run; the outcome depends on the request, e.g. 404 for an id that
// does not exist). Routes with Scope "" are "public" (anyone) or "self"
// (the handler authenticates: tus).
var matrix = map[string]string{
	"GET /healthz": "public", "GET /readyz": "public", "GET /api/openapi.json": "public",
	"POST /api/v1/session": "signin", "DELETE /api/v1/session": "public",
	"GET /{$}": "public", "GET /index.html": "public", "GET /static/{file}": "public",
	"OPTIONS /uploads/": "public", "POST /uploads/": "self", "HEAD /uploads/": "self", "PATCH /uploads/": "self", "DELETE /uploads/": "self",
	"OPTIONS /iiif/3/{id}": "public", "OPTIONS /iiif/3/{id}/info.json": "public", "OPTIONS /iiif/3/{id}/{region}/{size}/{rotation}/{qf}": "public",
	"OPTIONS /iiif/2/{id}": "public", "OPTIONS /iiif/2/{id}/info.json": "public", "OPTIONS /iiif/2/{id}/{region}/{size}/{rotation}/{qf}": "public",

	"POST /api/v1/assets": "any", "GET /api/v1/assets": "ok", "POST /api/v1/assets/from-url": "any",
	"GET /api/v1/assets/{id}": "404", "DELETE /api/v1/assets/{id}": "404", "GET /api/v1/assets/{id}/original": "404",
	"POST /api/v1/assets/{id}/signed-url": "404", "PUT /api/v1/assets/{id}/visibility": "404",
	"GET /api/v1/assets/{id}/events": "404", "GET /api/v1/assets/{id}/premis": "404", "GET /api/v1/assets/{id}/metadata": "404",
	"GET /api/v1/assets/{id}/metadata.xmp": "404", "GET /api/v1/assets/{id}/text": "404", "GET /api/v1/assets/{id}/tasks": "404",
	"POST /api/v1/assets/{id}/reprocess": "404", "GET /api/v1/assets/{id}/derivatives": "404",
	"GET /api/v1/assets/{id}/derivatives/{name}": "404", "GET /api/v1/assets/{id}/av": "404",
	"GET /iiif/3/{id}": "404", "GET /iiif/3/{id}/info.json": "404", "GET /iiif/3/{id}/{region}/{size}/{rotation}/{qf}": "404",
	"GET /iiif/2/{id}": "404", "GET /iiif/2/{id}/info.json": "404", "GET /iiif/2/{id}/{region}/{size}/{rotation}/{qf}": "404",
	"GET /media/{id}/hls/{path...}": "404",
	"GET /api/v1/projects/{name}":   "404", "PUT /api/v1/projects/{name}": "403",
	"GET /api/v1/session": "ok", "GET /api/v1/tasks": "ok", "POST /api/v1/tasks/{id}/retry": "any", "GET /api/v1/processing": "ok",
	"GET /metrics":        "ok",
	"POST /api/v1/tokens": "403", "GET /api/v1/tokens": "403", "DELETE /api/v1/tokens/{id}": "403",
	"POST /api/v1/webhooks": "403", "GET /api/v1/webhooks": "403", "DELETE /api/v1/webhooks/{id}": "403",
	"GET /api/v1/webhooks/{id}/deliveries": "403",
	"PATCH /api/v1/assets/{id}":            "404", "POST /api/v1/assets/{id}/tags": "404", "POST /api/v1/tags": "any",
	"POST /api/v1/collections": "any", "GET /api/v1/collections": "ok", "GET /api/v1/collections/{id}": "any",
	"PATCH /api/v1/collections/{id}": "any", "DELETE /api/v1/collections/{id}": "any",
	"GET /api/v1/collections/{id}/members": "any", "PUT /api/v1/collections/{id}/members": "any",
	"GET /api/v1/projects/{project}/fields": "any", "PUT /api/v1/projects/{project}/fields": "403",
	"GET /api/v1/assets/{id}/pages": "404", "GET /iiif/3/{id}/manifest.json": "404",
	"GET /iiif/3/collections/{id}/manifest.json": "any", "GET /iiif/3/collections/{id}/collection.json": "any",
	"POST /api/v1/uploads/s3/multipart": "any", "GET /api/v1/uploads/s3/multipart/{upload}/{part}": "any",
	"GET /api/v1/uploads/s3/multipart/{upload}": "any", "POST /api/v1/uploads/s3/multipart/{upload}/complete": "any",
	"DELETE /api/v1/uploads/s3/multipart/{upload}": "any",
	"POST /api/v1/reprocess":                       "403", "POST /api/v1/processing/pause": "403", "POST /api/v1/processing/resume": "403",
	"GET /api/v1/sessions": "ok", "DELETE /api/v1/sessions/{id}": "any", "PUT /api/v1/account/password": "any",
	"POST /api/v1/users": "403", "GET /api/v1/users": "403", "GET /api/v1/users/{id}": "403", "PATCH /api/v1/users/{id}": "403",
	"GET /api/v1/audit": "403", "GET /api/v1/signin-locks": "403", "DELETE /api/v1/signin-locks/{name}": "403",
}

var wildcard = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)

// TestAuthorizationMatrix walks the router's own route list: every route
// × {anonymous, token of another project, read, write, admin, expired
// token, revoked token, valid/tampered/expired signed URL}. A route
// without an expectation above fails, so no route is forgotten.
func TestAuthorizationMatrix(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0; c.SignInRateLimit = 0 })
	ctx := context.Background()
	asset := n.MustUpload(t, n.Token, "m.jpg", nodetest.JPEG(t, 32, 24, 11)).ID
	victim := n.MustUpload(t, n.Token, "v.jpg", nodetest.JPEG(t, 32, 24, 12)).ID
	putDerivative(t, n, asset, "thumb-400", "image/webp", []byte("w"))

	read := n.NewToken(t, []string{"read"}, "")
	write := n.NewToken(t, []string{"read", "write"}, "")
	other := n.NewToken(t, []string{"read", "write"}, "elsewhere")
	past := time.Now().Add(-time.Hour)
	expired, _, err := auth.CreateToken(ctx, n.DB.Writer(), "expired", []string{auth.ScopeAdmin}, "", &past, "")
	if err != nil {
		t.Fatal(err)
	}
	revoked, tok, err := auth.CreateToken(ctx, n.DB.Writer(), "revoked", []string{auth.ScopeAdmin}, "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := n.Do(t, "DELETE", "/api/v1/tokens/"+tok.ID, n.Token, nil, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d", r.Status)
	}

	// Users signed in with a password: their sessions act as their role
	// (viewer = read, editor = read+write, admin), a user of another
	// project is hidden from this one; a disabled user's session and a
	// signed-out session are dead.
	_, viewer := n.NewUser(t, "viewer", "viewer", "")
	_, editor := n.NewUser(t, "editor", "editor", "")
	_, otherEditor := n.NewUser(t, "other-editor", "editor", "elsewhere")
	_, adminUser := n.NewUser(t, "admin-user", "admin", "")
	disabledID, disabled := n.NewUser(t, "disabled", "admin", "")
	if r := n.Do(t, "PATCH", "/api/v1/users/"+disabledID, n.Token, strings.NewReader(`{"disabled":true}`), nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	_, signedOut := n.NewUser(t, "signed-out", "admin", "")
	if r := n.Do(t, "DELETE", "/api/v1/session", "", nil, nodetest.SessionHeader(signedOut)); r.Status != 204 {
		t.Fatalf("sign out: %d %s", r.Status, r.Body)
	}

	values := map[string]string{"project": "default", "name": "thumb-400", "path": "master.m3u8", "file": "app.js",
		"region": "full", "size": "max", "rotation": "0", "qf": "default.jpg", "upload": "no-such-upload", "part": "1"}
	routes := n.API.Routes()
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.Method+" "+rt.Pattern] = true
	}
	for k := range matrix {
		if !seen[k] {
			t.Errorf("matrix names %s, which the router does not have", k)
		}
	}
	type call struct {
		who, token, session string
	}
	// Admin last: some admin calls change state (DELETE of the victim).
	callers := []call{{"anonymous", "", ""}, {"expired", expired, ""}, {"revoked", revoked, ""},
		{"disabled user", "", disabled}, {"signed-out session", "", signedOut},
		{"other project", other, ""}, {"other project", "", otherEditor},
		{"read", read, ""}, {"read", "", viewer}, {"write", write, ""}, {"write", "", editor}, {"admin", "", adminUser}}
	class := func(s int) string {
		switch s {
		case 401, 403, 404:
			return map[int]string{401: "401", 403: "403", 404: "404"}[s]
		}
		return "ok"
	}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		want, ok := matrix[key]
		if !ok {
			t.Errorf("route %s has no expectation in the authorisation matrix", key)
			continue
		}
		id := asset
		if key == "DELETE /api/v1/assets/{id}" {
			id = victim
		}
		path := wildcard.ReplaceAllStringFunc(rt.Pattern, func(w string) string {
			m := wildcard.FindStringSubmatch(w)
			if m[1] == "id" {
				return id
			}
			v, ok := values[m[1]]
			if !ok {
				t.Fatalf("route %s: no value for {%s}", key, m[1])
			}
			return v
		})
		path = strings.TrimSuffix(strings.ReplaceAll(path, "{$}", ""), "")
		if strings.HasPrefix(path, "/api/v1/projects/") {
			path = "/api/v1/projects/default"
		}
		do := func(token, session, query string) *nodetest.Response {
			var body *bytes.Reader
			h := http.Header{}
			if session != "" {
				h = nodetest.SessionHeader(session)
			}
			if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
				body = bytes.NewReader([]byte(`{}`))
				h.Set("Content-Type", "application/json")
			}
			p := path
			if query != "" {
				p += "?" + query
			}
			if body == nil {
				return n.Do(t, rt.Method, p, token, nil, h)
			}
			return n.Do(t, rt.Method, p, token, body, h)
		}
		for _, c := range append(callers, call{"admin", n.Token, ""}) {
			if c.session != "" && key == "DELETE /api/v1/session" {
				continue // signing out: tested on its own (it would end the session)
			}
			got := do(c.token, c.session, "").Status
			var exp []string // acceptable classes
			switch {
			case want == "public":
				exp = []string{"ok", "404"}
			case want == "signin": // the body {} holds no token: refused whoever asks
				exp = []string{"401"}
			case want == "self" && (c.who == "anonymous" || c.who == "expired" || c.who == "revoked" || c.who == "disabled user" || c.who == "signed-out session"):
				exp = []string{"401"}
			case want == "self" && c.who == "read": // uploads need write
				exp = []string{"403"}
			case want == "self":
				exp = []string{"ok", "404"}
			case c.who == "anonymous" || c.who == "expired" || c.who == "revoked" || c.who == "disabled user" || c.who == "signed-out session":
				exp = []string{"401"}
			case c.who == "other project":
				switch want {
				case "404", "403":
					exp = []string{want}
					if want == "404" && rt.Scope == auth.ScopeAdmin {
						exp = []string{"403"}
					}
				case "ok":
					exp = []string{"ok"}
				default:
					exp = []string{"ok", "404"}
				}
			case c.who == "read" && rt.Scope != auth.ScopeRead, c.who == "write" && rt.Scope == auth.ScopeAdmin:
				exp = []string{"403"}
			default: // allowed: the outcome is the handler's (400 for an empty body, 404 for a made-up id)
				exp = []string{"ok", "404"}
			}
			if !contains(exp, class(got)) {
				t.Errorf("%s as %s: %d, want %v", key, c.who, got, exp)
			}
		}
		// Signed URLs: only media routes take them; elsewhere ?token= is
		// ignored (so: no credentials).
		if rt.Scope == "" {
			continue
		}
		valid := n.API.Signer.Sign(path, time.Now().Add(time.Hour))
		parts := strings.Split(valid, ".")
		parts[4] = flip(parts[4])
		tampered := strings.Join(parts, ".")
		old := n.API.Signer.Sign(path, time.Now().Add(-time.Minute))
		for _, s := range []struct{ who, tok, status, code string }{
			{"valid signed URL", valid, "ok", ""}, {"tampered signed URL", tampered, "401", "signature_invalid"},
			{"expired signed URL", old, "401", "signature_expired"},
		} {
			r := do("", "", url.Values{"token": {s.tok}}.Encode())
			switch {
			case rt.Signed && rt.Scope == auth.ScopeRead:
				if class(r.Status) != s.status && !(s.status == "ok" && r.Status == 404) || (s.code != "" && r.ErrorCode(t) != s.code) {
					t.Errorf("%s with a %s: %d %s", key, s.who, r.Status, r.Body)
				}
			default:
				if r.Status != 401 || r.ErrorCode(t) != "unauthenticated" {
					t.Errorf("%s (not a media route) with a %s: %d %s", key, s.who, r.Status, r.Body)
				}
			}
		}
	}
	n.Do(t, "POST", "/api/v1/processing/resume", n.Token, nil, nil)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestCSRFEveryRoute walks the router's route list: every route that
// changes something and takes the session cookie refuses the cookie
// without X-Stor-CSRF (403 csrf_required, nothing done), sign-out and the
// tus routes included; the same call with the header gets past the check.
func TestCSRFEveryRoute(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0; c.SignInRateLimit = 0 })
	asset := n.MustUpload(t, n.Token, "c.jpg", nodetest.JPEG(t, 16, 16, 5)).ID
	_, admin := n.NewUser(t, "csrf-admin", "admin", "")
	values := map[string]string{"id": asset, "project": "default", "name": "default", "path": "master.m3u8", "file": "app.js",
		"region": "full", "size": "max", "rotation": "0", "qf": "default.jpg", "upload": "no-such-upload", "part": "1"}
	checked := 0
	for _, rt := range n.API.Routes() {
		key := rt.Method + " " + rt.Pattern
		switch rt.Method {
		case "GET", "HEAD", "OPTIONS":
			continue
		}
		if key == "POST /api/v1/session" {
			continue // signing in takes no cookie (and needs JSON: TestSignInNeedsJSON)
		}
		path := wildcard.ReplaceAllStringFunc(rt.Pattern, func(w string) string {
			return values[wildcard.FindStringSubmatch(w)[1]]
		})
		path = strings.ReplaceAll(path, "{$}", "")
		h := http.Header{"Cookie": {"stor_session=" + admin}, "Content-Type": {"application/json"}, "Tus-Resumable": {"1.0.0"}}
		r := n.Do(t, rt.Method, path, "", strings.NewReader(`{}`), h)
		if r.Status != 403 || (!strings.HasPrefix(path, "/uploads/") && r.ErrorCode(t) != "csrf_required") {
			t.Errorf("%s by cookie without X-Stor-CSRF: %d %s", key, r.Status, r.Body)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d unsafe routes checked", checked)
	}
	// Nothing happened: the asset is there and the session alive.
	if r := n.Do(t, "GET", "/api/v1/assets/"+asset, "", nil, nodetest.SessionHeader(admin)); r.Status != 200 {
		t.Errorf("after the CSRF attempts: asset %d", r.Status)
	}
	// With the header, the same cookie passes the check (sign-out here).
	if r := n.Do(t, "DELETE", "/api/v1/session", "", nil, nodetest.SessionHeader(admin)); r.Status != 204 {
		t.Errorf("sign-out with the header: %d %s", r.Status, r.Body)
	}
}
