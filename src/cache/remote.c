/* remote.c: see remote.h */
#define _GNU_SOURCE
#include "cache/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/decide.h"
#include "cache/down.h"
#include "cache/local.h"
#include "cache/merkle.h"
#include "cache/proto.h"
#include "cache/reapi.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"

#define CONFIG_MAX (64u << 10)
#define SIG_PREFIX "oci-host-runner result-cache signature v1 "
#define STDOUT_RAW 5 /* ActionResult.stdout_raw */
#define MAX_DEPTH 256

static int
config_line (struct cache_remote *r, char *line, ohr_error_t *err)
{
  char *v = strchr (line, ' ');
  if (v == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "remote cache settings: bad line '%.40s'", line);
  *v++ = '\0';
  char **slot = strcmp (line, "url") == 0         ? &r->url
                : strcmp (line, "sign") == 0      ? &r->sign_key
                : strcmp (line, "state") == 0     ? &r->state_dir
                : strcmp (line, "build-pid") == 0 ? &r->build_pid
                                                  : NULL;
  if (slot)
    {
      free (*slot);
      return (*slot = strdup (v)) ? 0 : ohr_error_nomem (err);
    }
  if (strcmp (line, "mode") == 0)
    {
      r->write = strcmp (v, "read-write") == 0;
      return 0;
    }
  if (strcmp (line, "trust") == 0)
    return cache_trust_add (&r->trust, v, err) < 0
               ? ohr_error_wrap (err, "--result-cache-trust")
               : 0;
  return 0; /* a setting of a later version */
}

int
cache_remote_open (const char *dir, struct cache_remote *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  cleanup_free char *path = fs_path_join (dir, CACHE_REMOTE_CONFIG);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (path == NULL)
    return ohr_error_nomem (err);
  if (!fs_exists (path))
    return 0;
  if (fs_read_file (path, CONFIG_MAX, &data, &len, err) < 0)
    return -1;
  int r = 0;
  char *save = NULL;
  for (char *l = strtok_r (data, "\n", &save); l && r == 0;
       l = strtok_r (NULL, "\n", &save))
    r = config_line (out, l, err);
  if (r == 0 && out->url == NULL)
    r = ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                       "remote cache settings: no url");
  struct cache_http_options o;
  cache_http_options_init (&o);
  o.state_dir = out->state_dir;
  cleanup_free char *build_id
      = out->build_pid ? cache_down_build_id_of ((pid_t)atol (out->build_pid))
                       : NULL;
  o.build_id = build_id;
  if (r == 0)
    r = cache_http_new (out->url, &o, &out->http, err);
  if (r < 0)
    {
      cache_remote_close (out);
      return -1;
    }
  return 1;
}

void
cache_remote_close (struct cache_remote *r)
{
  cache_http_free (r->http);
  cache_trust_clear (&r->trust);
  free_many (r->url, r->sign_key, r->state_dir, r->build_pid);
  memset (r, 0, sizeof *r);
}

void
cache_remote_sig_name (const char *hex, char out[65])
{
  char s[sizeof SIG_PREFIX + 64];
  char d[DIGEST_STRING_LEN + 1];
  snprintf (s, sizeof s, SIG_PREFIX "%s", hex);
  digest_sha256 (s, strlen (s), d);
  memcpy (out, d + strlen ("sha256:"), 65);
}

/* ---- fetch */

/* The envelope in a signature entry: its stdout_raw. */
static int
envelope_of (const struct buf *entry, const uint8_t **out, size_t *len)
{
  struct proto_reader rd;
  struct proto_field f;
  ohr_error_t e = NULL;
  int r;
  proto_reader_init (&rd, entry->data ? entry->data : "", entry->len);
  while ((r = proto_next (&rd, entry->data, &f, &e)) == 1)
    if (f.number == STDOUT_RAW && f.wire == PROTO_LEN)
      {
        *out = f.data;
        *len = f.len;
        return 1;
      }
  ohr_error_free (&e);
  return 0;
}

