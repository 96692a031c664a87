/* fuzz-layer.c: libFuzzer target for layer_read, the import of an
 * untrusted layer blob (tar, tar+gzip or tar+zstd) into an ostree repo,
 * and layer_apply, which lays the result over a base image.
 *
 * The input is the blob; its own sha256 is the digest it must match, so
 * every input that is a tar gets imported.  The repo is a real one in a
 * scratch directory (fuzz-tmpdir.h; fsync off; remade every RESET_EVERY inputs
 * so that objects do not pile up), with a base layer of directories, files and
 * symlinks made once per repo.  Beyond "no crash, no leak":
 *  - a failure is one line of kind image (or ENOMEM), and the same for an
 *    entry refused: reports carry no control character;
 *  - an imported tree has no setuid or setgid file or directory, no entry
 *    named "", "." or ".." or with a '/', no symlink that climbs out of
 *    the root, and no deeper than the tar could make it;
 *  - layer_apply over the base succeeds or fails with one line.
 * The uncompressed limit is small (MAX_SIZE), so inputs reach it. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ostree.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-tmpdir.h"
#include "store/layer.h"
#include "util/digest.h"

#define MAX_SIZE (256 * 1024)
#define RESET_EVERY 4000
#define MAX_DEPTH 4096

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char dir[64];
static OstreeRepo *repo;
static struct layer_tree base;
static unsigned runs;

static void
check_message (const char *msg)
{
  if (msg == NULL)
    abort ();
  for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      abort ();
}

/* Import data as a layer; 0 and *out on success. */
static int
import (const void *data, size_t size, struct layer_tree *out,
        struct layer_report *rep, ohr_error_t *err)
{
  char digest[DIGEST_STRING_LEN + 1];
  digest_sha256 (data, size, digest);
  int fd = memfd_create ("layer", MFD_CLOEXEC);
  if (fd < 0 || (size && write (fd, data, size) != (ssize_t)size)
      || lseek (fd, 0, SEEK_SET) != 0)
    abort ();
  int r = layer_read (repo, fd, digest, false, MAX_SIZE, out, rep, err);
  close (fd);
  return r;
}

/* The base: the directories and links images have (merged /usr, a link
 * loop, an absolute link, a link to a file), for layers to land on. */
static void
make_base (void)
{
  static const char *const links[][2] = { { "bin", "usr/bin" },
                                          { "lib", "usr/lib" },
                                          { "etc/abs", "/usr" },
                                          { "loop", "loop" },
                                          { "file-link", "etc/os-release" } };
  struct archive *a = archive_write_new ();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  archive_write_set_format_pax_restricted (a);
  if (f == NULL || archive_write_open_FILE (a, f) != ARCHIVE_OK)
    abort ();
  struct archive_entry *e = archive_entry_new ();
  const char *dirs[] = { "etc", "usr", "usr/bin", "usr/lib", "var" };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      archive_entry_clear (e);
      archive_entry_set_pathname (e, dirs[i]);
      archive_entry_set_filetype (e, AE_IFDIR);
      archive_entry_set_perm (e, 0755);
      archive_write_header (a, e);
    }
  archive_entry_clear (e);
  archive_entry_set_pathname (e, "etc/os-release");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, 3);
  archive_write_header (a, e);
  archive_write_data (a, "id\n", 3);
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    {
      archive_entry_clear (e);
      archive_entry_set_pathname (e, links[i][0]);
      archive_entry_set_filetype (e, AE_IFLNK);
      archive_entry_set_perm (e, 0777);
      archive_entry_set_symlink (e, links[i][1]);
      archive_write_header (a, e);
    }
  archive_entry_free (e);
  archive_write_close (a);
  archive_write_free (a);
  fclose (f);
  struct layer_report rep = { 0 };
  ohr_error_t err = NULL;
  if (import (buf, len, &base, &rep, &err) < 0 || rep.refused)
    abort ();
  free (buf);
}

static void
open_repo (void)
{
  char path[128];
  snprintf (path, sizeof path, "%s/repo", dir);
  g_autoptr (GError) gerr = NULL;
  OstreeRepoMode mode
      = geteuid () == 0 ? OSTREE_REPO_MODE_BARE : OSTREE_REPO_MODE_BARE_USER;
  repo = ostree_repo_create_at (AT_FDCWD, path, mode, NULL, NULL, &gerr);
  if (repo == NULL)
    abort ();
  ostree_repo_set_disable_fsync (repo, TRUE);
  if (!ostree_repo_prepare_transaction (repo, NULL, NULL, &gerr))
    abort ();
  make_base ();
}

