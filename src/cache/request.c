/* request.c: see key.h (the run-mode half: no digests here). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/key.h"
#include "cache/proto.h"
#include "util/cleanup.h"
#include "util/strv.h"

static int
add_pair (struct reapi_pair **v, size_t *n, const char *name,
          const char *value, ohr_error_t *err)
{
  struct reapi_pair *nv = realloc (*v, (*n + 1) * sizeof *nv);
  if (nv == NULL)
    return ohr_error_nomem (err);
  *v = nv;
  nv[*n].name = strdup (name);
  nv[*n].value = strdup (value);
  if (nv[*n].name == NULL || nv[*n].value == NULL)
    {
      free_many (nv[*n].name, nv[*n].value);
      return ohr_error_nomem (err);
    }
  (*n)++;
  return 0;
}

/* Is word one of the jobserver's in a make flags value? */
static bool
jobserver_word (const char *w, size_t n)
{
  static const char *const prefixes[]
      = { "--jobserver-auth=", "--jobserver-fds=" };
  for (size_t i = 0; i < 2; i++)
    if (n >= strlen (prefixes[i])
        && strncmp (w, prefixes[i], strlen (prefixes[i])) == 0)
      return true;
  /* -j, -jN */
  if (n >= 2 && w[0] == '-' && w[1] == 'j')
    {
      for (size_t i = 2; i < n; i++)
        if (w[i] < '0' || w[i] > '9')
          return false;
      return true;
    }
  return false;
}

int
cache_key_env_value (const char *name, const char *value, char **out,
                     ohr_error_t *err)
{
  *out = NULL;
  if (strcmp (name, "NUM_JOBS") == 0)
    return 0;
  if (strcmp (name, "CARGO_MAKEFLAGS") != 0 && strcmp (name, "MAKEFLAGS") != 0
      && strcmp (name, "MFLAGS") != 0)
    return (*out = strdup (value)) ? 0 : ohr_error_nomem (err);
  size_t len = strlen (value);
  char *s = malloc (len + 1), *p = s;
  if (s == NULL)
    return ohr_error_nomem (err);
  for (const char *w = value; *w;)
    {
      if (*w == ' ')
        {
          w++;
          continue;
        }
      size_t n = strcspn (w, " ");
      if (!jobserver_word (w, n))
        {
          if (p != s)
            *p++ = ' ';
          memcpy (p, w, n);
          p += n;
        }
      w += n;
    }
  *p = '\0';
  *out = s;
  return 0;
}

int
cache_request_add_env (struct cache_request *r, const char *entry,
                       ohr_error_t *err)
{
  const char *eq = strchr (entry, '=');
  if (eq == NULL)
    return 0;
  cleanup_free char *name = strndup (entry, (size_t)(eq - entry));
  cleanup_free char *value = NULL;
  if (name == NULL)
    return ohr_error_nomem (err);
  if (cache_key_env_value (name, eq + 1, &value, err) < 0)
    return -1;
  if (value == NULL)
    return 0;
  return add_pair (&r->command.env, &r->command.n_env, name, value, err);
}

int
cache_request_add_platform (struct cache_request *r, const char *name,
                            const char *value, ohr_error_t *err)
{
  return add_pair (&r->command.platform, &r->command.n_platform, name, value,
                   err);
}

int
cache_request_add_input (struct cache_request *r, const char *container,
                         const char *host, struct cache_input **out,
                         ohr_error_t *err)
{
  struct cache_input *v
      = realloc (r->inputs, (r->n_inputs + 1) * sizeof *r->inputs);
  if (v == NULL)
    return ohr_error_nomem (err);
  r->inputs = v;
  struct cache_input *in = &v[r->n_inputs];
  *in = (struct cache_input){ .container = strdup (container),
                              .host = strdup (host) };
  r->n_inputs++;
  if (in->container == NULL || in->host == NULL)
    return ohr_error_nomem (err);
  if (out)
    *out = in;
  return 0;
}

/* Request { command = 1 (bytes: a Command); inputs = 2: Input {
 *   container = 1, host = 2, skip = 3, empty = 4, toolchain = 5 };
 *   host_fingerprint = 3 } */
