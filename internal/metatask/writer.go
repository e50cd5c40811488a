package metatask

import (
	"context"
	"fmt"
	"reflect"

	"stor/internal/catalog"
	"stor/internal/exiftool"
)

// Writer writes an asset's normalised fields out: as an XMP sidecar, or
// into a copy of its original (never the original itself).
type Writer struct {
	Pool *exiftool.Pool
}

// emptyXMP is the sidecar of an asset with no descriptive fields
// (exiftool refuses to write a packet with nothing in it).
const emptyXMP = "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n" +
	"<x:xmpmeta xmlns:x='adobe:ns:meta/'>\n" +
	"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n" +
	"</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end='w'?>\n"

// XMPSidecar returns an XMP packet (application/rdf+xml) of a's fields.
func (w *Writer) XMPSidecar(ctx context.Context, a *catalog.Asset) ([]byte, error) {
	n := Normalized(a.Meta)
	if reflect.DeepEqual(n, exiftool.Normalized{}) {
		return []byte(emptyXMP), nil
	}
	b, err := w.Pool.WriteXMPSidecar(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("xmp sidecar of %s: %w", a.ID, err)
	}
	return b, nil
}

// embeddable are the formats exiftool writes (by format key).
var embeddable = map[string]bool{
	"jpg": true, "tif": true, "png": true, "webp": true, "gif": true, "heic": true, "heif": true,
	"avif": true, "psd": true, "jp2": true, "pdf": true, "ai": true,
	"dng": true, "cr2": true, "cr3": true, "nef": true, "arw": true, "orf": true, "rw2": true, "raf": true,
	"mp4": true, "mov": true, "m4v": true, "3gp": true, "3g2": true, "m4a": true,
}

// CanEmbed reports whether fields can be written into a's format.
func (w *Writer) CanEmbed(a *catalog.Asset) bool { return embeddable[a.Format] }

// Embed writes a's fields into a copy of src at dst. src is not modified.
func (w *Writer) Embed(ctx context.Context, a *catalog.Asset, src, dst string) error {
	if err := w.Pool.EmbedFields(ctx, src, dst, Normalized(a.Meta)); err != nil {
		return fmt.Errorf("embedding fields into a copy of %s: %w", a.ID, err)
	}
	return nil
}
