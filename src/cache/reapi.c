/* reapi.c: see reapi.h */
#define _GNU_SOURCE
#include "cache/reapi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/proto.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* ---- encoding */

static int
nomem (ohr_error_t *err)
{
  return ohr_error_nomem (err);
}

/* field: a submessage built in a buf of its own */
#define SUB_BEGIN struct buf sub = { 0 };
#define SUB_END(out, field)                                                   \
  int _r = proto_put_message (out, field, &sub);                              \
  buf_clear (&sub);                                                           \
  if (_r < 0)                                                                 \
    return nomem (err);

static int
put_digest (struct buf *out, uint32_t field, const struct reapi_digest *d,
            ohr_error_t *err)
{
  SUB_BEGIN;
  if (reapi_encode_digest (&sub, d, err) < 0)
    {
      buf_clear (&sub);
      return -1;
    }
  SUB_END (out, field);
  return 0;
}

int
reapi_encode_digest (struct buf *out, const struct reapi_digest *d,
                     ohr_error_t *err)
{
  if (proto_put_string_opt (out, 1, d->hash) < 0
      || proto_put_uint_opt (out, 2, (uint64_t)d->size) < 0)
    return nomem (err);
  return 0;
}

/* NodeProperties { unix_mode: UInt32Value { value } } */
static int
put_mode (struct buf *out, uint32_t field, uint32_t mode, ohr_error_t *err)
{
  struct buf wrapper = { 0 }, props = { 0 };
  int r = proto_put_uint_opt (&wrapper, 1, mode);
  r = r < 0 ? r : proto_put_message (&props, 3, &wrapper);
  r = r < 0 ? r : proto_put_message (out, field, &props);
  buf_clear (&wrapper);
  buf_clear (&props);
  return r < 0 ? nomem (err) : 0;
}

static int
put_pair (struct buf *out, uint32_t field, const struct reapi_pair *p,
          ohr_error_t *err)
{
  SUB_BEGIN;
  if (proto_put_string (&sub, 1, p->name) < 0
      || proto_put_string_opt (&sub, 2, p->value) < 0)
    {
      buf_clear (&sub);
      return nomem (err);
    }
  SUB_END (out, field);
  return 0;
}

static int
cmp_file (const void *a, const void *b)
{
  return strcmp (((const struct reapi_file *)a)->name,
                 ((const struct reapi_file *)b)->name);
}

static int
cmp_dirnode (const void *a, const void *b)
{
  return strcmp (((const struct reapi_dirnode *)a)->name,
                 ((const struct reapi_dirnode *)b)->name);
}

static int
cmp_symlink (const void *a, const void *b)
{
  return strcmp (((const struct reapi_symlink *)a)->name,
                 ((const struct reapi_symlink *)b)->name);
}

static int
cmp_pair (const void *a, const void *b)
{
  return strcmp (((const struct reapi_pair *)a)->name,
                 ((const struct reapi_pair *)b)->name);
}

static int
put_file (struct buf *out, const struct reapi_file *f, ohr_error_t *err)
{
  SUB_BEGIN;
  int r = proto_put_string (&sub, 1, f->name) < 0 ? nomem (err) : 0;
  r = r < 0 ? r : put_digest (&sub, 2, &f->digest, err);
  if (r == 0 && proto_put_uint_opt (&sub, 4, f->is_executable) < 0)
    r = nomem (err);
  r = r < 0 || !f->has_mode ? r : put_mode (&sub, 6, f->mode, err);
  if (r < 0)
    {
      buf_clear (&sub);
      return -1;
    }
  SUB_END (out, 1);
  return 0;
}

static int
put_dirnode (struct buf *out, const struct reapi_dirnode *d, ohr_error_t *err)
{
  SUB_BEGIN;
  int r = proto_put_string (&sub, 1, d->name) < 0 ? nomem (err) : 0;
  r = r < 0 ? r : put_digest (&sub, 2, &d->digest, err);
  if (r < 0)
    {
      buf_clear (&sub);
      return -1;
    }
  SUB_END (out, 2);
  return 0;
}

