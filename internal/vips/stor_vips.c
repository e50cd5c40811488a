#include "stor_vips.h"

#include <string.h>

#include "stor_jpeg.h"

int stor_init(void) { return VIPS_INIT("stor"); }

void stor_config(int concurrency, int max_ops, size_t max_mem, int max_files) {
  if (concurrency > 0) vips_concurrency_set(concurrency);
  vips_cache_set_max(max_ops);
  vips_cache_set_max_mem(max_mem);
  vips_cache_set_max_files(max_files);
}

// stor_loader returns the loader's nickname ("jpegload"), or NULL.
const char *stor_loader(const char *path) {
  const char *name = vips_foreign_find_load(path);
  if (!name) return NULL;
  const char *nick = vips_nickname_find(g_type_from_name(name));
  return nick ? nick : name;
}

static int has_prop(VipsOperation *op, const char *name) {
  return g_object_class_find_property(G_OBJECT_GET_CLASS(op), name) != NULL;
}

// build_op runs op (which holds one ref the caller gave away), through
// the operation cache when cached, and takes "out".
static int build_op(VipsOperation *op, int cached, VipsImage **out) {
  if (cached ? vips_cache_operation_buildp(&op) : vips_object_build(VIPS_OBJECT(op))) {
    vips_object_unref_outputs(VIPS_OBJECT(op));
    g_object_unref(op);
    return -1;
  }
  g_object_get(op, "out", out, NULL);
  vips_object_unref_outputs(VIPS_OBJECT(op));
  g_object_unref(op);
  return 0;
}

static int build(VipsOperation *op, VipsImage **out) { return build_op(op, 1, out); }

int stor_load(const char *path, const char *loader, int page, int shrink, int sequential,
              VipsImage **out) {
  if (!loader || !*loader) loader = vips_foreign_find_load(path);
  if (!loader) return -2;
  VipsOperation *op = vips_operation_new(loader);
  if (!op) return -1;
  g_object_set(op, "filename", path, "access",
               sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM, NULL);
  if (page >= 0 && has_prop(op, "page")) g_object_set(op, "page", page, NULL);
  if (shrink > 1 && has_prop(op, "shrink")) g_object_set(op, "shrink", shrink, NULL);
  return build(op, out);
}

