// A short path for the IIIF server's commonest render: a region of a
// stored pyramid, already decoded to packed RGB, scaled to a small size
// and sent as a JPEG. It resamples and encodes with libjpeg directly, in
// the calling thread, without a libvips pipeline (no worker threads, no
// per-operation objects): see stor_region_jpeg in stor_vips.h.
#pragma GCC optimize("O3")

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stor_jpeg.h"
#include "stor_vips.h"

#define WBITS 14  // filter weights sum to 1 << WBITS
#define HBITS 6   // extra precision kept between the two passes

// contrib is, for every output pixel of one axis, the first input pixel it
// reads and its weights (n of them, taps apart in w).
typedef struct {
  int *first, *n;
  int16_t *w;
  int taps;
} contrib;

static void contrib_free(contrib *c) {
  free(c->first);
  free(c->n);
  free(c->w);
}

// contrib_make maps out pixels onto [s0, s1) of in input pixels (pixel i
// spans [i, i+1)) with a triangle filter of radius max(1, scale).
static int contrib_make(contrib *c, int in, double s0, double s1, int out) {
  double f = (s1 - s0) / out;
  double r = f > 1 ? f : 1;
  c->taps = (int)ceil(2 * r) + 2;
  c->first = malloc(sizeof(int) * out);
  c->n = malloc(sizeof(int) * out);
  c->w = calloc((size_t)out * c->taps, sizeof(int16_t));
  double *wd = malloc(sizeof(double) * c->taps);
  if (!c->first || !c->n || !c->w || !wd) {
    free(wd);
    contrib_free(c);
    return -1;
  }
  for (int i = 0; i < out; i++) {
    double centre = s0 + (i + 0.5) * f;  // in input pixel edges
    int j0 = (int)floor(centre - r - 0.5), j1 = (int)ceil(centre + r - 0.5);
    int lo = j0 < 0 ? 0 : j0 > in - 1 ? in - 1 : j0;
    int hi = j1 < 0 ? 0 : j1 > in - 1 ? in - 1 : j1;
    int n = hi - lo + 1;
    if (n > c->taps) n = c->taps;  // cannot happen: j1 - j0 <= 2r + 2
    for (int k = 0; k < n; k++) wd[k] = 0;
    double sum = 0;
    for (int j = j0; j <= j1; j++) {
      double d = fabs(j + 0.5 - centre) / r;
      if (d >= 1) continue;
      int jj = j < lo ? lo : j > hi ? hi : j;  // edge pixels repeat
      if (jj - lo >= n) continue;
      wd[jj - lo] += 1 - d;
      sum += 1 - d;
    }
    int16_t *w = c->w + (size_t)i * c->taps;
    if (sum <= 0) {  // centre exactly between pixels far outside: nearest
      w[0] = 1 << WBITS;
      c->first[i] = lo;
      c->n[i] = 1;
      continue;
    }
    int tot = 0, big = 0;
    for (int k = 0; k < n; k++) {
      w[k] = (int16_t)lrint(wd[k] / sum * (1 << WBITS));
      tot += w[k];
      if (w[k] > w[big]) big = k;
    }
    w[big] += (1 << WBITS) - tot;
    // Trim zero weights at both ends.
    int a = 0, b = n - 1;
    while (a < b && w[a] == 0) a++;
    while (b > a && w[b] == 0) b--;
    if (a > 0) memmove(w, w + a, sizeof(int16_t) * (b - a + 1));
    c->first[i] = lo + a;
    c->n[i] = b - a + 1;
  }
  free(wd);
  return 0;
}

// contrib_pad gives every output pixel the same number of taps (the
// largest), zero weights filling in, so the horizontal pass can run a loop
// of fixed length the compiler unrolls. It returns that number, or 0 (and
// changes nothing) when the input is narrower than it.
static int contrib_pad(contrib *c, int in, int out) {
  int t = 1;
  for (int i = 0; i < out; i++)
    if (c->n[i] > t) t = c->n[i];
  if (t > in || t > c->taps) return 0;
  for (int i = 0; i < out; i++) {
    int16_t *w = c->w + (size_t)i * c->taps;
    int first = c->first[i], n = c->n[i];
    int nf = first + t > in ? in - t : first;  // start earlier at the right edge
    int shift = first - nf;
    if (shift > 0) {
      memmove(w + shift, w, sizeof(int16_t) * n);
      for (int k = 0; k < shift; k++) w[k] = 0;
    }
    for (int k = shift + n; k < t; k++) w[k] = 0;
    c->first[i] = nf;
    c->n[i] = t;
  }
  return t;
}