static int
put_symlink (struct buf *out, const struct reapi_symlink *l, ohr_error_t *err)
{
  SUB_BEGIN;
  if (proto_put_string (&sub, 1, l->name) < 0
      || proto_put_string (&sub, 2, l->target) < 0)
    {
      buf_clear (&sub);
      return nomem (err);
    }
  SUB_END (out, 3);
  return 0;
}

int
reapi_encode_directory (struct buf *out, struct reapi_directory *d,
                        ohr_error_t *err)
{
  if (d->n_files)
    qsort (d->files, d->n_files, sizeof *d->files, cmp_file);
  if (d->n_dirs)
    qsort (d->dirs, d->n_dirs, sizeof *d->dirs, cmp_dirnode);
  if (d->n_symlinks)
    qsort (d->symlinks, d->n_symlinks, sizeof *d->symlinks, cmp_symlink);
  for (size_t i = 0; i < d->n_files; i++)
    if (put_file (out, &d->files[i], err) < 0)
      return -1;
  for (size_t i = 0; i < d->n_dirs; i++)
    if (put_dirnode (out, &d->dirs[i], err) < 0)
      return -1;
  for (size_t i = 0; i < d->n_symlinks; i++)
    if (put_symlink (out, &d->symlinks[i], err) < 0)
      return -1;
  return d->has_mode ? put_mode (out, 5, d->mode, err) : 0;
}

static int
put_directory (struct buf *out, uint32_t field, struct reapi_directory *d,
               ohr_error_t *err)
{
  SUB_BEGIN;
  if (reapi_encode_directory (&sub, d, err) < 0)
    {
      buf_clear (&sub);
      return -1;
    }
  SUB_END (out, field);
  return 0;
}

int
reapi_encode_tree (struct buf *out, struct reapi_tree *t, ohr_error_t *err)
{
  if (put_directory (out, 1, &t->root, err) < 0)
    return -1;
  for (size_t i = 0; i < t->n_children; i++)
    if (put_directory (out, 2, &t->children[i], err) < 0)
      return -1;
  return 0;
}

/* Platform { repeated Property properties = 1 } */
static int
put_platform (struct buf *out, uint32_t field, struct reapi_pair *v, size_t n,
              ohr_error_t *err)
{
  if (n == 0)
    return 0;
  qsort (v, n, sizeof *v, cmp_pair);
  SUB_BEGIN;
  for (size_t i = 0; i < n; i++)
    if (put_pair (&sub, 1, &v[i], err) < 0)
      {
        buf_clear (&sub);
        return -1;
      }
  SUB_END (out, field);
  return 0;
}

int
reapi_encode_command (struct buf *out, struct reapi_command *c,
                      ohr_error_t *err)
{
  for (size_t i = 0; c->arguments && c->arguments[i]; i++)
    if (proto_put_string (out, 1, c->arguments[i]) < 0)
      return nomem (err);
  if (c->n_env)
    qsort (c->env, c->n_env, sizeof *c->env, cmp_pair);
  for (size_t i = 0; i < c->n_env; i++)
    if (put_pair (out, 2, &c->env[i], err) < 0)
      return -1;
  for (size_t i = 0; c->output_directories && c->output_directories[i]; i++)
    if (proto_put_string (out, 4, c->output_directories[i]) < 0)
      return nomem (err);
  if (put_platform (out, 5, c->platform, c->n_platform, err) < 0)
    return -1;
  if (proto_put_string_opt (out, 6, c->working_directory) < 0)
    return nomem (err);
  return 0;
}

int
reapi_encode_action (struct buf *out, struct reapi_action *a, ohr_error_t *err)
{
  if (put_digest (out, 1, &a->command_digest, err) < 0
      || put_digest (out, 2, &a->input_root_digest, err) < 0)
    return -1;
  if (proto_put_uint_opt (out, 7, a->do_not_cache) < 0)
    return nomem (err);
  return put_platform (out, 10, a->platform, a->n_platform, err);
}

