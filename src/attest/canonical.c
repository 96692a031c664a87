/* canonical.c: canonical JSON, the one emitter every JSON document of
 * the attest helper goes through (keys sorted by bytes, compact, integers
 * only), so a statement's bytes depend on its content alone, and two
 * statements of the same inputs differ only where the content does.
 * Input is parsed with runrecord_json_parse's defensive checks first. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/jsongen.h"
#include "util/yajl.h"

static int
compare_keys (const void *a, const void *b, void *ctx)
{
  const char **keys = ctx;
  return strcmp (keys[*(const size_t *)a], keys[*(const size_t *)b]);
}

/* A number that is not an integer stops the emitter with this status. */
#define GEN_FLOAT ((yajl_gen_status)100)

static yajl_gen_status
emit (yajl_gen g, yajl_val v)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (YAJL_IS_OBJECT (v))
    {
      size_t n = v->u.object.len;
      cleanup_free size_t *idx = malloc ((n ? n : 1) * sizeof *idx);
      if (idx == NULL)
        return yajl_gen_generation_complete; /* any failure status */
      for (size_t i = 0; i < n; i++)
        idx[i] = i;
      qsort_r (idx, n, sizeof *idx, compare_keys, v->u.object.keys);
      G (yajl_gen_map_open (g));
      for (size_t i = 0; i < n; i++)
        {
          G (gen_str (g, v->u.object.keys[idx[i]]));
          G (emit (g, v->u.object.values[idx[i]]));
        }
      G (yajl_gen_map_close (g));
    }
  else if (YAJL_IS_ARRAY (v))
    {
      G (yajl_gen_array_open (g));
      for (size_t i = 0; i < v->u.array.len; i++)
        G (emit (g, v->u.array.values[i]));
      G (yajl_gen_array_close (g));
    }
  else if (YAJL_IS_STRING (v))
    st = gen_str (g, v->u.string);
  else if (YAJL_IS_INTEGER (v))
    st = yajl_gen_integer (g, YAJL_GET_INTEGER (v));
  else if (YAJL_IS_NUMBER (v))
    st = GEN_FLOAT;
  else if (YAJL_IS_TRUE (v))
    st = yajl_gen_bool (g, 1);
  else if (YAJL_IS_FALSE (v))
    st = yajl_gen_bool (g, 0);
  else
    st = yajl_gen_null (g);
fail:
  return st;
}

static int
emit_canonical (yajl_val root, char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = gen_new ();
  if (g == NULL)
    return ohr_error_nomem (err);
  yajl_gen_status st = emit (g, root);
  if (st == GEN_FLOAT)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "JSON with a non-integer number");
  if (gen_check (st, "a string", err) < 0)
    return -1;
  size_t len = 0;
  char *s = gen_text (g, &len);
  if (s == NULL)
    return ohr_error_nomem (err);
  *out = s;
  if (out_len)
    *out_len = len;
  return 0;
}

int
attest_canonical_json (const char *data, size_t len, char **out,
                       size_t *out_len, ohr_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  if (runrecord_json_parse (data, len, ATTEST_MAX_SIZE, "JSON", &root, err)
      < 0)
    return -1;
  return emit_canonical (root, out, out_len, err);
}

/* The text a generator holds, made canonical. */
int
attest_gen_finish (yajl_gen g, yajl_gen_status st, char **out, size_t *out_len,
                   ohr_error_t *err)
{
  const unsigned char *buf = NULL;
  size_t len = 0;
  int r = gen_check (st, "a name or value", err);
  if (r == 0)
    {
      yajl_gen_get_buf (g, &buf, &len);
      r = attest_canonical_json ((const char *)buf, len, out, out_len, err);
    }
  yajl_gen_free (g);
  return r;
}
