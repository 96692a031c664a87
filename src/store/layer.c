/* layer.c: see layer.h */
#define _GNU_SOURCE
#include "store/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/gerror.h"
#include "util/strv.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh." /* aufs bookkeeping: never part of an image */
#define NAME_MAX_LEN 4095
#define DEFAULT_DIR_MODE (S_IFDIR | 0755)

/* ---- errors: GError messages become one-line ohr errors (gerror.h) */

/* Entry names come from an untrusted tar and end up in messages printed on
 * a terminal: escape control characters and bytes that are not UTF-8. */
static char *
printable (const char *s)
{
  GString *out = g_string_new (NULL);
  const char *p = s;
  while (*p && out->len < 300)
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      if (c == (gunichar)-1 || c == (gunichar)-2 || c < 0x20
          || (c >= 0x7f && c < 0xa0))
        {
          g_string_append_printf (out, "\\x%02x", (unsigned char)*p);
          p++;
          continue;
        }
      const char *next = g_utf8_next_char (p);
      g_string_append_len (out, p, next - p);
      p = next;
    }
  if (*p)
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

/* ---- reading the tar */

struct blob_source
{
  int fd;
  struct digest_ctx *digest;
  unsigned char buf[1 << 17];
};

struct reader
{
  OstreeRepo *repo;
  bool rootless;
  OstreeMutableTree *root;
  GHashTable *implicit; /* set of "a/b": directories only implied */
  GHashTable *dirmetas; /* "uid:gid:mode" -> dirmeta checksum */
  char *default_meta;
  char *whiteout_file; /* the empty file every whiteout marker is */
  unsigned whiteouts;
  struct layer_report *report;
  uint64_t max_size; /* of the uncompressed tar stream */
  unsigned char data[1 << 16];
};

/* libarchive pulls the blob through here so that the bytes it parses are
 * exactly the bytes that are hashed. */
static la_ssize_t
blob_read (struct archive *a, void *opaque, const void **buf)
{
  struct blob_source *src = opaque;
  ssize_t n;
  do
    n = read (src->fd, src->buf, sizeof src->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      archive_set_error (a, errno, "cannot read the layer blob");
      return -1;
    }
  digest_update (src->digest, src->buf, (size_t)n);
  *buf = src->buf;
  return n;
}

/* Hash what libarchive did not need (zero padding after the end of the
 * archive), then compare: the digest covers the whole blob. */
