package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"stor/internal/auth"
)

// Rate limits a route may count against (Route.Limit).
const (
	LimitSignIn = "signin"
	LimitUpload = "upload"
)

// Limits are the request rate limits and the default download rate. A
// limit counts per caller (the token, session or cookie sent; the client
// IP when none) and, separately, per client IP; over it the request is
// refused with 429 and Retry-After. Zero turns a limit off.
type Limits struct {
	// SignInPerMinute bounds sign-in attempts (and password changes).
	SignInPerMinute int
	// UploadsPerMinute bounds uploads started (POST /api/v1/assets,
	// from-url, tus creation).
	UploadsPerMinute int
	// RequestsPerSecond bounds every request (bursts of 2 seconds' worth).
	RequestsPerSecond float64
	// DownloadRate bounds one download of media (originals, derivatives,
	// IIIF, HLS) in bytes per second; a project's or a signed URL's own
	// rate applies when lower.
	DownloadRate int64
}

// ErrRateLimited carries the wait before the next request may pass.
type ErrRateLimited struct {
	Limit string
	Wait  time.Duration
}

func (e *ErrRateLimited) Error() string {
	return fmt.Sprintf("rate limit %s exceeded: retry after %s", e.Limit, e.Wait.Round(time.Second))
}

type limiterSet struct {
	mu    sync.Mutex
	m     map[string]*limEntry
	swept time.Time
}

type limEntry struct {
	l    *rate.Limiter
	used time.Time
}

func (s *Server) limiterSet() *limiterSet {
	s.limOnce.Do(func() { s.limiters = &limiterSet{m: map[string]*limEntry{}} })
	return s.limiters
}

// take reserves one event of key under limit r/burst; it returns the wait
// when the event is not allowed now (and then takes nothing).
func (ls *limiterSet) take(key string, r rate.Limit, burst int, now time.Time) time.Duration {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if now.Sub(ls.swept) > time.Minute {
		for k, e := range ls.m {
			if now.Sub(e.used) > 10*time.Minute {
				delete(ls.m, k)
			}
		}
		ls.swept = now
	}
	e, ok := ls.m[key]
	if !ok {
		e = &limEntry{l: rate.NewLimiter(r, burst)}
		ls.m[key] = e
	}
	e.used = now
	res := e.l.ReserveN(now, 1)
	if !res.OK() {
		return time.Minute
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// callerKey names the credentials a request carries (hashed), else its IP.
func callerKey(r *http.Request) string {
	cred := r.Header.Get("Authorization")
	if cred == "" {
		if c, err := r.Cookie(auth.SessionCookie); err == nil {
			cred = c.Value
		}
	}
	if cred == "" {
		if t := r.URL.Query().Get("token"); t != "" {
			cred = t
		}
	}
	if cred == "" {
		return "ip:" + clientIP(r)
	}
	h := sha256.Sum256([]byte(cred))
	return "cred:" + hex.EncodeToString(h[:12])
}

// rateLimit applies the general limit and the route's own.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, rt Route) error {
	if rt.Pattern == "/healthz" || rt.Pattern == "/readyz" {
		return nil
	}
	ls := s.limiterSet()
	now := time.Now()
	check := func(name string, lim rate.Limit, burst int) error {
		keys := []string{"ip:" + clientIP(r)}
		if k := callerKey(r); k != keys[0] {
			keys = append(keys, k)
		}
		var wait time.Duration
		for _, k := range keys {
			if wait = ls.take(name+"|"+k, lim, burst, now); wait > 0 {
				break
			}
		}
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
			return &ErrRateLimited{Limit: name, Wait: wait}
		}
		return nil
	}
	if l := s.Limits.RequestsPerSecond; l > 0 {
		if err := check("requests", rate.Limit(l), max(1, int(2*l))); err != nil {
			return err
		}
	}
	var perMin int
	switch rt.Limit {
	case LimitSignIn:
		perMin = s.Limits.SignInPerMinute
	case LimitUpload:
		perMin = s.Limits.UploadsPerMinute
	}
	if perMin > 0 {
		return check(rt.Limit, rate.Limit(float64(perMin)/60), perMin)
	}
	return nil
}

func minRate(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// throttledWriter writes at most rate bytes per second.
type throttledWriter struct {
	http.ResponseWriter
	ctx context.Context
	l   *rate.Limiter
}

func newThrottledWriter(ctx context.Context, w http.ResponseWriter, bps int64) *throttledWriter {
	burst := int(min(bps, 64<<10))
	return &throttledWriter{ResponseWriter: w, ctx: ctx, l: rate.NewLimiter(rate.Limit(bps), burst)}
}

func (t *throttledWriter) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		c := min(len(p), t.l.Burst())
		if err := t.l.WaitN(t.ctx, c); err != nil {
			return n, err
		}
		m, err := t.ResponseWriter.Write(p[:c])
		n += m
		if err != nil {
			return n, err
		}
		p = p[c:]
	}
	return n, nil
}

func (t *throttledWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// securityHeaders are set on every response: handlers that serve pages
// (the UI) or untrusted bytes (originals) set their own CSP over the
// default one, which lets a response run nothing and be framed nowhere.
func securityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if secureRequest(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// PathTokenPrefix starts a URL that carries a signed URL token in its
// path: /s/TOKEN/iiif/3/ID/info.json is /iiif/3/ID/info.json?token=TOKEN.
// IIIF viewers build tile URLs from info.json's id, dropping any query,
// so an id of this form carries the token into every tile.
const PathTokenPrefix = "/s/"

// pathToken turns /s/TOKEN/rest into /rest?token=TOKEN.
func (s *Server) pathToken(r *http.Request) *http.Request {
	rest, ok := strings.CutPrefix(r.URL.Path, PathTokenPrefix)
	if !ok {
		return r
	}
	tok, path, ok := strings.Cut(rest, "/")
	if !ok || tok == "" {
		return r
	}
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.Path, u.RawPath = "/"+path, ""
	q := u.Query()
	q.Set("token", tok)
	u.RawQuery = q.Encode()
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2
}

// SignLinks rewrites, in a response body to a signed request, every
// quoted URL of ours ("BASE/...") that p's token covers so that it carries
// the token in its path; other URLs are left as they are.
func SignLinks(body []byte, base string, p *auth.Principal) []byte {
	if p == nil || !p.Signed || p.SignedToken == "" {
		return body
	}
	signed := SignedBase(base, p)
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(base) + `(/[^"?#]*)`)
	return re.ReplaceAllFunc(body, func(m []byte) []byte {
		path := string(m[1+len(base):])
		if !auth.Covers(p.SignedPrefix, path) {
			return m
		}
		return []byte(`"` + signed + path)
	})
}

// SignedBase is the URL base that carries p's signed token, for links in
// responses to a signed request (BaseURL + "/s/TOKEN"); else BaseURL.
func SignedBase(base string, p *auth.Principal) string {
	if p != nil && p.Signed && p.SignedToken != "" {
		return base + PathTokenPrefix + url.PathEscape(p.SignedToken)
	}
	return base
}

// downloadRate is the rate of the throttledWriter under w (bytes/s), 0
// when the response is not throttled.
func downloadRate(w http.ResponseWriter) int64 {
	for w != nil {
		if t, ok := w.(*throttledWriter); ok {
			return int64(t.l.Limit())
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return 0
		}
		w = u.Unwrap()
	}
	return 0
}
