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

// withClient works out the client of r. The forwarding headers count
// only when the peer is a trusted proxy: RFC 7239 Forwarded when the
// request has one, else X-Forwarded-For and X-Forwarded-Proto. The
// client is then the last forwarded address, walking from the right, that
// is not itself a trusted proxy (each proxy appends the peer it saw, so
// entries left of an untrusted one may be made up).
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
	if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		hops := parseForwarded(fwd)
		// The element a walk stops at was written by a trusted proxy
		// (the one named right of it, or the peer), so its proto is
		// believed even when its "for" is unknown or obfuscated.
		for i := len(hops) - 1; i >= 0; i-- {
			if hops[i].proto != "" {
				c.secure = strings.EqualFold(hops[i].proto, "https")
			}
			a, ok := forwardedAddr(hops[i].node)
			if !ok {
				break
			}
			c.ip = a.Unmap().String()
			if !s.trusted(a) {
				break
			}
		}
		return context.WithValue(ctx, clientKey{}, c)
	}
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

// forwardedHop is one element of a Forwarded header: the node the proxy
// that wrote it received the request from, and the protocol it came in on.
type forwardedHop struct{ node, proto string }

// parseForwarded reads RFC 7239 Forwarded values into their elements,
// leftmost (nearest the client) first. Written here because net/http does
// not parse the header and the grammar is small: elements separated by
// commas, pairs by semicolons, values tokens or quoted strings (which may
// hold either separator). An element that does not parse keeps an empty
// node, which stops the walk in withClient.
func parseForwarded(values []string) []forwardedHop {
	var hops []forwardedHop
	for _, v := range values {
		cur := forwardedHop{}
		var name, val strings.Builder
		inName, quoted, escaped, bad := true, false, false, false
		pair := func() {
			n := strings.ToLower(strings.TrimSpace(name.String()))
			switch {
			case inName && n == "":
			case inName:
				bad = true
			case n == "for":
				cur.node = strings.TrimSpace(val.String())
			case n == "proto":
				cur.proto = strings.TrimSpace(val.String())
			}
			name.Reset()
			val.Reset()
			inName = true
		}
		for _, ch := range v {
			switch {
			case escaped:
				val.WriteRune(ch)
				escaped = false
			case quoted && ch == '\\':
				escaped = true
			case ch == '"' && !inName:
				quoted = !quoted
			case quoted:
				val.WriteRune(ch)
			case ch == '=' && inName:
				inName = false
			case ch == ';':
				pair()
			case ch == ',':
				pair()
				if bad {
					cur.node = ""
				}
				hops = append(hops, cur)
				cur, bad = forwardedHop{}, false
			case inName:
				name.WriteRune(ch)
			default:
				val.WriteRune(ch)
			}
		}
		pair()
		if bad || quoted {
			cur.node = ""
		}
		hops = append(hops, cur)
	}
	return hops
}

// forwardedAddr is the IP address of a Forwarded "for" node:
// 192.0.2.43, 192.0.2.43:47011, [2001:db8::17] or [2001:db8::17]:4711.
// "unknown" and obfuscated identifiers ("_hidden") have none.
func forwardedAddr(node string) (netip.Addr, bool) {
	host := node
	if strings.HasPrefix(node, "[") {
		end := strings.IndexByte(node, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = node[1:end]
	} else if h, _, ok := strings.Cut(node, ":"); ok && strings.Count(node, ":") == 1 {
		host = h
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
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
