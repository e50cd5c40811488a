package api

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientBehindProxies: X-Forwarded-For and X-Forwarded-Proto count
// only from a trusted peer, and then only up to the first untrusted hop
// from the right (entries further left are whatever the client wrote).
func TestClientBehindProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		name, peer, xff, proto string
		tls                    bool
		proxies                []netip.Prefix
		ip                     string
		secure                 bool
	}{
		{"no proxies configured: spoofed headers ignored", "198.51.100.9:5000", "1.2.3.4", "https", false, nil, "198.51.100.9", false},
		{"untrusted peer: spoofed headers ignored", "198.51.100.9:5000", "1.2.3.4", "https", false, trusted, "198.51.100.9", false},
		{"untrusted peer over TLS", "198.51.100.9:5000", "", "http", true, trusted, "198.51.100.9", true},
		{"trusted proxy", "10.1.2.3:5000", "203.0.113.7", "https", false, trusted, "203.0.113.7", true},
		{"trusted proxy, client's own XFF left of the real hop", "10.1.2.3:5000", "1.2.3.4, 203.0.113.7", "http", false, trusted, "203.0.113.7", false},
		{"chain of trusted proxies", "10.1.2.3:5000", "203.0.113.7, 10.9.9.9, 10.8.8.8", "https,http", false, trusted, "203.0.113.7", true},
		{"two XFF headers", "10.1.2.3:5000", "", "", false, trusted, "203.0.113.8", false},
		{"garbage hop: stop there", "10.1.2.3:5000", "203.0.113.7, not-an-ip", "", false, trusted, "10.1.2.3", false},
		{"only trusted hops", "10.1.2.3:5000", "10.5.5.5", "", false, trusted, "10.5.5.5", false},
		{"IPv6 trusted peer", "[::1]:5000", "2001:db8::1", "https", false, trusted, "2001:db8::1", true},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.1]:5000", "203.0.113.9", "", false, trusted, "203.0.113.9", false},
		{"trusted proxy, no XFF", "10.1.2.3:5000", "", "", false, trusted, "10.1.2.3", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{TrustedProxies: c.proxies}
			r := httptest.NewRequest("GET", "/healthz", nil)
			r.RemoteAddr = c.peer
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if c.name == "two XFF headers" {
				r.Header.Add("X-Forwarded-For", "1.2.3.4")
				r.Header.Add("X-Forwarded-For", "203.0.113.8")
			}
			if c.proto != "" {
				r.Header.Set("X-Forwarded-Proto", c.proto)
			}
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r = r.WithContext(s.withClient(r.Context(), r))
			if got := clientIP(r); got != c.ip {
				t.Errorf("client IP %s, want %s", got, c.ip)
			}
			if got := secureRequest(r); got != c.secure {
				t.Errorf("secure %v, want %v", got, c.secure)
			}
		})
	}
}

// TestForwardedHeader: RFC 7239 Forwarded from a trusted proxy names the
// client and its protocol (and wins over X-Forwarded-*); from anyone else
// it is ignored like the other forwarding headers.
func TestForwardedHeader(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ff::/48")}
	for _, c := range []struct {
		name, peer string
		fwd        []string
		xff        string
		ip         string
		secure     bool
	}{
		{"untrusted peer: ignored", "198.51.100.9:5000", []string{"for=1.2.3.4;proto=https"}, "", "198.51.100.9", false},
		{"one proxy", "10.1.2.3:5000", []string{"for=203.0.113.7;proto=https;by=10.1.2.3"}, "", "203.0.113.7", true},
		{"names and values case-insensitive, quoted, with port", "10.1.2.3:5000", []string{`For="203.0.113.7:47011";Proto=HTTPS`}, "", "203.0.113.7", true},
		{"IPv6 in brackets with port", "10.1.2.3:5000", []string{`for="[2001:db8:cafe::17]:4711"`}, "", "2001:db8:cafe::17", false},
		{"chain: rightmost untrusted wins, its proto", "10.1.2.3:5000", []string{"for=1.2.3.4;proto=http, for=203.0.113.7;proto=https, for=10.9.9.9;proto=http"}, "", "203.0.113.7", true},
		{"chain over two headers", "10.1.2.3:5000", []string{"for=203.0.113.8;proto=https", `for="[2001:db8:ff::1]"`}, "", "203.0.113.8", true},
		{"unknown client: stop at the last trusted proxy, keep its proto", "10.1.2.3:5000", []string{"for=unknown;proto=https, for=10.9.9.9"}, "", "10.9.9.9", true},
		{"obfuscated client", "10.1.2.3:5000", []string{"for=_hidden;proto=http"}, "", "10.1.2.3", false},
		{"quoted separators do not split", "10.1.2.3:5000", []string{`for=203.0.113.7;ext="a,b;c=d";proto=https`}, "", "203.0.113.7", true},
		{"broken element stops the walk", "10.1.2.3:5000", []string{"for=1.2.3.4, garbage, for=10.9.9.9"}, "", "10.9.9.9", false},
		{"unterminated quote believes nothing", "10.1.2.3:5000", []string{`for="203.0.113.7`}, "", "10.1.2.3", false},
		{"Forwarded wins over X-Forwarded-For", "10.1.2.3:5000", []string{"for=203.0.113.7"}, "1.2.3.4", "203.0.113.7", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{TrustedProxies: trusted}
			r := httptest.NewRequest("GET", "/healthz", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.fwd {
				r.Header.Add("Forwarded", v)
			}
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			r = r.WithContext(s.withClient(r.Context(), r))
			if got := clientIP(r); got != c.ip {
				t.Errorf("client IP %s, want %s", got, c.ip)
			}
			if got := secureRequest(r); got != c.secure {
				t.Errorf("secure %v, want %v", got, c.secure)
			}
		})
	}
}
