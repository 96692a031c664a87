/* jsoncheck.c: see jsoncheck.h */
#define _GNU_SOURCE
#include "util/jsoncheck.h"

#include <errno.h>
#include <string.h>
#include <yajl/yajl_parse.h>

struct syntax
{
  int depth;
  int max_depth;
  const char *problem; /* why a callback stopped the parse */
};

static int
syntax_open (void *ctx)
{
  struct syntax *s = ctx;
  if (++s->depth <= s->max_depth)
    return 1;
  s->problem = "nested too deeply";
  return 0;
}

static int
syntax_close (void *ctx)
{
  ((struct syntax *)ctx)->depth--;
  return 1;
}

static int
syntax_string (void *ctx, const unsigned char *s, size_t len)
{
  if (memchr (s, '\0', len) == NULL)
    return 1;
  ((struct syntax *)ctx)->problem = "\\u0000 in a string";
  return 0;
}

static const yajl_callbacks syntax_callbacks = {
  .yajl_string = syntax_string,
  .yajl_start_map = syntax_open,
  .yajl_map_key = syntax_string,
  .yajl_end_map = syntax_close,
  .yajl_start_array = syntax_open,
  .yajl_end_array = syntax_close,
};

static int
error_at (const char *data, size_t at, const char *msg, ohr_error_t *err)
{
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at; i++)
    if (data[i] == '\n')
      line++, col = 1;
    else
      col++;
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "line %zu, column %zu: %s",
                        line, col, msg);
}

/* yajl's message, without its newline and full stop */
static int
yajl_message (yajl_handle h, const char *data, size_t at, ohr_error_t *err)
{
  unsigned char *m = yajl_get_error (h, 0, NULL, 0);
  if (m == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "JSON");
  size_t n = strlen ((char *)m);
  while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == '.' || m[n - 1] == ' '))
    m[--n] = '\0';
  int r = error_at (data, at, (char *)m, err);
  yajl_free_error (h, m);
  return r;
}

int
json_check_syntax (const char *data, size_t len, int max_depth,
                   ohr_error_t *err)
{
  const char *nul = memchr (data, '\0', len);
  if (nul)
    return error_at (data, (size_t)(nul - data), "NUL byte", err);
  struct syntax s = { 0, max_depth, NULL };
  yajl_handle h = yajl_alloc (&syntax_callbacks, NULL, &s);
  if (h == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "JSON");
  yajl_config (h, yajl_allow_comments, 1);
  yajl_status st = yajl_parse (h, (const unsigned char *)data, len);
  size_t at = st == yajl_status_ok ? len : yajl_get_bytes_consumed (h);
  if (st == yajl_status_ok)
    st = yajl_complete_parse (h);
  int r = 0;
  /* a callback stops the parse after the token it objects to: point at
   * the token's last byte (the bracket, the closing quote) */
  if (st != yajl_status_ok)
    r = s.problem ? error_at (data, at > 0 ? at - 1 : 0, s.problem, err)
                  : yajl_message (h, data, at, err);
  yajl_free (h);
  return r;
}
