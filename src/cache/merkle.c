/* merkle.c: see merkle.h */
#define _GNU_SOURCE
#include "cache/merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/proto.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/walk.h"

void
merkle_digest (const void *data, size_t len, struct reapi_digest *out)
{
  char d[DIGEST_STRING_LEN + 1];
  digest_sha256 (data, len, d);
  reapi_digest_set (out, d, (int64_t)len);
}

void
merkle_node_clear (struct merkle_node *n)
{
  free (n->target);
  memset (n, 0, sizeof *n);
}

struct walk_state
{
  const char *root;
  const struct merkle_options *o;
  struct reapi_directory *stack; /* [0] the root, [d] at depth d */
  size_t depth_cap;
};

static int
push_file (struct reapi_directory *d, const char *name,
           const struct reapi_digest *dg, uint32_t mode, ohr_error_t *err)
{
  struct reapi_file *v
      = realloc (d->files, (d->n_files + 1) * sizeof *d->files);
  if (v == NULL)
    return ohr_error_nomem (err);
  d->files = v;
  struct reapi_file *f = &v[d->n_files];
  *f = (struct reapi_file){ .digest = *dg,
                            .is_executable = (mode & 0111) != 0,
                            .has_mode = true,
                            .mode = mode & 07777 };
  if ((f->name = strdup (name)) == NULL)
    return ohr_error_nomem (err);
  d->n_files++;
  return 0;
}

static int
push_dir (struct reapi_directory *d, const char *name,
          const struct reapi_digest *dg, ohr_error_t *err)
{
  struct reapi_dirnode *v = realloc (d->dirs, (d->n_dirs + 1) * sizeof *v);
  if (v == NULL)
    return ohr_error_nomem (err);
  d->dirs = v;
  v[d->n_dirs] = (struct reapi_dirnode){ .digest = *dg };
  if ((v[d->n_dirs].name = strdup (name)) == NULL)
    return ohr_error_nomem (err);
  d->n_dirs++;
  return 0;
}

static int
push_symlink (struct reapi_directory *d, const char *name, const char *target,
              ohr_error_t *err)
{
  struct reapi_symlink *v
      = realloc (d->symlinks, (d->n_symlinks + 1) * sizeof *v);
  if (v == NULL)
    return ohr_error_nomem (err);
  d->symlinks = v;
  v[d->n_symlinks] = (struct reapi_symlink){ 0 };
  if ((v[d->n_symlinks].name = strdup (name)) == NULL
      || (v[d->n_symlinks].target = strdup (target)) == NULL)
    {
      free (v[d->n_symlinks].name);
      return ohr_error_nomem (err);
    }
  d->n_symlinks++;
  return 0;
}

static int
read_link (int dirfd, const char *name, const char *what, char **out,
           ohr_error_t *err)
{
  char target[4097];
  ssize_t n = readlinkat (dirfd, name, target, sizeof target - 1);
  if (n < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot read the link '%s'", what);
  target[n] = '\0';
  return (*out = strdup (target)) ? 0 : ohr_error_nomem (err);
}

/* A regular file's digest: the memo's when its stat still matches. */
static int
file_digest (int dirfd, const char *name, const char *abs,
             const struct stat *st, struct memo *memo,
             struct reapi_digest *out, ohr_error_t *err)
{
  const char *hex = memo ? memo_get (memo, abs, st) : NULL;
  if (hex)
    {
      memcpy (out->hash, hex, 65);
      out->size = st->st_size;
      return 0;
    }
  cleanup_close int fd
      = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat now;
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot open '%s'",
                            abs);
  /* the file read must be the one stat'ed: the memo is keyed on it */
  if (fstat (fd, &now) < 0 || now.st_ino != st->st_ino
      || now.st_dev != st->st_dev)
    return ohr_error_set (err, EAGAIN, OHR_ERR_INTERNAL,
                          "'%s' changed while it was read", abs);
  char d[DIGEST_STRING_LEN + 1];
  if (digest_fd (fd, abs, d, err) < 0)
    return -1;
  if (fstat (fd, &now) < 0 || now.st_size != st->st_size
      || now.st_mtim.tv_nsec != st->st_mtim.tv_nsec
      || now.st_mtim.tv_sec != st->st_mtim.tv_sec)
    return ohr_error_set (err, EAGAIN, OHR_ERR_INTERNAL,
                          "'%s' changed while it was read", abs);
  reapi_digest_set (out, d, st->st_size);
  return memo ? memo_put (memo, abs, st, out->hash, err) : 0;
}

