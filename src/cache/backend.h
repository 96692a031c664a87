/* backend.h: the one interface the result cache talks to its stores
 * through (STYLE.md: "the result cache talks to its local and remote
 * stores the same way"), after Bazel's remote cache protocol: a CAS of
 * blobs by sha256 and an action cache (AC) of ActionResults by the
 * action's digest.  The HTTP remote (cache/http.c, `<base>/ac/<hex>` and
 * `<base>/cas/<hex>`) implements it; so will the local store once results
 * are also kept by blob (today cache/local.h stores whole results as
 * ostree commits; see docs/cache.md).
 *
 * The shape agreed with the remote client's author (CACHE-DESIGN.md); the
 * integrator keeps one copy. */
#ifndef OHR_CACHE_BACKEND_H
#define OHR_CACHE_BACKEND_H

#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

enum
{
  OHR_NS_AC,  /* action cache: ActionResult by action digest */
  OHR_NS_CAS, /* content-addressed blobs by their sha256 */
};

struct ohr_cache_backend_ops
{
  const char *name;
  /* 1 found (*out filled), 0 not found, -1 unavailable/error (*err set) */
  int (*get) (void *self, int ns, const char hex[65], struct buf *out,
              ohr_error_t *err);
  /* 0 ok, -1 error */
  int (*put) (void *self, int ns, const char hex[65], const void *data,
              size_t len, ohr_error_t *err);
  /* 1 present, 0 absent, -1 unavailable/error */
  int (*has) (void *self, int ns, const char hex[65], ohr_error_t *err);
  void (*close) (void *self);
};

struct ohr_cache_backend
{
  const struct ohr_cache_backend_ops *ops;
  void *self;
};

#endif
