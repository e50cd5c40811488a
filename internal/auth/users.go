package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"

	"stor/internal/catalog"
)

// Roles of users and the scopes each grants.
const (
	RoleAdmin  = "admin"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// RoleScopes maps a role onto token scopes: admin holds every scope,
// editor reads and writes, viewer reads.
func RoleScopes(role string) ([]string, bool) {
	switch role {
	case RoleAdmin:
		return []string{ScopeAdmin}, true
	case RoleEditor:
		return []string{ScopeRead, ScopeWrite}, true
	case RoleViewer:
		return []string{ScopeRead}, true
	}
	return nil, false
}

// ErrBadCredentials is a failed sign-in: unknown user, wrong password or
// a disabled account, told apart nowhere (no account enumeration).
var ErrBadCredentials = errors.New("wrong username or password")

// ErrWeakPassword is a password refused by PasswordPolicy.
var ErrWeakPassword = errors.New("passwords are 12 to 1024 characters")

// Argon2Params are the argon2id cost parameters of new hashes (RFC 9106,
// OWASP: m=19 MiB, t=2, p=1 at least). Stored in each hash, so raising
// them later keeps old hashes valid.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is 64 MiB, 2 passes, 2 lanes: about 60 ms on one core here.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 2, Threads: 2}

// CheckPassword applies the password policy: 12 to 1024 characters.
func CheckPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < 12 || len(pw) > 1024 {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword returns the PHC string of an argon2id hash of pw with a
// fresh 16-byte salt.
func HashPassword(pw string, p Argon2Params) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// VerifyPassword reports whether pw matches the PHC string hash.
func VerifyPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("auth: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("auth: argon2 version %q", parts[2])
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("auth: argon2 parameters %q: %w", parts[3], err)
	}
	if p.Memory > 1<<22 || p.Time > 64 || p.Threads == 0 || p.Time == 0 {
		return false, fmt.Errorf("auth: argon2 parameters %q out of range", parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 {
		return false, fmt.Errorf("auth: malformed argon2 hash")
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the username is unknown, so that a
// sign-in takes as long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string { return HashPassword("stor-no-such-user-password", DefaultArgon2) })

// ValidUsername: 1 to 64 of letters, digits, '.', '_', '-', '@'.
func ValidUsername(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// CreateUser stores a user with an argon2id hash of password.
func CreateUser(ctx context.Context, q catalog.Querier, username, password, role, project string) (*catalog.User, error) {
	if !ValidUsername(username) {
		return nil, fmt.Errorf("auth: username %q: 1 to 64 letters, digits, '.', '_', '-' or '@': %w", username, catalog.ErrInvalid)
	}
	if _, ok := RoleScopes(role); !ok {
		return nil, fmt.Errorf("auth: role %q is not admin, editor or viewer: %w", role, catalog.ErrInvalid)
	}
	if err := CheckPassword(password); err != nil {
		return nil, fmt.Errorf("auth: %w: %w", err, catalog.ErrInvalid)
	}
	u := &catalog.User{ID: uuid.NewString(), Username: username, PasswordHash: HashPassword(password, DefaultArgon2),
		Role: role, Project: project}
	if err := catalog.InsertUser(ctx, q, u); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckCredentials returns the enabled user with this username and
// password, or ErrBadCredentials.
func CheckCredentials(ctx context.Context, q catalog.Querier, username, password string) (*catalog.User, error) {
	u, err := catalog.UserByName(ctx, q, username)
	if errors.Is(err, catalog.ErrNotFound) {
		VerifyPassword(dummyHash(), password)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok || u.DisabledAt != nil {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// SessionPrefix starts session secrets, telling them from token secrets
// (the cookie may hold either: a token handed to the UI still signs in).
const SessionPrefix = "storsess_"

// CreateSession starts a session of u for ttl; it returns the secret for
// the cookie.
func CreateSession(ctx context.Context, q catalog.Querier, u *catalog.User, ttl time.Duration, ip, userAgent string) (string, *catalog.Session, error) {
	secret := SessionPrefix + strings.TrimPrefix(NewSecret(), "stor_")
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	now := time.Now()
	s := &catalog.Session{ID: uuid.NewString(), SecretHash: HashSecret(secret), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(ttl), LastSeenAt: now, IP: ip, UserAgent: userAgent}
	if err := catalog.InsertSession(ctx, q, s); err != nil {
		return "", nil, err
	}
	return secret, s, nil
}

// userPrincipal is the caller acting as user u.
func userPrincipal(u *catalog.User) *Principal {
	scopes, _ := RoleScopes(u.Role)
	return &Principal{Name: u.Username, Scopes: scopes, Project: u.Project, UserID: u.ID, Username: u.Username, Role: u.Role}
}
