/* store.c: see store.h
 *
 * Refs (all in the one repo; a ref is the only thing that makes objects
 * live, so a process killed before it sets one leaves only garbage):
 *   ohr/layer/sha256/<hex>   a layer as imported (layer.c), its commit
 *                            metadata the import's findings
 *   ohr/image/sha256/<hex>   the merged image tree, keyed by manifest
 *                            digest; metadata: config, manifest, layers
 *   ohr/name/<encoded>       a human-readable name -> an image commit
 */
#define _GNU_SOURCE
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ostree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/gerror.h"
#include "util/strv.h"
#include "util/walk.h"

#define REF_LAYER "ohr/layer/sha256/"
#define REF_IMAGE "ohr/image/sha256/"
#define REF_NAME "ohr/name/"
#define TMP_PREFIX ".tmp-"
#define NAME_MAX_ENCODED 200
/* A layer no image uses yet may belong to a pull still in progress. */
#define ORPHAN_LAYER_GRACE_SECONDS (60 * 60)

struct store
{
  char *dir;
  char *repo_path;
  char *rootfs_dir;
  char *lock_path;
  bool rootless;
  uint64_t max_layer_size;
  OstreeRepo *repo;
};

/* ---- small helpers */

static int
check_digest (const char *what, const char *digest, ohr_error_t *err)
{
  if (digest_valid (digest))
    return 0;
  return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                        "invalid %s digest '%s': expected sha256:<64 hex>",
                        what, digest ? digest : "(null)");
}

static char *
ref_for (const char *prefix, const char *digest)
{
  return g_strconcat (prefix, digest + strlen ("sha256:"), NULL);
}

static char *
digest_of_ref (const char *ref, const char *prefix)
{
  return g_strconcat ("sha256:", ref + strlen (prefix), NULL);
}

/* Names ("registry/repo:tag") are not valid ref components: keep letters
 * and digits, write every other byte as _XX. */
static char *
name_ref (const char *name)
{
  GString *s = g_string_new (REF_NAME);
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (s, (char)*p);
    else
      g_string_append_printf (s, "_%02x", *p);
  return g_string_free (s, FALSE);
}