static int
warn (char **warning, const char *hex, const char *fmt, const char *what)
{
  free (*warning);
  if (asprintf (warning, "remote result %.12s: %s%s", hex, fmt, what) < 0)
    *warning = NULL;
  return 0;
}

/* GET a blob; a missing one or one that does not match is a bad entry. */
static int
blob (struct cache_remote *r, const struct reapi_digest *d, struct buf *out,
      ohr_error_t *err)
{
  out->max = 1u << 30;
  int g = cache_http_get (r->http, OHR_NS_CAS, d->hash, out, err);
  if (g == 0)
    return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                          "blob %.12s is missing", d->hash);
  if (g == 1 && (int64_t)out->len != d->size)
    return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                          "blob %.12s has the wrong size", d->hash);
  return g == 1 ? 0 : g;
}

static const struct reapi_directory *
child (struct reapi_tree *t, const struct reapi_digest *d, ohr_error_t *err)
{
  for (size_t i = 0; i < t->n_children; i++)
    {
      struct buf b = { 0 };
      struct reapi_digest got;
      if (reapi_encode_directory (&b, &t->children[i], err) < 0)
        return NULL;
      merkle_digest (b.data ? b.data : "", b.len, &got);
      buf_clear (&b);
      if (strcmp (got.hash, d->hash) == 0)
        return &t->children[i];
    }
  ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                 "the tree has no directory %.12s", d->hash);
  return NULL;
}

/* Files, then directories (each made new: a name taken twice fails),
 * then symlinks, so that no path walked later goes through a link. */