static int
verify_digest (struct blob_source *src, const char *digest, ohr_error_t *err)
{
  ssize_t n;
  while ((n = read (src->fd, src->buf, sizeof src->buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                "cannot read the layer blob");
      digest_update (src->digest, src->buf, (size_t)n);
    }
  char got[DIGEST_STRING_LEN + 1];
  digest_final (src->digest, got);
  if (strcmp (got, digest) != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "content does not match its digest (it hashes to "
                          "%s); pull it again",
                          got);
  return 0;
}

static int
too_large (uint64_t max_size, ohr_error_t *err)
{
  return ohr_error_set (err, EFBIG, OHR_ERR_IMAGE,
                        "layer is larger than %" PRIu64
                        " bytes uncompressed, the store's limit; raise "
                        "OCI_HOST_RUNNER_MAX_LAYER_SIZE if the image is "
                        "trusted",
                        max_size);
}

/* The tar stream as libarchive's format reader consumed it, after any
 * decompression: headers, padding and skipped data count, so neither a
 * compression bomb nor a flood of empty entries gets past the limit by
 * more than one read.  declared is what the entry at hand announces. */
static int
check_size (struct reader *r, struct archive *a, uint64_t declared,
            ohr_error_t *err)
{
  la_int64_t used = archive_filter_bytes (a, 0);
  uint64_t total = (used > 0 ? (uint64_t)used : 0) + declared;
  if (total <= r->max_size && declared <= r->max_size)
    return 0;
  return too_large (r->max_size, err);
}

static int refuse_entry (struct reader *r, ohr_error_t *err, const char *name,
                         const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Report a skipped entry; only running out of memory fails. */
static int
refuse_entry (struct reader *r, ohr_error_t *err, const char *name,
              const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *shown = printable (name);
  if (r->report && strv_pushf (&r->report->refused, "%s: %s", shown, why) < 0)
    return ohr_error_nomem (err);
  return 0;
}

/* Refuse the whole layer: the entry is path traversal.  Reported too. */
static int
refuse_layer (struct reader *r, ohr_error_t *err, const char *name,
              const char *why)
{
  refuse_entry (r, err, name, "%s", why);
  g_autofree char *shown = printable (name);
  return ohr_error_set (err, EPERM, OHR_ERR_IMAGE,
                        "entry '%s': %s; the whole layer is refused", shown,
                        why);
}

/* "./a//b/" -> {a, b}; NULL with *why for absolute names and "..". */
static char **
split_path (const char *name, const char **why)
{
  if (name[0] == '/')
    {
      *why = "absolute path (path traversal)";
      return NULL;
    }
  g_auto (GStrv) parts = g_strsplit (name, "/", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (char **p = parts; *p; p++)
    {
      if (**p == '\0' || strcmp (*p, ".") == 0)
        continue;
      if (strcmp (*p, "..") == 0)
        {
          *why = "'..' in path (path traversal)";
          g_ptr_array_free (out, TRUE);
          return NULL;
        }
      g_ptr_array_add (out, g_strdup (*p));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

/* true when a symlink at depth `depth` (components of its directory)
 * pointing at target would leave the root through "..". */
static bool
symlink_escapes (size_t depth, const char *target)
{
  long d = target[0] == '/' ? 0 : (long)depth;
  g_auto (GStrv) parts = g_strsplit (target, "/", -1);
  for (char **p = parts; *p; p++)
    {
      if (**p == '\0' || strcmp (*p, ".") == 0)
        continue;
      if (strcmp (*p, "..") == 0)
        {
          if (--d < 0)
            return true;
        }
      else
        d++;
    }
  return false;
}

static int
write_dirmeta (OstreeRepo *repo, guint32 uid, guint32 gid, guint32 mode,
               char **out, GError **gerr)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new (
      "(uuu@a(ayay))", GUINT32_TO_BE (uid), GUINT32_TO_BE (gid),
      GUINT32_TO_BE (mode),
      g_variant_new_array (G_VARIANT_TYPE ("(ayay)"), NULL, 0)));
  g_autofree guchar *csum = NULL;
  if (!ostree_repo_write_metadata (repo, OSTREE_OBJECT_TYPE_DIR_META, NULL, v,
                                   &csum, NULL, gerr))
    return -1;
  *out = ostree_checksum_from_bytes (csum);
  return 0;
}

int
layer_default_dirmeta (OstreeRepo *repo, char **out_checksum, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (write_dirmeta (repo, 0, 0, DEFAULT_DIR_MODE, out_checksum, &gerr) < 0)
    return ohr_error_gerror (err, gerr, "cannot write directory metadata");
  return 0;
}

/* Directories share few distinct (uid, gid, mode): write each once. */
static const char *
dirmeta_for (struct reader *r, guint32 uid, guint32 gid, guint32 mode,
             ohr_error_t *err)
{
  g_autofree char *key = g_strdup_printf ("%u:%u:%o", uid, gid, mode);
  const char *have = g_hash_table_lookup (r->dirmetas, key);
  if (have)
    return have;
  g_autoptr (GError) gerr = NULL;
  char *csum = NULL;
  if (write_dirmeta (r->repo, uid, gid, mode, &csum, &gerr) < 0)
    {
      ohr_error_gerror (err, gerr, "cannot write directory metadata");
      return NULL;
    }
  g_hash_table_insert (r->dirmetas, g_steal_pointer (&key), csum);
  return csum;
}

static char *
join_prefix (char **comps, size_t n)
{
  GString *s = g_string_new (NULL);
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        g_string_append_c (s, '/');
      g_string_append (s, comps[i]);
    }
  return g_string_free (s, FALSE);
}

/* The directory holding comps[n-1], creating implied parents.  *out is
 * NULL (and the entry reported) when a parent is not a directory here:
 * unlike an extraction, a tree never writes through a symlink. */
static int
parent_dir (struct reader *r, const char *name, char **comps, size_t n,
            OstreeMutableTree **out, ohr_error_t *err)
{
  OstreeMutableTree *cur = r->root;
  *out = NULL;
  for (size_t i = 0; i + 1 < n; i++)
    {
      OstreeMutableTree *next = g_hash_table_lookup (
          ostree_mutable_tree_get_subdirs (cur), comps[i]);
      if (next == NULL
          && g_hash_table_contains (ostree_mutable_tree_get_files (cur),
                                    comps[i]))
        {
          /* a whiteout below an entry this layer replaced by a
           * non-directory (umoci writes "d -> etc" then "d/.wh.x"): the
           * replacement already hides everything below, and following
           * the symlink, as umoci does, would delete elsewhere */
          if (g_str_has_prefix (comps[n - 1], WH_PREFIX))
            return 0;
          g_autofree char *p = join_prefix (comps, i + 1);
          g_autofree char *shown = printable (p);
          return refuse_entry (r, err, name,
                               "'%s' is not a directory in this layer", shown);
        }
      if (next == NULL)
        {
          g_autoptr (GError) gerr = NULL;
          g_autoptr (OstreeMutableTree) made = NULL;
          if (!ostree_mutable_tree_ensure_dir (cur, comps[i], &made, &gerr))
            return ohr_error_gerror (err, gerr, "cannot add directory");
          ostree_mutable_tree_set_metadata_checksum (made, r->default_meta);
          g_hash_table_add (r->implicit, join_prefix (comps, i + 1));
          next = made; /* the parent holds a reference */
        }
      cur = next;
    }
  *out = cur;
  return 0;
}

/* Later entries win, as when a tar is extracted. */
static int
put_file (OstreeMutableTree *dir, const char *leaf, const char *csum,
          ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_mutable_tree_remove (dir, leaf, TRUE, &gerr)
      || !ostree_mutable_tree_replace_file (dir, leaf, csum, &gerr))
    return ohr_error_gerror (err, gerr, "cannot add file");
  return 0;
}

static int
put_dir (struct reader *r, OstreeMutableTree *dir, const char *leaf,
         const char *path, const char *meta, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (OstreeMutableTree) sub = NULL;
  if (g_hash_table_contains (ostree_mutable_tree_get_files (dir), leaf)
      && !ostree_mutable_tree_remove (dir, leaf, TRUE, &gerr))
    return ohr_error_gerror (err, gerr, "cannot replace file");
  if (!ostree_mutable_tree_ensure_dir (dir, leaf, &sub, &gerr))
    return ohr_error_gerror (err, gerr, "cannot add directory");
  ostree_mutable_tree_set_metadata_checksum (sub, meta);
  g_hash_table_remove (r->implicit, path);
  return 0;
}

/* A sanitized view of one tar entry. */
struct entry
{
  const char *name; /* as in the tar, for reports */
  char **comps;     /* normalized path components */
  size_t n;
  char *path;  /* comps joined: "a/b" */
  char *shown; /* path escaped for messages */
  guint32 uid, gid, mode;
};

static int
write_regfile (struct reader *r, struct archive *a, struct archive_entry *ae,
               const struct entry *e, char **out, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  int64_t size = archive_entry_size (ae);
  if (size < 0)
    size = 0;
  if (check_size (r, a, (uint64_t)size, err) < 0)
    return -1;
  g_autoptr (OstreeContentWriter) w = ostree_repo_write_regfile (
      r->repo, NULL, e->uid, e->gid, S_IFREG | e->mode, (guint64)size, NULL,
      &gerr);
  if (w == NULL)
    return ohr_error_gerror (err, gerr, "cannot store '%s'", e->shown);
  int64_t done = 0;
  for (;;)
    {
      la_ssize_t n = archive_read_data (a, r->data, sizeof r->data);
      if (n < 0)
        return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                              "corrupt layer at '%s': %s", e->shown,
                              archive_error_string (a));
      if (n == 0)
        break;
      if (check_size (r, a, 0, err) < 0)
        return -1;
      if (done + n > size
          || !g_output_stream_write_all (G_OUTPUT_STREAM (w), r->data,
                                         (gsize)n, NULL, NULL, &gerr))
        return gerr ? ohr_error_gerror (err, gerr, "cannot store '%s'",
                                        e->shown)
                    : ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                                     "corrupt layer: '%s' is longer than "
                                     "its header says",
                                     e->shown);
      done += n;
    }
  if (done != size)
    return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                          "corrupt layer: '%s' is truncated", e->shown);
  *out = ostree_content_writer_finish (w, NULL, &gerr);
  if (*out == NULL)
    return ohr_error_gerror (err, gerr, "cannot store '%s'", e->shown);
  return 0;
}

