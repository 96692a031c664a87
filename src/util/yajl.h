/* yajl.h: the one scope-bound cleanup for yajl's two owned types, a
 * generator (yajl_gen) and a parsed tree (yajl_val), in the style of
 * cleanup.h: NULL-safe free functions and cleanup_<type> macros.  Apart
 * from cleanup.h so that only the files that use yajl include its headers;
 * jsongen.h includes it for its generator blocks. */
#ifndef OHR_UTIL_YAJL_H
#define OHR_UTIL_YAJL_H

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

static inline void
yajl_gen_freep (yajl_gen *g)
{
  if (*g)
    yajl_gen_free (*g);
}

static inline void
yajl_val_freep (yajl_val *v)
{
  if (*v)
    yajl_tree_free (*v);
}

#define cleanup_yajl_gen __attribute__ ((cleanup (yajl_gen_freep)))
#define cleanup_yajl_val __attribute__ ((cleanup (yajl_val_freep)))

#endif
