package api

import (
	"strings"

	"github.com/google/uuid"
)

// possibleAssetID reports whether id (a path's {id}, possibly a document
// page's "ID~pN") is one stor could have given an asset: ingest names
// assets with UUIDv7. An anonymous request for media of any other id is a
// 404 rather than a 401: no asset can have it, so the answer reveals
// nothing, and IIIF clients (and the official validator) expect 404 for an
// unknown identifier. A well-formed id stays 401 to anyone without
// credentials whether or not its asset exists.
func possibleAssetID(id string) bool {
	id, _, _ = strings.Cut(id, "~p")
	u, err := uuid.Parse(id)
	return err == nil && len(id) == 36 && u.Version() == 7
}