/* google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; } */
static int
put_timestamp (struct buf *out, uint32_t field, const struct timespec *ts)
{
  struct buf sub = { 0 };
  int r = proto_put_uint_opt (&sub, 1, (uint64_t)(int64_t)ts->tv_sec);
  r = r < 0 ? r : proto_put_uint_opt (&sub, 2, (uint64_t)(int64_t)ts->tv_nsec);
  r = r < 0 ? r : proto_put_message (out, field, &sub);
  buf_clear (&sub);
  return r;
}

/* An OutputFile (field 2, its digest in 2) or an OutputDirectory (field 3,
 * its tree's digest in 3): a path and a digest. */
static int
put_output (struct buf *out, uint32_t field, const char *path,
            const struct reapi_digest *d, ohr_error_t *err)
{
  SUB_BEGIN;
  if (proto_put_string (&sub, 1, path) < 0)
    {
      buf_clear (&sub);
      return nomem (err);
    }
  if (put_digest (&sub, field, d, err) < 0)
    {
      buf_clear (&sub);
      return -1;
    }
  SUB_END (out, field);
  return 0;
}

int
reapi_encode_action_result (struct buf *out,
                            const struct reapi_action_result *r,
                            ohr_error_t *err)
{
  for (size_t i = 0; i < r->n_files; i++)
    if (put_output (out, 2, r->files[i].path, &r->files[i].digest, err) < 0)
      return -1;
  for (size_t i = 0; i < r->n_dirs; i++)
    if (put_output (out, 3, r->dirs[i].path, &r->dirs[i].tree_digest, err) < 0)
      return -1;
  /* int32: a negative value is sign-extended to 64 bits */
  if (proto_put_uint_opt (out, 4, (uint64_t)(int64_t)r->exit_code) < 0)
    return nomem (err);
  if ((r->has_stdout && put_digest (out, 6, &r->stdout_digest, err) < 0)
      || (r->has_stderr && put_digest (out, 8, &r->stderr_digest, err) < 0))
    return -1;
  if (r->has_times)
    {
      SUB_BEGIN;
      if (put_timestamp (&sub, 7, &r->exec_start) < 0
          || put_timestamp (&sub, 8, &r->exec_end) < 0)
        {
          buf_clear (&sub);
          return nomem (err);
        }
      SUB_END (out, 9);
    }
  return 0;
}

/* ---- decoding */

static int
bad (ohr_error_t *err, const char *what)
{
  return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL, "malformed %s", what);
}

bool
reapi_name_valid (const char *name, size_t len)
{
  if (len == 0 || memchr (name, '/', len) || memchr (name, '\0', len))
    return false;
  return !(len == 1 && name[0] == '.')
         && !(len == 2 && name[0] == '.' && name[1] == '.');
}

bool
reapi_digest_set (struct reapi_digest *d, const char *digest, int64_t size)
{
  if (strncmp (digest, "sha256:", 7) != 0 || strlen (digest + 7) != 64)
    return false;
  memcpy (d->hash, digest + 7, 65);
  d->size = size;
  return true;
}

static bool
hex64 (const uint8_t *p, size_t n)
{
  if (n != 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return false;
  return true;
}

/* A string field: a copy, NUL-terminated; one holding a NUL is refused. */
static int
take_string (const struct proto_field *f, char **out, const char *what,
             ohr_error_t *err)
{
  if (f->wire != PROTO_LEN || memchr (f->data, '\0', f->len))
    return bad (err, what);
  char *s = strndup ((const char *)f->data, f->len);
  if (s == NULL)
    return nomem (err);
  free (*out);
  *out = s;
  return 0;
}

/* Loop over the fields of a submessage: `for (FIELDS (data, len))` with a
 * `struct proto_field f` and `int r` in scope. */
static struct proto_reader
reader_of (const void *data, size_t len)
{
  struct proto_reader rd;
  proto_reader_init (&rd, data, len);
  return rd;
}

#define FIELDS(data, len)                                                     \
  struct proto_reader rd = reader_of (data, len);                             \
  (r = proto_next (&rd, data, &f, err)) > 0;

static int
decode_digest (const struct proto_field *in, struct reapi_digest *out,
               ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "digest");
  struct reapi_digest d = { .size = 0 };
  bool have_hash = false;
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    if (f.number == 1)
      {
        if (f.wire != PROTO_LEN || !hex64 (f.data, f.len))
          return bad (err, "digest hash");
        memcpy (d.hash, f.data, 64);
        d.hash[64] = '\0';
        have_hash = true;
      }
    else if (f.number == 2)
      {
        if (f.wire != PROTO_VARINT || (int64_t)f.value < 0)
          return bad (err, "digest size");
        d.size = (int64_t)f.value;
      }
  if (r < 0)
    return -1;
  if (!have_hash)
    return bad (err, "digest (no hash)");
  *out = d;
  return 0;
}