struct region_jerr {
  struct stor_jerr e;
  // The output buffer and its size, which libjpeg's memory destination
  // replaces when it grows it (here, not in locals, so they are read back
  // from memory after a longjmp).
  unsigned char *buf;
  unsigned long size;
};

// encode writes pix (ow x oh RGB) as a JPEG into a malloc'd *out.
static int encode(unsigned char *pix, int ow, int oh, int q, int optimize, unsigned char **out,
                  unsigned long *outlen) {
  struct jpeg_compress_struct cinfo;
  struct region_jerr jerr;
  // A first buffer large enough for almost every answer; libjpeg grows it
  // into a new malloc'd buffer when not (and leaves the first to us).
  unsigned long size = (unsigned long)ow * oh + 4096;
  unsigned char *first = malloc(size);
  JSAMPROW *rows = malloc(sizeof(JSAMPROW) * oh);
  if (!first || !rows) {
    free(first);
    free(rows);
    vips_error("stor", "out of memory for a %dx%d JPEG", ow, oh);
    return -1;
  }
  jerr.buf = first;
  jerr.size = size;
  cinfo.err = stor_jerr_init(&jerr.e, "jpeg encode");
  if (setjmp(jerr.e.jmp)) {
    jpeg_destroy_compress(&cinfo);
    if (jerr.buf != first) free(jerr.buf);
    free(first);
    free(rows);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &jerr.buf, &jerr.size);
  cinfo.image_width = ow;
  cinfo.image_height = oh;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);  // YCbCr 4:2:0, JFIF
  jpeg_set_quality(&cinfo, q, TRUE);
  cinfo.optimize_coding = optimize ? TRUE : FALSE;
  jpeg_start_compress(&cinfo, TRUE);
  for (int y = 0; y < oh; y++) rows[y] = pix + (size_t)y * ow * 3;
  while (cinfo.next_scanline < cinfo.image_height)
    jpeg_write_scanlines(&cinfo, rows + cinfo.next_scanline, oh - cinfo.next_scanline);
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  free(rows);
  if (jerr.buf != first) free(first);
  *out = jerr.buf;
  *outlen = jerr.size;
  return 0;
}

// vpass filters the columns xlo..xhi (in bytes) of the input rows
// vertically into out rows of tmp (6 extra bits kept). Weights are never
// negative, so nothing needs clamping.
__attribute__((target_clones("avx2", "default"))) static void vpass(const unsigned char *pix, size_t stride,
                                                                    const contrib *cy, int oh, size_t xlo,
                                                                    size_t xhi, uint16_t *tmp, int32_t *acc) {
  size_t n = xhi - xlo;
  for (int i = 0; i < oh; i++) {
    const int16_t *wt = cy->w + (size_t)i * cy->taps;
    const unsigned char *s = pix + (size_t)cy->first[i] * stride + xlo;
    for (size_t x = 0; x < n; x++) acc[x] = 0;
    for (int k = 0; k < cy->n[i]; k++) {
      int32_t wk = wt[k];
      const unsigned char *r = s + (size_t)k * stride;
      for (size_t x = 0; x < n; x++) acc[x] += wk * r[x];
    }
    uint16_t *t = tmp + (size_t)i * n;
    const int sh = WBITS - HBITS, half = 1 << (WBITS - HBITS - 1);
    for (size_t x = 0; x < n; x++) t[x] = (uint16_t)((acc[x] + half) >> sh);
  }
}