static void
remove_dir (void)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s/repo'", dir);
  if (system (cmd) != 0)
    abort ();
}

static void
close_repo (void)
{
  ostree_repo_abort_transaction (repo, NULL, NULL);
  g_clear_object (&repo);
  layer_tree_clear (&base);
  remove_dir ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_tmpdir (access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
               "fuzz-layer", dir, sizeof dir);
  open_repo ();
  return 0;
}

/* A link at depth (components of its directory) to target stays inside. */
static void
check_link_target (size_t depth, const char *target)
{
  long d = target[0] == '/' ? 0 : (long)depth;
  const char *p = target;
  while (*p)
    {
      size_t n = strcspn (p, "/");
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (--d < 0)
            abort ();
        }
      else if (n && !(n == 1 && p[0] == '.'))
        d++;
      p += n + (p[n] == '/');
    }
}

static void
check_name (const char *name)
{
  if (!*name || strcmp (name, ".") == 0 || strcmp (name, "..") == 0
      || strchr (name, '/'))
    abort ();
}

static void
check_file (const char *csum, size_t depth)
{
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) gerr = NULL;
  if (!ostree_repo_load_file (repo, csum, NULL, &info, NULL, NULL, &gerr))
    abort ();
  guint32 mode = g_file_info_get_attribute_uint32 (info, "unix::mode");
  if (mode & (S_ISUID | S_ISGID))
    abort ();
  if (g_file_info_get_file_type (info) == G_FILE_TYPE_SYMBOLIC_LINK)
    check_link_target (depth, g_file_info_get_symlink_target (info));
}

static void
check_dirmeta (const char *csum)
{
  g_autoptr (GVariant) meta = NULL;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_DIR_META, csum,
                                 &meta, NULL))
    abort ();
  guint32 uid, gid, mode;
  g_variant_get (meta, "(uuu@a(ayay))", &uid, &gid, &mode, NULL);
  if (GUINT32_FROM_BE (mode) & (S_ISUID | S_ISGID))
    abort ();
}

static void
check_tree (const char *contents, const char *meta, size_t depth)
{
  if (depth > MAX_DEPTH)
    abort ();
  check_dirmeta (meta);
  g_autoptr (GVariant) tree = NULL;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_DIR_TREE, contents,
                                 &tree, NULL))
    abort ();
  g_autoptr (GVariant) files = g_variant_get_child_value (tree, 0);
  g_autoptr (GVariant) dirs = g_variant_get_child_value (tree, 1);
  GVariantIter it;
  const char *name;
  GVariant *a, *b;
  g_variant_iter_init (&it, files);
  while (g_variant_iter_loop (&it, "(&s@ay)", &name, &a))
    {
      check_name (name);
      g_autofree char *csum = ostree_checksum_from_bytes_v (a);
      check_file (csum, depth);
    }
  g_variant_iter_init (&it, dirs);
  while (g_variant_iter_loop (&it, "(&s@ay@ay)", &name, &a, &b))
    {
      check_name (name);
      g_autofree char *c = ostree_checksum_from_bytes_v (a);
      g_autofree char *m = ostree_checksum_from_bytes_v (b);
      check_tree (c, m, depth + 1);
    }
}

static void
check_error (ohr_error_t *err)
{
  if (*err == NULL)
    abort ();
  check_message ((*err)->msg);
  if ((*err)->kind != OHR_ERR_IMAGE && (*err)->status != ENOMEM)
    abort ();
  ohr_error_free (err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (++runs % RESET_EVERY == 0)
    {
      close_repo ();
      open_repo ();
    }
  struct layer_tree t = { 0 };
  struct layer_report rep = { 0 };
  ohr_error_t err = NULL;
  int r = import (data, size, &t, &rep, &err);
  for (char **p = rep.refused; p && *p; p++)
    check_message (*p);
  layer_report_clear (&rep);
  if (r < 0)
    {
      check_error (&err);
      return 0;
    }
  check_tree (t.contents, t.metadata, 0);
  g_autoptr (OstreeMutableTree) merged
      = ostree_mutable_tree_new_from_checksum (repo, base.contents,
                                               base.metadata);
  if (layer_apply (repo, merged, &t, &err) < 0)
    check_error (&err);
  layer_tree_clear (&t);
  return 0;
}
