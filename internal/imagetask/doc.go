// Package imagetask is the image processing of stor: the pipeline tasks
// that probe an image, make its thumbnails, its full-size access JPEG and
// its tiled pyramid. All pixel work goes through the vips Engine; camera
// RAW files go through ExifTool (embedded preview) or dcraw first.
//
// # Tasks and derivatives
//
// Every task is idempotent and writes derivatives under fixed names, which
// the IIIF server and the web UI rely on:
//
//	image-probe  light, required   width, height (as displayed, EXIF
//	                               orientation applied), page_count of
//	                               multipage TIFFs; the pixel limit
//	thumbnails   light, required   thumb-N (WebP) and thumb-N-jpg (JPEG)
//	                               for each configured N (150, 400, 1024):
//	                               long edge N, never enlarged, alpha kept
//	                               in WebP and flattened on white in JPEG
//	access-jpeg  heavy, required   access: full-size 8-bit sRGB JPEG, only
//	                               for formats browsers cannot show (TIFF,
//	                               PSD/PSB, JPEG 2000, HEIC/HEIF, RAW)
//	pyramid      heavy, required   pyramid: tiled pyramidal TIFF, 256-pixel
//	                               JPEG tiles, when the displayed long edge
//	                               is over Config.PyramidMinSize (2048)
//	no-renderer  light, optional   ZVI only, see below
//
// The pipeline queues every task that applies at once, so no task relies
// on another's output: each one reads the original (or the RAW's decoded
// stand-in) itself. The pyramid task therefore applies to every raster
// image and decides by the probed size whether there is anything to do;
// a small image's pyramid task succeeds without a derivative.
//
// # Thumbnails
//
// All six thumbnails come from one decode of the source (vips
// Thumbnails): it is decoded once with shrink-on-load at the largest size
// (JPEG DCT scaling at the largest factor that still covers 1024 pixels,
// e.g. 1/4 for a 24 MP photo; reduced TIFF/JPEG 2000/HEIF/WebP/SVG loads),
// colour managed to 8-bit sRGB and held in memory; each size is resized
// from that image (Lanczos 3) and encoded as WebP and JPEG at
// Config.ThumbQuality (STOR_THUMBNAIL_QUALITY, default 80; JPEGs with
// optimised Huffman tables, 4:2:0). Before session 4 the largest was
// written as a PNG and decoded again for each of the six outputs.
// libvips 8.14's JPEG 2000 shrink-on-load picks a level four times too
// small for most sizes; when its result is smaller than it must be, vips
// loads the whole image and resizes that instead.
//
// # The pixel limit
//
// An image whose header declares more than Config.MaxPixels pixels is
// refused before any pixel is decoded: image-probe fails permanently with
// a reason such as "image is 100000×100000 = 10 gigapixels, over the limit
// of 1.07 gigapixels (STOR_MAX_IMAGE_PIXELS=1073741824)", the other tasks
// fail with the same reason, and the asset ends failed. The server itself
// is unaffected.
//
// # Camera RAW
//
// For crw, cr2, cr3, dng, nef, arw, orf, rw2 and raf, each task first makes
// a decodable stand-in in its temp dir: the largest of the embedded
// JpgFromRaw, PreviewImage and ThumbnailImage that ExifTool can extract,
// when its long edge is at least 1024 pixels (the RAW's own Orientation is
// written into it when the preview carries none); otherwise a real decode
// with `dcraw -c -w -T` (camera white balance, 8-bit TIFF, dcraw applies
// the orientation itself); and if dcraw cannot decode the file either, a
// smaller preview when there is one. Width and height of a RAW asset are
// those of the stand-in.
//
// # ZVI
//
// Zeiss ZVI (an OLE container) has no decoder here. The image tasks do not
// apply to it; instead the optional no-renderer task records an event
// "no_renderer" with the reason "no decoder for Zeiss ZVI; metadata only"
// and succeeds, so the asset still ends ready with its metadata, and no
// failure alert is sent for what is a known limitation rather than a fault.
package imagetask
