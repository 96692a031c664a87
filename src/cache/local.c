/* local.c: see local.h */
#define _GNU_SOURCE
#include "cache/local.h"

#include <errno.h>
#include <fcntl.h>
#include <ostree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/decide.h"
#include "cache/index.h"
#include "cache/merkle.h"
#include "cache/proto.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gerror.h"
#include "util/walk.h"

#define REF_RESULT "ohr/result/"
#define RESULT_MAX_BLOB (256u << 20)

static char *
result_ref (const char *hex)
{
  char *r = NULL;
  return asprintf (&r, REF_RESULT "%s", hex) < 0 ? NULL : r;
}

void
cache_hit_clear (struct cache_hit *h)
{
  buf_clear (&h->out);
  buf_clear (&h->err);
  buf_clear (&h->statement);
  reapi_action_result_clear (&h->result);
}

static int
read_child (GFile *root, const char *name, struct buf *out, ohr_error_t *err)
{
  g_autoptr (GFile) f = g_file_get_child (root, name);
  g_autoptr (GError) gerr = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_load_contents (f, NULL, &data, &len, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot read the result's %s", name);
  if (len > RESULT_MAX_BLOB || buf_add (out, data, len) < 0)
    return ohr_error_nomem (err);
  return 0;
}

static int
give_to (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  const struct stat *owner = ctx;
  if (fchownat (e->dirfd, e->name, owner->st_uid, owner->st_gid,
                AT_SYMLINK_NOFOLLOW)
      < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot give '%s' to OUT_DIR's owner", e->path);
  return WALK_CONTINUE;
}

/* Copies made by the helper belong to its user: as root they go to
 * OUT_DIR's owner, as the files a script writes there do. */
int
cache_local_restore_owner (const char *out_dir, ohr_error_t *err)
{
  struct stat st;
  if (stat (out_dir, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot stat '%s'",
                            out_dir);
  if (st.st_uid == geteuid () && st.st_gid == getegid ())
    return 0;
  return walk_tree (AT_FDCWD, out_dir, NULL, give_to, &st, err);
}

static int
restore (OstreeRepo *repo, const char *commit, const char *out_dir,
         ohr_error_t *err)
{
  OstreeRepoCheckoutAtOptions opts = { 0 };
  opts.mode = OSTREE_REPO_CHECKOUT_MODE_USER;
  /* OUT_DIR exists (empty): union lets the checkout fill it */
  opts.overwrite_mode = OSTREE_REPO_CHECKOUT_OVERWRITE_UNION_FILES;
  opts.subpath = "/out";
  /* copies, never hard links into the store */
  opts.force_copy = TRUE;
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_checkout_at (repo, &opts, AT_FDCWD, out_dir, commit, NULL,
                                &gerr))
    return ohr_error_gerror (err, gerr, "cannot restore OUT_DIR");
  return cache_local_restore_owner (out_dir, err);
}

int
cache_local_get (struct store *st, const char *hex, const char *out_dir,
                 struct cache_hit *hit, ohr_error_t *err)
{
  memset (hit, 0, sizeof *hit);
  OstreeRepo *repo = (OstreeRepo *)store_repo (st);
  cleanup_free char *ref = result_ref (hex);
  g_autofree char *commit = NULL;
  g_autoptr (GError) gerr = NULL;
  if (ref == NULL)
    return ohr_error_nomem (err);
  if (!ostree_repo_resolve_rev (repo, ref, TRUE, &commit, &gerr))
    return ohr_error_gerror (err, gerr, "cannot look up result %s", hex);
  if (commit == NULL)
    return 0;
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_read_commit (repo, commit, &root, NULL, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot read result %s", hex);
  struct buf result = { 0 };
  int r = read_child (root, "stdout", &hit->out, err);
  r = r < 0 ? r : read_child (root, "stderr", &hit->err, err);
  r = r < 0 ? r : read_child (root, "result", &result, err);
  r = r < 0 ? r
            : reapi_decode_action_result (result.data ? result.data : "",
                                          result.len, &hit->result, err);
  buf_clear (&result);
  const struct reapi_output_file *sf
      = r == 0 ? reapi_result_file (&hit->result, CACHE_STATEMENT_PATH) : NULL;
  if (sf && (r = read_child (root, "statement", &hit->statement, err)) == 0)
    {
      /* the store is trusted like the image store, but a statement is
       * provenance: it is served only as the result recorded it */
      struct reapi_digest got;
      merkle_digest (hit->statement.data ? hit->statement.data : "",
                     hit->statement.len, &got);
      hit->has_statement = strcmp (got.hash, sf->digest.hash) == 0
                                   && got.size == sf->digest.size
                               ? CACHE_STATEMENT_OK
                               : CACHE_STATEMENT_CHANGED;
    }
  if (r == 0 && hit->result.exit_code != 0)
    r = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                       "result %s records a failed run", hex);
  if (r == 0 && (r = restore (repo, commit, out_dir, err)) < 0)
    cache_dir_empty_out (out_dir);
  if (r < 0)
    {
      cache_hit_clear (hit);
      return -1;
    }
  return 1;
}

/* Owners are not part of a result; setid bits never are. */
static OstreeRepoCommitFilterResult
normalise (OstreeRepo *repo, const char *path, GFileInfo *info, gpointer data)
{
  guint32 mode = g_file_info_get_attribute_uint32 (info, "unix::mode");
  g_file_info_set_attribute_uint32 (info, "unix::mode", mode & ~06000u);
  g_file_info_set_attribute_uint32 (info, "unix::uid", 0);
  g_file_info_set_attribute_uint32 (info, "unix::gid", 0);
  return OSTREE_REPO_COMMIT_FILTER_ALLOW;
}

int
cache_local_result (const char *out_dir, const struct cache_outputs *o,
                    struct buf *res, struct buf *tree_out, ohr_error_t *err)
{
  const struct buf *out = o->out, *errb = o->err;
  struct buf root = { 0 }, tree = { 0 };
  struct merkle_options mo = { .tree_children = &tree, .root_bytes = &root };
  struct merkle_node n = { 0 };
  int r = merkle_path (out_dir, &mo, &n, err);
  merkle_node_clear (&n);
  struct buf whole = { 0 };
  if (r == 0
      && (proto_put_message (&whole, 1, &root) < 0
          || buf_add (&whole, tree.data ? tree.data : "", tree.len) < 0))
    r = ohr_error_nomem (err);
  buf_clear (&root);
  buf_clear (&tree);
  if (r < 0)
    {
      buf_clear (&whole);
      return -1;
    }
  struct reapi_output_directory od = { .path = "out" };
  merkle_digest (whole.data, whole.len, &od.tree_digest);
  if (tree_out)
    {
      buf_clear (tree_out);
      *tree_out = whole;
    }
  else
    buf_clear (&whole);
  struct reapi_output_file sf = { .path = CACHE_STATEMENT_PATH };
  if (o->statement)
    merkle_digest (o->statement->data ? o->statement->data : "",
                   o->statement->len, &sf.digest);
  struct reapi_action_result ar = { .files = o->statement ? &sf : NULL,
                                    .n_files = o->statement ? 1 : 0,
                                    .dirs = &od,
                                    .n_dirs = 1,
                                    .has_stdout = true,
                                    .has_stderr = true,
                                    .has_times = true,
                                    .exec_start = o->start,
                                    .exec_end = o->end };
  merkle_digest (out->data ? out->data : "", out->len, &ar.stdout_digest);
  merkle_digest (errb->data ? errb->data : "", errb->len, &ar.stderr_digest);
  return reapi_encode_action_result (res, &ar, err);
}

static int
write_staging (const char *dir, const char *name, const struct buf *b,
               ohr_error_t *err)
{
  cleanup_free char *p = fs_path_join (dir, name);
  if (p == NULL)
    return ohr_error_nomem (err);
  return fs_write_new (p, b->data ? b->data : "", b->len, 0644, err);
}

/* ---- the hit index (index.h): the commit's objects, by path */

static int
index_tree (GFile *dir, const char *rel, struct buf *b, bool *bad,
            ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GFileEnumerator) en = g_file_enumerate_children (
      dir,
      "standard::name,standard::type,standard::size,"
      "standard::symlink-target,unix::mode",
      G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &gerr);
  if (en == NULL)
    return ohr_error_gerror (err, gerr, "cannot list a stored result");
  for (;;)
    {
      GFileInfo *info = NULL;
      GFile *child = NULL;
      if (!g_file_enumerator_iterate (en, &info, &child, NULL, &gerr))
        return ohr_error_gerror (err, gerr, "cannot list a stored result");
      if (info == NULL)
        return 0;
      g_autofree char *path
          = rel[0] ? g_strconcat (rel, "/", g_file_info_get_name (info), NULL)
                   : g_strdup (g_file_info_get_name (info));
      guint32 mode = g_file_info_get_attribute_uint32 (info, "unix::mode");
      int r;
      switch (g_file_info_get_file_type (info))
        {
        case G_FILE_TYPE_DIRECTORY:
          r = cache_index_dir (b, path, mode, bad) < 0
                  ? ohr_error_nomem (err)
                  : index_tree (child, path, b, bad, err);
          break;
        case G_FILE_TYPE_SYMBOLIC_LINK:
          r = cache_index_symlink (b, path,
                                   g_file_info_get_symlink_target (info), bad);
          break;
        case G_FILE_TYPE_REGULAR:
          if (!ostree_repo_file_ensure_resolved (OSTREE_REPO_FILE (child),
                                                 &gerr))
            return ohr_error_gerror (err, gerr, "cannot read a stored result");
          r = cache_index_file (
              b, path, mode,
              ostree_repo_file_get_checksum (OSTREE_REPO_FILE (child)),
              (uint64_t)g_file_info_get_size (info), bad);
          break;
        default:
          *bad = true;
          r = 0;
        }
      if (r < 0)
        return err && *err ? -1 : ohr_error_nomem (err);
    }
}

static int
index_blob (GFile *root, const char *name, char which, struct buf *b,
            bool *bad, ohr_error_t *err)
{
  g_autoptr (GFile) f = g_file_get_child (root, name);
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GFileInfo) info = g_file_query_info (
      f, "standard::size", G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &gerr);
  if (info == NULL
      || !ostree_repo_file_ensure_resolved (OSTREE_REPO_FILE (f), &gerr))
    return ohr_error_gerror (err, gerr, "cannot read the result's %s", name);
  return cache_index_blob (
             b, which, ostree_repo_file_get_checksum (OSTREE_REPO_FILE (f)),
             (uint64_t)g_file_info_get_size (info),
             bad) < 0
             ? ohr_error_nomem (err)
             : 0;
}

