package node

import "stor/internal/ingest"

// identify is replaced by the format package once it lands.
func identify(head []byte, filename string) (ingest.Detected, bool) {
	if len(head) > 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF {
		return ingest.Detected{Kind: "image", Format: "jpg", ContentType: "image/jpeg"}, true
	}
	if len(head) > 8 && string(head[1:4]) == "PNG" {
		return ingest.Detected{Kind: "image", Format: "png", ContentType: "image/png"}, true
	}
	return ingest.Detected{}, false
}
