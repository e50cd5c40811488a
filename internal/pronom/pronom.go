package pronom

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("pronom: %w", err)
	}
	defer f.Close()
	ids, err := i.sf.Identify(f, filename, "")
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
