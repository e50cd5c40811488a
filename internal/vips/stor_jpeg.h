// libjpeg error handling shared by stor_vips.c and region.c: libjpeg
// reports errors by calling error_exit, which must not return, so each
// libjpeg call site sets a jump point (setjmp(e->jmp)) and gets there with
// the message already left in libvips' error buffer.
#include <setjmp.h>
#include <stdio.h>
#include <jpeglib.h>

struct stor_jerr {
  struct jpeg_error_mgr pub;
  jmp_buf jmp;
  const char *what;  // prefix of the message, e.g. "jpeg tile"
};

// stor_jerr_init sets e up (warnings silent, errors to libvips' error
// buffer as "what: message", then longjmp to e->jmp) and returns the
// manager to put in cinfo.err.
struct jpeg_error_mgr *stor_jerr_init(struct stor_jerr *e, const char *what);
