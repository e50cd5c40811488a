// Package metatask is stor's metadata, identification and text processing:
// three pipeline tasks and the metadata writer behind the XMP sidecar and
// embed-on-download routes.
//
//   - "identify" (light, required, every asset): Siegfried's PRONOM
//     identification of the original, with its file name, stored as
//     assets.pronom plus the signature file version and siegfried's full
//     answer. A file extension that contradicts the identified format is a
//     warning on the asset (source "identify") and an event
//     "format.extension_mismatch". Audio and video are identified from
//     their first and last 8 MiB only (pronom.IdentifyEnds): Siegfried
//     otherwise scans the whole file, seconds of CPU for a long clip.
//   - "metadata" (light, required, every asset): exiftool (the per-process
//     stay_open pool) reads every tag; the dump is stored grouped by
//     family-0 group with raw and display values, the normalised fields
//     (internal/exiftool's MWG precedence) go on the asset, and
//     width/height/duration/page count are filled only where the asset
//     has none yet (the image tasks, which decode pixels, set them
//     authoritatively). Hostile input degrades: over-long values are cut
//     (warning), output over the pool's bound is dropped (warning),
//     invalid UTF-8 becomes U+FFFD; exiftool hanging past its per-call
//     timeout fails the task with that reason (its process is killed and
//     replaced, other assets carry on).
//   - "text" (heavy, optional, PDFs and images): a PDF's text layer per
//     page (poppler pdftotext -layout, one run, split at form feeds);
//     pages with no text layer are rendered (pdftoppm -r 200) and OCRed
//     (tesseract, the configured languages); images are OCRed from their
//     access/1024-pixel derivative when one exists, else the original,
//     and skipped with a warning when larger than Config.OCRMaxPixels.
//     Every external program runs through internal/proc (process-group
//     kill on timeout); the timeout grows with the page count.
package metatask
