// Package vips is stor's image engine and the only package in stor that
// uses cgo. It wraps libvips (8.14 on Debian 12) behind a small Go API in
// which no C type appears: Startup returns an *Engine whose Probe,
// Thumbnail, AccessJPEG, Pyramid and Render work on file paths.
//
// # Why thin cgo rather than govips
//
// The calls stor needs are few but precise: vips_thumbnail with
// shrink-on-load, loading one page of a pyramidal TIFF, JPEG shrink-on-load
// for IIIF renders, svgload from memory, tiffsave with tile+pyramid+JPEG,
// ICC/CMYK/16-bit to 8-bit sRGB. govips (v2.16) exposes only part of these
// options (no page choice for TIFF levels in every call, its own global
// logging and start-up state, an extra layer of image copies), so a few
// hundred lines of C wrappers in the style of imgproxy's vips package
// (stor_vips.c: libvips is variadic, which cgo cannot call) are both shorter
// to get right and faster than working around the wrapper. No extra Go
// dependency is needed.
//
// # Process-wide state
//
// libvips can be initialised once per process and never again after
// vips_shutdown; its thread count and operation cache are process-wide.
// Those are the only globals here. Per-engine settings (MaxPixels) live in
// the Engine. The operation cache is disabled by default (as in imgproxy).
// Each call locks its goroutine to an OS thread while it runs libvips.
//
// # JPEG thumbnails
//
// A JPEG thumbnail (Thumbnail, Thumbnails) reads the file whole, in one
// read call, into a reused C buffer the Engine keeps (at most GOMAXPROCS
// idle, files up to 64 MiB), loads it from memory outside the operation
// cache with DCT shrink-on-load, and decodes and resizes it on the calling
// thread into a small memory image; only the encode runs on libvips'
// worker threads. This is libvips' thread count of 1 (imgproxy's setting)
// for the thumbnail alone, without changing the process-wide setting the
// pyramid job and the IIIF renderer use. Larger JPEGs, or ones whose
// DCT-scaled image is over 32 megapixels, take the streaming file path.
//
// # Safety
//
//   - Decompression bombs: every call except Probe reads the header first
//     and refuses images whose declared width×height exceeds
//     Config.MaxPixels (default 1 gigapixel) with ErrTooManyPixels, before
//     any pixel is decoded. Probe only reads the header and always succeeds.
//   - SVG: the file is read into memory and rasterised with svgload_buffer
//     (unlimited=false). With no base URI librsvg refuses every external
//     reference (http:, file:, relative paths); only data: URIs render.
//   - Outputs are written to a temporary file beside the destination and
//     renamed, so a job that runs twice never exposes a half-written file.
//
// # Pyramids
//
// Pyramid writes what iipsrv and stor's own fast path read: a tiled TIFF,
// 256×256 JPEG tiles at Q85 by default, with the reduced levels as further
// pages (libvips' default layout, not SubIFDs). 256 is what OpenSeadragon
// and most IIIF clients request by default, and smaller tiles make more
// requests exact stored tiles; 512 halves the request count at the cost of
// more bytes per partial view and can be chosen in PyramidOpts.
//
// # Camera RAW
//
// libvips' "raw" loader means raw pixel dumps, not camera RAW. Debian's
// libvips 8.14 is built without libraw, so CR2/NEF/ARW/... are not loadable
// here (Thumbnail returns ErrUnsupported, or magickload may try via
// ImageMagick's dcraw delegate if installed); the caller extracts the
// embedded preview with ExifTool instead.
package vips