static char *
name_of_ref (const char *ref)
{
  GString *s = g_string_new (NULL);
  for (const char *p = ref + strlen (REF_NAME); *p; p++)
    {
      if (*p == '_' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
        {
          g_string_append_c (s, (char)(g_ascii_xdigit_value (p[1]) * 16
                                       + g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static int
check_name (const char *name, ohr_error_t *err)
{
  g_autofree char *ref = name_ref (name);
  if (*name && strlen (ref) - strlen (REF_NAME) <= NAME_MAX_ENCODED)
    return 0;
  return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                        "invalid image name '%.100s': empty or too long",
                        name);
}

/* The commit a ref points to, or *out = NULL when there is no such ref. */
static int
resolve_ref (struct store *s, const char *ref, char **out, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_resolve_rev (s->repo, ref, TRUE, out, &gerr))
    return ohr_error_gerror (err, gerr, "cannot read ref '%s'", ref);
  return 0;
}

static int
set_ref_now (struct store *s, const char *ref, const char *commit,
             ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_set_ref_immediate (s->repo, NULL, ref, commit, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot %s ref '%s'",
                             commit ? "set" : "delete", ref);
  return 0;
}

static int
load_commit (struct store *s, const char *commit, GVariant **out_commit,
             GVariant **out_meta, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GVariant) v = NULL;
  if (!ostree_repo_load_commit (s->repo, commit, &v, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot load commit %s", commit);
  if (out_meta)
    *out_meta = g_variant_get_child_value (v, 0);
  if (out_commit)
    *out_commit = g_steal_pointer (&v);
  return 0;
}

static gint
compare_strp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Refs under prefix (their full names, sorted) and the ref -> commit map
 * that owns the strings. */
static int
list_refs (struct store *s, const char *prefix, GPtrArray **out_refs,
           GHashTable **out_map, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GHashTable) refs = NULL;
  g_autofree char *dir = g_strndup (prefix, strlen (prefix) - 1);
  if (!ostree_repo_list_refs_ext (s->repo, dir, &refs,
                                  OSTREE_REPO_LIST_REFS_EXT_NONE, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot list refs '%s'", prefix);
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, refs);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (g_str_has_prefix (key, prefix))
      g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_strp);
  *out_refs = names;
  *out_map = g_steal_pointer (&refs);
  return 0;
}

/* ---- the store lock: checkouts, removal and gc */

static int
lock_store (struct store *s, int *out_fd, ohr_error_t *err)
{
  /* opened per call: a flock belongs to the open file description, so an
   * fd shared across fork() would not exclude anything */
  int fd = open (s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot open '%s'",
                            s->lock_path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return ohr_error_errno (err, e, OHR_ERR_IMAGE, "cannot lock '%s'",
                                s->lock_path);
      }
  *out_fd = fd;
  return 0;
}

/* ---- removing checkouts, whose directories may be read-only */

/* The store's errors are image errors (the helper's exit code says so). */
static int
image_error (ohr_error_t *err, int r)
{
  if (err && *err)
    (*err)->kind = OHR_ERR_IMAGE;
  return r;
}

/* fs_rm_rf (on the one tree walker) makes a rootless checkout's 0555
 * directories writable before it empties them. */
static int
remove_tree (const char *path, ohr_error_t *err)
{
  if (fs_rm_rf (path, err) < 0)
    return image_error (err, ohr_error_wrap (err, "cannot remove '%s'", path));
  return 0;
}

/* ---- opening */

static const char *
mode_name (OstreeRepoMode mode)
{
  switch (mode)
    {
    case OSTREE_REPO_MODE_BARE:
      return "bare (root)";
    case OSTREE_REPO_MODE_BARE_USER:
      return "bare-user (rootless)";
    default:
      return "other";
    }
}

static int
create_repo (struct store *s, OstreeRepoMode mode, ohr_error_t *err)
{
  g_autofree char *objects = g_build_filename (s->repo_path, "objects", NULL);
  if (fs_is_dir (objects))
    return 0;
  /* under the lock so that parallel first uses do not interleave; ostree
   * finishes a repo a killed process left half-created */
  cleanup_close int lock = -1;
  if (lock_store (s, &lock, err) < 0)
    return -1;
  g_autoptr (GError) gerr = NULL;
  g_autoptr (OstreeRepo) repo = ostree_repo_create_at (
      AT_FDCWD, s->repo_path, mode, NULL, NULL, &gerr);
  if (repo == NULL)
    return ohr_error_gerror (err, gerr, "cannot create repository '%s'",
                             s->repo_path);
  return 0;
}

static int
open_repo (struct store *s, ohr_error_t *err)
{
  OstreeRepoMode want
      = s->rootless ? OSTREE_REPO_MODE_BARE_USER : OSTREE_REPO_MODE_BARE;
  if (create_repo (s, want, err) < 0)
    return -1;
  g_autoptr (GError) gerr = NULL;
  s->repo = ostree_repo_open_at (AT_FDCWD, s->repo_path, NULL, &gerr);
  if (s->repo == NULL)
    return ohr_error_gerror (err, gerr, "cannot open repository '%s'",
                             s->repo_path);
  OstreeRepoMode have = ostree_repo_get_mode (s->repo);
  if (have != want)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "store '%s' holds a %s repository, but this needs "
                          "%s; use another cache directory",
                          s->dir, mode_name (have), mode_name (want));
  return 0;
}

void
store_free (struct store *s)
{
  if (s == NULL)
    return;
  g_clear_object (&s->repo);
  free_many (s->dir, s->repo_path, s->rootfs_dir, s->lock_path);
  free (s);
}

int
store_open (const char *dir, bool rootless, struct store **out,
            ohr_error_t *err)
{
  cleanup_store struct store *s = calloc (1, sizeof *s);
  if (s == NULL || (s->dir = strdup (dir)) == NULL
      || (s->repo_path = fs_path_join (dir, "repo")) == NULL
      || (s->rootfs_dir = fs_path_join (dir, "rootfs")) == NULL
      || (s->lock_path = fs_path_join (dir, "lock")) == NULL)
    return ohr_error_nomem (err);
  s->rootless = rootless;
  s->max_layer_size = STORE_MAX_LAYER_SIZE_DEFAULT;
  if (fs_mkdir_p (dir, 0700, err) < 0
      || fs_mkdir_p (s->rootfs_dir, 0700, err) < 0 || open_repo (s, err) < 0)
    return ohr_error_wrap (err, "store '%s'", dir);
  *out = steal_pointer (&s);
  return 0;
}

const char *
store_dir (const struct store *s)
{
  return s->dir;
}

struct OstreeRepo *
store_repo (struct store *s)
{
  return s->repo;
}

void
store_set_max_layer_size (struct store *s, uint64_t bytes)
{
  s->max_layer_size = bytes;
}

static bool
has_ref (struct store *s, const char *prefix, const char *digest)
{
  if (!digest_valid (digest))
    return false;
  g_autofree char *ref = ref_for (prefix, digest);
  g_autofree char *commit = NULL;
  return ostree_repo_resolve_rev (s->repo, ref, TRUE, &commit, NULL)
         && commit != NULL;
}

bool
store_has_layer (struct store *s, const char *digest)
{
  return has_ref (s, REF_LAYER, digest);
}

bool
store_has_image (struct store *s, const char *manifest_digest)
{
  return has_ref (s, REF_IMAGE, manifest_digest);
}

/* ---- layers */

static int
report_from_meta (GVariant *meta, struct layer_report *report)
{
  if (report == NULL)
    return 0;
  g_autofree const char **refused = NULL;
  guint32 stripped = 0;
  if (g_variant_lookup (meta, "ohr.refused", "^a&s", &refused))
    for (const char **p = refused; *p; p++)
      if (strv_push (&report->refused, *p) < 0)
        return -1;
  if (g_variant_lookup (meta, "ohr.stripped", "u", &stripped))
    report->stripped += (int)stripped;
  return 0;
}

static GVariant *
strv_variant (char *const *v)
{
  static const char *const empty[] = { NULL };
  return g_variant_new_strv (v ? (const char *const *)v : empty, -1);
}

/* A root GFile for write_commit: ostree_repo_write_mtree on a tree whose
 * checksums are known writes nothing. */
static int
root_file (struct store *s, OstreeMutableTree *mtree, GFile **out,
           ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_write_mtree (s->repo, mtree, out, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot write tree");
  return 0;
}

static int
write_commit (struct store *s, const char *subject, OstreeMutableTree *mtree,
              GVariant *meta, char **out_commit, ohr_error_t *err)
{
  g_autoptr (GFile) root = NULL;
  if (root_file (s, mtree, &root, err) < 0)
    return -1;
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_write_commit (s->repo, NULL, subject, NULL, meta,
                                 OSTREE_REPO_FILE (root), out_commit, NULL,
                                 &gerr))
    return ohr_error_gerror (err, gerr, "cannot write commit");
  return 0;
}

static int
commit_layer (struct store *s, const char *digest, const struct layer_tree *t,
              const struct layer_report *report, ohr_error_t *err)
{
  g_auto (GVariantDict) dict;
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "ohr.digest", "s", digest);
  g_variant_dict_insert_value (&dict, "ohr.implicit-dirs",
                               strv_variant (t->implicit_dirs));
  g_variant_dict_insert (&dict, "ohr.whiteouts", "u", t->whiteouts);
  g_variant_dict_insert_value (&dict, "ohr.refused",
                               strv_variant (report ? report->refused : NULL));
  g_variant_dict_insert (&dict, "ohr.stripped", "u",
                         report ? (guint32)report->stripped : 0);
  g_autoptr (GVariant) meta = g_variant_ref_sink (g_variant_dict_end (&dict));
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new_from_checksum (
      s->repo, t->contents, t->metadata);
  g_autofree char *subject = g_strdup_printf ("layer %s", digest);
  g_autofree char *commit = NULL;
  if (write_commit (s, subject, mtree, meta, &commit, err) < 0)
    return -1;
  g_autofree char *ref = ref_for (REF_LAYER, digest);
  ostree_repo_transaction_set_ref (s->repo, NULL, ref, commit);
  return 0;
}

static int
begin (struct store *s, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_prepare_transaction (s->repo, NULL, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot start a transaction");
  return 0;
}

static int
finish (struct store *s, int rc, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (rc < 0)
    {
      /* what was written stays unreferenced until gc prunes it */
      ostree_repo_abort_transaction (s->repo, NULL, NULL);
      return rc;
    }
  if (!ostree_repo_commit_transaction (s->repo, NULL, NULL, &gerr))
    {
      ostree_repo_abort_transaction (s->repo, NULL, NULL);
      return ohr_error_gerror (err, gerr, "cannot commit the transaction");
    }
  return 0;
}

static int
import_blob (struct store *s, const char *digest, int fd,
             struct layer_report *report, ohr_error_t *err)
{
  struct layer_tree t = { 0 };
  if (begin (s, err) < 0)
    return -1;
  int rc = layer_read (s->repo, fd, digest, s->rootless, s->max_layer_size, &t,
                       report, err);
  if (rc == 0)
    rc = commit_layer (s, digest, &t, report, err);
  layer_tree_clear (&t);
  return finish (s, rc, err);
}

int
store_import_layer (struct store *s, const char *digest, const char *blob_path,
                    struct layer_report *report, ohr_error_t *err)
{
  if (check_digest ("layer", digest, err) < 0)
    return -1;
  g_autofree char *ref = ref_for (REF_LAYER, digest);
  g_autofree char *commit = NULL;
  if (resolve_ref (s, ref, &commit, err) < 0)
    return ohr_error_wrap (err, "layer %s", digest);
  if (commit)
    {
      g_autoptr (GVariant) meta = NULL;
      if (load_commit (s, commit, NULL, &meta, err) < 0)
        return ohr_error_wrap (err, "layer %s", digest);
      return report_from_meta (meta, report);
    }
  cleanup_close int fd = open (blob_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                            "layer %s: cannot open '%s'", digest, blob_path);
  if (import_blob (s, digest, fd, report, err) < 0)
    return ohr_error_wrap (err, "layer %s", digest);
  return 0;
}

/* ---- images */

static int
load_layer_tree (struct store *s, const char *digest, struct layer_tree *t,
                 ohr_error_t *err)
{
  g_autofree char *ref = ref_for (REF_LAYER, digest);
  g_autofree char *commit = NULL;
  if (resolve_ref (s, ref, &commit, err) < 0)
    return -1;
  if (commit == NULL)
    return ohr_error_set (err, ENOENT, OHR_ERR_IMAGE,
                          "layer %s is not in the store (removed by a "
                          "concurrent gc?); pull the image again",
                          digest);
  g_autoptr (GVariant) v = NULL;
  g_autoptr (GVariant) meta = NULL;
  if (load_commit (s, commit, &v, &meta, err) < 0)
    return -1;
  g_autoptr (GVariant) contents = g_variant_get_child_value (v, 6);
  g_autoptr (GVariant) dirmeta = g_variant_get_child_value (v, 7);
  t->contents = ostree_checksum_from_bytes_v (contents);
  t->metadata = ostree_checksum_from_bytes_v (dirmeta);
  g_autofree const char **implicit = NULL;
  if (g_variant_lookup (meta, "ohr.implicit-dirs", "^a&s", &implicit))
    for (const char **p = implicit; *p; p++)
      if (strv_push (&t->implicit_dirs, *p) < 0)
        return ohr_error_nomem (err);
  guint32 whiteouts = 0;
  g_variant_lookup (meta, "ohr.whiteouts", "u", &whiteouts);
  t->whiteouts = whiteouts;
  return 0;
}

static int
merge_layers (struct store *s, char *const *layers, OstreeMutableTree *merged,
              ohr_error_t *err)
{
  for (char *const *l = layers; l && *l; l++)
    {
      struct layer_tree t = { 0 };
      int rc = check_digest ("layer", *l, err);
      if (rc == 0)
        rc = load_layer_tree (s, *l, &t, err);
      if (rc == 0)
        rc = layer_apply (s->repo, merged, &t, err);
      layer_tree_clear (&t);
      if (rc < 0)
        return ohr_error_wrap (err, "layer %s", *l);
    }
  if (ostree_mutable_tree_get_metadata_checksum (merged) == NULL)
    {
      /* an image without layers is an empty root directory */
      g_autofree char *meta = NULL;
      if (layer_default_dirmeta (s->repo, &meta, err) < 0)
        return -1;
      ostree_mutable_tree_set_metadata_checksum (merged, meta);
    }
  return 0;
}

static GVariant *
bytes_variant (const char *data, size_t len)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, len, 1);
}

struct image_input
{
  const char *digest;
  char *const *layers;
  const char *config;
  size_t config_len;
  const char *manifest;
  size_t manifest_len;
  const char *name;
};

static GVariant *
image_metadata (const struct image_input *in)
{
  g_auto (GVariantDict) dict;
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "ohr.manifest-digest", "s", in->digest);
  g_variant_dict_insert_value (&dict, "ohr.config",
                               bytes_variant (in->config, in->config_len));
  g_variant_dict_insert_value (&dict, "ohr.manifest",
                               bytes_variant (in->manifest, in->manifest_len));
  g_variant_dict_insert_value (&dict, "ohr.layers", strv_variant (in->layers));
  if (in->name)
    g_variant_dict_insert (&dict, "ohr.name", "s", in->name);
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

static int
write_image (struct store *s, const struct image_input *in, ohr_error_t *err)
{
  g_autoptr (OstreeMutableTree) merged = ostree_mutable_tree_new ();
  if (merge_layers (s, in->layers, merged, err) < 0)
    return -1;
  g_autoptr (GVariant) meta = image_metadata (in);
  g_autofree char *subject = g_strdup_printf ("image %s", in->digest);
  g_autofree char *commit = NULL;
  if (write_commit (s, subject, merged, meta, &commit, err) < 0)
    return -1;
  g_autofree char *ref = ref_for (REF_IMAGE, in->digest);
  ostree_repo_transaction_set_ref (s->repo, NULL, ref, commit);
  if (in->name)
    {
      g_autofree char *nref = name_ref (in->name);
      ostree_repo_transaction_set_ref (s->repo, NULL, nref, commit);
    }
  return 0;
}

int
store_commit_image (struct store *s, const char *manifest_digest,
                    char *const *layer_digests, const char *config,
                    size_t config_len, const char *manifest,
                    size_t manifest_len, const char *name, ohr_error_t *err)
{
  if (check_digest ("manifest", manifest_digest, err) < 0
      || (name && check_name (name, err) < 0))
    return -1;
  struct image_input in = { manifest_digest, layer_digests, config, config_len,
                            manifest,        manifest_len,  name };
  g_autofree char *ref = ref_for (REF_IMAGE, manifest_digest);
  g_autofree char *commit = NULL;
  if (resolve_ref (s, ref, &commit, err) < 0)
    return ohr_error_wrap (err, "image %s", manifest_digest);
  if (commit)
    {
      /* already there: only (re)point the name at it */
      g_autofree char *nref = name ? name_ref (name) : NULL;
      if (nref && set_ref_now (s, nref, commit, err) < 0)
        return ohr_error_wrap (err, "image %s", manifest_digest);
      return 0;
    }
  if (begin (s, err) < 0 || finish (s, write_image (s, &in, err), err) < 0)
    return ohr_error_wrap (err, "image %s", manifest_digest);
  return 0;
}

static int
image_commit (struct store *s, const char *digest, char **out,
              ohr_error_t *err)
{
  if (check_digest ("manifest", digest, err) < 0)
    return -1;
  g_autofree char *ref = ref_for (REF_IMAGE, digest);
  if (resolve_ref (s, ref, out, err) < 0)
    return -1;
  if (*out == NULL)
    return ohr_error_set (err, ENOENT, OHR_ERR_IMAGE,
                          "image %s is not in the store; pull it first",
                          digest);
  return 0;
}

int
store_get_config (struct store *s, const char *manifest_digest, char **out,
                  size_t *out_len, ohr_error_t *err)
{
  g_autofree char *commit = NULL;
  g_autoptr (GVariant) meta = NULL;
  g_autoptr (GVariant) config = NULL;
  if (image_commit (s, manifest_digest, &commit, err) < 0
      || load_commit (s, commit, NULL, &meta, err) < 0)
    return ohr_error_wrap (err, "config of image %s", manifest_digest);
  config
      = g_variant_lookup_value (meta, "ohr.config", G_VARIANT_TYPE_BYTESTRING);
  if (config == NULL)
    return ohr_error_set (err, ENOENT, OHR_ERR_IMAGE,
                          "image %s has no config in the store; pull it "
                          "again",
                          manifest_digest);
  gsize n = 0;
  const char *data = g_variant_get_fixed_array (config, &n, 1);
  char *copy = malloc (n + 1);
  if (copy == NULL)
    return ohr_error_nomem (err);
  memcpy (copy, data, n);
  copy[n] = '\0';
  *out = copy;
  if (out_len)
    *out_len = n;
  return 0;
}

int
store_resolve (struct store *s, const char *name_or_digest, char **out_digest,
               ohr_error_t *err)
{
  if (digest_valid (name_or_digest))
    {
      g_autofree char *commit = NULL;
      if (image_commit (s, name_or_digest, &commit, err) < 0)
        return -1;
      *out_digest = strdup (name_or_digest);
      return *out_digest ? 0 : ohr_error_nomem (err);
    }
  if (check_name (name_or_digest, err) < 0)
    return -1;
  g_autofree char *nref = name_ref (name_or_digest);
  g_autofree char *commit = NULL;
  g_autoptr (GVariant) meta = NULL;
  const char *digest = NULL;
  if (resolve_ref (s, nref, &commit, err) < 0)
    return -1;
  if (commit == NULL)
    return ohr_error_set (err, ENOENT, OHR_ERR_IMAGE,
                          "image '%s' is not in the store; pull it first",
                          name_or_digest);
  if (load_commit (s, commit, NULL, &meta, err) < 0)
    return ohr_error_wrap (err, "image '%s'", name_or_digest);
  if (!g_variant_lookup (meta, "ohr.manifest-digest", "&s", &digest))
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "image '%s': commit %s is not an image",
                          name_or_digest, commit);
  *out_digest = strdup (digest);
  return *out_digest ? 0 : ohr_error_nomem (err);
}

