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
// HMAC-SHA256(key, "stor-url-v1\nKID\nEXPIRY\nPREFIX-as-text"). A token
// with a download rate is "v2.KID.EXPIRY.PREFIX.RATE.SIG", RATE in bytes
// per second, SIG over "stor-url-v2\nKID\nEXPIRY\nPREFIX\nRATE".
const tokenVersion = "v1"

func mac(key SigningKey, exp int64, prefix string, rate int64) []byte {
	m := hmac.New(sha256.New, key.Secret)
	if rate > 0 {
		fmt.Fprintf(m, "stor-url-v2\n%s\n%d\n%s\n%d", key.ID, exp, prefix, rate)
	} else {
		fmt.Fprintf(m, "stor-url-v1\n%s\n%d\n%s", key.ID, exp, prefix)
	}
	return m.Sum(nil)
}

// Sign returns a token that grants read access to the paths under prefix
// until exp. A prefix ending in "/" covers everything below it; any other
// covers that exact path and the paths below it ("prefix/..."); an
// AssetScope prefix covers an asset's viewable media (see Covers).
func (s *Signer) Sign(prefix string, exp time.Time) string {
	return s.SignRate(prefix, exp, 0)
}

// SignRate is Sign with a download rate limit (bytes per second, 0: none)
// that the server applies to what the token opens.
func (s *Signer) SignRate(prefix string, exp time.Time, rate int64) string {
	k := s.Keys[0]
	e := exp.Unix()
	enc := base64.RawURLEncoding
	parts := []string{tokenVersion, k.ID, strconv.FormatInt(e, 10), enc.EncodeToString([]byte(prefix))}
	if rate > 0 {
		parts[0] = "v2"
		parts = append(parts, strconv.FormatInt(rate, 10))
	}
	return strings.Join(append(parts, enc.EncodeToString(mac(k, e, prefix, rate))), ".")
}

// Grant is what a verified token allows.
type Grant struct {
	KID    string
	Prefix string
	Rate   int64 // bytes per second, 0: no limit of its own
}

// Verify checks token for a request of path at now. It returns the key id
// that signed it.
func (s *Signer) Verify(token, path string, now time.Time) (string, error) {
	g, err := s.VerifyGrant(token, path, now)
	return g.KID, err
}

// VerifyGrant is Verify returning the whole grant.
func (s *Signer) VerifyGrant(token, path string, now time.Time) (Grant, error) {
	parts := strings.Split(token, ".")
	var rate int64
	switch {
	case len(parts) == 5 && parts[0] == tokenVersion:
	case len(parts) == 6 && parts[0] == "v2":
		r, err := strconv.ParseInt(parts[4], 10, 64)
		if err != nil || r <= 0 || strconv.FormatInt(r, 10) != parts[4] {
			return Grant{}, ErrSignatureInvalid
		}
		rate = r
		parts = append(parts[:4], parts[5])
	default:
		return Grant{}, ErrSignatureInvalid
	}
	kid := parts[1]
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Grant{}, ErrSignatureInvalid
	}
	enc := base64.RawURLEncoding
	prefix, err1 := enc.DecodeString(parts[3])
	sig, err2 := enc.DecodeString(parts[4])
	if err1 != nil || err2 != nil {
		return Grant{}, ErrSignatureInvalid
	}
	var key *SigningKey
	for i := range s.Keys {
		if s.Keys[i].ID == kid {
			key = &s.Keys[i]
		}
	}
	if key == nil || !hmac.Equal(sig, mac(*key, exp, string(prefix), rate)) {
		return Grant{}, ErrSignatureInvalid
	}
	g := Grant{KID: kid, Prefix: string(prefix), Rate: rate}
	if !now.Before(time.Unix(exp, 0)) {
		return g, ErrSignatureExpired
	}
	if !Covers(string(prefix), path) {
		return g, ErrSignatureWrongPath
	}
	return g, nil
}

// AssetScope is the prefix of a token for everything a viewer of one
// asset loads: "asset:ID" covers /iiif/3/ID and /iiif/2/ID (info.json,
// tiles, the manifest, and document pages ID~pN), /media/ID/hls/,
// /api/v1/assets/ID/derivatives/ and /api/v1/assets/ID/pages; never the
// original.
func AssetScope(id string) string { return "asset:" + id }

// Covers reports whether a token for prefix grants path. A prefix without
// a trailing "/" also covers the document pages of an IIIF identifier
// ("/iiif/3/ID" covers "/iiif/3/ID~p2/info.json").
func Covers(prefix, path string) bool {
	if prefix == "" || strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") || strings.Contains(path, "//") {
		return false
	}
	if id, ok := strings.CutPrefix(prefix, "asset:"); ok {
		if id == "" || strings.ContainsAny(id, "/~") {
			return false
		}
		for _, p := range []string{"/iiif/3/" + id, "/iiif/2/" + id, "/media/" + id + "/hls/",
			"/api/v1/assets/" + id + "/derivatives/", "/api/v1/assets/" + id + "/pages"} {
			if Covers(p, path) {
				return true
			}
		}
		return false
	}
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	if path == prefix || strings.HasPrefix(path, prefix+"/") {
		return true
	}
	if rest, ok := strings.CutPrefix(path, prefix+"~p"); ok {
		n, _, _ := strings.Cut(rest, "/")
		return n != "" && strings.Trim(n, "0123456789") == ""
	}
	return false
}

// SignedPrincipal is the caller of a request authorised by a signed URL:
// read access, and (checked by the API) only to the paths of the token.
func SignedPrincipal(g Grant, token string) *Principal {
	return &Principal{TokenID: "signed:" + g.KID, Name: "signed URL", Scopes: []string{ScopeRead}, Signed: true,
		SignedToken: token, SignedPrefix: g.Prefix}
}
