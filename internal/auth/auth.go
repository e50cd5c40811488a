// Package auth decides who is calling: bearer tokens (stored as the SHA-256
// of a high-entropy secret), their scopes (read, write, admin) and the one
// project a token may be limited to.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"stor/internal/catalog"
)

// Errors the API maps to 401 and 403.
var (
	ErrUnauthenticated = errors.New("missing, unknown, expired or revoked token")
	ErrForbidden       = errors.New("token lacks the scope for this")
)

// Scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool { return s == ScopeRead || s == ScopeWrite || s == ScopeAdmin }

// Principal is an authenticated caller.
type Principal struct {
	TokenID string
	Name    string
	Scopes  []string
	Project string // empty: every project
	// Signed: authorised by a signed URL for the request's path only.
	Signed bool
	// Public: no credentials; the asset asked for is public.
	Public bool
	// SignedToken is the signed URL token of a Signed principal, so that
	// responses can carry it into the URLs they link (IIIF tiles).
	SignedToken string
	// SignedPrefix is the path prefix the signed token covers.
	SignedPrefix string
	// UserID, Username and Role: a user's session or a token of a user.
	UserID, Username, Role string
	// SessionID: signed in through a web session.
	SessionID string
}

// Has reports whether p holds scope; admin holds every scope.
func (p *Principal) Has(scope string) bool {
	return p != nil && (slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAdmin))
}

// SeesProject reports whether p may see assets of project.
func (p *Principal) SeesProject(project string) bool {
	return p != nil && (p.Project == "" || p.Project == project)
}

// Actor names p in events and logs.
func (p *Principal) Actor() string {
	switch {
	case p == nil, p.Public:
		return "anonymous"
	case p.Signed:
		return p.TokenID
	case p.SessionID != "":
		return "user:" + p.Username
	case p.UserID != "":
		return "user:" + p.Username + " token:" + p.TokenID
	}
	return "token:" + p.TokenID
}

// NewSecret returns a fresh token secret: "stor_" and 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails on Linux (crypto/rand panics if it cannot read)
	return "stor_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// HashSecret is how a secret is stored and looked up.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken stores a new token and returns its secret, which is shown
// once. A non-empty secret is used instead of a random one.
func CreateToken(ctx context.Context, q catalog.Querier, name string, scopes []string, project string, expires *time.Time, secret string) (string, *catalog.Token, error) {
	return CreateUserToken(ctx, q, name, scopes, project, expires, secret, "")
}

// CreateUserToken is CreateToken for a token owned by user userID ("" for
// a service token).
func CreateUserToken(ctx context.Context, q catalog.Querier, name string, scopes []string, project string, expires *time.Time, secret, userID string) (string, *catalog.Token, error) {
	if len(scopes) == 0 {
		return "", nil, fmt.Errorf("auth: a token needs at least one scope")
	}
	for _, s := range scopes {
		if !ValidScope(s) {
			return "", nil, fmt.Errorf("auth: unknown scope %q (want read, write or admin)", s)
		}
	}
	if secret == "" {
		secret = NewSecret()
	}
	t := &catalog.Token{
		ID: uuid.NewString(), Name: name, SecretHash: HashSecret(secret),
		Scopes: scopes, Project: project, ExpiresAt: expires, UserID: userID,
	}
	if err := catalog.InsertToken(ctx, q, t); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// Bootstrap makes sure an admin token exists. With no tokens at all it
// creates one (from secret when given) and returns its secret; when secret
// is given and not yet stored it is added. Otherwise it returns "".
func Bootstrap(ctx context.Context, db *sql.DB, secret string) (string, error) {
	if secret != "" {
		if _, err := catalog.TokenByHash(ctx, db, HashSecret(secret)); err == nil {
			return "", nil
		} else if !errors.Is(err, catalog.ErrNotFound) {
			return "", err
		}
		s, _, err := CreateToken(ctx, db, "bootstrap", []string{ScopeAdmin}, "", nil, secret)
		return s, err
	}
	n, err := catalog.CountTokens(ctx, db)
	if err != nil || n > 0 {
		return "", err
	}
	s, _, err := CreateToken(ctx, db, "bootstrap", []string{ScopeAdmin}, "", nil, "")
	return s, err
}

// Authenticator checks the bearer token or session cookie of requests.
type Authenticator struct {
	DB catalog.Querier
	// Writer, when set, records when a session was last used (at most
	// once a minute per session).
	Writer catalog.Querier
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Tokens, when set, keeps validated bearer tokens for a few seconds
	// (see TokenCache for how revocation is seen).
	Tokens *TokenCache
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// SessionCookie carries the web UI's session (HttpOnly, SameSite=Strict,
// Secure over HTTPS): a session secret (SessionPrefix...) made by signing
// in with a username and password, or a token secret handed to the UI.
const SessionCookie = "stor_session"

// CSRFHeader must accompany unsafe requests authenticated by the cookie: a
// cross-site form cannot set it, and a cross-site script cannot send it
// without a CORS preflight that stor does not grant. A browser's
// "Sec-Fetch-Site: same-origin" proves the same (pages cannot set Sec-
// headers; net/http.CrossOriginProtection relies on it too): it lets
// libraries that make their own requests, such as Uppy's S3 plugin, use
// the session without knowing about X-Stor-CSRF.
const CSRFHeader = "X-Stor-CSRF"

// Authenticate returns the caller of r, or ErrUnauthenticated. It takes a
// bearer token, else the session cookie.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
			return nil, ErrUnauthenticated
		}
		return a.Lookup(r.Context(), strings.TrimSpace(secret))
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, ErrUnauthenticated
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !CSRFOK(r) {
			return nil, ErrCSRF
		}
	}
	if strings.HasPrefix(c.Value, SessionPrefix) {
		return a.LookupSession(r.Context(), c.Value)
	}
	return a.Lookup(r.Context(), c.Value)
}