static int
add_whiteout (struct reader *r, OstreeMutableTree *dir, const struct entry *e,
              ohr_error_t *err)
{
  const char *leaf = e->comps[e->n - 1];
  if (g_str_has_prefix (leaf, WH_META) && strcmp (leaf, WH_OPAQUE) != 0)
    return 0;
  const char *target = leaf + strlen (WH_PREFIX);
  if (strcmp (leaf, WH_OPAQUE) != 0
      && (!*target || strcmp (target, ".") == 0 || strcmp (target, "..") == 0))
    return refuse_entry (r, err, e->name, "invalid whiteout");
  if (r->whiteout_file == NULL)
    {
      g_autoptr (GError) gerr = NULL;
      r->whiteout_file = ostree_repo_write_regfile_inline (
          r->repo, NULL, 0, 0, S_IFREG | 0644, NULL, (const guint8 *)"", 0,
          NULL, &gerr);
      if (r->whiteout_file == NULL)
        return ohr_error_gerror (err, gerr, "cannot store a whiteout");
    }
  r->whiteouts++;
  return put_file (dir, leaf, r->whiteout_file, err);
}

static OstreeMutableTree *
lookup_file_dir (struct reader *r, char **comps, size_t n)
{
  OstreeMutableTree *cur = r->root;
  for (size_t i = 0; cur && i + 1 < n; i++)
    cur = g_hash_table_lookup (ostree_mutable_tree_get_subdirs (cur),
                               comps[i]);
  return cur;
}

/* A hardlink is another name for a file of this layer: in ostree both
 * names point to the same content object. */
