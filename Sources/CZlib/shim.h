#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <zlib.h>
static inline int czlib_deflateInit2(z_streamp s, int l, int m, int w, int ml, int st) { return deflateInit2(s, l, m, w, ml, st); }
static inline int czlib_inflateInit2(z_streamp s, int w) { return inflateInit2(s, w); }
#endif
