package node

import (
	"stor/internal/format"
	"stor/internal/ingest"
)

// identify adapts the format package to what ingest asks for.
func identify(head []byte, filename string) (ingest.Detected, bool) {
	f, ok := format.Identify(head, filename)
	if !ok {
		return ingest.Detected{}, false
	}
	return ingest.Detected{Kind: string(f.Kind), Format: f.Key, ContentType: f.ContentType}, true
}
