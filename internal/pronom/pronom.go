package pronom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/richardlehane/siegfried"
	"github.com/richardlehane/siegfried/pkg/pronom"
	"github.com/richardlehane/siegfried/pkg/static"
)

// ErrNoSignatures: the embedded signature file could not be loaded.
var ErrNoSignatures = errors.New("pronom: signatures not loaded")

// Result is the PRONOM identification of one file.
type Result struct {
	PUID    string `json:"puid"`              // "fmt/353"; "UNKNOWN" when nothing matched
	Format  string `json:"format"`            // "Tagged Image File Format"
	Version string `json:"version,omitempty"` // "1.2", "" when PRONOM has none
	MIME    string `json:"mime,omitempty"`    // "image/tiff"
	// Basis says why siegfried decided, e.g. "extension match tif; byte
	// match at 0, 4".
	Basis []string `json:"basis,omitempty"`
	// Warning is siegfried's own warning ("extension mismatch",
	// "match on extension only", "no match", ...), as it gives it.
	Warning string `json:"warning,omitempty"`
	// ExtensionMismatch is true when the file name has an extension and
	// it contradicts the identification; ExtensionWarning is then a
	// sentence to store on the asset.
	ExtensionMismatch bool   `json:"extension_mismatch,omitempty"`
	ExtensionWarning  string `json:"extension_warning,omitempty"`
	// Known is false when siegfried found no format (PUID "UNKNOWN").
	Known bool `json:"known"`
	// SignatureVersion identifies the signature file the result came from.
	SignatureVersion string `json:"signature_version"`
}

// Identifier wraps a loaded siegfried. Safe for concurrent use.
type Identifier struct {
	sf      *siegfried.Siegfried
	version string
}

// New loads the embedded signatures and warms the identifier.
func New() (*Identifier, error) {
	sf := static.New()
	if sf == nil {
		return nil, ErrNoSignatures
	}
	id := &Identifier{sf: sf, version: signatureVersion(sf)}
	// Warm-up: the first identification builds lazy matcher state.
	warm := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	if _, err := sf.Identify(strings.NewReader(string(warm)), "warm.png", ""); err != nil {
		return nil, fmt.Errorf("pronom: warm-up: %w", err)
	}
	return id, nil
}

// signatureVersion describes the loaded signatures: the PRONOM identifier
// details (DROID and container signature file names) and the date the
// signature file was built.
func signatureVersion(sf *siegfried.Siegfried) string {
	var parts []string
	for _, id := range sf.Identifiers() {
		parts = append(parts, id[0]+": "+id[1])
	}
	parts = append(parts, "built "+sf.C.UTC().Format("2006-01-02"))
	return strings.Join(parts, "; ")
}

// SignatureVersion returns the description of the signature file in use,
// e.g. "pronom: DROID_SignatureFile_V120.xml; container-signature-
// 20240715.xml; built 2025-01-15".
func (i *Identifier) SignatureVersion() string { return i.version }

// Identify identifies the file at path. filename is the file's original
// name (only its extension matters); pass "" when there is none.
func (i *Identifier) Identify(ctx context.Context, path, filename string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("pronom: %w", err)
	}
	return i.identify(ctx, path, filename, 0)
}

// IdentifyEnds identifies the file at path from its first and last
// window bytes only, when it is larger than twice that: Siegfried's byte
// matcher otherwise scans the whole file for signatures with variable
// offsets (9 s of CPU for a 1.4 GB MP4). Audio and video containers are
// identified by signatures at the beginning (and a few at the end), so
// the caller uses it for those; an archive or office document needs the
// whole file (container offsets). window <= 0 is Identify.
func (i *Identifier) IdentifyEnds(ctx context.Context, path, filename string, window int64) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("pronom: %w", err)
	}
	return i.identify(ctx, path, filename, window)
}

func (i *Identifier) identify(ctx context.Context, path, filename string, window int64) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("pronom: %w", err)
	}
	defer f.Close()
	var src io.Reader = f
	shift := int64(0) // what to add to a basis offset past the head
	if window > 0 {
		st, err := f.Stat()
		if err != nil {
			return Result{}, fmt.Errorf("pronom: %w", err)
		}
		if size := st.Size(); size > 2*window {
			// Head and tail joined: offsets from the beginning stay right
			// in the head, offsets from the end in the tail.
			src = io.MultiReader(io.NewSectionReader(f, 0, window), io.NewSectionReader(f, size-window, window))
			shift = size - 2*window
		}
	}
	ids, err := i.sf.Identify(src, filename, "")
	if err != nil && len(ids) == 0 {
		return Result{}, fmt.Errorf("pronom: identify %s: %w", path, err)
	}
	if len(ids) == 0 {
		return Result{PUID: "UNKNOWN", SignatureVersion: i.version}, nil
	}
	r := Result{Known: ids[0].Known(), Warning: ids[0].Warn(), SignatureVersion: i.version}
	var p pronom.Identification
	switch t := ids[0].(type) {
	case pronom.Identification:
		p = t
	case pronom.NoClassIdentification:
		p = t.Identification
	default:
		return Result{}, fmt.Errorf("pronom: identify %s: unexpected result type %T", path, ids[0])
	}
	r.PUID, r.Format, r.Version, r.MIME, r.Basis = p.ID, p.Name, p.Version, p.MIME, p.Basis
	if shift > 0 {
		r.Basis = shiftBasis(r.Basis, window, shift)
	}
	ext := strings.TrimPrefix(filepath.Ext(filename), ".")
	// Siegfried marks a result whose format has registered extensions,
	// none of them the file's, with "extension mismatch" (its own writer
	// tests for the same words).
	if ext != "" && r.Known && strings.Contains(r.Warning, "extension mismatch") {
		r.ExtensionMismatch = true
		r.ExtensionWarning = fmt.Sprintf("file extension %q does not match the identified format %s (%s)", "."+ext, r.PUID, r.Format)
	}
	return r, nil
}

var basisOffset = regexp.MustCompile(`\[(\d+) (\d+)\]`)

// shiftBasis maps the offsets of "byte match at [[4 8] [16267757 4]]"
// from the joined head and tail back to the file: an offset at or past
// the head (window) is in the tail, shift bytes further on.
func shiftBasis(basis []string, window, shift int64) []string {
	out := make([]string, len(basis))
	for i, b := range basis {
		if !strings.Contains(b, "byte match") {
			out[i] = b
			continue
		}
		out[i] = basisOffset.ReplaceAllStringFunc(b, func(m string) string {
			sub := basisOffset.FindStringSubmatch(m)
			off, err := strconv.ParseInt(sub[1], 10, 64)
			if err != nil || off < window {
				return m
			}
			return "[" + strconv.FormatInt(off+shift, 10) + " " + sub[2] + "]"
		})
	}
	return out
}