/* NodeProperties: only unix_mode is kept */
static int
decode_mode (const struct proto_field *in, bool *has, uint32_t *mode,
             ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "node properties");
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    if (f.number == 3)
      {
        if (f.wire != PROTO_LEN)
          return bad (err, "unix_mode");
        uint32_t m = 0;
        struct proto_field g;
        struct proto_reader r2;
        proto_reader_init (&r2, f.data, f.len);
        int q;
        while ((q = proto_next (&r2, f.data, &g, err)) > 0)
          if (g.number == 1)
            {
              if (g.wire != PROTO_VARINT || g.value > 07777)
                return bad (err, "unix_mode");
              m = (uint32_t)g.value;
            }
        if (q < 0)
          return -1;
        *has = true;
        *mode = m;
      }
  return r;
}

static int
decode_pair (const struct proto_field *in, struct reapi_pair *out,
             const char *what, ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, what);
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    if ((f.number == 1 && take_string (&f, &out->name, what, err) < 0)
        || (f.number == 2 && take_string (&f, &out->value, what, err) < 0))
      return -1;
  if (r < 0)
    return -1;
  if (out->name == NULL)
    return bad (err, what);
  if (out->value == NULL && (out->value = strdup ("")) == NULL)
    return nomem (err);
  return 0;
}

/* Grow a vector by one zeroed element. */
static void *
grow (void *v, size_t *n, size_t size, ohr_error_t *err)
{
  char *nv = realloc (v, (*n + 1) * size);
  if (nv == NULL)
    {
      nomem (err);
      return NULL;
    }
  memset (nv + *n * size, 0, size);
  (*n)++;
  return nv;
}

#define PUSH(vec, n, err)                                                     \
  ({                                                                          \
    __typeof__ (vec) _nv = grow (vec, &(n), sizeof *(vec), err);              \
    if (_nv)                                                                  \
      vec = _nv;                                                              \
    _nv ? &(vec)[(n)-1] : NULL;                                               \
  })

static int
decode_named (const struct proto_field *f, char **name, const char *what,
              ohr_error_t *err)
{
  if (take_string (f, name, what, err) < 0)
    return -1;
  if (!reapi_name_valid (*name, strlen (*name)))
    return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                          "malformed %s: invalid name", what);
  return 0;
}

static int
decode_file (const struct proto_field *in, struct reapi_file *out,
             ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "file node");
  bool have_digest = false;
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    {
      if (f.number == 1 && decode_named (&f, &out->name, "file node", err) < 0)
        return -1;
      if (f.number == 2)
        {
          if (decode_digest (&f, &out->digest, err) < 0)
            return -1;
          have_digest = true;
        }
      if (f.number == 4)
        {
          if (f.wire != PROTO_VARINT)
            return bad (err, "file node");
          out->is_executable = f.value != 0;
        }
      if (f.number == 6
          && decode_mode (&f, &out->has_mode, &out->mode, err) < 0)
        return -1;
    }
  if (r < 0)
    return -1;
  if (out->name == NULL || !have_digest)
    return bad (err, "file node (no name or digest)");
  return 0;
}

