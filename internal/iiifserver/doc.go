// Package iiifserver serves stored images over the IIIF Image API 3.0
// (/iiif/3/...) and 2.1 (/iiif/2/...), level 2, as routes for api.Server.
//
// # Sources
//
// Each image request reads one source per asset, the first that exists:
// the "pyramid" derivative (a tiled pyramidal TIFF with JPEG tiles), the
// "access" derivative (a full-size sRGB JPEG), or the original when it is
// an image libvips reads directly. info.json advertises the pyramid's own
// tile size and scale factors, so a viewer's tile requests line up with the
// stored tiles; other sources advertise Config.TileSize tiles rendered on
// demand. The source's version (the original's sha256, or the derivative's
// key, time and size) is part of every ETag and cache key, so reprocessing
// never serves stale pixels.
//
// # The request path
//
// parse (package iiif) → resolve against the source size → If-None-Match
// → if the request is exactly one whole stored tile (iiif.Resolved.FastTile)
// send that tile's JPEG bytes from the TIFF without decoding
// (X-Stor-Tile: stored) → else the bounded on-disk cache of rendered
// responses (X-Stor-Cache: hit) → else render (at most Config.MaxRenders at
// once; concurrent identical requests share one render) and cache it
// (X-Stor-Cache: miss). From a pyramid, a render needing at most
// maxMosaicTiles stored tiles (edge tiles, arbitrary regions) reads just
// those JPEG tiles from the open TIFF (or their decoded pixels from the
// decoded-tile cache): a plain JPEG reduction takes the short path,
// vips.EncodeRegionJPEG (X-Stor-Render: region); other outputs go through
// vips.RenderRGB or vips.RenderMosaic (X-Stor-Render: mosaic); anything
// else is vips.Render on the file (X-Stor-Render: file).
//
// Sources are read in place when the store is a storage.Localizer (the disk
// store); otherwise a copy is kept in a second bounded cache directory.
//
// # Errors and headers
//
// Errors wrap iiif.ErrBadRequest (400) or iiif.ErrNotImplemented (501) and
// are mapped by the api package's one classify function; an unknown,
// deleted or invisible asset, or one with nothing to render, is 404.
// Every response carries Access-Control-Allow-Origin: *; OPTIONS answers
// CORS preflights. Images carry the canonical and profile Link headers,
// info.json the profile Link header and, when the client accepts
// application/ld+json, the JSON-LD media type with the version's context.
//
// # Access
//
// Every GET route needs the read scope (bearer token or the UI session
// cookie) and honours a token's project. Public projects and signed URLs
// (?token=) come with the access-control issue.
package iiifserver
