/* backend.h: the one interface through which the result cache talks to
 * its stores, local (the ostree repo) and remote (http.c), as the runtime
 * layer talks to crun and runc (STYLE.md; ostree-fetcher.h is the model).
 *
 * Two namespaces, as in Bazel's remote cache protocol: CAS blobs named by
 * the sha256 of their bytes, and action-cache (AC) entries named by the
 * sha256 of a REAPI Action.  Names are 64 lowercase hex digits.
 *
 * (The shape given in CACHE-DESIGN.md, shared with the cache-core branch,
 * which writes the same header; the integrator keeps one.) */
#ifndef OHR_CACHE_BACKEND_H
#define OHR_CACHE_BACKEND_H

#include <stddef.h>

#include "util/buf.h"

enum
{
  OHR_NS_AC = 0,
  OHR_NS_CAS = 1,
};

struct ohr_cache_backend_ops
{
  const char *name;
  /* 1 found (*out filled), 0 not found, -1 unavailable/error (*err set) */
  int (*get) (void *self, int ns /*OHR_NS_AC or OHR_NS_CAS*/,
              const char hex[65], struct buf *out, char **err);
  int (*put) (void *self, int ns, const char hex[65], const void *data,
              size_t len, char **err); /* 0 ok, -1 error */
  int (*has) (void *self, int ns, const char hex[65], char **err); /* 1/0/-1 */
  void (*close) (void *self);
};

#endif
