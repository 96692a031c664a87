/* jsoncheck.c: see jsoncheck.h */
#define _GNU_SOURCE
#include "util/jsoncheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "util/cleanup.h"
#include "util/clip.h"
#include "util/yajl.h"

struct pass
{
  int depth;
  int max_depth;
  enum json_flaw flaw; /* why a callback stopped the parse */
};

static int
pass_open (void *ctx)
{
  struct pass *p = ctx;
  if (++p->depth <= p->max_depth)
    return 1;
  p->flaw = JSON_FLAW_TOO_DEEP;
  return 0;
}

static int
pass_close (void *ctx)
{
  ((struct pass *)ctx)->depth--;
  return 1;
}

static int
pass_string (void *ctx, const unsigned char *s, size_t len)
{
  if (memchr (s, '\0', len) == NULL)
    return 1;
  ((struct pass *)ctx)->flaw = JSON_FLAW_NUL_ESCAPE;
  return 0;
}

static const yajl_callbacks pass_callbacks = {
  .yajl_string = pass_string,
  .yajl_start_map = pass_open,
  .yajl_map_key = pass_string,
  .yajl_end_map = pass_close,
  .yajl_start_array = pass_open,
  .yajl_end_array = pass_close,
};

/* yajl's message, without its newline and full stop.  With comments
 * refused, yajl's lexer says "probable comment found" at a '/' that
 * starts a token: that is a comment. */
static void
syntax_flaw (yajl_handle h, struct json_scan *s)
{
  unsigned char *m = yajl_get_error (h, 0, NULL, 0);
  if (m == NULL)
    {
      s->flaw = JSON_FLAW_NO_MEMORY;
      return;
    }
  size_t n = strlen ((char *)m);
  while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == '.' || m[n - 1] == ' '))
    m[--n] = '\0';
  s->flaw = !s->allow_comments && strstr ((char *)m, "comment")
                ? JSON_FLAW_COMMENT
                : JSON_FLAW_SYNTAX;
  snprintf (s->message, sizeof s->message, "%s", (char *)m);
  yajl_free_error (h, m);
}

int
json_scan (const char *data, size_t len, struct json_scan *s)
{
  s->flaw = JSON_FLAW_NONE;
  s->offset = 0;
  s->message[0] = '\0';
  const char *nul = len ? memchr (data, '\0', len) : NULL;
  if (nul)
    {
      s->flaw = JSON_FLAW_NUL_BYTE;
      s->offset = (size_t)(nul - data);
      return -1;
    }
  struct pass p = { 0, s->max_depth, JSON_FLAW_NONE };
  yajl_handle h = yajl_alloc (&pass_callbacks, NULL, &p);
  if (h == NULL)
    {
      s->flaw = JSON_FLAW_NO_MEMORY;
      return -1;
    }
  yajl_config (h, yajl_allow_comments, s->allow_comments ? 1 : 0);
  yajl_status st = len ? yajl_parse (h, (const unsigned char *)data, len)
                       : yajl_status_ok;
  size_t at = st == yajl_status_ok ? len : yajl_get_bytes_consumed (h);
  if (st == yajl_status_ok)
    st = yajl_complete_parse (h);
  if (st != yajl_status_ok && p.flaw != JSON_FLAW_NONE)
    {
      /* a callback stops the parse after the token it objects to: point
       * at the token's last byte (the bracket, the closing quote) */
      s->flaw = p.flaw;
      s->offset = at > 0 ? at - 1 : 0;
    }
  else if (st != yajl_status_ok)
    {
      syntax_flaw (h, s);
      s->offset = at;
    }
  yajl_free (h);
  return s->flaw == JSON_FLAW_NONE ? 0 : -1;
}

int
json_check_syntax (const char *data, size_t len, int max_depth,
                   ohr_error_t *err)
{
  struct json_scan s = { .max_depth = max_depth, .allow_comments = true };
  if (json_scan (data, len, &s) == 0)
    return 0;
  const char *what = s.message;
  switch (s.flaw)
    {
    case JSON_FLAW_NO_MEMORY:
      return ohr_error_nomem (err);
    case JSON_FLAW_NUL_BYTE:
      what = "NUL byte";
      break;
    case JSON_FLAW_NUL_ESCAPE:
      what = "\\u0000 in a string";
      break;
    case JSON_FLAW_TOO_DEEP:
      what = "nested too deeply";
      break;
    default:
      break;
    }
  size_t line = 1, col = 1;
  for (size_t i = 0; i < s.offset; i++)
    if (data[i] == '\n')
      line++, col = 1;
    else
      col++;
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "line %zu, column %zu: %s",
                        line, col, what);
}

