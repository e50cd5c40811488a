// Package replica parses and opens the extra stores that hold copies of
// every original (STOR_REPLICAS). A replica is named by its spec text
// ("dir:/mnt/b/stor"), which is also the copy name fixity checks record.
//
// A spec is SCHEME:LOCATION. Schemes: dir:/path (a local directory, e.g.
// another disk) and s3://bucket/prefix (a bucket, and a key prefix in it,
// on the configured S3 endpoint, opened through Openers.S3).
package replica

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"stor/internal/storage"
	"stor/internal/storage/disk"
)

// ErrUnsupported is returned for a recognised scheme this build cannot open.
var ErrUnsupported = errors.New("replica scheme not supported yet")

// Spec is one configured replica.
type Spec struct {
	Name     string // the spec as written, trimmed: the copy's name
	Scheme   string // "dir", "s3"
	Location string // a directory; for s3, "bucket/prefix"
}

// Store is an opened replica.
type Store struct {
	Spec
	storage.Store
}

type scheme struct {
	// split returns the location from the spec, or false if it does not
	// belong to this scheme.
	split func(s string) (string, bool)
	check func(loc string) error
	open  func(loc string, o Openers) (storage.Store, error) // nil: not supported yet
}

// Openers open the stores that need more than their location: the S3
// endpoint and credentials come from the configuration.
type Openers struct {
	// S3 opens bucket (keys under prefix, "" for none).
	S3 func(bucket, prefix string) (storage.Store, error)
}

var schemes = map[string]scheme{
	"dir": {
		split: func(s string) (string, bool) { return strings.CutPrefix(s, "dir:") },
		check: func(loc string) error {
			if !filepath.IsAbs(loc) {
				return fmt.Errorf("%q is not an absolute directory", loc)
			}
			return nil
		},
		open: func(loc string, _ Openers) (storage.Store, error) { return disk.New(loc) },
	},
	"s3": {
		split: func(s string) (string, bool) { return strings.CutPrefix(s, "s3://") },
		check: func(loc string) error {
			if bucket, _, _ := strings.Cut(loc, "/"); bucket == "" {
				return fmt.Errorf("s3://%s names no bucket", loc)
			}
			if _, prefix, _ := strings.Cut(loc, "/"); strings.Trim(prefix, "/") != "" {
				if err := storage.CheckKey(strings.Trim(prefix, "/")); err != nil {
					return fmt.Errorf("s3://%s: bad prefix", loc)
				}
			}
			return nil
		},
		open: func(loc string, o Openers) (storage.Store, error) {
			if o.S3 == nil {
				return nil, fmt.Errorf("%w: s3:// replicas need an S3 endpoint (STOR_S3_ENDPOINT and credentials)", ErrUnsupported)
			}
			bucket, prefix, _ := strings.Cut(loc, "/")
			return o.S3(bucket, strings.Trim(prefix, "/"))
		},
	},
}

// ParseList parses a comma-separated list of specs ("" is none).
func ParseList(list string) ([]Spec, error) {
	var out []Spec
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		sp, err := Parse(item)
		if err != nil {
			return nil, err
		}
		if seen[sp.Name] {
			return nil, fmt.Errorf("replica %q is listed twice", sp.Name)
		}
		seen[sp.Name] = true
		out = append(out, sp)
	}
	return out, nil
}

// Parse parses one spec.
func Parse(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	if s == "primary" {
		return Spec{}, fmt.Errorf("replica %q: the name is reserved for the main store", s)
	}
	for name, sc := range schemes {
		loc, ok := sc.split(s)
		if !ok {
			continue
		}
		if err := sc.check(loc); err != nil {
			return Spec{}, fmt.Errorf("replica %q: %w", s, err)
		}
		if sc.open == nil {
			return Spec{}, fmt.Errorf("replica %q: %w", s, ErrUnsupported)
		}
		if name == "dir" {
			loc = filepath.Clean(loc)
		}
		return Spec{Name: s, Scheme: name, Location: loc}, nil
	}
	return Spec{}, fmt.Errorf("replica %q: want dir:/absolute/path or s3://bucket/prefix", s)
}

// Open opens every spec.
func Open(specs []Spec, o Openers) ([]Store, error) {
	var out []Store
	for _, sp := range specs {
		st, err := schemes[sp.Scheme].open(sp.Location, o)
		if err != nil {
			return nil, fmt.Errorf("replica %s: %w", sp.Name, err)
		}
		out = append(out, Store{Spec: sp, Store: st})
	}
	return out, nil
}