static int
add_hardlink (struct reader *r, OstreeMutableTree *dir, const struct entry *e,
              const char *target, ohr_error_t *err)
{
  const char *why = NULL;
  g_auto (GStrv) comps = split_path (target, &why);
  if (comps == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("hardlink target %s", why);
      return refuse_layer (r, err, e->name, msg);
    }
  size_t n = g_strv_length (comps);
  OstreeMutableTree *tdir = n ? lookup_file_dir (r, comps, n) : NULL;
  const char *csum = tdir ? g_hash_table_lookup (
                         ostree_mutable_tree_get_files (tdir), comps[n - 1])
                          : NULL;
  if (csum == NULL)
    {
      g_autofree char *shown = printable (target);
      return refuse_entry (r, err, e->name,
                           "hardlink target '%s' is not a file of this layer",
                           shown);
    }
  g_autofree char *keep = g_strdup (csum); /* put_file may free it */
  return put_file (dir, e->comps[e->n - 1], keep, err);
}

static int
add_symlink (struct reader *r, OstreeMutableTree *dir,
             struct archive_entry *ae, const struct entry *e, ohr_error_t *err)
{
  const char *target = archive_entry_symlink_utf8 (ae);
  if (target == NULL)
    target = archive_entry_symlink (ae);
  if (target == NULL || !*target)
    return refuse_entry (r, err, e->name, "symlink without a target");
  if (!g_utf8_validate (target, -1, NULL) || strlen (target) > NAME_MAX_LEN)
    return refuse_entry (r, err, e->name,
                         "symlink target is not UTF-8 or too long");
  if (symlink_escapes (e->n - 1, target))
    {
      g_autofree char *shown = printable (target);
      return refuse_entry (r, err, e->name,
                           "symlink target '%s' escapes the tree", shown);
    }
  g_autoptr (GError) gerr = NULL;
  g_autofree char *csum = ostree_repo_write_symlink (
      r->repo, NULL, e->uid, e->gid, NULL, target, NULL, &gerr);
  if (csum == NULL)
    return ohr_error_gerror (err, gerr, "cannot store '%s'", e->shown);
  return put_file (dir, e->comps[e->n - 1], csum, err);
}

static int
add_regfile (struct reader *r, OstreeMutableTree *dir, struct archive *a,
             struct archive_entry *ae, const struct entry *e, ohr_error_t *err)
{
  g_autofree char *csum = NULL;
  if (write_regfile (r, a, ae, e, &csum, err) < 0)
    return -1;
  return put_file (dir, e->comps[e->n - 1], csum, err);
}

static int
add_directory (struct reader *r, OstreeMutableTree *dir, const struct entry *e,
               ohr_error_t *err)
{
  const char *meta = dirmeta_for (r, e->uid, e->gid, S_IFDIR | e->mode, err);
  if (meta == NULL)
    return -1;
  if (e->n == 0)
    {
      ostree_mutable_tree_set_metadata_checksum (r->root, meta);
      g_hash_table_remove (r->implicit, "");
      return 0;
    }
  return put_dir (r, dir, e->comps[e->n - 1], e->path, meta, err);
}

/* Everything that is neither refused outright nor stored. */
static const char *
unstorable (struct reader *r, mode_t type)
{
  switch (type)
    {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFLNK:
      return NULL;
    case AE_IFCHR:
    case AE_IFBLK:
      return r->rootless ? "device node refused in rootless mode"
                         : "device node not stored (a container gets its "
                           "own /dev)";
    case AE_IFIFO:
      return "fifo not stored";
    case AE_IFSOCK:
      return "socket not stored";
    default:
      return "unknown entry type";
    }
}

/* Ownership and permission bits, setuid and setgid stripped (layer.h). */
static int
entry_owner_mode (struct reader *r, struct archive_entry *ae, struct entry *e)
{
  int64_t uid = archive_entry_uid (ae), gid = archive_entry_gid (ae);
  if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
    return -1;
  e->uid = (guint32)uid;
  e->gid = (guint32)gid;
  e->mode = archive_entry_perm (ae) & 07777;
  mode_t type = archive_entry_filetype (ae);
  if ((e->mode & (S_ISUID | S_ISGID)) && (type == AE_IFREG || type == AE_IFDIR)
      && archive_entry_hardlink (ae) == NULL)
    {
      e->mode &= ~(mode_t)(S_ISUID | S_ISGID);
      if (r->report)
        r->report->stripped++;
    }
  return 0;
}

static int
add_typed (struct reader *r, OstreeMutableTree *dir, struct archive *a,
           struct archive_entry *ae, const struct entry *e, ohr_error_t *err)
{
  const char *hardlink = archive_entry_hardlink_utf8 (ae);
  if (hardlink == NULL)
    hardlink = archive_entry_hardlink (ae);
  if (e->n > 0 && g_str_has_prefix (e->comps[e->n - 1], WH_PREFIX))
    return add_whiteout (r, dir, e, err);
  if (hardlink)
    return e->n ? add_hardlink (r, dir, e, hardlink, err)
                : refuse_entry (r, err, e->name, "hardlink as the root");
  mode_t type = archive_entry_filetype (ae);
  if (type == AE_IFDIR)
    return add_directory (r, dir, e, err);
  if (e->n == 0)
    return refuse_entry (r, err, e->name, "the root must be a directory");
  if (type == AE_IFLNK)
    return add_symlink (r, dir, ae, e, err);
  return add_regfile (r, dir, a, ae, e, err);
}