static int
decode_dirnode (const struct proto_field *in, struct reapi_dirnode *out,
                ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "directory node");
  bool have_digest = false;
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    {
      if (f.number == 1
          && decode_named (&f, &out->name, "directory node", err) < 0)
        return -1;
      if (f.number == 2)
        {
          if (decode_digest (&f, &out->digest, err) < 0)
            return -1;
          have_digest = true;
        }
    }
  if (r < 0)
    return -1;
  if (out->name == NULL || !have_digest)
    return bad (err, "directory node (no name or digest)");
  return 0;
}

static int
decode_symlink (const struct proto_field *in, struct reapi_symlink *out,
                ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "symlink node");
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    if ((f.number == 1
         && decode_named (&f, &out->name, "symlink node", err) < 0)
        || (f.number == 2
            && take_string (&f, &out->target, "symlink node", err) < 0))
      return -1;
  if (r < 0)
    return -1;
  if (out->name == NULL || out->target == NULL || !*out->target)
    return bad (err, "symlink node (no name or target)");
  return 0;
}

/* REAPI: each list sorted by name, and no name twice */
static int
check_sorted (const struct reapi_directory *d, ohr_error_t *err)
{
  for (size_t i = 1; i < d->n_files; i++)
    if (strcmp (d->files[i - 1].name, d->files[i].name) >= 0)
      return bad (err, "directory (files not sorted or repeated)");
  for (size_t i = 1; i < d->n_dirs; i++)
    if (strcmp (d->dirs[i - 1].name, d->dirs[i].name) >= 0)
      return bad (err, "directory (directories not sorted or repeated)");
  for (size_t i = 1; i < d->n_symlinks; i++)
    if (strcmp (d->symlinks[i - 1].name, d->symlinks[i].name) >= 0)
      return bad (err, "directory (symlinks not sorted or repeated)");
  return 0;
}

static int
decode_directory_fields (const uint8_t *data, size_t len,
                         struct reapi_directory *d, ohr_error_t *err)
{
  struct proto_field f;
  int r;
  for (FIELDS (data, len))
    {
      void *slot = NULL;
      switch (f.number)
        {
        case 1:
          if ((slot = PUSH (d->files, d->n_files, err)) == NULL
              || decode_file (&f, slot, err) < 0)
            return -1;
          break;
        case 2:
          if ((slot = PUSH (d->dirs, d->n_dirs, err)) == NULL
              || decode_dirnode (&f, slot, err) < 0)
            return -1;
          break;
        case 3:
          if ((slot = PUSH (d->symlinks, d->n_symlinks, err)) == NULL
              || decode_symlink (&f, slot, err) < 0)
            return -1;
          break;
        case 5:
          if (decode_mode (&f, &d->has_mode, &d->mode, err) < 0)
            return -1;
          break;
        default:
          break;
        }
    }
  return r < 0 ? -1 : check_sorted (d, err);
}

int
reapi_decode_directory (const void *data, size_t len,
                        struct reapi_directory *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (decode_directory_fields (data, len, out, err) < 0)
    {
      reapi_directory_clear (out);
      return ohr_error_wrap (err, "directory");
    }
  return 0;
}

int
reapi_decode_tree (const void *data, size_t len, struct reapi_tree *out,
                   ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct proto_field f;
  int r;
  bool have_root = false;
  for (FIELDS (data, len))
    {
      struct reapi_directory *d = NULL;
      if (f.number == 1 && f.wire == PROTO_LEN)
        {
          reapi_directory_clear (&out->root);
          d = &out->root;
          have_root = true;
        }
      else if (f.number == 2 && f.wire == PROTO_LEN)
        {
          if ((d = PUSH (out->children, out->n_children, err)) == NULL)
            {
              r = -1;
              break;
            }
        }
      else if (f.number == 1 || f.number == 2)
        {
          r = bad (err, "tree");
          break;
        }
      if (d && decode_directory_fields (f.data, f.len, d, err) < 0)
        {
          r = -1;
          break;
        }
    }
  if (r == 0 && !have_root)
    r = bad (err, "tree (no root)");
  if (r < 0)
    {
      reapi_tree_clear (out);
      return ohr_error_wrap (err, "tree");
    }
  return 0;
}

