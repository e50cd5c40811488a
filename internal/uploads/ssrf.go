package uploads

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// ErrAddressNotAllowed is a fetch refused because of where it would
// connect: loopback, private, link-local, metadata and similar addresses.
var ErrAddressNotAllowed = errors.New("address not allowed")

// ErrTooManyRedirects is a fetch that redirected more than maxRedirects.
var ErrTooManyRedirects = errors.New("too many redirects")

// ErrBadScheme is a URL (or a redirect) that is not http or https.
var ErrBadScheme = errors.New("only http and https URLs can be fetched")

const maxRedirects = 5

type prefixRule struct {
	p      netip.Prefix
	reason string
}

func rules(reason string, cidrs ...string) []prefixRule {
	out := make([]prefixRule, 0, len(cidrs))
	for _, c := range cidrs {
		out = append(out, prefixRule{netip.MustParsePrefix(c), reason})
	}
	return out
}

// internalRanges are refused unless private fetching is allowed.
var internalRanges = slices.Concat(
	rules("unspecified", "0.0.0.0/8", "::/128"),
	rules("loopback", "127.0.0.0/8", "::1/128"),
	rules("private", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
	rules("link-local", "169.254.0.0/16", "fe80::/10"),
	rules("carrier-grade NAT", "100.64.0.0/10"),
	rules("unique local", "fc00::/7", "fec0::/10"),
	rules("multicast", "224.0.0.0/4", "ff00::/8"),
	rules("reserved", "240.0.0.0/4", "192.0.0.0/24", "198.18.0.0/15"),
)

// metadataAddrs are cloud metadata services: refused even when private
// fetching is allowed.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// AddrPolicy decides which addresses a fetch may connect to.
type AddrPolicy struct {
	AllowPrivate bool
	// Exempt lists exact "ip:port" addresses allowed anyway (tests that
	// need one loopback server while checking that others are refused).
	Exempt []string
}

// Check returns ErrAddressNotAllowed (wrapped, with the reason) for an
// address a fetch must not reach.
func (pol AddrPolicy) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if slices.Contains(metadataAddrs, ip) {
		return fmt.Errorf("%w: %s is a cloud metadata address", ErrAddressNotAllowed, ip)
	}
	if pol.AllowPrivate {
		return nil
	}
	for _, r := range internalRanges {
		if r.p.Contains(ip) {
			return fmt.Errorf("%w: %s is a %s address", ErrAddressNotAllowed, ip, r.reason)
		}
	}
	return nil
}

// control runs on the socket of every connection attempt with the address
// actually being dialled (after DNS), so a name that resolves, or later
// re-resolves, to an internal address is caught too.
func (pol AddrPolicy) control(network, address string, _ syscall.RawConn) error {
	if slices.Contains(pol.Exempt, address) {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q", ErrAddressNotAllowed, address)
	}
	return pol.Check(ap.Addr())
}

// Client is an HTTP client that only connects where pol allows, follows
// at most five redirects (each checked the same way, http/https only) and
// never uses a proxy from the environment.
func (pol AddrPolicy) Client() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: pol.control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("%w (more than %d)", ErrTooManyRedirects, maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect to %s", ErrBadScheme, req.URL.Scheme)
		}
		return nil
	}}
}