/* ---- checkouts */

static int
checkout_commit (struct store *s, const char *commit, const char *dest,
                 ohr_error_t *err)
{
  OstreeRepoCheckoutAtOptions opts = { 0 };
  /* hardlinks to the repo's objects: these modes are the ones that link */
  opts.mode = s->rootless ? OSTREE_REPO_CHECKOUT_MODE_USER
                          : OSTREE_REPO_CHECKOUT_MODE_NONE;
  opts.overwrite_mode = OSTREE_REPO_CHECKOUT_OVERWRITE_NONE;
  /* the merge applied the whiteouts; nothing left is one */
  opts.process_whiteouts = FALSE;
  /* ostree copies only what cannot be linked: bare-user symlinks, and
   * objects at the filesystem's link limit (EMLINK) */
  opts.no_copy_fallback = FALSE;
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_checkout_at (s->repo, &opts, AT_FDCWD, dest, commit, NULL,
                                &gerr))
    return ohr_error_gerror (err, gerr, "cannot check out commit %s", commit);
  return 0;
}

/* The mount points every run needs, made once here so that runtimes never
 * create them inside the shared checkout (where they would be the only
 * writes to it).  An image that has them as something else keeps that. */
static void
add_mount_points (const char *root)
{
  static const char *const dirs[] = { "dev", "proc", "sys", "tmp", "cargo" };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      g_autofree char *p = g_build_filename (root, dirs[i], NULL);
      if (mkdir (p, 0755) == 0 && strcmp (dirs[i], "tmp") == 0)
        chmod (p, 01777);
    }
}

