package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Errors of signed URLs; the API maps them to 401/403 with their own codes.
var (
	// ErrSignatureInvalid: not a token stor signed (malformed, tampered,
	// or signed with a key this server does not hold).
	ErrSignatureInvalid = errors.New("the signed URL token is invalid")
	// ErrSignatureExpired: a genuine token past its expiry.
	ErrSignatureExpired = errors.New("the signed URL has expired")
	// ErrSignatureWrongPath: a genuine token for another asset or another
	// part of one (its path prefix does not cover the request).
	ErrSignatureWrongPath = errors.New("the signed URL is not valid for this path")
)

// SigningKey is one HMAC key with its id.
type SigningKey struct {
	ID     string
	Secret []byte
}

// Signer signs and verifies URL tokens. The first key signs; every key
// verifies, so keys rotate by putting a new one first and dropping the
// old one once the URLs it signed have expired.
type Signer struct {
	Keys []SigningKey
}

// ParseSigningKeys reads "kid1:base64secret,kid2:base64secret". Secrets
// are standard or URL base64 and at least 16 bytes long.
func ParseSigningKeys(s string) ([]SigningKey, error) {
	var keys []SigningKey
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kid, b64, ok := strings.Cut(part, ":")
		if !ok || !validKID(kid) {
			return nil, fmt.Errorf("signing key %q: want KID:BASE64SECRET with a KID of letters, digits, '-' or '_'", kid)
		}
		if seen[kid] {
			return nil, fmt.Errorf("signing key id %q appears twice", kid)
		}
		seen[kid] = true
		var secret []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if secret, err = enc.DecodeString(b64); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("signing key %q: secret is not base64: %w", kid, err)
		}
		if len(secret) < 16 {
			return nil, fmt.Errorf("signing key %q: secret is %d bytes, want at least 16", kid, len(secret))
		}
		keys = append(keys, SigningKey{ID: kid, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing keys")
	}
	return keys, nil
}

func validKID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// SigningKeyFile is where a generated key is kept in the data dir.
const SigningKeyFile = "signing.key"

// LoadOrCreateSigningKeys returns the keys of config (STOR_SIGNING_KEYS)
// when set; otherwise the key in DATA_DIR/signing.key, generated (32
// random bytes, mode 0600) at the first start, so restarts keep signed
// URLs valid.
func LoadOrCreateSigningKeys(config, dataDir string) ([]SigningKey, error) {
	if strings.TrimSpace(config) != "" {
		return ParseSigningKeys(config)
	}
	path := filepath.Join(dataDir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		keys, err := ParseSigningKeys(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return keys, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	kid := make([]byte, 4)
	rand.Read(kid)
	line := fmt.Sprintf("k%x:%s\n", kid, base64.StdEncoding.EncodeToString(secret))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateSigningKeys("", dataDir) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return ParseSigningKeys(strings.TrimSpace(line))
}

// Token format: "v1.KID.EXPIRY.PREFIX.SIG", PREFIX base64url of the path
// prefix the token covers, SIG base64url of
// HMAC-SHA256(key, "stor-url-v1\nKID\nEXPIRY\nPREFIX-as-text").
const tokenVersion = "v1"

func mac(key SigningKey, exp int64, prefix string) []byte {
	m := hmac.New(sha256.New, key.Secret)
	fmt.Fprintf(m, "stor-url-v1\n%s\n%d\n%s", key.ID, exp, prefix)
	return m.Sum(nil)
}

// Sign returns a token that grants read access to the paths under prefix
// until exp. A prefix ending in "/" covers everything below it; any other
// covers that exact path and the paths below it ("prefix/...").
func (s *Signer) Sign(prefix string, exp time.Time) string {
	k := s.Keys[0]
	e := exp.Unix()
	enc := base64.RawURLEncoding
	return strings.Join([]string{tokenVersion, k.ID, strconv.FormatInt(e, 10),
		enc.EncodeToString([]byte(prefix)), enc.EncodeToString(mac(k, e, prefix))}, ".")
}

// Verify checks token for a request of path at now. It returns the key id
// that signed it.
func (s *Signer) Verify(token, path string, now time.Time) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0] != tokenVersion {
		return "", ErrSignatureInvalid
	}
	kid := parts[1]
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", ErrSignatureInvalid
	}
	enc := base64.RawURLEncoding
	prefix, err1 := enc.DecodeString(parts[3])
	sig, err2 := enc.DecodeString(parts[4])
	if err1 != nil || err2 != nil {
		return "", ErrSignatureInvalid
	}
	var key *SigningKey
	for i := range s.Keys {
		if s.Keys[i].ID == kid {
			key = &s.Keys[i]
		}
	}
	if key == nil || !hmac.Equal(sig, mac(*key, exp, string(prefix))) {
		return "", ErrSignatureInvalid
	}
	if !now.Before(time.Unix(exp, 0)) {
		return kid, ErrSignatureExpired
	}
	if !Covers(string(prefix), path) {
		return kid, ErrSignatureWrongPath
	}
	return kid, nil
}

// Covers reports whether a token for prefix grants path.
func Covers(prefix, path string) bool {
	if prefix == "" || strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") {
		return false
	}
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// SignedPrincipal is the caller of a request authorised by a signed URL:
// read access, and (checked by the API) only to the paths of the token.
func SignedPrincipal(kid string) *Principal {
	return &Principal{TokenID: "signed:" + kid, Name: "signed URL", Scopes: []string{ScopeRead}, Signed: true}
}
