package auth

import "fmt"

// ErrCSRF is an unsafe request authenticated by the session cookie alone,
// without CSRFHeader: what a cross-site form would send. It is an
// ErrForbidden.
var ErrCSRF = fmt.Errorf("%w: requests that change something with the session cookie must send %s", ErrForbidden, CSRFHeader)