static int
checkout_locked (struct store *s, const char *commit, const char *hex,
                 const char *path, ohr_error_t *err)
{
  g_autofree char *tmp
      = g_strdup_printf ("%s/" TMP_PREFIX "%s-XXXXXX", s->rootfs_dir, hex);
  if (mkdtemp (tmp) == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                            "cannot create a directory in '%s'",
                            s->rootfs_dir);
  g_autofree char *dest = g_build_filename (tmp, "rootfs", NULL);
  int rc = checkout_commit (s, commit, dest, err);
  if (rc == 0)
    add_mount_points (dest);
  /* after a crash, a checkout directory that exists must be complete:
   * its links and directories reach the disk before the rename */
  if (rc == 0)
    rc = fs_sync_dir (dest, true, OHR_ERR_IMAGE, err);
  if (rc == 0 && rename (dest, path) < 0)
    rc = ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                          "cannot rename '%s' to '%s'", dest, path);
  ohr_error_t ignored = NULL;
  remove_tree (tmp, &ignored); /* gc retries what this leaves */
  ohr_error_free (&ignored);
  return rc;
}

int
store_checkout (struct store *s, const char *manifest_digest,
                char **out_rootfs, ohr_error_t *err)
{
  g_autofree char *commit = NULL;
  if (image_commit (s, manifest_digest, &commit, err) < 0)
    return -1;
  const char *hex = manifest_digest + strlen ("sha256:");
  cleanup_free char *path = fs_path_join (s->rootfs_dir, hex);
  if (path == NULL)
    return ohr_error_nomem (err);
  /* the rename makes a checkout appear whole: existing means done */
  if (!fs_is_dir (path))
    {
      cleanup_close int lock = -1;
      if (lock_store (s, &lock, err) < 0)
        return -1;
      if (!fs_is_dir (path) && checkout_locked (s, commit, hex, path, err) < 0)
        return ohr_error_wrap (err, "image %s", manifest_digest);
    }
  *out_rootfs = steal_pointer (&path);
  return 0;
}

