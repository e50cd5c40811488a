// Thin C helpers over libvips for package vips. libvips' API is variadic,
// which cgo cannot call, so every call Go needs has a fixed-argument wrapper
// here. Nothing in this header is visible outside package vips.
#include <stdlib.h>
#include <vips/vips.h>

int stor_init(void);
void stor_config(int concurrency, int max_ops, size_t max_mem, int max_files);

// stor_load opens path with loader (a nickname from stor_loader; NULL or
// "": the one libvips picks for it). page < 0 and shrink <= 1 leave those
// options unset. Returns -2 when no loader exists.
int stor_load(const char *path, const char *loader, int page, int shrink, int sequential,
              VipsImage **out);
// stor_load_jpeg_buffer opens the len bytes of JPEG at buf (sequential
// access, DCT shrink-on-load factor shrink when > 1) without copying them
// and outside libvips' operation cache: buf must stay unchanged until the
// image and everything made from it are unreferenced.
int stor_load_jpeg_buffer(const void *buf, size_t len, int shrink, VipsImage **out);
// stor_render_here computes all of in on the calling thread (no libvips
// worker threads) into a new memory image with in's header and metadata.
int stor_render_here(VipsImage *in, VipsImage **out);
// stor_save_jpeg_here encodes in (8-bit sRGB or grey) as a baseline JPEG
// with libjpeg on the calling thread: in is rendered here first, so no
// libvips worker thread runs. No metadata is written (as strip). *buf is
// malloc'd: free it with free(). Returns 1, writing nothing, for images it
// does not handle (the caller uses jpegsave).
int stor_save_jpeg_here(VipsImage *in, int q, int optimize, void **buf, size_t *len);
// stor_load_svg rasterises an SVG held in memory (no base URI, so librsvg
// resolves no relative or file: references). scale 1 is the declared size.
int stor_load_svg(const void *buf, size_t len, double scale, VipsImage **out);
int stor_thumbnail(const char *path, int size, VipsImage **out);
// stor_thumbnail_image is stor_thumbnail of an image already loaded (with
// the JPEG shrink-on-load factor the caller chose).
int stor_thumbnail_image(VipsImage *in, int size, VipsImage **out);
// stor_mosaic_jpeg decodes n standalone 3-component JPEG tiles held in buf
// (tile i is lens[i] bytes at offs[i]) with libjpeg straight into one new
// w x h sRGB image, tile i's top-left corner at (xs[i], ys[i]) of it (may
// be negative: only the part inside the image is written, and rows outside
// it are skipped, not decoded). Each tile must be tw x th.
int stor_mosaic_jpeg(const void *buf, const size_t *offs, const size_t *lens, const int *xs,
                     const int *ys, int n, int tw, int th, int w, int h, VipsImage **out);
// stor_shrink_long resizes in (8-bit, no alpha, no profile conversion
// needed) so that its long edge is size, with vips_resize's default
// kernel (Lanczos 3) and no other stage, then applies its EXIF
// orientation: the short path vips_thumbnail_image takes for a plain sRGB
// or grey JPEG, without its extra copy, cast and cache stages. here != 0
// renders the resized image into memory on the calling thread
// (stor_render_here) before the rotation, so *out no longer reads in.
int stor_shrink_long(VipsImage *in, int size, int here, VipsImage **out);
// stor_copy_memory renders in into a new memory image.
int stor_copy_memory(VipsImage *in, VipsImage **out);
// stor_save_jpeg_buffer_opts is jpegsave_buffer (metadata stripped) with
// Q and optimize_coding chosen.
int stor_save_jpeg_buffer_opts(VipsImage *in, int q, int optimize, void **buf, size_t *len);
// stor_decode_tile_rgb decodes one tw x th 3-band JPEG tile at scale m/8
// (1..8; tw*m and th*m multiples of 8) into dst.
int stor_decode_tile_rgb(const void *src, size_t len, int tw, int th, int m, unsigned char *dst);
// stor_region_jpeg resamples the rectangle (x0,y0)-(x1,y1) (pixel edges,
// fractions allowed) of w x h packed RGB pixels (row stride w*3) to ow x oh
// with a triangle filter (bilinear when enlarging, a tent as wide as the
// reduction when reducing; pixels outside the w x h buffer repeat its
// edge) and encodes it as a baseline JPEG of quality q (4:2:0, JFIF, no
// metadata; optimize != 0 adds optimised Huffman tables). *out is
// malloc'd: the caller frees it.
int stor_region_jpeg(const unsigned char *pix, int w, int h, double x0, double y0, double x1, double y1,
                     int ow, int oh, int q, int optimize, unsigned char **out, unsigned long *outlen);
int stor_from_rgb(const void *pix, int w, int h, VipsImage **out);
int stor_thumbnail_svg(const void *buf, size_t len, int size, VipsImage **out);
const char *stor_loader(const char *path);

int stor_to_srgb8(VipsImage *in, VipsImage **out);
int stor_flatten_white(VipsImage *in, VipsImage **out);
int stor_autorot(VipsImage *in, VipsImage **out);
int stor_extract(VipsImage *in, VipsImage **out, int l, int t, int w, int h);
int stor_resize_to(VipsImage *in, VipsImage **out, int w, int h);
int stor_flip_h(VipsImage *in, VipsImage **out);
int stor_rotate(VipsImage *in, VipsImage **out, double angle, int transparent);
int stor_gray(VipsImage *in, VipsImage **out);
int stor_bitonal(VipsImage *in, VipsImage **out);

// format: 0 jpeg, 1 png, 2 webp, 3 tiff, 4 gif, 5 jp2
int stor_save_buffer(VipsImage *in, int format, int q, void **buf, size_t *len);
int stor_save_jpeg_file(VipsImage *in, const char *path, int q);
int stor_save_pyramid(VipsImage *in, const char *path, int tile, int q, int bigtiff);

int stor_get_int(VipsImage *in, const char *name, int def);
const char *stor_get_string(VipsImage *in, const char *name);
int stor_has(VipsImage *in, const char *name);
const char *stor_interpretation(VipsImage *in);
const char *stor_band_format(VipsImage *in);
