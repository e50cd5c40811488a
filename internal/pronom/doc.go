// Package pronom identifies file formats by PRONOM identifier (PUID, for
// example "fmt/353" for TIFF) with Siegfried used as a Go library
// (github.com/richardlehane/siegfried v1.11.8). The signature file is the
// one embedded in siegfried's pkg/static (PRONOM with container
// signatures), so nothing is read from disk or network at run time.
//
// New loads the signatures and warms the matchers with a first
// identification (the first Identify otherwise takes up to ~0.75 s); call it
// once at start and share the *Identifier: Identify is safe for concurrent
// use. Identify takes a path and opens it as an *os.File, so that
// siegfried can read the end of large files directly (a stream over 64 MB
// would be spilled to a temporary file).
//
// The file name passed to Identify (the name the client uploaded, not the
// content-addressed storage key) feeds siegfried's extension matcher: it
// refines the identification and lets siegfried flag an extension that
// contradicts the content. Result.ExtensionMismatch and
// Result.ExtensionWarning report that, in a sentence meant to be stored
// on the asset.
package pronom