/* ---- listing: sizes of what each image's commit reaches */

struct object_use
{
  int images;
  guint64 size;
};

static int
reachable (struct store *s, const char *commit, GHashTable **out,
           ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_traverse_commit (s->repo, commit, 0, out, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot walk commit %s", commit);
  return 0;
}

static int
count_uses (struct store *s, GHashTable *objects, GHashTable *uses,
            ohr_error_t *err)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, objects);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      struct object_use *u = g_hash_table_lookup (uses, key);
      if (u == NULL)
        {
          const char *csum;
          OstreeObjectType type;
          ostree_object_name_deserialize (key, &csum, &type);
          u = g_new0 (struct object_use, 1);
          g_autoptr (GError) gerr = NULL;
          if (!ostree_repo_query_object_storage_size (s->repo, type, csum,
                                                      &u->size, NULL, &gerr))
            {
              g_free (u);
              return ohr_error_gerror (err, gerr, "cannot size object %s",
                                       csum);
            }
          g_hash_table_insert (uses, g_variant_ref (key), u);
        }
      u->images++;
    }
  return 0;
}

static void
sum_sizes (GHashTable *objects, GHashTable *uses, struct store_image *img)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, objects);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      struct object_use *u = g_hash_table_lookup (uses, key);
      img->size += u->size;
      if (u->images > 1)
        img->shared_size += u->size;
    }
}

