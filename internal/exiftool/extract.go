package exiftool

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// extractArgs: JSON (-j) in long form (-l: each tag as {"val": print
// value, "num": -n value when different}), so one run gives both values;
// groups family 0 and 1 (-G0:1); duplicates kept (-a); the MWG composites
// (-use MWG); LargeFileSupport for files over 2 GB. Binary data is not
// extracted (no -b): exiftool prints its "(Binary data N bytes ...)"
// summary instead. -charset defaults are exiftool's: output UTF-8, EXIF
// text read as UTF-8 and IPTC as Latin-1 unless CodedCharacterSet says
// UTF-8.
var extractArgs = []string{
	"-j", "-l", "-G0:1", "-a",
	"-use", "MWG",
	"-api", "LargeFileSupport=1",
	"-charset", "filename=UTF8",
}

// Extract reads the metadata of the file at path through one pooled
// exiftool process. Errors wrap ErrTimeout, ErrProcessDied,
// ErrOutputTooLarge, ErrClosed, ErrBadPath, ErrBadOutput, fs.ErrNotExist
// (from os.Stat), a context error,
// or are a *ToolError (exiftool's own message, for example a missing file).
// A file that exiftool does not understand is not an error: see
// Metadata.Error.
func (p *Pool) Extract(ctx context.Context, path string) (*Metadata, error) {
	abs, err := checkPath(path)
	if err != nil {
		return nil, fmt.Errorf("exiftool extract: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("exiftool extract: %w", err)
	}
	args := append(append([]string(nil), extractArgs...), abs)
	out, stderr, err := p.run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("exiftool extract %s: %w", path, err)
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		// No JSON at all: exiftool refused the file ("Error: File not found").
		return nil, &ToolError{Op: "extract", Path: path, Stderr: stderr}
	}
	m, err := parseJSON(out)
	if err != nil {
		return nil, fmt.Errorf("exiftool extract %s: %w", path, err)
	}
	m.normalize()
	return m, nil
}
