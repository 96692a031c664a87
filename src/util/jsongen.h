/* jsongen.h: the yajl generator idiom shared by every JSON writer (the
 * OCI spec, run records, attestations).  Every call in a generator block
 * goes through G(); the first failure jumps to the block's single error
 * label, `fail:`, with the status in `st` (crun's GEN_OR_FAIL). */
#ifndef OHR_UTIL_JSONGEN_H
#define OHR_UTIL_JSONGEN_H

#include <stddef.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#define G(call)                                                               \
  do                                                                          \
    {                                                                         \
      if ((st = (call)) != yajl_gen_status_ok)                                \
        goto fail;                                                            \
    }                                                                         \
  while (0)

static inline yajl_gen_status
gen_str (yajl_gen g, const char *s)
{
  return yajl_gen_string (g, (const unsigned char *)s, strlen (s));
}

/* "key": "value", or "key": null when value is NULL */
static inline yajl_gen_status
gen_kv (yajl_gen g, const char *k, const char *v)
{
  yajl_gen_status st = gen_str (g, k);
  if (st != yajl_gen_status_ok)
    return st;
  return v ? gen_str (g, v) : yajl_gen_null (g);
}

/* "key": ["a", "b"] (an empty list for NULL) */
static inline yajl_gen_status
gen_strv (yajl_gen g, const char *k, char *const *v)
{
  yajl_gen_status st;
  G (gen_str (g, k));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; v && v[i]; i++)
    G (gen_str (g, v[i]));
  G (yajl_gen_array_close (g));
fail:
  return st;
}

#endif