static int
add_entry (struct reader *r, struct archive *a, struct archive_entry *ae,
           ohr_error_t *err)
{
  struct entry e = { 0 };
  e.name = archive_entry_pathname_utf8 (ae);
  if (e.name == NULL)
    e.name = archive_entry_pathname (ae);
  if (e.name == NULL)
    return refuse_entry (r, err, "(no name)", "entry without a name");
  const char *why = NULL;
  g_auto (GStrv) comps = split_path (e.name, &why);
  if (comps == NULL)
    return refuse_layer (r, err, e.name, why);
  if (!g_utf8_validate (e.name, -1, NULL) || strlen (e.name) > NAME_MAX_LEN)
    return refuse_entry (r, err, e.name, "name is not UTF-8 or too long");
  const char *skip = unstorable (r, archive_entry_filetype (ae));
  if (skip && archive_entry_hardlink (ae) == NULL)
    return refuse_entry (r, err, e.name, "%s", skip);
  if (entry_owner_mode (r, ae, &e) < 0)
    return refuse_entry (r, err, e.name, "uid or gid out of range");
  e.comps = comps;
  e.n = g_strv_length (comps);
  g_autofree char *path = join_prefix (comps, e.n);
  g_autofree char *shown = printable (path);
  e.path = path;
  e.shown = shown;
  OstreeMutableTree *dir = r->root;
  if (e.n > 0 && parent_dir (r, e.name, comps, e.n, &dir, err) < 0)
    return -1;
  if (dir == NULL)
    return 0; /* refused and reported by parent_dir */
  return add_typed (r, dir, a, ae, &e, err);
}

static int
read_entries (struct reader *r, struct archive *a, ohr_error_t *err)
{
  for (;;)
    {
      struct archive_entry *ae = NULL;
      int rc = archive_read_next_header (a, &ae);
      if (rc == ARCHIVE_EOF)
        return 0;
      /* ARCHIVE_WARN: e.g. a name libarchive could not convert; the entry
       * itself is usable and checked like any other */
      if (rc < ARCHIVE_WARN)
        return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                              "not a valid tar layer: %s",
                              archive_error_string (a));
      if (check_size (r, a, 0, err) < 0)
        return -1;
      if (add_entry (r, a, ae, err) < 0)
        return -1;
    }
}

static struct archive *
new_tar_reader (void)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return NULL;
  /* Only what OCI layers are: tar (ustar, pax, GNU), raw, gzip or zstd. */
  archive_read_support_format_tar (a);
  archive_read_support_filter_gzip (a);
  /* ARCHIVE_WARN would mean "through an external zstd program": refuse to
   * spawn one, and let such a blob fail as "not a tar" instead */
  if (archive_read_support_filter_zstd (a) != ARCHIVE_OK)
    {
      archive_read_free (a);
      a = archive_read_new ();
      if (a == NULL)
        return NULL;
      archive_read_support_format_tar (a);
      archive_read_support_filter_gzip (a);
    }
  return a;
}

static void
reader_free (struct reader *r)
{
  if (r == NULL)
    return;
  g_clear_object (&r->root);
  g_clear_pointer (&r->implicit, g_hash_table_unref);
  g_clear_pointer (&r->dirmetas, g_hash_table_unref);
  g_free (r->default_meta);
  g_free (r->whiteout_file);
  free (r);
}

static struct reader *
reader_new (OstreeRepo *repo, bool rootless, struct layer_report *report,
            ohr_error_t *err)
{
  struct reader *r = calloc (1, sizeof *r);
  if (r == NULL)
    {
      ohr_error_nomem (err);
      return NULL;
    }
  r->repo = repo;
  r->rootless = rootless;
  r->report = report;
  r->root = ostree_mutable_tree_new ();
  r->implicit = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r->dirmetas
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_add (r->implicit, g_strdup (""));
  if (layer_default_dirmeta (repo, &r->default_meta, err) < 0)
    {
      reader_free (r);
      return NULL;
    }
  ostree_mutable_tree_set_metadata_checksum (r->root, r->default_meta);
  return r;
}

static int
finish_tree (struct reader *r, struct layer_tree *out, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_write_mtree (r->repo, r->root, &root, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot write the layer tree");
  char **implicit = NULL;
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, r->implicit);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (strv_push (&implicit, key) < 0)
      {
        strv_free (implicit);
        return ohr_error_nomem (err);
      }
  out->contents
      = g_strdup (ostree_mutable_tree_get_contents_checksum (r->root));
  out->metadata
      = g_strdup (ostree_mutable_tree_get_metadata_checksum (r->root));
  out->implicit_dirs = implicit;
  out->whiteouts = r->whiteouts;
  return 0;
}

DEFINE_CLEANUP_FREE (reader, struct reader, reader_free)
DEFINE_CLEANUP_FREE (archive, struct archive, archive_read_free)
DEFINE_CLEANUP_FREE (digest, struct digest_ctx, digest_free)

