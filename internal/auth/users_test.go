package auth_test

import (
	"strings"
	"testing"

	"stor/internal/auth"
)

func TestPasswordHash(t *testing.T) {
	p := auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}
	h := auth.HashPassword("correct horse battery staple", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if h2 := auth.HashPassword("correct horse battery staple", p); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		ok, err := auth.VerifyPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("verify %q: %v %v", pw, ok, err)
		}
	}
	// The parameters come from the hash: a hash made with the defaults
	// still verifies.
	d := auth.HashPassword("another password!", auth.DefaultArgon2)
	if ok, err := auth.VerifyPassword(d, "another password!"); !ok || err != nil {
		t.Errorf("default params: %v %v", ok, err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		strings.Replace(h, "$v=19$", "$v=16$", 1)} {
		if _, err := auth.VerifyPassword(bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestRolesAndPasswordPolicy(t *testing.T) {
	for role, want := range map[string]string{"admin": "admin", "editor": "read,write", "viewer": "read"} {
		s, ok := auth.RoleScopes(role)
		if !ok || strings.Join(s, ",") != want {
			t.Errorf("%s: %v", role, s)
		}
	}
	if _, ok := auth.RoleScopes("owner"); ok {
		t.Error("unknown role accepted")
	}
	if auth.CheckPassword("short") == nil || auth.CheckPassword(strings.Repeat("x", 1025)) == nil || auth.CheckPassword("twelve chars") != nil {
		t.Error("password policy")
	}
}
