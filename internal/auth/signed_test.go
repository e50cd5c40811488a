package auth

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSigningKeysPersistAndRotate(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateSigningKeys("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, SigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := LoadOrCreateSigningKeys("", dir)
	if err != nil || len(k2) != 1 || k2[0].ID != k1[0].ID || string(k2[0].Secret) != string(k1[0].Secret) {
		t.Fatalf("a restart must keep the key: %v %v", k2, err)
	}
	now := time.Now()
	old := &Signer{Keys: k1}
	tok := old.Sign("/media/x/hls/", now.Add(time.Hour))
	// Rotation: a new key signs, the old one still verifies.
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123"))
	fresh, err := ParseSigningKeys("new:" + secret + "," + k1[0].ID + ":" + base64.StdEncoding.EncodeToString(k1[0].Secret))
	if err != nil {
		t.Fatal(err)
	}
	rot := &Signer{Keys: fresh}
	if kid, err := rot.Verify(tok, "/media/x/hls/v0/seg00001.m4s", now); err != nil || kid != k1[0].ID {
		t.Fatalf("old token after rotation: %s %v", kid, err)
	}
	if tok2 := rot.Sign("/media/x/hls/", now.Add(time.Hour)); !strings.HasPrefix(tok2, "v1.new.") {
		t.Fatalf("the first key signs: %s", tok2)
	}
	// Dropping the old key invalidates its tokens.
	if _, err := (&Signer{Keys: fresh[:1]}).Verify(tok, "/media/x/hls/master.m3u8", now); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("dropped key: %v", err)
	}
	// Coverage of prefixes.
	for _, c := range []struct {
		prefix, path string
		ok           bool
	}{
		{"/media/x/hls/", "/media/x/hls/v0/index.m3u8", true},
		{"/media/x/hls/", "/media/x/hlsx", false},
		{"/media/x/hls/", "/media/x/hls/../original", false},
		{"/iiif/3/x", "/iiif/3/x", true},
		{"/iiif/3/x", "/iiif/3/x/full/max/0/default.jpg", true},
		{"/iiif/3/x", "/iiif/3/xy/info.json", false},
	} {
		if Covers(c.prefix, c.path) != c.ok {
			t.Errorf("Covers(%q, %q) != %v", c.prefix, c.path, c.ok)
		}
	}
	for _, bad := range []string{"nocolon", "k:!!!", "k:" + base64.StdEncoding.EncodeToString([]byte("short")), "a b:" + secret, "k:" + secret + ",k:" + secret} {
		if _, err := ParseSigningKeys(bad); err == nil {
			t.Errorf("ParseSigningKeys(%q) accepted", bad)
		}
	}
}

func TestCoversPagesAndAssetScope(t *testing.T) {
	for _, c := range []struct {
		prefix, path string
		want         bool
	}{
		{"/iiif/3/A", "/iiif/3/A~p2/info.json", true},
		{"/iiif/3/A", "/iiif/3/A~p12/full/max/0/default.jpg", true},
		{"/iiif/3/A", "/iiif/3/A~px/info.json", false},
		{"/iiif/3/A", "/iiif/3/AB/info.json", false},
		{"asset:A", "/iiif/3/A/info.json", true},
		{"asset:A", "/iiif/2/A~p3/info.json", true},
		{"asset:A", "/iiif/3/A/manifest.json", true},
		{"asset:A", "/media/A/hls/master.m3u8", true},
		{"asset:A", "/api/v1/assets/A/derivatives/thumb-400", true},
		{"asset:A", "/api/v1/assets/A/pages", true},
		{"asset:A", "/api/v1/assets/A/original", false},
		{"asset:A", "/api/v1/assets/A", false},
		{"asset:A", "/iiif/3/B/info.json", false},
		{"asset:", "/iiif/3//info.json", false},
		{"asset:A", "/iiif/3/A/../B/info.json", false},
	} {
		if got := Covers(c.prefix, c.path); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.prefix, c.path, got, c.want)
		}
	}
}

func TestSignRate(t *testing.T) {
	s := &Signer{Keys: []SigningKey{{ID: "k1", Secret: []byte("0123456789abcdef0123")}}}
	now := time.Now()
	tok := s.SignRate("/x", now.Add(time.Hour), 5000)
	g, err := s.VerifyGrant(tok, "/x/y", now)
	if err != nil || g.Rate != 5000 || g.KID != "k1" || g.Prefix != "/x" {
		t.Fatalf("grant %+v, %v", g, err)
	}
	// The rate is signed: raising it breaks the token.
	parts := strings.Split(tok, ".")
	parts[4] = "9999999"
	if _, err := s.VerifyGrant(strings.Join(parts, "."), "/x", now); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("raised rate: %v", err)
	}
	// Dropping it (a v1 token of the same signature) too.
	v1 := strings.Join([]string{"v1", parts[1], parts[2], parts[3], parts[5]}, ".")
	if _, err := s.VerifyGrant(v1, "/x", now); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("rate dropped: %v", err)
	}
	if g, err := s.VerifyGrant(s.Sign("/x", now.Add(time.Hour)), "/x", now); err != nil || g.Rate != 0 {
		t.Errorf("v1: %+v %v", g, err)
	}
}