// LookupSession finds the live session with this secret and its user.
func (a *Authenticator) LookupSession(ctx context.Context, secret string) (*Principal, error) {
	s, err := catalog.SessionByHash(ctx, a.DB, HashSecret(secret))
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	if s.RevokedAt != nil || !now.Before(s.ExpiresAt) {
		return nil, ErrUnauthenticated
	}
	u, err := catalog.GetUser(ctx, a.DB, s.UserID)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.DisabledAt != nil {
		return nil, ErrUnauthenticated
	}
	if a.Writer != nil && now.Sub(s.LastSeenAt) > time.Minute {
		catalog.TouchSession(ctx, a.Writer, s.ID, now) // best effort: a failure does not refuse the request
	}
	p := userPrincipal(u)
	p.SessionID = s.ID
	p.TokenID = "session:" + s.ID
	return p, nil
}

// Lookup finds the live token with this secret.
func (a *Authenticator) Lookup(ctx context.Context, secret string) (*Principal, error) {
	hash := HashSecret(secret)
	if a.Tokens != nil {
		return a.lookupCached(hash, func() (*Principal, *time.Time, error) { return a.lookupToken(ctx, hash) })
	}
	p, _, err := a.lookupToken(ctx, hash)
	return p, err
}

// lookupToken finds the live token of this hash, and its expiry.
func (a *Authenticator) lookupToken(ctx context.Context, hash string) (*Principal, *time.Time, error) {
	t, err := catalog.TokenByHash(ctx, a.DB, hash)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, err
	}
	// The lookup was by hash; compare again in constant time for form.
	if subtle.ConstantTimeCompare([]byte(t.SecretHash), []byte(hash)) != 1 {
		return nil, nil, ErrUnauthenticated
	}
	now := a.now()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return nil, nil, ErrUnauthenticated
	}
	p := &Principal{TokenID: t.ID, Name: t.Name, Scopes: t.Scopes, Project: t.Project}
	if t.UserID != "" {
		// A user's token: never more than the user's role, and dead
		// while the user is disabled.
		u, err := catalog.GetUser(ctx, a.DB, t.UserID)
		if errors.Is(err, catalog.ErrNotFound) {
			return nil, nil, ErrUnauthenticated
		}
		if err != nil {
			return nil, nil, err
		}
		if u.DisabledAt != nil {
			return nil, nil, ErrUnauthenticated
		}
		role, _ := RoleScopes(u.Role)
		p.Scopes = capScopes(t.Scopes, role)
		if u.Project != "" {
			p.Project = u.Project
		}
		p.UserID, p.Username, p.Role = u.ID, u.Username, u.Role
	}
	return p, t.ExpiresAt, nil
}

// capScopes keeps the scopes of want that role grants.
func capScopes(want, role []string) []string {
	if slices.Contains(role, ScopeAdmin) {
		return want
	}
	var out []string
	for _, s := range want {
		if slices.Contains(role, s) {
			out = append(out, s)
		}
	}
	return out
}