/* After the commit: a result whose index cannot be written is still a
 * result, the store helper's to restore. */
static void
write_index (OstreeRepo *repo, const char *store_dir, const char *hex,
             const char *commit, int64_t wall_ns)
{
  OstreeRepoMode mode = ostree_repo_get_mode (repo);
  if (mode != OSTREE_REPO_MODE_BARE && mode != OSTREE_REPO_MODE_BARE_USER)
    return;
  g_autoptr (GFile) root = NULL;
  g_autoptr (GError) gerr = NULL;
  struct buf b = { 0 };
  bool bad = false;
  ohr_error_t err = NULL;
  if (ostree_repo_read_commit (repo, commit, &root, NULL, NULL, &gerr))
    {
      g_autoptr (GFile) out = g_file_get_child (root, "out");
      if (cache_index_begin (&b, wall_ns) == 0
          && index_blob (root, "stdout", 'o', &b, &bad, &err) == 0
          && index_blob (root, "stderr", 'e', &b, &bad, &err) == 0
          && index_tree (out, "", &b, &bad, &err) == 0 && !bad)
        cache_index_save (store_dir, hex, &b, &err);
    }
  ohr_error_free (&err);
  buf_clear (&b);
}

static int
commit_result (OstreeRepo *repo, const char *hex, const char *staging,
               const char *out_dir, const char *store_dir, int64_t wall_ns,
               ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new ();
  g_autoptr (OstreeMutableTree) sub = NULL;
  g_autoptr (GFile) root = NULL;
  g_autofree char *commit = NULL;
  cleanup_free char *ref = result_ref (hex);
  OstreeRepoCommitModifier *mod = ostree_repo_commit_modifier_new (
      OSTREE_REPO_COMMIT_MODIFIER_FLAGS_SKIP_XATTRS, normalise, NULL, NULL);
  /* One sync point instead of ostree's syncfs, an fsync of every
   * objects/XX directory it renamed into (22 for a small result, each a
   * journal commit: most of a remote hit's time on a busy disk) and one
   * of the ref: the objects and the commit are written without fsync,
   * then the whole file system is synced once, and only then is the ref
   * set (not synced: a ref lost in a crash is a miss, never a ref to
   * objects that did not reach the disk).  A shared lock from before
   * the transaction to the ref keeps `cache gc`'s prune (an exclusive
   * lock) from taking the commit while it has no ref yet.  docs/cache.md
   * "The store". */
  gboolean no_fsync = ostree_repo_get_disable_fsync (repo);
  ostree_repo_set_disable_fsync (repo, TRUE);
  g_autoptr (OstreeRepoAutoLock) lock = NULL;
  gboolean ok = ref
                && (lock = ostree_repo_auto_lock_push (
                        repo, OSTREE_REPO_LOCK_SHARED, NULL, &gerr))
                       != NULL
                && ostree_repo_prepare_transaction (repo, NULL, NULL, &gerr)
                && ostree_repo_write_dfd_to_mtree (repo, AT_FDCWD, staging,
                                                   mtree, mod, NULL, &gerr)
                && ostree_mutable_tree_ensure_dir (mtree, "out", &sub, &gerr)
                && ostree_repo_write_dfd_to_mtree (repo, AT_FDCWD, out_dir,
                                                   sub, mod, NULL, &gerr)
                && ostree_repo_write_mtree (repo, mtree, &root, NULL, &gerr)
                && ostree_repo_write_commit (repo, NULL, hex, NULL, NULL,
                                             OSTREE_REPO_FILE (root), &commit,
                                             NULL, &gerr);
  bool committed = false;
  if (ok)
    ok = committed = ostree_repo_commit_transaction (repo, NULL, NULL, &gerr);
  int sync_errno = 0;
  if (ok && syncfs (ostree_repo_get_dfd (repo)) < 0)
    {
      sync_errno = errno;
      ok = FALSE;
    }
  if (ok)
    ok = ostree_repo_set_ref_immediate (repo, NULL, ref, commit, NULL, &gerr);
  ostree_repo_set_disable_fsync (repo, no_fsync);
  ostree_repo_commit_modifier_unref (mod);
  if (ok)
    write_index (repo, store_dir, hex, commit, wall_ns);
  if (!ok)
    {
      if (!committed)
        ostree_repo_abort_transaction (repo, NULL, NULL);
      if (ref == NULL)
        return ohr_error_nomem (err);
      if (sync_errno)
        return ohr_error_errno (err, sync_errno, OHR_ERR_INTERNAL,
                                "cannot store result %s: cannot sync the "
                                "store",
                                hex);
      return ohr_error_gerror (err, gerr, "cannot store result %s", hex);
    }
  return 0;
}

