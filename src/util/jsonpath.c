/* jsonpath.c: see jsonpath.h */
#define _GNU_SOURCE
#include "util/jsonpath.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A path longer than this is cut: keys are clipped, so only a deep,
 * wide path gets here. */
#define PATH_SIZE 512

size_t
json_where_format (const struct json_where *w, char *buf, size_t size)
{
  if (w == NULL)
    {
      if (size > 0)
        buf[0] = '\0';
      return 0;
    }
  size_t o = json_where_format (w->up, buf, size);
  if (w->key == NULL)
    {
      int n = snprintf (buf + o, size - o, "[%zu]", w->index);
      return n < 0 || (size_t)n >= size - o ? size - 1 : o + (size_t)n;
    }
  if (o > 0 && o + 1 < size)
    buf[o++] = '.';
  return clip_append (buf, size, o, w->key, CLIP_UTF8);
}

int
json_bad (const struct json_where *w, ohr_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = ohr_error_vset (err, EINVAL, OHR_ERR_USAGE, fmt, ap);
  va_end (ap);
  char path[PATH_SIZE];
  if (json_where_format (w, path, sizeof path) == 0)
    return r;
  return ohr_error_wrap (err, "%s", path);
}

const char *
json_type_name (yajl_val v)
{
  if (YAJL_IS_STRING (v))
    return "a string";
  if (YAJL_IS_NUMBER (v))
    return "a number";
  if (YAJL_IS_OBJECT (v))
    return "an object";
  if (YAJL_IS_ARRAY (v))
    return "a list";
  if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    return "a boolean";
  return "null";
}

int
json_wrong_type (yajl_val v, const struct json_where *w, const char *expected,
                 ohr_error_t *err)
{
  return json_bad (w, err, "expected %s, found %s", expected,
                   json_type_name (v));
}

int
json_bool (yajl_val v, const struct json_where *w, bool *out, ohr_error_t *err)
{
  if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
    return json_wrong_type (v, w, "true or false", err);
  *out = YAJL_IS_TRUE (v);
  return 0;
}

int
json_each_string (yajl_val v, const struct json_where *w, const char *expected,
                  json_string_fn *fn, void *ctx, ohr_error_t *err)
{
  if (!YAJL_IS_ARRAY (v))
    return json_wrong_type (v, w, expected, err);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      yajl_val e = v->u.array.values[i];
      struct json_where iw = { w, NULL, i };
      if (!YAJL_IS_STRING (e))
        return json_wrong_type (e, &iw, "a string", err);
      if (fn (e->u.string, &iw, ctx, err) < 0)
        return -1;
    }
  return 0;
}

const struct json_field *
json_find_field (const struct json_field *fields, const char *key)
{
  for (const struct json_field *f = fields; f->key; f++)
    if (strcmp (f->key, key) == 0)
      return f;
  return NULL;
}

/* Levenshtein distance; long keys are never typos of ours. */
static size_t
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b), row[33];
  if (la > 32 || lb > 32)
    return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= lb; j++)
        {
          size_t up = row[j];
          size_t best = diag + (a[i - 1] != b[j - 1]);
          if (up + 1 < best)
            best = up + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          diag = up;
        }
    }
  return row[lb];
}

/* The known key that key is a typo of, or NULL. */
static const char *
suggest (const char *key, const struct json_field *fields, unsigned flags)
{
  const char *best = NULL;
  size_t best_d = 3; /* more than 2 edits is not a typo */
  size_t klen = strlen (key);
  for (const struct json_field *f = fields; f->key; f++)
    {
      if ((flags & JSON_SUGGEST_CASE) && strcasecmp (f->key, key) == 0)
        return f->key;
      if (!(flags & JSON_SUGGEST_EDITS))
        continue;
      size_t d = klen >= 3 && strncmp (key, f->key, klen) == 0
                     ? 0
                     : edit_distance (key, f->key);
      if (d < best_d)
        best = f->key, best_d = d;
    }
  return best;
}

static int
unknown_key (const struct json_where *kw, const char *key,
             const struct json_field *fields, unsigned flags, ohr_error_t *err)
{
  char shown[CLIP_SIZE];
  json_clip (key, shown);
  const char *best = suggest (key, fields, flags);
  if (best)
    return json_bad (kw, err, "unknown key \"%s\": did you mean \"%s\"?",
                     shown, best);
  char known[256] = "";
  size_t o = 0;
  for (const struct json_field *f = fields; f->key && o < sizeof known; f++)
    o += (size_t)snprintf (known + o, sizeof known - o, "%s%s", o ? ", " : "",
                           f->key);
  return json_bad (kw, err, "unknown key \"%s\": known keys are %s", shown,
                   known);
}

int
json_walk_object (yajl_val obj, const struct json_where *w,
                  const struct json_field *fields, unsigned flags,
                  void *target, ohr_error_t *err)
{
  if (!YAJL_IS_OBJECT (obj))
    return json_wrong_type (obj, w, "an object", err);
  uint32_t seen = 0;
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      const char *key = obj->u.object.keys[i];
      struct json_where kw = { w, key, 0 };
      const struct json_field *f = json_find_field (fields, key);
      if (f == NULL)
        return unknown_key (&kw, key, fields, flags, err);
      uint32_t bit = UINT32_C (1) << (f - fields);
      if ((seen & bit) && (flags & JSON_DUPLICATE_NAMED))
        return json_bad (&kw, err, "duplicate key \"%s\"", key);
      if (seen & bit)
        return json_bad (&kw, err, "duplicate key");
      seen |= bit;
      if (f->parse (obj->u.object.values[i], &kw, target, err) < 0)
        return -1;
    }
  for (const struct json_field *f = fields; f->key; f++)
    if (f->required && !(seen & (UINT32_C (1) << (f - fields))))
      return json_bad (w, err, "missing \"%s\": %s", f->key, f->required);
  return 0;
}
