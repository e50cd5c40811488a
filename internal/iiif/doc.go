// Package iiif implements the request logic of the IIIF Image API 3.0 and
// 2.1: it parses the {region}/{size}/{rotation}/{quality}.{format} part of an
// image request, resolves it against an image's pixel size into integer
// region and output sizes, builds canonical forms (for cache keys and the
// 3.0 canonical Link header) and info.json documents, and decides whether a
// request can be answered from one stored pyramid tile without decoding
// (the "fast path").
//
// It is pure Go and knows nothing of HTTP, storage or libvips. Errors wrap
// one of two sentinels so that one place in the server can map them to a
// status code: ErrBadRequest (400) and ErrNotImplemented (501); StatusCode
// does that mapping for callers that want it.
//
// # Rounding
//
// The specs leave rounding to the implementation. This package uses:
//
//   - pct: regions: x = round(W·px/100), w = round(W·pw/100) (likewise y, h),
//     then the region is clipped to the image; a zero-sized or fully outside
//     region is a 400.
//   - square: side = min(W, H), centred in the longer dimension (offset
//     floored).
//   - w, / ,h / pct:n: the free dimension is round(other·ratio); a result
//     below 1 pixel is a 400.
//   - !w,h: the limiting dimension is exact, the other is rounded and
//     clamped to the box. In 3.0 without "^", a box whose best fit would be
//     larger than the region is a 400, not the region at its own size: the
//     spec allows either reading, and the official validator (size_noup)
//     requires this one.
//   - max under maxWidth/maxHeight/maxArea: dimensions are floored so the
//     limits are never exceeded.
//
// # Versions
//
// 3.0 sizes without "^" must not exceed the region (400); "^" allows
// upscaling. 2.1 has no "^" and always allows upscaling (the sizeAboveFull
// feature); 2.1's "full" size is accepted as a synonym of "max". Explicit
// sizes over the server limits are a 400 in both versions.
//
// Formats: jpg, png, webp, tif, gif and jp2 are supported; pdf is a valid
// IIIF format that stor does not produce, which the 3.0 spec says SHOULD be a
// 400 ("a format value that is unsupported"), so it is ErrBadRequest too.
package iiif
