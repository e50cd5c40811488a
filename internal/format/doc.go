// Package format identifies what an uploaded file is: its kind (image,
// camera RAW, document, video, audio), its format (a key of the format table
// in docs/architecture.md, such as "tif", "cr2" or "mp4") and the content type
// stor serves it with.
//
// Identify looks at the file's first bytes (at most HeadSize of them) and at
// its filename. The bytes decide; the filename's extension is untrusted and
// only chooses between formats the bytes allow. A PNG named "photo.jpg" is a
// PNG, and garbage named "movie.mp4" is nothing at all. Examples of where the
// extension does help:
//
//   - a TIFF named .nef or .arw is Nikon or Sony RAW when its Make tag does not
//     say otherwise (DNG and CR2 are told by their bytes alone);
//   - an OLE compound file named .zvi is a Zeiss ZVI image, and one named .doc
//     whose directory lies beyond the head is a Word document;
//   - an ISO BMFF file with a generic brand ("isom", "mp42") named .m4a is
//     M4A audio rather than MP4 video;
//   - an ASF file named .wma or .wmv, and a PDF named .ai (Illustrator);
//   - UTF-8 text is "txt" only when the name says it is plain text.
//
// Most signatures come from github.com/gabriel-vasile/mimetype. This package
// adds its own small checks where that library has none (camera RAW, JPEG 2000
// codestreams, MPEG transport streams, AIFC) or does not tell apart formats
// stor keeps apart (ISO BMFF brands, PSD and PSB, Ogg Vorbis and Opus, WMV and
// WMA, Word, Excel and PowerPoint whose directory lies past mimetype's
// 3 KiB window). Each such check says why beside it.
//
// Identify never panics, whatever the bytes or the name: it reads every offset
// through bounds-checked helpers, and FuzzIdentify keeps it that way.
package format
