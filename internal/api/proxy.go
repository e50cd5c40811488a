package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type clientKey struct{}

// client is who sent a request, as far as stor believes: the peer, or
// what trusted proxies in front of it say.
type client struct {
	ip     string
	secure bool // HTTPS between the client and the first proxy (or stor)
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// withClient works out the client of r. X-Forwarded-For and
// X-Forwarded-Proto count only when the peer is a trusted proxy: the
// client is then the last address of X-Forwarded-For, walking from the
// right, that is not itself a trusted proxy (each proxy appends the peer
// it saw, so entries left of an untrusted one may be made up).
func (s *Server) withClient(ctx context.Context, r *http.Request) context.Context {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	c := client{ip: peer, secure: r.TLS != nil}
	addr, err := netip.ParseAddr(peer)
	if err != nil || len(s.TrustedProxies) == 0 || !s.trusted(addr) {
		return context.WithValue(ctx, clientKey{}, c)
	}
	c.ip = addr.Unmap().String()
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.Trim(hops[i], "[]"))
		if err != nil {
			break // garbage: believe nothing further left
		}
		c.ip = a.Unmap().String()
		if !s.trusted(a) {
			break
		}
	}
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		first, _, _ := strings.Cut(v, ",")
		c.secure = strings.EqualFold(strings.TrimSpace(first), "https")
	}
	return context.WithValue(ctx, clientKey{}, c)
}

func clientOf(r *http.Request) client {
	if c, ok := r.Context().Value(clientKey{}).(client); ok {
		return c
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return client{ip: host, secure: r.TLS != nil}
}

// clientIP is the client address of r: the peer's, or the one trusted
// proxies forwarded (Server.TrustedProxies).
func clientIP(r *http.Request) string { return clientOf(r).ip }

// ClientIP is clientIP for other packages' routes.
func ClientIP(r *http.Request) string { return clientIP(r) }

// secureRequest reports whether the client reached stor over HTTPS
// (directly, or as a trusted proxy says).
func secureRequest(r *http.Request) bool { return clientOf(r).secure }