/* commit -> the first name (in ref order) pointing at it */
static int
names_by_commit (struct store *s, GHashTable **out, ohr_error_t *err)
{
  g_autoptr (GPtrArray) refs = NULL;
  g_autoptr (GHashTable) map = NULL;
  if (list_refs (s, REF_NAME, &refs, &map, err) < 0)
    return -1;
  GHashTable *names
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < refs->len; i++)
    {
      const char *commit = g_hash_table_lookup (map, refs->pdata[i]);
      if (!g_hash_table_contains (names, commit))
        g_hash_table_insert (names, g_strdup (commit),
                             name_of_ref (refs->pdata[i]));
    }
  *out = names;
  return 0;
}

static int
fill_images (struct store *s, GPtrArray *refs, GHashTable *map,
             struct store_image *v, ohr_error_t *err)
{
  g_autoptr (GHashTable) names = NULL;
  g_autoptr (GPtrArray) sets
      = g_ptr_array_new_with_free_func ((GDestroyNotify)g_hash_table_unref);
  g_autoptr (GHashTable) uses
      = g_hash_table_new_full (ostree_hash_object_name, g_variant_equal,
                               (GDestroyNotify)g_variant_unref, g_free);
  if (names_by_commit (s, &names, err) < 0)
    return -1;
  for (guint i = 0; i < refs->len; i++)
    {
      GHashTable *objects = NULL;
      const char *commit = g_hash_table_lookup (map, refs->pdata[i]);
      if (reachable (s, commit, &objects, err) < 0)
        return -1;
      g_ptr_array_add (sets, objects);
      if (count_uses (s, objects, uses, err) < 0)
        return -1;
      const char *name = g_hash_table_lookup (names, commit);
      v[i].digest = digest_of_ref (refs->pdata[i], REF_IMAGE);
      v[i].name = name ? g_strdup (name) : NULL;
    }
  for (guint i = 0; i < refs->len; i++)
    sum_sizes (sets->pdata[i], uses, &v[i]);
  return 0;
}