/* The first pass: the blob hashes to digest and decompresses to at most
 * max_size bytes, found without writing anything.  ostree keeps what an
 * aborted transaction staged (to resume pulls) and moves it into objects/
 * with the next commit, so a layer refused half-way would leave up to
 * max_size of garbage behind; checked first, it leaves nothing.  Costs one
 * more read and decompression of each layer, once per image. */
static int
precheck_blob (struct blob_source *src, const char *digest, uint64_t max_size,
               ohr_error_t *err)
{
  CLEANUP (archive) struct archive *a = archive_read_new ();
  if (a == NULL)
    return ohr_error_nomem (err);
  archive_read_support_format_raw (a);
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a); /* a WARN (external program): the
                                           tar pass refuses such a blob */
  struct archive_entry *ae = NULL;
  if (archive_read_open (a, src, NULL, blob_read, NULL) != ARCHIVE_OK
      || archive_read_next_header (a, &ae) != ARCHIVE_OK)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "not a tar, tar+gzip or tar+zstd layer: %s",
                          archive_error_string (a));
  static unsigned char sink[1 << 16];
  uint64_t total = 0;
  la_ssize_t n;
  while ((n = archive_read_data (a, sink, sizeof sink)) > 0)
    if ((total += (uint64_t)n) > max_size)
      return too_large (max_size, err);
  if (n < 0)
    return ohr_error_set (err, EIO, OHR_ERR_IMAGE, "corrupt layer: %s",
                          archive_error_string (a));
  if (verify_digest (src, digest, err) < 0)
    return -1;
  if (lseek (src->fd, 0, SEEK_SET) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                            "cannot read the layer blob again");
  return 0;
}

int
layer_read (OstreeRepo *repo, int fd, const char *digest, bool rootless,
            uint64_t max_size, struct layer_tree *out,
            struct layer_report *report, ohr_error_t *err)
{
  cleanup_free struct blob_source *src = calloc (1, sizeof *src);
  CLEANUP (archive) struct archive *a = new_tar_reader ();
  CLEANUP (digest) struct digest_ctx *first = digest_new ();
  CLEANUP (digest) struct digest_ctx *dg = digest_new ();
  if (src == NULL || a == NULL || first == NULL || dg == NULL)
    return ohr_error_nomem (err);
  src->fd = fd;
  src->digest = first;
  /* before the reader, which writes the default directory metadata */
  if (precheck_blob (src, digest, max_size, err) < 0)
    return -1;
  CLEANUP (reader) struct reader *r = reader_new (repo, rootless, report, err);
  if (r == NULL)
    return -1;
  r->max_size = max_size;
  /* hashed again: what is imported is what was checked */
  src->digest = dg;
  if (archive_read_open (a, src, NULL, blob_read, NULL) != ARCHIVE_OK)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "not a tar, tar+gzip or tar+zstd layer: %s",
                          archive_error_string (a));
  if (read_entries (r, a, err) < 0 || verify_digest (src, digest, err) < 0)
    return -1;
  return finish_tree (r, out, err);
}

void
layer_tree_clear (struct layer_tree *t)
{
  if (t == NULL)
    return;
  g_free (t->contents);
  g_free (t->metadata);
  strv_free (t->implicit_dirs);
  memset (t, 0, sizeof *t);
}

void
layer_report_clear (struct layer_report *r)
{
  if (r == NULL)
    return;
  strv_free (r->refused);
  r->refused = NULL;
  r->stripped = 0;
}

/* ---- merging layer trees */

struct applier
{
  OstreeRepo *repo;
  OstreeMutableTree *root; /* of the merge */
  GHashTable *implicit;    /* of the layer being applied */
  bool graft;              /* the layer has no whiteouts: reuse its subtrees */
  GString *path;
};

static int apply_dir (struct applier *ap, OstreeMutableTree *m,
                      const char *contents, ohr_error_t *err);

static int
merged_tables (OstreeMutableTree *m, GHashTable **files, GHashTable **dirs,
               ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  /* these load a lazy tree; a failure is only visible through check_error */
  *files = ostree_mutable_tree_get_files (m);
  *dirs = ostree_mutable_tree_get_subdirs (m);
  if (!ostree_mutable_tree_check_error (m, &gerr))
    return ohr_error_gerror (err, gerr, "cannot read the merged tree");
  return 0;
}

static int
remove_entry (OstreeMutableTree *m, const char *name, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  if (!ostree_mutable_tree_remove (m, name, TRUE, &gerr))
    return ohr_error_gerror (err, gerr, "cannot remove '%s'", name);
  return 0;
}

/* An opaque directory hides everything below it. */
static int
clear_dir (OstreeMutableTree *m, ohr_error_t *err)
{
  GHashTable *files, *dirs;
  if (merged_tables (m, &files, &dirs, err) < 0)
    return -1;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, files);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_hash_table_iter_init (&it, dirs);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  /* through the API, not the tables: it invalidates cached checksums */
  for (guint i = 0; i < names->len; i++)
    if (remove_entry (m, names->pdata[i], err) < 0)
      return -1;
  return 0;
}