// hpass filters each row of tmp (n values, starting at input byte xlo)
// horizontally into ow RGB pixels of dst; T > 0 is every pixel's tap
// count (contrib_pad), 0 when they differ.
#define HPASS_BODY(T)                                                 \
  const int sh = WBITS + HBITS, half = 1 << (WBITS + HBITS - 1);      \
  for (int y = 0; y < oh; y++) {                                      \
    const uint16_t *t = tmp + (size_t)y * n - xlo;                    \
    unsigned char *d = dst + (size_t)y * ow * 3;                      \
    for (int i = 0; i < ow; i++) {                                    \
      const int16_t *wt = cx->w + (size_t)i * cx->taps;               \
      const uint16_t *p = t + (size_t)cx->first[i] * 3;               \
      int32_t a0 = half, a1 = half, a2 = half;                        \
      int taps = (T) ? (T) : cx->n[i];                                \
      for (int k = 0; k < taps; k++) {                                \
        a0 += wt[k] * p[3 * k];                                       \
        a1 += wt[k] * p[3 * k + 1];                                   \
        a2 += wt[k] * p[3 * k + 2];                                   \
      }                                                               \
      a0 >>= sh;                                                      \
      a1 >>= sh;                                                      \
      a2 >>= sh;                                                      \
      d[3 * i] = (unsigned char)(a0 > 255 ? 255 : a0);                \
      d[3 * i + 1] = (unsigned char)(a1 > 255 ? 255 : a1);            \
      d[3 * i + 2] = (unsigned char)(a2 > 255 ? 255 : a2);            \
    }                                                                 \
  }
#define HPASS(T)                                                                            \
  static void hpass##T(const uint16_t *tmp, size_t n, size_t xlo, const contrib *cx, int ow, \
                       int oh, unsigned char *dst) {                                         \
    HPASS_BODY(T)                                                                           \
  }
HPASS(0)
HPASS(2)
HPASS(3)
HPASS(4)
HPASS(5)
HPASS(6)

static void hpass(int t, const uint16_t *tmp, size_t n, size_t xlo, const contrib *cx, int ow, int oh,
                  unsigned char *dst) {
  switch (t) {
    case 2: hpass2(tmp, n, xlo, cx, ow, oh, dst); return;
    case 3: hpass3(tmp, n, xlo, cx, ow, oh, dst); return;
    case 4: hpass4(tmp, n, xlo, cx, ow, oh, dst); return;
    case 5: hpass5(tmp, n, xlo, cx, ow, oh, dst); return;
    case 6: hpass6(tmp, n, xlo, cx, ow, oh, dst); return;
  }
  hpass0(tmp, n, xlo, cx, ow, oh, dst);
}

int stor_region_jpeg(const unsigned char *pix, int w, int h, double x0, double y0, double x1, double y1,
                     int ow, int oh, int q, int optimize, unsigned char **out, unsigned long *outlen) {
  if (w <= 0 || h <= 0 || ow <= 0 || oh <= 0 || !(x1 > x0) || !(y1 > y0) || q < 1 || q > 100) {
    vips_error("stor", "region of %dx%d to %dx%d", w, h, ow, oh);
    return -1;
  }
  contrib cx = {0}, cy = {0};
  if (contrib_make(&cx, w, x0, x1, ow) || contrib_make(&cy, h, y0, y1, oh)) {
    contrib_free(&cx);
    vips_error("stor", "out of memory for filter weights");
    return -1;
  }
  int t = contrib_pad(&cx, w, ow);
  // The input columns the horizontal pass reads: the vertical pass
  // filters only those, first (the output has fewer rows than the input).
  int clo = cx.first[0], chi = cx.first[0] + cx.n[0];
  for (int i = 0; i < ow; i++) {
    if (cx.first[i] < clo) clo = cx.first[i];
    if (cx.first[i] + cx.n[i] > chi) chi = cx.first[i] + cx.n[i];
  }
  size_t xlo = (size_t)clo * 3, xhi = (size_t)chi * 3, n = xhi - xlo;
  uint16_t *tmp = malloc(sizeof(uint16_t) * n * oh);
  int32_t *acc = malloc(sizeof(int32_t) * n);
  unsigned char *dst = malloc((size_t)ow * oh * 3);
  if (!tmp || !acc || !dst) {
    free(tmp);
    free(acc);
    free(dst);
    contrib_free(&cx);
    contrib_free(&cy);
    vips_error("stor", "out of memory for a %dx%d region", ow, oh);
    return -1;
  }
  vpass(pix, (size_t)w * 3, &cy, oh, xlo, xhi, tmp, acc);
  hpass(t, tmp, n, xlo, &cx, ow, oh, dst);
  free(tmp);
  free(acc);
  contrib_free(&cx);
  contrib_free(&cy);
  int r = encode(dst, ow, oh, q, optimize, out, outlen);
  free(dst);
  return r;
}