static int
materialize (struct cache_remote *r, struct reapi_tree *t,
             const struct reapi_directory *d, const char *path, int depth,
             ohr_error_t *err)
{
  if (depth > MAX_DEPTH)
    return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                          "the tree is too deep");
  for (size_t i = 0; i < d->n_files; i++)
    {
      const struct reapi_file *f = &d->files[i];
      cleanup_free char *p = fs_path_join (path, f->name);
      struct buf b = { 0 };
      mode_t mode
          = f->has_mode ? (f->mode & 01777) : (f->is_executable ? 0755 : 0644);
      int g = p ? blob (r, &f->digest, &b, err) : ohr_error_nomem (err);
      if (g == 0)
        g = fs_write_new (p, b.data ? b.data : "", b.len, 0600, err);
      buf_clear (&b);
      if (g == 0 && chmod (p, mode) < 0)
        g = ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                             "cannot set the mode of '%s'", p);
      if (g < 0)
        return g;
    }
  for (size_t i = 0; i < d->n_dirs; i++)
    {
      cleanup_free char *p = fs_path_join (path, d->dirs[i].name);
      if (p == NULL)
        return ohr_error_nomem (err);
      const struct reapi_directory *c = child (t, &d->dirs[i].digest, err);
      if (c == NULL)
        return -1;
      if (mkdir (p, 0700) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create '%s'", p);
      int g = materialize (r, t, c, p, depth + 1, err);
      if (g < 0)
        return g;
      if (chmod (p, c->has_mode ? (c->mode & 01777) : 0755) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot set the mode of '%s'", p);
    }
  for (size_t i = 0; i < d->n_symlinks; i++)
    {
      cleanup_free char *p = fs_path_join (path, d->symlinks[i].name);
      if (p == NULL)
        return ohr_error_nomem (err);
      if (symlink (d->symlinks[i].target, p) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create '%s'", p);
    }
  return 0;
}

/* A trusted entry's ActionResult: 1, or 0 with a warning when it is
 * not one this runner stores. */
static int
decode_entry (const struct buf *entry, const char *hex,
              struct reapi_action_result *ar, char **warning)
{
  ohr_error_t e = NULL;
  if (reapi_decode_action_result (entry->data ? entry->data : "", entry->len,
                                  ar, &e)
      < 0)
    {
      warn (warning, hex, "tampered: ", e ? e->msg : "");
      ohr_error_free (&e);
      return 0;
    }
  if (ar->exit_code != 0 || ar->n_dirs != 1
      || strcmp (ar->dirs[0].path, "out") != 0 || !ar->has_stdout
      || !ar->has_stderr)
    {
      reapi_action_result_clear (ar);
      return warn (warning, hex,
                   "tampered: ", "not a result this runner stores");
    }
  return 1;
}

/* The trusted ActionResult of hex into *ar: 1, 0 (a miss, *warning set
 * when the entry was there), or a failure. */
static int
trusted_entry (struct cache_remote *r, const char *hex,
               struct reapi_action_result *ar, char **warning,
               ohr_error_t *err)
{
  struct buf entry = { .max = 64u << 20 }, sig = { .max = 1u << 20 };
  char sig_name[65], result_hex[DIGEST_STRING_LEN + 1];
  int g = cache_http_get (r->http, OHR_NS_AC, hex, &entry, err);
  if (g == 1)
    {
      cache_remote_sig_name (hex, sig_name);
      g = cache_http_get (r->http, OHR_NS_AC, sig_name, &sig, err);
      if (g == 0)
        g = warn (warning, hex, "untrusted: not signed", "");
      else if (g == 1)
        {
          const uint8_t *env = NULL;
          size_t env_len = 0;
          envelope_of (&sig, &env, &env_len);
          digest_sha256 (entry.data ? entry.data : "", entry.len, result_hex);
          enum cache_verdict v;
          cleanup_free char *reason = NULL;
          g = cache_verify_entry (&r->trust, env ? (const char *)env : "",
                                  env_len, hex, result_hex + 7, &v, &reason,
                                  err);
          if (g == 0 && v != CACHE_TRUSTED)
            g = warn (warning, hex, reason, "");
          else if (g == 0)
            {
              /* trust any: used, but never silently */
              if (strstr (reason, "without a signature check"))
                warn (warning, hex, reason, "");
              g = decode_entry (&entry, hex, ar, warning);
            }
        }
    }
  buf_clear (&entry);
  buf_clear (&sig);
  return g;
}

int
cache_remote_fetch (struct cache_remote *r, const char *hex,
                    const char *out_dir, struct buf *out, struct buf *errb,
                    struct buf *statement, struct timespec *start,
                    struct timespec *end, char **warning, ohr_error_t *err)
{
  struct reapi_action_result ar = { 0 };
  int g = trusted_entry (r, hex, &ar, warning, err);
  if (g != 1)
    return g;
  struct buf tb = { 0 };
  struct reapi_tree tree = { 0 };
  g = blob (r, &ar.dirs[0].tree_digest, &tb, err);
  if (g == 0)
    g = reapi_decode_tree (tb.data ? tb.data : "", tb.len, &tree, err);
  if (g == 0)
    g = blob (r, &ar.stdout_digest, out, err);
  if (g == 0)
    g = blob (r, &ar.stderr_digest, errb, err);
  const struct reapi_output_file *sf
      = reapi_result_file (&ar, CACHE_STATEMENT_PATH);
  if (g == 0 && sf)
    g = blob (r, &sf->digest, statement, err);
  if (g == 0)
    g = materialize (r, &tree, &tree.root, out_dir, 0, err);
  buf_clear (&tb);
  reapi_tree_clear (&tree);
  if (g == 0)
    {
      *start = ar.exec_start;
      *end = ar.exec_end;
    }
  reapi_action_result_clear (&ar);
  if (g == 0)
    return 1;
  cache_dir_empty_out (out_dir);
  buf_clear (out);
  buf_clear (errb);
  buf_clear (statement);
  if (g == CACHE_HTTP_UNAVAILABLE)
    return g;
  /* a blob missing, refused or malformed: the entry is not used */
  warn (warning, hex, "not used: ", (*err)->msg);
  ohr_error_free (err);
  return 0;
}

/* ---- upload */

static int
put (struct cache_remote *r, int ns, const char *hex, const struct buf *b,
     ohr_error_t *err)
{
  return cache_http_put (r->http, ns, hex, b->data ? b->data : "", b->len,
                         err);
}

/* A blob the server does not have yet: HEAD first (Bazel's HTTP cache
 * protocol), so that what another build uploaded is not sent again.  1:
 * the server has it; 0: send it; < 0: an error (unavailable too). */
static int
has_blob (struct cache_remote *r, const char *hex, ohr_error_t *err)
{
  return cache_http_has (r->http, OHR_NS_CAS, hex, err);
}

static int
put_blob (struct cache_remote *r, const char *hex, const struct buf *b,
          ohr_error_t *err)
{
  int g = has_blob (r, hex, err);
  return g != 0 ? (g < 0 ? g : 0) : put (r, OHR_NS_CAS, hex, b, err);
}

static int
put_dir (struct cache_remote *r, struct reapi_tree *t,
         const struct reapi_directory *d, const char *path, int depth,
         ohr_error_t *err)
{
  if (depth > MAX_DEPTH)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "OUT_DIR is too deep");
  for (size_t i = 0; i < d->n_files; i++)
    {
      cleanup_free char *p = fs_path_join (path, d->files[i].name);
      cleanup_free char *data = NULL;
      size_t len = 0;
      if (p == NULL)
        return ohr_error_nomem (err);
      int g = has_blob (r, d->files[i].digest.hash, err);
      if (g != 0)
        {
          if (g < 0)
            return g;
          continue;
        }
      if (fs_read_file (p, 1u << 30, &data, &len, err) < 0)
        return -1;
      g = cache_http_put (r->http, OHR_NS_CAS, d->files[i].digest.hash, data,
                          len, err);
      if (g < 0)
        return g;
    }
  for (size_t i = 0; i < d->n_dirs; i++)
    {
      cleanup_free char *p = fs_path_join (path, d->dirs[i].name);
      const struct reapi_directory *c
          = p ? child (t, &d->dirs[i].digest, err) : NULL;
      if (c == NULL)
        return p ? -1 : ohr_error_nomem (err);
      int g = put_dir (r, t, c, p, depth + 1, err);
      if (g < 0)
        return g;
    }
  return 0;
}

int
cache_remote_upload (struct cache_remote *r, const char *hex,
                     const char *out_dir, const struct buf *res,
                     const struct buf *tree, const struct buf *out,
                     const struct buf *errb, const struct buf *statement,
                     ohr_error_t *err)
{
  struct reapi_tree t = { 0 };
  struct reapi_digest d;
  char result_hex[DIGEST_STRING_LEN + 1], sig_name[65];
  cleanup_free char *env = NULL;
  size_t env_len = 0;
  struct buf sig = { 0 };
  int g = reapi_decode_tree (tree->data ? tree->data : "", tree->len, &t, err);
  if (g == 0)
    g = put_dir (r, &t, &t.root, out_dir, 0, err);
  reapi_tree_clear (&t);
  merkle_digest (tree->data ? tree->data : "", tree->len, &d);
  g = g < 0 ? g : put_blob (r, d.hash, tree, err);
  merkle_digest (out->data ? out->data : "", out->len, &d);
  g = g < 0 ? g : put_blob (r, d.hash, out, err);
  merkle_digest (errb->data ? errb->data : "", errb->len, &d);
  g = g < 0 ? g : put_blob (r, d.hash, errb, err);
  if (statement)
    {
      /* the ActionResult names it as an output file: a blob like the
       * others, covered by the entry's signature through its digest */
      merkle_digest (statement->data ? statement->data : "", statement->len,
                     &d);
      g = g < 0 ? g : put_blob (r, d.hash, statement, err);
    }
  digest_sha256 (res->data ? res->data : "", res->len, result_hex);
  if (g == 0)
    g = cache_sign_entry (r->sign_key, hex, result_hex + 7, &env, &env_len,
                          err);
  if (g == 0 && proto_put_bytes (&sig, STDOUT_RAW, env, env_len) < 0)
    g = ohr_error_nomem (err);
  cache_remote_sig_name (hex, sig_name);
  /* the signature before the entry: an entry is never seen unsigned */
  g = g < 0 ? g : put (r, OHR_NS_AC, sig_name, &sig, err);
  g = g < 0 ? g : put (r, OHR_NS_AC, hex, res, err);
  buf_clear (&sig);
  return g;
}