int
store_list (struct store *s, struct store_image **out, size_t *n,
            ohr_error_t *err)
{
  g_autoptr (GPtrArray) refs = NULL;
  g_autoptr (GHashTable) map = NULL;
  if (list_refs (s, REF_IMAGE, &refs, &map, err) < 0)
    return ohr_error_wrap (err, "list images");
  struct store_image *v = calloc (refs->len + 1, sizeof *v);
  if (v == NULL)
    return ohr_error_nomem (err);
  if (fill_images (s, refs, map, v, err) < 0)
    {
      store_images_free (v, refs->len);
      return ohr_error_wrap (err, "list images");
    }
  *out = v;
  *n = refs->len;
  return 0;
}

void
store_images_free (struct store_image *v, size_t n)
{
  if (v == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    {
      g_free (v[i].name);
      g_free (v[i].digest);
    }
  free (v);
}

/* ---- removal and gc */

/* Layers that the images other than `except` (a commit, may be NULL) use. */
static int
layers_in_use (struct store *s, const char *except, GHashTable **out,
               ohr_error_t *err)
{
  g_autoptr (GPtrArray) refs = NULL;
  g_autoptr (GHashTable) map = NULL;
  if (list_refs (s, REF_IMAGE, &refs, &map, err) < 0)
    return -1;
  g_autoptr (GHashTable) used
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < refs->len; i++)
    {
      const char *commit = g_hash_table_lookup (map, refs->pdata[i]);
      g_autoptr (GVariant) meta = NULL;
      g_autofree const char **layers = NULL;
      if (except && strcmp (commit, except) == 0)
        continue;
      if (load_commit (s, commit, NULL, &meta, err) < 0)
        return -1;
      if (g_variant_lookup (meta, "ohr.layers", "^a&s", &layers))
        for (const char **l = layers; *l; l++)
          g_hash_table_add (used, g_strdup (*l));
    }
  *out = g_steal_pointer (&used);
  return 0;
}

static int
drop_names_of (struct store *s, const char *commit, ohr_error_t *err)
{
  g_autoptr (GPtrArray) refs = NULL;
  g_autoptr (GHashTable) map = NULL;
  if (list_refs (s, REF_NAME, &refs, &map, err) < 0)
    return -1;
  for (guint i = 0; i < refs->len; i++)
    if (strcmp (g_hash_table_lookup (map, refs->pdata[i]), commit) == 0
        && set_ref_now (s, refs->pdata[i], NULL, err) < 0)
      return -1;
  return 0;
}

/* The layers of the removed image that no other image uses go too, or
 * their objects would outlive every image forever. */
static int
drop_layers_of (struct store *s, const char *commit, ohr_error_t *err)
{
  g_autoptr (GVariant) meta = NULL;
  g_autoptr (GHashTable) used = NULL;
  g_autofree const char **layers = NULL;
  if (load_commit (s, commit, NULL, &meta, err) < 0
      || layers_in_use (s, commit, &used, err) < 0)
    return -1;
  if (!g_variant_lookup (meta, "ohr.layers", "^a&s", &layers))
    return 0;
  for (const char **l = layers; *l; l++)
    {
      if (g_hash_table_contains (used, *l) || !digest_valid (*l))
        continue;
      g_autofree char *ref = ref_for (REF_LAYER, *l);
      if (set_ref_now (s, ref, NULL, err) < 0)
        return -1;
    }
  return 0;
}

static int
remove_locked (struct store *s, const char *digest, ohr_error_t *err)
{
  g_autofree char *commit = NULL;
  if (image_commit (s, digest, &commit, err) < 0)
    return -1;
  /* image ref first: a removal killed half-way leaves garbage for gc,
   * never an image with missing parts */
  g_autofree char *ref = ref_for (REF_IMAGE, digest);
  if (set_ref_now (s, ref, NULL, err) < 0 || drop_names_of (s, commit, err) < 0
      || drop_layers_of (s, commit, err) < 0)
    return -1;
  g_autofree char *path
      = g_build_filename (s->rootfs_dir, digest + strlen ("sha256:"), NULL);
  return remove_tree (path, err);
}

int
store_remove (struct store *s, const char *name_or_digest, ohr_error_t *err)
{
  cleanup_free char *digest = NULL;
  if (store_resolve (s, name_or_digest, &digest, err) < 0)
    return -1;
  cleanup_close int lock = -1;
  if (lock_store (s, &lock, err) < 0 || remove_locked (s, digest, err) < 0)
    return ohr_error_wrap (err, "remove image %s", digest);
  return 0;
}

