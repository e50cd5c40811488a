package auth

import (
	"fmt"
	"net/http"
)

// ErrCSRF is an unsafe request authenticated by the session cookie alone,
// without CSRFHeader: what a cross-site form would send. It is an
// ErrForbidden.
var ErrCSRF = fmt.Errorf("%w: requests that change something with the session cookie must send %s", ErrForbidden, CSRFHeader)

// CSRFOK reports whether an unsafe request may use the session cookie: it
// sends CSRFHeader, or the browser says it comes from a page of stor's own
// origin (Sec-Fetch-Site, which pages cannot set).
func CSRFOK(r *http.Request) bool {
	return r.Header.Get(CSRFHeader) != "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
}