int stor_load_jpeg_buffer(const void *buf, size_t len, int shrink, VipsImage **out) {
  VipsOperation *op = vips_operation_new("jpegload_buffer");
  if (!op) return -1;
  VipsBlob *blob = vips_blob_new(NULL, buf, len);  // no copy, no free: the caller owns buf
  g_object_set(op, "buffer", blob, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
  vips_area_unref(VIPS_AREA(blob));
  if (shrink > 1) g_object_set(op, "shrink", shrink, NULL);
  // Built outside the operation cache: buf is reused for the next file, so
  // a cached load keyed on its address would hand back the wrong image.
  return build_op(op, 0, out);
}

int stor_render_here(VipsImage *in, VipsImage **out) {
  VipsImage *m = vips_image_new_memory();
  if (vips_image_pipelinev(m, VIPS_DEMAND_STYLE_THINSTRIP, in, NULL) || vips_image_write_prepare(m)) {
    g_object_unref(m);
    return -1;
  }
  VipsRegion *r = vips_region_new(in);
  VipsRect all = {0, 0, in->Xsize, in->Ysize};
  if (vips_region_prepare(r, &all)) {
    g_object_unref(r);
    g_object_unref(m);
    return -1;
  }
  size_t line = VIPS_IMAGE_SIZEOF_LINE(m);
  for (int y = 0; y < in->Ysize; y++) memcpy(VIPS_IMAGE_ADDR(m, 0, y), VIPS_REGION_ADDR(r, 0, y), line);
  g_object_unref(r);
  *out = m;
  return 0;
}

int stor_load_svg(const void *buf, size_t len, double scale, VipsImage **out) {
  VipsOperation *op = vips_operation_new("svgload_buffer");
  if (!op) return -1;
  VipsBlob *blob = vips_blob_copy(buf, len);
  g_object_set(op, "buffer", blob, "scale", scale, "unlimited", FALSE, NULL);
  vips_area_unref(VIPS_AREA(blob));
  return build(op, out);
}

int stor_thumbnail(const char *path, int size, VipsImage **out) {
  return vips_thumbnail(path, out, size, "height", size, "size", VIPS_SIZE_DOWN, NULL);
}

static void stor_jerr_exit(j_common_ptr c) {
  struct stor_jerr *e = (struct stor_jerr *)c->err;
  char msg[JMSG_LENGTH_MAX];
  c->err->format_message(c, msg);
  vips_error("stor", "%s: %s", e->what, msg);
  longjmp(e->jmp, 1);
}

static void stor_jerr_silent(j_common_ptr c, int level) { (void)c; (void)level; }

struct jpeg_error_mgr *stor_jerr_init(struct stor_jerr *e, const char *what) {
  struct jpeg_error_mgr *m = jpeg_std_error(&e->pub);
  m->error_exit = stor_jerr_exit;
  m->emit_message = stor_jerr_silent;
  e->what = what;
  return m;
}

// decode_tile decodes one tw x th tile at scale m/8 (libjpeg's DCT
// scaling: the tile comes out (tw*m/8) x (th*m/8); m = 8 is full size) and
// writes the part of it that falls inside dst, its top-left corner at
// (x0, y0) of dst.
static int decode_tile(const unsigned char *src, size_t len, int x0, int y0, int tw, int th, int m,
                       unsigned char *dst, int w, int h, unsigned char *row) {
  struct jpeg_decompress_struct cinfo;
  struct stor_jerr jerr;
  cinfo.err = stor_jerr_init(&jerr, "jpeg tile");
  if (setjmp(jerr.jmp)) {
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, src, len);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.num_components != 3 || (int)cinfo.image_width != tw || (int)cinfo.image_height != th) {
    vips_error("stor", "jpeg tile is %dx%d with %d components, want %dx%d RGB",
               (int)cinfo.image_width, (int)cinfo.image_height, cinfo.num_components, tw, th);
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  cinfo.out_color_space = JCS_RGB;
  if (m != 8) {
    cinfo.scale_num = m;
    cinfo.scale_denom = 8;
    jpeg_calc_output_dimensions(&cinfo);
    if ((int)cinfo.output_width * 8 != tw * m || (int)cinfo.output_height * 8 != th * m) {
      vips_error("stor", "jpeg tile of %dx%d at scale %d/8 is %dx%d", tw, th, m,
                 (int)cinfo.output_width, (int)cinfo.output_height);
      jpeg_destroy_decompress(&cinfo);
      return -1;
    }
    tw = tw * m / 8;
    th = th * m / 8;
  }
  jpeg_start_decompress(&cinfo);
  int first = y0 < 0 ? -y0 : 0;             // first tile row inside dst
  int last = y0 + th > h ? h - y0 : th;     // one past the last
  int cx0 = x0 < 0 ? -x0 : 0;               // tile columns inside dst
  int cx1 = x0 + tw > w ? w - x0 : tw;
  if (first > 0) jpeg_skip_scanlines(&cinfo, first);
  if (x0 == 0 && cx0 == 0 && cx1 == tw && w == tw) {
    // Whole rows of dst: decode straight into it.
    while ((int)cinfo.output_scanline < last) {
      JSAMPROW rp = dst + (size_t)(y0 + (int)cinfo.output_scanline) * w * 3;
      jpeg_read_scanlines(&cinfo, &rp, 1);
    }
  } else {
    for (int y = first; y < last; y++) {
      JSAMPROW rp = row;
      jpeg_read_scanlines(&cinfo, &rp, 1);
      memcpy(dst + ((size_t)(y0 + y) * w + x0 + cx0) * 3, row + (size_t)cx0 * 3, (size_t)(cx1 - cx0) * 3);
    }
  }
  jpeg_abort_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return 0;
}

int stor_save_jpeg_here(VipsImage *in, int q, int optimize, void **buf, size_t *len) {
  if (in->BandFmt != VIPS_FORMAT_UCHAR || in->Coding != VIPS_CODING_NONE ||
      !(in->Bands == 3 || (in->Bands == 1 && in->Type == VIPS_INTERPRETATION_B_W)))
    return 1;
  VipsImage *m;
  if (stor_render_here(in, &m)) return -1;
  struct jpeg_compress_struct cinfo;
  struct stor_jerr jerr;
  unsigned char *out = NULL;
  unsigned long outlen = 0;
  cinfo.err = stor_jerr_init(&jerr, "jpeg encode");
  if (setjmp(jerr.jmp)) {
    jpeg_destroy_compress(&cinfo);
    free(out);
    g_object_unref(m);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &out, &outlen);
  cinfo.image_width = m->Xsize;
  cinfo.image_height = m->Ysize;
  cinfo.input_components = m->Bands;
  cinfo.in_color_space = m->Bands == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, q, TRUE);
  cinfo.optimize_coding = optimize ? TRUE : FALSE;
  cinfo.write_JFIF_header = FALSE;  // as jpegsave with strip: no APP0
  if (q >= 90 && m->Bands == 3) {  // libvips' "auto" chroma subsampling: none from Q90
    cinfo.comp_info[0].h_samp_factor = 1;
    cinfo.comp_info[0].v_samp_factor = 1;
  }
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)VIPS_IMAGE_ADDR(m, 0, cinfo.next_scanline);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  g_object_unref(m);
  *buf = out;
  *len = outlen;
  return 0;
}

