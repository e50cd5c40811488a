package exiftool

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (or a
// *ToolError) so callers match them with errors.Is / errors.As.
var (
	// ErrTimeout: the call exceeded Config.Timeout. The process that ran it
	// was killed and will be replaced. The input is likely hostile or
	// corrupt: retrying the same file is unlikely to help (treat as permanent).
	ErrTimeout = errors.New("exiftool: timed out")
	// ErrProcessDied: the exiftool process exited or closed its pipes in
	// the middle of a call. It will be replaced; the call may be retried.
	ErrProcessDied = errors.New("exiftool: process died")
	// ErrOutputTooLarge: the call printed more than Config.MaxOutput bytes.
	ErrOutputTooLarge = errors.New("exiftool: output too large")
	// ErrClosed: the Pool was closed.
	ErrClosed = errors.New("exiftool: pool closed")
	// ErrBadPath: the path cannot be passed to exiftool (it contains a
	// newline or NUL, which the -@ argument protocol cannot carry).
	ErrBadPath = errors.New("exiftool: unusable path")
	// ErrBadOutput: exiftool answered with output this package cannot parse.
	ErrBadOutput = errors.New("exiftool: unparsable output")
	// ErrNotWritten: a write call finished but exiftool reported that
	// nothing was written (see the wrapped *ToolError for its message).
	ErrNotWritten = errors.New("exiftool: nothing written")
)

// ToolError is an error that exiftool itself reported on stderr (for
// example "Error: File not found").
type ToolError struct {
	Op     string // "extract", "sidecar", "embed"
	Path   string // the file concerned, if any
	Stderr string // what exiftool printed on stderr for this call
	Err    error  // a sentinel such as ErrNotWritten, or nil
}

func (e *ToolError) Error() string {
	msg := fmt.Sprintf("exiftool %s", e.Op)
	if e.Path != "" {
		msg += " " + e.Path
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *ToolError) Unwrap() error { return e.Err }
