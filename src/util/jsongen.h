/* jsongen.h: the yajl generator idiom shared by every JSON writer (the
 * OCI spec, run records, attestations).  Every call in a generator block
 * goes through G(); the first failure jumps to the block's single error
 * label, `fail:`, with the status in `st` (crun's GEN_OR_FAIL). */
#ifndef OHR_UTIL_JSONGEN_H
#define OHR_UTIL_JSONGEN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "util/error.h"
#include "util/yajl.h"

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

/* "key": 123 */
static inline yajl_gen_status
gen_kint (yajl_gen g, const char *k, long long v)
{
  yajl_gen_status st = gen_str (g, k);
  return st != yajl_gen_status_ok ? st : yajl_gen_integer (g, v);
}

/* "key": true */
static inline yajl_gen_status
gen_kbool (yajl_gen g, const char *k, bool v)
{
  yajl_gen_status st = gen_str (g, k);
  return st != yajl_gen_status_ok ? st : yajl_gen_bool (g, v);
}

/* A parsed value generated again: keys in their order, numbers as written. */
static inline yajl_gen_status
gen_json_value (yajl_gen g, yajl_val v)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (YAJL_IS_STRING (v))
    return gen_str (g, v->u.string);
  if (YAJL_IS_NUMBER (v))
    return yajl_gen_number (g, v->u.number.r, strlen (v->u.number.r));
  if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    return yajl_gen_bool (g, YAJL_IS_TRUE (v));
  if (YAJL_IS_ARRAY (v))
    {
      st = yajl_gen_array_open (g);
      for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.array.len; i++)
        st = gen_json_value (g, v->u.array.values[i]);
      return st == yajl_gen_status_ok ? yajl_gen_array_close (g) : st;
    }
  if (YAJL_IS_OBJECT (v))
    {
      st = yajl_gen_map_open (g);
      for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.object.len; i++)
        if ((st = gen_str (g, v->u.object.keys[i])) == yajl_gen_status_ok)
          st = gen_json_value (g, v->u.object.values[i]);
      return st == yajl_gen_status_ok ? yajl_gen_map_close (g) : st;
    }
  return yajl_gen_null (g);
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

/* A generator that refuses a string that is not UTF-8 rather than write
 * invalid JSON; NULL when out of memory. */
static inline yajl_gen
gen_new (void)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g)
    yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  return g;
}

/* The status a generator block ended with, as our error: 0 when it is
 * ok; EILSEQ "<what> is not valid UTF-8" for a string that is not (what:
 * "a value"); else EINVAL "cannot generate JSON (status N)". */
static inline int
gen_check (yajl_gen_status st, const char *what, ohr_error_t *err)
{
  if (st == yajl_gen_status_ok)
    return 0;
  if (st == yajl_gen_invalid_string)
    return ohr_error_set (err, EILSEQ, OHR_ERR_INTERNAL,
                          "%s is not valid UTF-8", what);
  return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                        "cannot generate JSON (status %d)", (int)st);
}

/* A value given as JSON text, written as it is: for text another
 * generator made (yajl writes a "number" verbatim, with the separators
 * and state of any value).  Only for text known to be one valid JSON
 * value. */
static inline yajl_gen_status
gen_raw_value (yajl_gen g, const char *json)
{
  return yajl_gen_number (g, json, strlen (json));
}

/* A NUL-terminated copy of what g has generated, and its length
 * (out_len may be NULL); NULL when out of memory. */
static inline char *
gen_text (yajl_gen g, size_t *out_len)
{
  const unsigned char *buf = NULL;
  size_t len = 0;
  if (yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    return NULL;
  char *s = strndup ((const char *)buf, len);
  if (s && out_len)
    *out_len = len;
  return s;
}

#endif