/* Encode d, digest it and, for a Tree, keep its bytes. */
static int
close_dir (struct walk_state *ws, struct reapi_directory *d, bool root,
           struct reapi_digest *out, ohr_error_t *err)
{
  struct buf b = { 0 };
  int r = reapi_encode_directory (&b, d, err);
  if (r == 0)
    {
      merkle_digest (b.data ? b.data : "", b.len, out);
      struct buf *keep = root ? ws->o->root_bytes : ws->o->tree_children;
      if (keep
          && (root ? buf_add (keep, b.data ? b.data : "", b.len)
                   : proto_put_message (keep, 2, &b))
                 < 0)
        r = ohr_error_nomem (err);
    }
  buf_clear (&b);
  reapi_directory_clear (d);
  return r;
}

static int
on_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct walk_state *ws = ctx;
  const struct stat *st = e->st;
  struct reapi_directory *parent = &ws->stack[e->depth - 1];
  if (S_ISDIR (st->st_mode) && e->post)
    {
      struct reapi_digest dg;
      if (close_dir (ws, &ws->stack[e->depth], false, &dg, err) < 0)
        return -1;
      return push_dir (parent, e->name, &dg, err);
    }
  if (strv_contains (ws->o->skip, e->path))
    return WALK_SKIP;
  if (strv_contains (ws->o->empty, e->path))
    {
      /* masked: an empty directory, or an empty file without a mode */
      struct reapi_digest dg;
      merkle_digest ("", 0, &dg);
      if (S_ISDIR (st->st_mode))
        return push_dir (parent, e->name, &dg, err) < 0 ? -1 : WALK_SKIP;
      return push_file (parent, e->name, &dg, 0, err);
    }
  if (S_ISDIR (st->st_mode))
    {
      if (e->depth + 1 > ws->depth_cap)
        {
          size_t cap = ws->depth_cap * 2;
          struct reapi_directory *v
              = realloc (ws->stack, cap * sizeof *ws->stack);
          if (v == NULL)
            return ohr_error_nomem (err);
          memset (v + ws->depth_cap, 0,
                  (cap - ws->depth_cap) * sizeof *ws->stack);
          ws->stack = v;
          ws->depth_cap = cap;
        }
      ws->stack[e->depth]
          = (struct reapi_directory){ .has_mode = true,
                                      .mode = st->st_mode & 07777 };
      return WALK_CONTINUE;
    }
  cleanup_free char *abs = fs_path_join (ws->root, e->path);
  if (abs == NULL)
    return ohr_error_nomem (err);
  if (S_ISREG (st->st_mode))
    {
      struct reapi_digest dg;
      if (file_digest (e->dirfd, e->name, abs, st, ws->o->memo, &dg, err) < 0)
        return -1;
      return push_file (parent, e->name, &dg, st->st_mode, err);
    }
  if (S_ISLNK (st->st_mode))
    {
      cleanup_free char *target = NULL;
      if (read_link (e->dirfd, e->name, abs, &target, err) < 0)
        return -1;
      return push_symlink (parent, e->name, target, err);
    }
  return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                        "'%s' is neither a file, a directory nor a symlink",
                        abs);
}

int
merkle_path (const char *host, const struct merkle_options *o,
             struct merkle_node *out, ohr_error_t *err)
{
  struct stat st;
  memset (out, 0, sizeof *out);
  if (lstat (host, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot stat '%s'",
                            host);
  out->mode = st.st_mode & 07777;
  out->executable = (st.st_mode & 0111) != 0;
  if (S_ISLNK (st.st_mode))
    {
      out->kind = MERKLE_SYMLINK;
      return read_link (AT_FDCWD, host, host, &out->target, err);
    }
  if (S_ISREG (st.st_mode))
    {
      cleanup_free char *dir = strdup (host);
      if (dir == NULL)
        return ohr_error_nomem (err);
      char *slash = strrchr (dir, '/');
      *slash = '\0';
      cleanup_close int dfd = open (slash == dir ? "/" : dir,
                                    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot open '%s'", dir);
      out->kind = MERKLE_FILE;
      return file_digest (dfd, slash + 1, host, &st, o->memo, &out->digest,
                          err);
    }
  if (!S_ISDIR (st.st_mode))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "'%s' is neither a file, a directory nor a symlink",
                          host);
  struct walk_state ws = { .root = host, .o = o, .depth_cap = 16 };
  if ((ws.stack = calloc (ws.depth_cap, sizeof *ws.stack)) == NULL)
    return ohr_error_nomem (err);
  ws.stack[0] = (struct reapi_directory){ .has_mode = true,
                                          .mode = st.st_mode & 07777 };
  struct walk_options wo = { .flags = WALK_POST | WALK_ROOT_NOFOLLOW };
  int r = walk_tree (AT_FDCWD, host, &wo, on_entry, &ws, err);
  if (r == 0)
    r = close_dir (&ws, &ws.stack[0], true, &out->digest, err);
  for (size_t i = 0; i < ws.depth_cap; i++)
    reapi_directory_clear (&ws.stack[i]);
  free (ws.stack);
  out->kind = MERKLE_DIR;
  return r < 0 ? -1 : 0;
}
