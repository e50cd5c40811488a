package s3test

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// FaultyProxy sits between a client and MinIO and breaks a share of the
// requests on purpose: it answers some with 503 SlowDown without
// forwarding them, drops the connection of others before forwarding, and
// forwards some but cuts the answer (the request took effect, the client
// never hears; a GET body stops halfway).
type FaultyProxy struct {
	Endpoint string // host:port of the proxy
	// Rate is the share of requests broken (0.2 = 20%).
	Rate float64

	Requests, Failed atomic.Int64

	srv *http.Server
	ln  net.Listener
	mu  sync.Mutex
	rng *rand.Rand
}

// StartFaultyProxy proxies to srv, breaking rate of the requests, until
// the test ends.
func StartFaultyProxy(t testing.TB, srv *Server, rate float64) *FaultyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse("http://" + srv.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(target) // keeps the Host the client signed
	rp.ErrorLog = nil
	p := &FaultyProxy{Endpoint: ln.Addr().String(), Rate: rate, ln: ln, rng: rand.New(rand.NewPCG(1, 2))}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		p.mu.Lock()
		x := p.rng.Float64()
		p.mu.Unlock()
		switch {
		case x < p.Rate*0.4:
			p.Failed.Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected fault</Message></Error>`)
		case x < p.Rate*0.7:
			p.Failed.Add(1)
			hangUp(w)
		case x < p.Rate:
			p.Failed.Add(1)
			rp.ServeHTTP(&cutWriter{ResponseWriter: w}, r)
			hangUp(w)
		default:
			rp.ServeHTTP(w, r)
		}
	})}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// cutWriter passes on the status and the first half of a GET body (none
// of anything else), then the connection is hung up.
type cutWriter struct {
	http.ResponseWriter
	status  int
	budget  int64
	started bool
}

func (c *cutWriter) WriteHeader(code int) {
	c.status = code
	if code/100 == 2 && c.Header().Get("Content-Length") != "" && c.Header().Get("Content-Type") != "application/xml" {
		var n int64
		for _, ch := range c.Header().Get("Content-Length") {
			n = n*10 + int64(ch-'0')
		}
		if n > 1 {
			c.budget = n / 2
			c.started = true
			c.ResponseWriter.WriteHeader(code)
		}
	}
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if !c.started || c.budget <= 0 {
		return len(p), nil
	}
	k := int64(len(p))
	if k > c.budget {
		k = c.budget
	}
	c.budget -= k
	c.ResponseWriter.Write(p[:k])
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return len(p), nil
}

func (c *cutWriter) Flush() {}