static bool
is_hex64 (const char *s)
{
  size_t n = 0;
  for (; s[n]; n++)
    if (!g_ascii_isxdigit (s[n]) || g_ascii_isupper (s[n]))
      return false;
  return n == 64;
}

/* Under the lock nobody is checking out: every temp dir is a leftover. */
static bool
stale_checkout (struct store *s, const char *name)
{
  if (g_str_has_prefix (name, TMP_PREFIX))
    return true;
  if (!is_hex64 (name))
    return false;
  g_autofree char *digest = g_strconcat ("sha256:", name, NULL);
  return !store_has_image (s, digest);
}

struct gc_checkouts
{
  struct store *s;
  int *removed;
};

static int
gc_checkout (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct gc_checkouts *gc = ctx;
  if (!stale_checkout (gc->s, e->name))
    return WALK_SKIP;
  if (fs_rm_rf_at (e->dirfd, e->name, err) < 0)
    return ohr_error_wrap (err, "cannot remove '%s/%s'", gc->s->rootfs_dir,
                           e->name);
  (*gc->removed)++;
  return WALK_SKIP;
}

static int
gc_checkouts (struct store *s, int *removed, ohr_error_t *err)
{
  struct gc_checkouts gc = { .s = s, .removed = removed };
  if (walk_tree (AT_FDCWD, s->rootfs_dir, NULL, gc_checkout, &gc, err) < 0)
    return image_error (err, -1);
  return 0;
}

static bool
old_enough (struct store *s, const char *commit)
{
  g_autoptr (GVariant) v = NULL;
  if (load_commit (s, commit, &v, NULL, NULL) < 0)
    return true; /* unreadable: nothing worth keeping */
  guint64 ts = ostree_commit_get_timestamp (v);
  return (guint64)time (NULL) > ts + ORPHAN_LAYER_GRACE_SECONDS;
}

/* Layers no image uses: left by a failed pull (a running one is younger
 * than the grace period) or by a removal killed half-way. */
static int
gc_orphan_layers (struct store *s, ohr_error_t *err)
{
  g_autoptr (GHashTable) used = NULL;
  g_autoptr (GPtrArray) refs = NULL;
  g_autoptr (GHashTable) map = NULL;
  if (layers_in_use (s, NULL, &used, err) < 0
      || list_refs (s, REF_LAYER, &refs, &map, err) < 0)
    return -1;
  for (guint i = 0; i < refs->len; i++)
    {
      g_autofree char *digest = digest_of_ref (refs->pdata[i], REF_LAYER);
      const char *commit = g_hash_table_lookup (map, refs->pdata[i]);
      if (!g_hash_table_contains (used, digest) && old_enough (s, commit)
          && set_ref_now (s, refs->pdata[i], NULL, err) < 0)
        return -1;
    }
  return 0;
}

/* Names whose image went away (a removal killed half-way). */
static int
gc_names (struct store *s, ohr_error_t *err)
{
  g_autoptr (GPtrArray) irefs = NULL, nrefs = NULL;
  g_autoptr (GHashTable) imap = NULL, nmap = NULL;
  if (list_refs (s, REF_IMAGE, &irefs, &imap, err) < 0
      || list_refs (s, REF_NAME, &nrefs, &nmap, err) < 0)
    return -1;
  g_autoptr (GHashTable) live = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < irefs->len; i++)
    g_hash_table_add (live, g_hash_table_lookup (imap, irefs->pdata[i]));
  for (guint i = 0; i < nrefs->len; i++)
    if (!g_hash_table_contains (live,
                                g_hash_table_lookup (nmap, nrefs->pdata[i]))
        && set_ref_now (s, nrefs->pdata[i], NULL, err) < 0)
      return -1;
  return 0;
}

static int
gc_locked (struct store *s, struct store_gc_stats *st, ohr_error_t *err)
{
  if (gc_checkouts (s, &st->checkouts_removed, err) < 0
      || gc_names (s, err) < 0 || gc_orphan_layers (s, err) < 0)
    return -1;
  g_autoptr (GError) gerr = NULL;
  gint total = 0, pruned = 0;
  guint64 freed = 0;
  if (!ostree_repo_prune (s->repo, OSTREE_REPO_PRUNE_FLAGS_REFS_ONLY, 0,
                          &total, &pruned, &freed, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot prune");
  st->objects_removed = pruned;
  st->bytes_freed = freed;
  return 0;
}

int
store_gc (struct store *s, struct store_gc_stats *out, ohr_error_t *err)
{
  struct store_gc_stats st = { 0 };
  cleanup_close int lock = -1;
  if (lock_store (s, &lock, err) < 0 || gc_locked (s, &st, err) < 0)
    return ohr_error_wrap (err, "gc of store '%s'", s->dir);
  if (out)
    *out = st;
  return 0;
}