static void free_mem(VipsImage *im, void *p) { (void)im; g_free(p); }

int stor_mosaic_jpeg(const void *buf, const size_t *offs, const size_t *lens, const int *xs,
                     const int *ys, int n, int tw, int th, int w, int h, VipsImage **out) {
  if (n <= 0 || w <= 0 || h <= 0 || tw <= 0 || th <= 0) {
    vips_error("stor", "mosaic of %d tiles into %dx%d", n, w, h);
    return -1;
  }
  unsigned char *dst = g_try_malloc((size_t)w * h * 3);
  unsigned char *row = g_try_malloc((size_t)tw * 3);
  if (!dst || !row) {
    g_free(dst);
    g_free(row);
    vips_error("stor", "out of memory for a %dx%d mosaic", w, h);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (xs[i] >= w || ys[i] >= h || xs[i] + tw <= 0 || ys[i] + th <= 0) continue;
    if (decode_tile((const unsigned char *)buf + offs[i], lens[i], xs[i], ys[i], tw, th, 8, dst, w, h, row)) {
      g_free(dst);
      g_free(row);
      return -1;
    }
  }
  g_free(row);
  VipsImage *m = vips_image_new_from_memory(dst, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
  if (!m) {
    g_free(dst);
    return -1;
  }
  g_signal_connect(m, "postclose", G_CALLBACK(free_mem), dst);
  int r = vips_copy(m, out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL);
  g_object_unref(m);
  return r;
}

int stor_thumbnail_image(VipsImage *in, int size, VipsImage **out) {
  return vips_thumbnail_image(in, out, size, "height", size, "size", VIPS_SIZE_DOWN, NULL);
}

int stor_shrink_long(VipsImage *in, int size, int here, VipsImage **out) {
  int l = in->Xsize > in->Ysize ? in->Xsize : in->Ysize;
  VipsImage *t;
  if (size >= l) {
    g_object_ref(in);
    t = in;
  } else if (vips_resize(in, &t, (double)size / l, NULL)) {
    return -1;
  }
  int o = stor_get_int(t, "orientation", 1);
  if (here || (o > 1 && o <= 8)) {
    // Rotating needs random access; the input is read sequentially. The
    // resized image is small: render it to memory first (on this thread
    // when asked to).
    VipsImage *m = NULL;
    if (here) {
      if (stor_render_here(t, &m)) m = NULL;
    } else {
      m = vips_image_copy_memory(t);
    }
    g_object_unref(t);
    if (!m) return -1;
    t = m;
  }
  int r = vips_autorot(t, out, NULL);
  g_object_unref(t);
  return r;
}

int stor_copy_memory(VipsImage *in, VipsImage **out) {
  VipsImage *m = vips_image_copy_memory(in);
  if (!m) return -1;
  *out = m;
  return 0;
}

int stor_save_jpeg_buffer_opts(VipsImage *in, int q, int optimize, void **buf, size_t *len) {
  return vips_jpegsave_buffer(in, buf, len, "Q", q, "strip", TRUE, "optimize_coding", optimize ? TRUE : FALSE,
                              NULL);
}

int stor_thumbnail_svg(const void *buf, size_t len, int size, VipsImage **out) {
  VipsOperation *op = vips_operation_new("thumbnail_buffer");
  if (!op) return -1;
  VipsBlob *blob = vips_blob_copy(buf, len);
  g_object_set(op, "buffer", blob, "width", size, "height", size, "size", VIPS_SIZE_DOWN,
               "option_string", "unlimited=false", NULL);
  vips_area_unref(VIPS_AREA(blob));
  return build(op, out);
}

int stor_to_srgb8(VipsImage *in, VipsImage **out) {
  VipsImage *t = NULL;
  if (vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
    if (vips_icc_transform(in, &t, "srgb", "embedded", TRUE, "intent", VIPS_INTENT_PERCEPTUAL,
                           "depth", 8, NULL)) {
      vips_error_clear();  // broken profile: fall back to the colourspace guess
      t = NULL;
    }
  }
  if (!t) {
    VipsInterpretation i = vips_image_guess_interpretation(in);
    if (i == VIPS_INTERPRETATION_sRGB && in->BandFmt == VIPS_FORMAT_UCHAR) {
      g_object_ref(in);
      t = in;
    } else if (vips_colourspace(in, &t, VIPS_INTERPRETATION_sRGB, NULL)) {
      return -1;
    }
  }
  if (t->BandFmt != VIPS_FORMAT_UCHAR) {
    VipsImage *u;
    int r = vips_cast(t, &u, VIPS_FORMAT_UCHAR, "shift", t->BandFmt == VIPS_FORMAT_USHORT, NULL);
    g_object_unref(t);
    if (r) return -1;
    t = u;
  }
  *out = t;
  return 0;
}

int stor_flatten_white(VipsImage *in, VipsImage **out) {
  if (!vips_image_hasalpha(in)) {
    g_object_ref(in);
    *out = in;
    return 0;
  }
  VipsArrayDouble *bg = vips_array_double_newv(3, 255.0, 255.0, 255.0);
  int r = vips_flatten(in, out, "background", bg, NULL);
  vips_area_unref(VIPS_AREA(bg));
  return r;
}

int stor_autorot(VipsImage *in, VipsImage **out) { return vips_autorot(in, out, NULL); }

int stor_extract(VipsImage *in, VipsImage **out, int l, int t, int w, int h) {
  return vips_extract_area(in, out, l, t, w, h, NULL);
}

// stor_resize_to scales in to exactly w x h (aspect may change).
int stor_resize_to(VipsImage *in, VipsImage **out, int w, int h) {
  if (in->Xsize == w && in->Ysize == h) {
    g_object_ref(in);
    *out = in;
    return 0;
  }
  VipsImage *t;
  double hs = (double)w / in->Xsize, vs = (double)h / in->Ysize;
  if (vips_resize(in, &t, hs, "vscale", vs, "kernel", VIPS_KERNEL_LANCZOS3, NULL)) return -1;
  if (t->Xsize == w && t->Ysize == h) {
    *out = t;
    return 0;
  }
  // Rounding inside vips_resize can leave one pixel over or under.
  VipsImage *e;
  int r = vips_embed(t, &e, 0, 0, w, h, "extend", VIPS_EXTEND_COPY, NULL);
  g_object_unref(t);
  if (r) return -1;
  *out = e;
  return 0;
}

int stor_flip_h(VipsImage *in, VipsImage **out) {
  return vips_flip(in, out, VIPS_DIRECTION_HORIZONTAL, NULL);
}

int stor_rotate(VipsImage *in, VipsImage **out, double angle, int transparent) {
  int a = (int)angle;
  if ((double)a == angle && a % 90 == 0) {
    switch (a % 360) {
      case 0: g_object_ref(in); *out = in; return 0;
      case 90: return vips_rot(in, out, VIPS_ANGLE_D90, NULL);
      case 180: return vips_rot(in, out, VIPS_ANGLE_D180, NULL);
      case 270: return vips_rot(in, out, VIPS_ANGLE_D270, NULL);
    }
  }
  VipsImage *src = in;
  g_object_ref(src);
  if (transparent && !vips_image_hasalpha(src)) {
    VipsImage *t;
    if (vips_bandjoin_const1(src, &t, 255.0, NULL)) { g_object_unref(src); return -1; }
    g_object_unref(src);
    src = t;
  }
  int n = src->Bands;
  VipsArrayDouble *bg;
  double v[4] = {255, 255, 255, 255};
  if (transparent) v[n - 1] = 0;  // last band is alpha
  bg = vips_array_double_new(v, n > 4 ? 4 : n);
  int r = vips_rotate(src, out, angle, "background", bg, NULL);
  vips_area_unref(VIPS_AREA(bg));
  g_object_unref(src);
  return r;
}

int stor_gray(VipsImage *in, VipsImage **out) {
  return vips_colourspace(in, out, VIPS_INTERPRETATION_B_W, NULL);
}

int stor_bitonal(VipsImage *in, VipsImage **out) {
  VipsImage *g, *b0, *th;
  if (vips_colourspace(in, &g, VIPS_INTERPRETATION_B_W, NULL)) return -1;
  if (vips_extract_band(g, &b0, 0, NULL)) { g_object_unref(g); return -1; }
  int r = vips_relational_const1(b0, &th, VIPS_OPERATION_RELATIONAL_MOREEQ, 128.0, NULL);
  g_object_unref(b0);
  if (r) { g_object_unref(g); return -1; }
  if (vips_image_hasalpha(g)) {
    VipsImage *a;
    if (vips_extract_band(g, &a, g->Bands - 1, NULL)) { g_object_unref(g); g_object_unref(th); return -1; }
    r = vips_bandjoin2(th, a, out, NULL);
    g_object_unref(a);
    g_object_unref(th);
  } else {
    *out = th;
    r = 0;
  }
  g_object_unref(g);
  return r;
}

int stor_save_buffer(VipsImage *in, int format, int q, void **buf, size_t *len) {
  switch (format) {
    case 0: return vips_jpegsave_buffer(in, buf, len, "Q", q, "strip", TRUE, "optimize_coding", TRUE, NULL);
    case 1: return vips_pngsave_buffer(in, buf, len, "strip", TRUE, "compression", 6, NULL);
    case 2: return vips_webpsave_buffer(in, buf, len, "Q", q, "strip", TRUE, NULL);
    case 3: return vips_tiffsave_buffer(in, buf, len, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL);
    case 4: return vips_gifsave_buffer(in, buf, len, NULL);
    case 5: return vips_jp2ksave_buffer(in, buf, len, "Q", q, NULL);
  }
  vips_error("stor", "unknown format %d", format);
  return -1;
}

int stor_save_jpeg_file(VipsImage *in, const char *path, int q) {
  return vips_jpegsave(in, path, "Q", q, "optimize_coding", TRUE, "strip", TRUE, NULL);
}

int stor_save_pyramid(VipsImage *in, const char *path, int tile, int q, int bigtiff) {
  return vips_tiffsave(in, path, "tile", TRUE, "tile_width", tile, "tile_height", tile,
                       "pyramid", TRUE, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_JPEG,
                       "Q", q, "bigtiff", bigtiff, "strip", TRUE, NULL);
}

int stor_get_int(VipsImage *in, const char *name, int def) {
  int v;
  if (vips_image_get_typeof(in, name) && !vips_image_get_int(in, name, &v)) return v;
  return def;
}

const char *stor_get_string(VipsImage *in, const char *name) {
  const char *v;
  if (vips_image_get_typeof(in, name) && !vips_image_get_string(in, name, &v)) return v;
  return "";
}

int stor_has(VipsImage *in, const char *name) { return vips_image_get_typeof(in, name) != 0; }

const char *stor_interpretation(VipsImage *in) {
  return vips_enum_nick(VIPS_TYPE_INTERPRETATION, in->Type);
}

const char *stor_band_format(VipsImage *in) {
  return vips_enum_nick(VIPS_TYPE_BAND_FORMAT, in->BandFmt);
}

// stor_decode_tile_rgb decodes one whole tw x th 3-band JPEG tile at scale
// m/8 into dst ((tw*m/8) x (th*m/8) x 3 bytes), for the IIIF server's
// decoded-tile cache.
int stor_decode_tile_rgb(const void *src, size_t len, int tw, int th, int m, unsigned char *dst) {
  if (tw <= 0 || th <= 0 || m < 1 || m > 8 || tw * m % 8 || th * m % 8) {
    vips_error("stor", "tile of %dx%d at scale %d/8", tw, th, m);
    return -1;
  }
  unsigned char *row = g_try_malloc((size_t)tw * 3);
  if (!row) {
    vips_error("stor", "out of memory for a tile row");
    return -1;
  }
  int r = decode_tile((const unsigned char *)src, len, 0, 0, tw, th, m, dst, tw * m / 8, th * m / 8, row);
  g_free(row);
  return r;
}

// stor_from_rgb wraps a copy of w x h packed RGB pixels as an sRGB image.
int stor_from_rgb(const void *pix, int w, int h, VipsImage **out) {
  VipsImage *m = vips_image_new_from_memory_copy(pix, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
  if (!m) return -1;
  int r = vips_copy(m, out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL);
  g_object_unref(m);
  return r;
}