int
cache_request_encode (struct cache_request *r, struct buf *out,
                      ohr_error_t *err)
{
  struct buf cmd = { 0 };
  if (reapi_encode_command (&cmd, &r->command, err) < 0)
    {
      buf_clear (&cmd);
      return -1;
    }
  int rc = proto_put_message (out, 1, &cmd);
  buf_clear (&cmd);
  for (size_t i = 0; rc == 0 && i < r->n_inputs; i++)
    {
      const struct cache_input *in = &r->inputs[i];
      struct buf sub = { 0 };
      rc = proto_put_string (&sub, 1, in->container);
      rc = rc < 0 ? rc : proto_put_string (&sub, 2, in->host);
      for (size_t j = 0; rc == 0 && in->skip && in->skip[j]; j++)
        rc = proto_put_string (&sub, 3, in->skip[j]);
      for (size_t j = 0; rc == 0 && in->empty && in->empty[j]; j++)
        rc = proto_put_string (&sub, 4, in->empty[j]);
      rc = rc < 0 ? rc : proto_put_uint_opt (&sub, 5, in->toolchain);
      rc = rc < 0 ? rc : proto_put_message (out, 2, &sub);
      buf_clear (&sub);
    }
  if (rc == 0)
    rc = proto_put_uint_opt (out, 3, r->host_fingerprint);
  return rc < 0 ? ohr_error_nomem (err) : 0;
}

static int
field_string (const struct proto_field *f, char **out, ohr_error_t *err)
{
  if (f->wire != PROTO_LEN || memchr (f->data, '\0', f->len))
    return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL, "malformed request");
  return (*out = strndup ((const char *)f->data, f->len))
             ? 0
             : ohr_error_nomem (err);
}

static int
decode_input (const struct proto_field *in, struct cache_request *r,
              ohr_error_t *err)
{
  struct proto_reader rd;
  struct proto_field f;
  int rc;
  cleanup_free char *container = NULL, *host = NULL;
  cleanup_strv char **skip = NULL, **empty = NULL;
  bool toolchain = false;
  proto_reader_init (&rd, in->data, in->len);
  while ((rc = proto_next (&rd, in->data, &f, err)) > 0)
    {
      char *s = NULL;
      if (f.number == 5 && f.wire == PROTO_VARINT)
        toolchain = f.value != 0;
      if (f.number < 1 || f.number > 4)
        continue;
      if (field_string (&f, &s, err) < 0)
        return -1;
      if (f.number == 1)
        free (steal_pointer (&container)), container = s;
      else if (f.number == 2)
        free (steal_pointer (&host)), host = s;
      else if (strv_push_owned (f.number == 3 ? &skip : &empty, s) < 0)
        return ohr_error_nomem (err);
    }
  if (rc < 0)
    return -1;
  if (container == NULL || host == NULL)
    return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                          "malformed request: an input without paths");
  struct cache_input *ci;
  if (cache_request_add_input (r, container, host, &ci, err) < 0)
    return -1;
  ci->skip = steal_pointer (&skip);
  ci->empty = steal_pointer (&empty);
  ci->toolchain = toolchain;
  return 0;
}

int
cache_request_decode (const void *data, size_t len, struct cache_request *out,
                      ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct proto_reader rd;
  struct proto_field f;
  int rc;
  proto_reader_init (&rd, data, len);
  while ((rc = proto_next (&rd, data, &f, err)) > 0)
    {
      if (f.number == 1 && f.wire == PROTO_LEN)
        {
          reapi_command_clear (&out->command);
          rc = reapi_decode_command (f.data, f.len, &out->command, err);
        }
      else if (f.number == 2 && f.wire == PROTO_LEN)
        rc = decode_input (&f, out, err);
      else if (f.number == 3)
        out->host_fingerprint = f.value != 0;
      if (rc < 0)
        break;
    }
  if (rc < 0)
    {
      cache_request_clear (out);
      return ohr_error_wrap (err, "result cache request");
    }
  return 0;
}

void
cache_request_clear (struct cache_request *r)
{
  reapi_command_clear (&r->command);
  for (size_t i = 0; i < r->n_inputs; i++)
    {
      free_many (r->inputs[i].container, r->inputs[i].host);
      strv_free (r->inputs[i].skip);
      strv_free (r->inputs[i].empty);
    }
  free (r->inputs);
  memset (r, 0, sizeof *r);
}
