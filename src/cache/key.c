/* key.c: see key.h (the store helper's half: digests). */
#define _GNU_SOURCE
#include "cache/key.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/merkle.h"
#include "cache/toolchain-id.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/strv.h"

/* The input root: a directory tree at container paths whose leaves are
 * the inputs' Merkle nodes. */
struct vdir
{
  char *name;
  struct vdir *kids;
  size_t n;
  const struct cache_input *input; /* a leaf: this input is here */
  struct merkle_node node;
};

static void
vdir_clear (struct vdir *d)
{
  for (size_t i = 0; i < d->n; i++)
    vdir_clear (&d->kids[i]);
  free (d->kids);
  free (d->name);
  merkle_node_clear (&d->node);
}

static struct vdir *
vdir_child (struct vdir *d, const char *name, size_t len, ohr_error_t *err)
{
  for (size_t i = 0; i < d->n; i++)
    if (strlen (d->kids[i].name) == len
        && memcmp (d->kids[i].name, name, len) == 0)
      return &d->kids[i];
  if (!reapi_name_valid (name, len))
    {
      ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                     "'%.*s' cannot be a path component", (int)len, name);
      return NULL;
    }
  struct vdir *v = realloc (d->kids, (d->n + 1) * sizeof *v);
  if (v == NULL)
    {
      ohr_error_nomem (err);
      return NULL;
    }
  d->kids = v;
  v[d->n] = (struct vdir){ .name = strndup (name, len) };
  if (v[d->n].name == NULL)
    {
      ohr_error_nomem (err);
      return NULL;
    }
  return &v[d->n++];
}

static int
by_container_length (const void *a, const void *b)
{
  size_t x = strlen (((const struct cache_input *)a)->container);
  size_t y = strlen (((const struct cache_input *)b)->container);
  return x < y ? -1 : x > y;
}

/* Place one input; one inside another input is left out when it is the
 * same tree seen again (a package below its workspace root), and refused
 * otherwise: the key would not say which one the script sees. */
static int
place_input (struct vdir *root, const struct cache_input *in,
             struct memo *memo, ohr_error_t *err)
{
  struct vdir *d = root;
  const char *p = in->container;
  while (*p)
    {
      while (*p == '/')
        p++;
      if (!*p)
        break;
      size_t n = strcspn (p, "/");
      if (d->input)
        {
          const char *rel = in->container + strlen (d->input->container);
          cleanup_free char *same = fs_path_join (d->input->host, rel);
          if (same == NULL)
            return ohr_error_nomem (err);
          if (strcmp (same, in->host) == 0)
            return 0;
          return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                                "'%s' is mounted at '%s' inside '%s'",
                                in->host, in->container, d->input->container);
        }
      if ((d = vdir_child (d, p, n, err)) == NULL)
        return -1;
      p += n;
    }
  if (d == root || d->input || d->n)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "'%s' is mounted over another input", in->container);
  d->input = in;
  if (in->toolchain)
    {
      char id[65];
      int r = cache_toolchain_identity (in->host, in->skip, memo, id, err);
      if (r < 0)
        return ohr_error_wrap (err, "input '%s'", in->container);
      if (r > 0)
        {
          /* a node of its own kind: the identity statement's digest */
          d->node.kind = MERKLE_DIR;
          merkle_digest (id, 64, &d->node.digest);
          return 0;
        }
    }
  struct merkle_options o
      = { .memo = memo, .skip = in->skip, .empty = in->empty };
  if (memo && memo_scope (memo, in->host, err) < 0)
    return -1;
  if (merkle_path (in->host, &o, &d->node, err) < 0)
    return ohr_error_wrap (err, "input '%s'", in->container);
  return 0;
}

static int
vdir_digest (struct vdir *d, struct reapi_digest *out, ohr_error_t *err)
{
  struct reapi_directory dir = { 0 };
  int r = 0;
  for (size_t i = 0; r == 0 && i < d->n; i++)
    {
      struct vdir *k = &d->kids[i];
      struct reapi_digest dg = k->node.digest;
      enum merkle_kind kind = k->input ? k->node.kind : MERKLE_DIR;
      if (!k->input && vdir_digest (k, &dg, err) < 0)
        r = -1;
      else if (kind == MERKLE_FILE)
        {
          struct reapi_file *v
              = realloc (dir.files, (dir.n_files + 1) * sizeof *v);
          if (v == NULL)
            {
              r = ohr_error_nomem (err);
              break;
            }
          dir.files = v;
          v[dir.n_files++]
              = (struct reapi_file){ .name = k->name,
                                     .digest = dg,
                                     .is_executable = k->node.executable,
                                     .has_mode = true,
                                     .mode = k->node.mode };
        }
      else if (kind == MERKLE_DIR)
        {
          struct reapi_dirnode *v
              = realloc (dir.dirs, (dir.n_dirs + 1) * sizeof *v);
          if (v == NULL)
            {
              r = ohr_error_nomem (err);
              break;
            }
          dir.dirs = v;
          v[dir.n_dirs++] = (struct reapi_dirnode){ k->name, dg };
        }
      else
        {
          struct reapi_symlink *v
              = realloc (dir.symlinks, (dir.n_symlinks + 1) * sizeof *v);
          if (v == NULL)
            {
              r = ohr_error_nomem (err);
              break;
            }
          dir.symlinks = v;
          v[dir.n_symlinks++]
              = (struct reapi_symlink){ k->name, k->node.target };
        }
    }
  struct buf b = { 0 };
  if (r == 0 && reapi_encode_directory (&b, &dir, err) == 0)
    merkle_digest (b.data ? b.data : "", b.len, out);
  else
    r = -1;
  buf_clear (&b);
  /* the names and targets are the vdir's */
  free_many (dir.files, dir.dirs, dir.symlinks);
  return r;
}