int
cache_local_put (struct store *st, const char *hex, const char *out_dir,
                 const struct cache_outputs *o, ohr_error_t *err)
{
  cleanup_free char *tmpl = NULL;
  if (asprintf (&tmpl, "%s/results-tmp.XXXXXX", store_dir (st)) < 0)
    return ohr_error_nomem (err);
  if (mkdtemp (tmpl) == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            tmpl);
  struct buf res = { 0 };
  int r = cache_local_result (out_dir, o, &res, NULL, err);
  if (r == 0)
    r = write_staging (tmpl, "stdout", o->out, err) < 0
                || write_staging (tmpl, "stderr", o->err, err) < 0
                || write_staging (tmpl, "result", &res, err) < 0
                || (o->statement
                    && write_staging (tmpl, "statement", o->statement, err)
                           < 0)
            ? -1
            : 0;
  buf_clear (&res);
  if (r == 0)
    r = commit_result (
        (OstreeRepo *)store_repo (st), hex, tmpl, out_dir, store_dir (st),
        (int64_t)(o->end.tv_sec - o->start.tv_sec) * 1000000000LL
            + (o->end.tv_nsec - o->start.tv_nsec),
        err);
  ohr_error_t ignored = NULL;
  fs_rm_rf (tmpl, &ignored);
  ohr_error_free (&ignored);
  return r;
}

void
cache_local_log (struct store *st, const char *event, const char *hex,
                 int64_t ns)
{
  cache_index_log (store_dir (st), event, hex, ns);
}