static int
decode_platform (const struct proto_field *in, struct reapi_pair **v,
                 size_t *n, ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "platform");
  struct proto_field f;
  int r;
  for (FIELDS (in->data, in->len))
    if (f.number == 1)
      {
        struct reapi_pair *p = PUSH (*v, *n, err);
        if (p == NULL || decode_pair (&f, p, "platform property", err) < 0)
          return -1;
      }
  return r;
}

static int
decode_command_fields (const void *data, size_t len, struct reapi_command *c,
                       ohr_error_t *err)
{
  struct proto_field f;
  int r;
  for (FIELDS (data, len))
    {
      cleanup_free char *s = NULL;
      struct reapi_pair *p;
      switch (f.number)
        {
        case 1:
        case 4:
          if (take_string (&f, &s, "command", err) < 0)
            return -1;
          if (strv_push (
                  f.number == 1 ? &c->arguments : &c->output_directories, s)
              < 0)
            return nomem (err);
          break;
        case 2:
          if ((p = PUSH (c->env, c->n_env, err)) == NULL
              || decode_pair (&f, p, "environment variable", err) < 0)
            return -1;
          break;
        case 5:
          if (decode_platform (&f, &c->platform, &c->n_platform, err) < 0)
            return -1;
          break;
        case 6:
          if (take_string (&f, &c->working_directory, "command", err) < 0)
            return -1;
          break;
        default:
          break;
        }
    }
  return r;
}

int
reapi_decode_command (const void *data, size_t len, struct reapi_command *out,
                      ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (decode_command_fields (data, len, out, err) < 0)
    {
      reapi_command_clear (out);
      return ohr_error_wrap (err, "command");
    }
  return 0;
}

int
reapi_decode_action (const void *data, size_t len, struct reapi_action *out,
                     ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct proto_field f;
  int r;
  bool cmd = false, root = false;
  for (FIELDS (data, len))
    {
      if (f.number == 1 && (r = decode_digest (&f, &out->command_digest, err)))
        break;
      if (f.number == 2
          && (r = decode_digest (&f, &out->input_root_digest, err)))
        break;
      cmd = cmd || f.number == 1;
      root = root || f.number == 2;
      if (f.number == 7)
        out->do_not_cache = f.value != 0;
      if (f.number == 10
          && (r = decode_platform (&f, &out->platform, &out->n_platform, err)))
        break;
    }
  if (r == 0 && (!cmd || !root))
    r = bad (err, "action (no command or input root)");
  if (r < 0)
    {
      reapi_action_clear (out);
      return ohr_error_wrap (err, "action");
    }
  return 0;
}

static int
decode_timestamp (const struct proto_field *in, struct timespec *ts,
                  ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "timestamp");
  struct proto_field f;
  int r;
  *ts = (struct timespec){ 0 };
  for (FIELDS (in->data, in->len))
    if (f.number == 1)
      ts->tv_sec = (time_t)(int64_t)f.value;
    else if (f.number == 2)
      {
        if ((int64_t)f.value < 0 || f.value >= 1000000000)
          return bad (err, "timestamp");
        ts->tv_nsec = (long)f.value;
      }
  return r;
}

static int
decode_metadata (const struct proto_field *in, struct reapi_action_result *o,
                 ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, "execution metadata");
  struct proto_field f;
  int r;
  bool start = false, end = false;
  for (FIELDS (in->data, in->len))
    {
      if (f.number == 7 && decode_timestamp (&f, &o->exec_start, err) < 0)
        return -1;
      if (f.number == 8 && decode_timestamp (&f, &o->exec_end, err) < 0)
        return -1;
      start = start || f.number == 7;
      end = end || f.number == 8;
    }
  o->has_times = start && end;
  return r;
}

/* An OutputDirectory (the tree's digest in field 3) or an OutputFile
 * (its digest in field 2): a path and a digest, both required. */