static int
input_root (struct cache_request *r, struct memo *memo,
            struct reapi_digest *out, ohr_error_t *err)
{
  if (r->n_inputs)
    qsort (r->inputs, r->n_inputs, sizeof *r->inputs, by_container_length);
  struct vdir root = { 0 };
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < r->n_inputs; i++)
    rc = place_input (&root, &r->inputs[i], memo, err);
  if (rc == 0)
    rc = vdir_digest (&root, out, err);
  vdir_clear (&root);
  return rc;
}

static int
copy_platform (const struct reapi_command *c, struct reapi_action *a,
               ohr_error_t *err)
{
  if (c->n_platform == 0)
    return 0;
  a->platform = calloc (c->n_platform, sizeof *a->platform);
  if (a->platform == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; i < c->n_platform; i++)
    {
      a->platform[i].name = strdup (c->platform[i].name);
      a->platform[i].value = strdup (c->platform[i].value);
      a->n_platform++;
      if (a->platform[i].name == NULL || a->platform[i].value == NULL)
        return ohr_error_nomem (err);
    }
  return 0;
}

int
cache_key_compute (struct cache_request *r, struct memo *memo,
                   struct cache_key *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (r->host_fingerprint)
    {
      char fp[65];
      if (cache_host_fingerprint (memo, fp, err) < 0
          || cache_request_add_platform (r, "host-software", fp, err) < 0)
        return -1;
      r->host_fingerprint = false;
    }
  struct reapi_action a = { 0 };
  int rc = input_root (r, memo, &out->input_root, err);
  if (rc == 0)
    rc = reapi_encode_command (&out->command, &r->command, err);
  if (rc == 0)
    {
      merkle_digest (out->command.data ? out->command.data : "",
                     out->command.len, &out->command_digest);
      a.command_digest = out->command_digest;
      a.input_root_digest = out->input_root;
      rc = copy_platform (&r->command, &a, err);
    }
  if (rc == 0)
    rc = reapi_encode_action (&out->action, &a, err);
  reapi_action_clear (&a);
  if (rc < 0)
    {
      cache_key_clear (out);
      return -1;
    }
  merkle_digest (out->action.data ? out->action.data : "", out->action.len,
                 &out->action_digest);
  memcpy (out->hex, out->action_digest.hash, 65);
  return 0;
}

void
cache_key_clear (struct cache_key *k)
{
  buf_clear (&k->action);
  buf_clear (&k->command);
  memset (k, 0, sizeof *k);
}

int
cache_host_fingerprint (struct memo *memo, char out[65], ohr_error_t *err)
{
  /* files and trees alike through merkle_path: the memo spares reading
   * the package database again on every run; all of them in the shard of
   * "/", one file to read rather than one per path */
  static const char *const paths[]
      = { "/var/lib/dpkg/status",      "/var/lib/rpm/rpmdb.sqlite",
          "/var/lib/rpm/Packages",     "/etc/ld.so.cache",
          "/etc/os-release",           "/usr/local/bin",
          "/usr/local/sbin",           "/usr/local/lib",
          "/usr/local/lib64",          "/usr/local/include",
          "/usr/local/share/pkgconfig" };
  if (memo && memo_scope (memo, "/", err) < 0)
    return -1;
  struct digest_ctx *ctx = digest_new ();
  if (ctx == NULL)
    return ohr_error_nomem (err);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof paths / sizeof *paths; i++)
    {
      struct merkle_node n = { 0 };
      struct merkle_options o = { .memo = memo };
      const char *h = "missing";
      if (fs_exists (paths[i]))
        {
          if (merkle_path (paths[i], &o, &n, err) < 0)
            {
              rc = -1;
              break;
            }
          h = n.kind == MERKLE_SYMLINK ? n.target : n.digest.hash;
        }
      digest_update (ctx, paths[i], strlen (paths[i]) + 1);
      digest_update (ctx, h, strlen (h) + 1);
      merkle_node_clear (&n);
    }
  char d[DIGEST_STRING_LEN + 1];
  digest_final (ctx, d);
  digest_free (ctx);
  if (rc < 0)
    return ohr_error_wrap (err, "host software fingerprint");
  memcpy (out, d + 7, 65);
  return 0;
}

#define REQUEST_MAX (64u << 20)

int
cache_key_of_request (const char *store_dir, struct cache_request *req,
                      struct cache_key *out, ohr_error_t *err)
{
  cleanup_free char *memo_dir = fs_path_join (store_dir, CACHE_MEMO_DIR);
  if (memo_dir == NULL)
    return ohr_error_nomem (err);
  struct memo memo;
  if (memo_load (memo_dir, &memo, err) < 0)
    return -1;
  int r = cache_key_compute (req, &memo, out, err);
  ohr_error_t ignored = NULL;
  memo_save (&memo, &ignored);
  ohr_error_free (&ignored);
  memo_clear (&memo);
  return r;
}

int
cache_key_of_file (const char *store_dir, const char *request_path,
                   struct cache_key *out, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (request_path, REQUEST_MAX, &data, &len, err) < 0)
    return -1;
  struct cache_request req;
  if (cache_request_decode (data, len, &req, err) < 0)
    return -1;
  int r = cache_key_of_request (store_dir, &req, out, err);
  cache_request_clear (&req);
  return r;
}