/* Whiteouts act on the layers below, so they go before this layer's own
 * entries of the same directory. */
static int
apply_whiteouts (OstreeMutableTree *m, GVariant *files, ohr_error_t *err)
{
  GVariantIter it;
  const char *name;
  g_variant_iter_init (&it, files);
  while (g_variant_iter_next (&it, "(&s@ay)", &name, NULL))
    if (strcmp (name, WH_OPAQUE) == 0 && clear_dir (m, err) < 0)
      return -1;
  g_variant_iter_init (&it, files);
  while (g_variant_iter_next (&it, "(&s@ay)", &name, NULL))
    if (g_str_has_prefix (name, WH_PREFIX) && !g_str_has_prefix (name, WH_META)
        && remove_entry (m, name + strlen (WH_PREFIX), err) < 0)
      return -1;
  return 0;
}

static int
apply_files (OstreeMutableTree *m, GVariant *files, ohr_error_t *err)
{
  GVariantIter it;
  const char *name;
  GVariant *csum_v;
  g_variant_iter_init (&it, files);
  while (g_variant_iter_loop (&it, "(&s@ay)", &name, &csum_v))
    {
      if (g_str_has_prefix (name, WH_PREFIX))
        continue;
      char csum[OSTREE_SHA256_STRING_LEN + 1];
      ostree_checksum_inplace_from_bytes (g_variant_get_data (csum_v), csum);
      /* a file (or symlink) replaces a directory of the layers below */
      if (put_file (m, name, csum, err) < 0)
        return -1;
    }
  return 0;
}

#define MAX_SYMLINK_HOPS 40

/* Push the components of path on todo, last first, so they pop in order. */
static void
push_components (GPtrArray *todo, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (guint n = g_strv_length (parts); n > 0; n--)
    g_ptr_array_add (todo, g_strdup (parts[n - 1]));
}

static char *
pop_component (GPtrArray *todo)
{
  return g_ptr_array_steal_index (todo, todo->len - 1);
}

/* The target of the symlink object csum; NULL for anything else. */
static int
symlink_target (OstreeRepo *repo, const char *csum, char **out,
                ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GFileInfo) info = NULL;
  if (!ostree_repo_load_file (repo, csum, NULL, &info, NULL, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot read object %s", csum);
  *out = g_file_info_get_file_type (info) == G_FILE_TYPE_SYMBOLIC_LINK
             ? g_strdup (g_file_info_get_symlink_target (info))
             : NULL;
  return 0;
}

/* One step of a walk: into a subdirectory, or through a symlink (its
 * target's components go on todo); *ended when it leads nowhere. */
static int
walk_step (struct applier *ap, GPtrArray *dirs, GPtrArray *todo,
           const char *comp, int *hops, bool *ended, ohr_error_t *err)
{
  GHashTable *files, *subdirs;
  if (merged_tables (dirs->pdata[dirs->len - 1], &files, &subdirs, err) < 0)
    return -1;
  OstreeMutableTree *sub = g_hash_table_lookup (subdirs, comp);
  const char *csum = g_hash_table_lookup (files, comp);
  g_autofree char *target = NULL;
  if (sub)
    {
      g_ptr_array_add (dirs, sub);
      return 0;
    }
  if (csum == NULL || ++*hops > MAX_SYMLINK_HOPS)
    {
      *ended = true;
      return 0;
    }
  if (symlink_target (ap->repo, csum, &target, err) < 0)
    return -1;
  if (target == NULL)
    {
      *ended = true; /* a regular file where a directory should be */
      return 0;
    }
  if (target[0] == '/')
    g_ptr_array_set_size (dirs, 1);
  push_components (todo, target);
  return 0;
}

/* Resolve path in the merged tree as the kernel would inside the root
 * ("/.." is "/"): *out is the directory it leads to, or NULL (dangling,
 * a loop, not a directory). */
static int
resolve_dir (struct applier *ap, const char *path, OstreeMutableTree **out,
             ohr_error_t *err)
{
  g_autoptr (GPtrArray) todo = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) dirs = g_ptr_array_new ();
  g_ptr_array_add (dirs, ap->root);
  push_components (todo, path);
  int hops = 0;
  bool ended = false;
  *out = NULL;
  while (todo->len > 0 && !ended)
    {
      g_autofree char *comp = pop_component (todo);
      if (*comp == '\0' || strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          if (dirs->len > 1)
            g_ptr_array_set_size (dirs, dirs->len - 1);
          continue;
        }
      if (walk_step (ap, dirs, todo, comp, &hops, &ended, err) < 0)
        return -1;
    }
  if (!ended)
    *out = dirs->pdata[dirs->len - 1];
  return 0;
}

/* A directory the layer only implies, where the merge has a symlink:
 * umoci and containerd write through it (inside the root), so the
 * layer's entries land where it points. */