static int
decode_output (const struct proto_field *in, uint32_t digest_field,
               const char *what, char **path, struct reapi_digest *digest,
               ohr_error_t *err)
{
  if (in->wire != PROTO_LEN)
    return bad (err, what);
  struct proto_field f;
  int r;
  bool have = false;
  for (FIELDS (in->data, in->len))
    {
      if (f.number == 1 && take_string (&f, path, "output", err) < 0)
        return -1;
      if (f.number == digest_field)
        {
          if (decode_digest (&f, digest, err) < 0)
            return -1;
          have = true;
        }
    }
  if (r < 0)
    return -1;
  if (*path == NULL || !have)
    return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                          "malformed %s (no path or digest)", what);
  return 0;
}

const struct reapi_output_file *
reapi_result_file (const struct reapi_action_result *r, const char *path)
{
  for (size_t i = 0; i < r->n_files; i++)
    if (strcmp (r->files[i].path, path) == 0)
      return &r->files[i];
  return NULL;
}

static int
decode_result_fields (const void *data, size_t len,
                      struct reapi_action_result *o, ohr_error_t *err)
{
  struct proto_field f;
  int r;
  for (FIELDS (data, len))
    {
      struct reapi_output_directory *d;
      struct reapi_output_file *of;
      switch (f.number)
        {
        case 2:
          if ((of = PUSH (o->files, o->n_files, err)) == NULL
              || decode_output (&f, 2, "output file", &of->path, &of->digest,
                                err)
                     < 0)
            return -1;
          break;
        case 3:
          if ((d = PUSH (o->dirs, o->n_dirs, err)) == NULL
              || decode_output (&f, 3, "output directory", &d->path,
                                &d->tree_digest, err)
                     < 0)
            return -1;
          break;
        case 4:
          if (f.wire != PROTO_VARINT)
            return bad (err, "exit code");
          o->exit_code = (int32_t)(int64_t)f.value;
          break;
        case 6:
          if (decode_digest (&f, &o->stdout_digest, err) < 0)
            return -1;
          o->has_stdout = true;
          break;
        case 8:
          if (decode_digest (&f, &o->stderr_digest, err) < 0)
            return -1;
          o->has_stderr = true;
          break;
        case 9:
          if (decode_metadata (&f, o, err) < 0)
            return -1;
          break;
        default:
          break;
        }
    }
  return r;
}

int
reapi_decode_action_result (const void *data, size_t len,
                            struct reapi_action_result *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (decode_result_fields (data, len, out, err) < 0)
    {
      reapi_action_result_clear (out);
      return ohr_error_wrap (err, "action result");
    }
  return 0;
}

/* ---- clearing */

void
reapi_directory_clear (struct reapi_directory *d)
{
  for (size_t i = 0; i < d->n_files; i++)
    free (d->files[i].name);
  for (size_t i = 0; i < d->n_dirs; i++)
    free (d->dirs[i].name);
  for (size_t i = 0; i < d->n_symlinks; i++)
    free_many (d->symlinks[i].name, d->symlinks[i].target);
  free_many (d->files, d->dirs, d->symlinks);
  memset (d, 0, sizeof *d);
}

void
reapi_tree_clear (struct reapi_tree *t)
{
  reapi_directory_clear (&t->root);
  for (size_t i = 0; i < t->n_children; i++)
    reapi_directory_clear (&t->children[i]);
  free (t->children);
  memset (t, 0, sizeof *t);
}

static void
pairs_free (struct reapi_pair *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free_many (v[i].name, v[i].value);
  free (v);
}

void
reapi_command_clear (struct reapi_command *c)
{
  strv_free (c->arguments);
  strv_free (c->output_directories);
  pairs_free (c->env, c->n_env);
  pairs_free (c->platform, c->n_platform);
  free (c->working_directory);
  memset (c, 0, sizeof *c);
}

void
reapi_action_clear (struct reapi_action *a)
{
  pairs_free (a->platform, a->n_platform);
  memset (a, 0, sizeof *a);
}

void
reapi_action_result_clear (struct reapi_action_result *r)
{
  for (size_t i = 0; i < r->n_dirs; i++)
    free (r->dirs[i].path);
  for (size_t i = 0; i < r->n_files; i++)
    free (r->files[i].path);
  free_many (r->dirs, r->files);
  memset (r, 0, sizeof *r);
}