int
json_parse_checked (const char *data, size_t len, int max_depth, yajl_val *out,
                    ohr_error_t *err)
{
  if (json_check_syntax (data, len, max_depth, err) < 0)
    return -1;
  /* NUL-terminated for yajl_tree; the pass refused inner NULs */
  cleanup_free char *text = strndup (data, len);
  if (text == NULL)
    return ohr_error_nomem (err);
  char errbuf[128] = "";
  yajl_val root = yajl_tree_parse (text, errbuf, sizeof errbuf);
  /* the pass accepted the text, so this is out of memory, but yajl's own
   * first line is the honest report */
  if (root == NULL)
    return ohr_error_set (err, ENOMEM, OHR_ERR_INTERNAL, "%.*s",
                          (int)strcspn (errbuf, "\n"), errbuf);
  *out = root;
  return 0;
}

yajl_val
json_get (yajl_val obj, const char *key)
{
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

static int
compare_keys (const void *a, const void *b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

int
json_find_duplicate_key (yajl_val v, const char **out_key)
{
  if (YAJL_IS_ARRAY (v))
    {
      for (size_t i = 0; i < v->u.array.len; i++)
        {
          int r = json_find_duplicate_key (v->u.array.values[i], out_key);
          if (r != 0)
            return r;
        }
      return 0;
    }
  if (!YAJL_IS_OBJECT (v) || v->u.object.len == 0)
    return 0;
  size_t n = v->u.object.len;
  cleanup_free const char **keys = malloc (n * sizeof *keys);
  if (keys == NULL)
    return -1;
  memcpy (keys, v->u.object.keys, n * sizeof *keys);
  qsort (keys, n, sizeof *keys, compare_keys);
  for (size_t i = 1; i < n; i++)
    if (strcmp (keys[i - 1], keys[i]) == 0)
      {
        *out_key = keys[i]; /* points into v, not into keys */
        return 1;
      }
  for (size_t i = 0; i < n; i++)
    {
      int r = json_find_duplicate_key (v->u.object.values[i], out_key);
      if (r != 0)
        return r;
    }
  return 0;
}

int
json_invalid (ohr_error_t *err, enum ohr_error_kind kind, const char *what,
              const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ohr_error_vset (err, EINVAL, kind, fmt, ap);
  va_end (ap);
  return ohr_error_wrap (err, "invalid %s", what);
}

/* The strict pass's findings, in json_invalid's words. */
static int
refuse_flaw (const struct json_scan *s, enum ohr_error_kind kind,
             const char *what, ohr_error_t *err)
{
  char q[CLIP_SIZE];
  switch (s->flaw)
    {
    case JSON_FLAW_NUL_BYTE:
      return json_invalid (err, kind, what, "contains a NUL byte");
    case JSON_FLAW_NUL_ESCAPE:
      return json_invalid (err, kind, what, "string with a \\u0000 escape");
    case JSON_FLAW_TOO_DEEP:
      return json_invalid (err, kind, what, "nested deeper than %d levels",
                           s->max_depth);
    case JSON_FLAW_COMMENT:
      return json_invalid (err, kind, what, "comments are not JSON");
    case JSON_FLAW_NO_MEMORY:
      return ohr_error_nomem (err);
    default:
      return json_invalid (err, kind, what, "%s",
                           clip (s->message, CLIP_ASCII, q));
    }
}

int
json_parse_strict (const char *data, size_t len, size_t max, int max_depth,
                   enum ohr_error_kind kind, const char *what, yajl_val *out,
                   ohr_error_t *err)
{
  if (len > max)
    return json_invalid (err, kind, what,
                         "%zu bytes, more than the limit of %zu", len, max);
  if (data == NULL && len > 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL, "%s: no data", what);
  struct json_scan s = { .max_depth = max_depth, .allow_comments = false };
  if (json_scan (data ? data : "", len, &s) < 0)
    return refuse_flaw (&s, kind, what, err);
  cleanup_free char *text = strndup (data ? data : "", len);
  if (text == NULL)
    return ohr_error_nomem (err);
  char errbuf[256] = "", q[CLIP_SIZE];
  cleanup_yajl_val yajl_val root
      = yajl_tree_parse (text, errbuf, sizeof errbuf);
  if (root == NULL)
    {
      /* its first line: the verbose form points at the text */
      errbuf[strcspn (errbuf, "\r\n")] = '\0';
      return json_invalid (
          err, kind, what, "%s",
          clip (errbuf[0] ? errbuf : "parse error", CLIP_ASCII, q));
    }
  const char *key = NULL;
  int dup = json_find_duplicate_key (root, &key);
  if (dup < 0)
    return ohr_error_nomem (err);
  if (dup > 0)
    return json_invalid (err, kind, what, "duplicate key '%s'",
                         clip (key, CLIP_ASCII, q));
  if (!YAJL_IS_OBJECT (root))
    return json_invalid (err, kind, what, "not a JSON object");
  *out = steal_pointer (&root);
  return 0;
}