static int
apply_through_symlink (struct applier *ap, const char *tree, bool *done,
                       ohr_error_t *err)
{
  OstreeMutableTree *target = NULL;
  *done = false;
  if (resolve_dir (ap, ap->path->str, &target, err) < 0)
    return -1;
  if (target == NULL)
    return 0;
  *done = true;
  return apply_dir (ap, target, tree, err);
}

/* One subdirectory of the layer over whatever the merge has there. */
static int
apply_subdir (struct applier *ap, OstreeMutableTree *m, const char *name,
              const char *tree, const char *meta, ohr_error_t *err)
{
  GHashTable *files, *dirs;
  if (merged_tables (m, &files, &dirs, err) < 0)
    return -1;
  bool explicit = !g_hash_table_contains (ap->implicit, ap->path->str);
  if (g_hash_table_contains (files, name) && !explicit)
    {
      bool done = false;
      if (apply_through_symlink (ap, tree, &done, err) < 0)
        return -1;
      if (done)
        return 0;
    }
  /* a directory entry replaces a file below, a symlink included: decided
   * here in the tree, so no union checkout ever meets a symlink where a
   * directory should go */
  if (g_hash_table_contains (files, name) && remove_entry (m, name, err) < 0)
    return -1;
  OstreeMutableTree *sub = g_hash_table_lookup (dirs, name);
  g_autoptr (OstreeMutableTree) made = NULL;
  if (sub == NULL)
    {
      g_autoptr (GError) gerr = NULL;
      if (!ostree_mutable_tree_ensure_dir (m, name, &made, &gerr))
        return ohr_error_gerror (err, gerr, "cannot add directory '%s'", name);
      /* new here and free of whiteouts: the layer's subtree as it is,
       * loaded only if a later layer changes it */
      if (ap->graft
          && ostree_mutable_tree_fill_empty_from_dirtree (made, ap->repo, tree,
                                                          meta))
        return 0;
      sub = made;
      explicit = true; /* nothing below: even implied metadata is the one */
    }
  if (explicit)
    ostree_mutable_tree_set_metadata_checksum (sub, meta);
  return apply_dir (ap, sub, tree, err);
}

static int
apply_subdirs (struct applier *ap, OstreeMutableTree *m, GVariant *dirs,
               ohr_error_t *err)
{
  GVariantIter it;
  const char *name;
  GVariant *tree_v, *meta_v;
  g_variant_iter_init (&it, dirs);
  while (g_variant_iter_loop (&it, "(&s@ay@ay)", &name, &tree_v, &meta_v))
    {
      char tree[OSTREE_SHA256_STRING_LEN + 1];
      char meta[OSTREE_SHA256_STRING_LEN + 1];
      ostree_checksum_inplace_from_bytes (g_variant_get_data (tree_v), tree);
      ostree_checksum_inplace_from_bytes (g_variant_get_data (meta_v), meta);
      gsize len = ap->path->len;
      if (len)
        g_string_append_c (ap->path, '/');
      g_string_append (ap->path, name);
      int rc = apply_subdir (ap, m, name, tree, meta, err);
      g_string_truncate (ap->path, len);
      if (rc < 0)
        {
          g_variant_unref (tree_v);
          g_variant_unref (meta_v);
          return -1;
        }
    }
  return 0;
}

static int
apply_dir (struct applier *ap, OstreeMutableTree *m, const char *contents,
           ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (GVariant) dirtree = NULL;
  if (!ostree_repo_load_variant (ap->repo, OSTREE_OBJECT_TYPE_DIR_TREE,
                                 contents, &dirtree, &gerr))
    return ohr_error_gerror (err, gerr, "cannot read layer tree");
  g_autoptr (GVariant) files = g_variant_get_child_value (dirtree, 0);
  g_autoptr (GVariant) dirs = g_variant_get_child_value (dirtree, 1);
  if (apply_whiteouts (m, files, err) < 0 || apply_files (m, files, err) < 0)
    return -1;
  return apply_subdirs (ap, m, dirs, err);
}

int
layer_apply (OstreeRepo *repo, OstreeMutableTree *merged,
             const struct layer_tree *t, ohr_error_t *err)
{
  g_autoptr (GHashTable) implicit = g_hash_table_new (g_str_hash, g_str_equal);
  for (char **p = t->implicit_dirs; p && *p; p++)
    g_hash_table_add (implicit, *p);
  bool root_implicit = g_hash_table_contains (implicit, "");
  if (t->whiteouts == 0 && !ostree_mutable_tree_get_metadata_checksum (merged)
      && ostree_mutable_tree_fill_empty_from_dirtree (
          merged, repo, t->contents, t->metadata))
    return 0; /* the bottom layer: taken whole, read lazily */
  if (!root_implicit || !ostree_mutable_tree_get_metadata_checksum (merged))
    ostree_mutable_tree_set_metadata_checksum (merged, t->metadata);
  struct applier ap = {
    .repo = repo,
    .root = merged,
    .implicit = implicit,
    .graft = t->whiteouts == 0,
    .path = g_string_new (NULL),
  };
  int rc = apply_dir (&ap, merged, t->contents, err);
  g_string_free (ap.path, TRUE);
  return rc;
}
