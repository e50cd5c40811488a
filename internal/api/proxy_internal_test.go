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
