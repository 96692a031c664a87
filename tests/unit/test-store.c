/* test-store.c: the image store on real ostree repos in temp directories,
 * with layer tars built here by libarchive's writer (gzip, like real
 * layers).  Runs as root; rootless mode is the API flag. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

/* ---- building layers */

struct tent
{
  char type; /* f file, d dir, l symlink, h hardlink, c/b device, p fifo */
  const char *path;
  unsigned mode;
  const char *data; /* file content, link target */
};

enum compression
{
  GZIP,
  ZSTD,
  PLAIN
};

static struct archive *
open_writer (const char *path, enum compression c)
{
  struct archive *a = archive_write_new ();
  assert_non_null (a);
  if (c == GZIP)
    assert_int_equal (archive_write_add_filter_gzip (a), ARCHIVE_OK);
  else if (c == ZSTD)
    assert_int_equal (archive_write_add_filter_zstd (a), ARCHIVE_OK);
  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  return a;
}

static void
write_entry (struct archive *a, const struct tent *t)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, t->path);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  archive_entry_set_mtime (e, 1700000000, 0);
  size_t len = 0;
  switch (t->type)
    {
    case 'f':
      len = t->data ? strlen (t->data) : 0;
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_size (e, (la_int64_t)len);
      break;
    case 'd':
      archive_entry_set_filetype (e, AE_IFDIR);
      break;
    case 'l':
      archive_entry_set_filetype (e, AE_IFLNK);
      archive_entry_set_symlink (e, t->data);
      break;
    case 'h':
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_hardlink (e, t->data);
      break;
    case 'c':
    case 'b':
      archive_entry_set_filetype (e, t->type == 'c' ? AE_IFCHR : AE_IFBLK);
      archive_entry_set_rdev (e, makedev (1, 3));
      break;
    case 'p':
      archive_entry_set_filetype (e, AE_IFIFO);
      break;
    }
  archive_entry_set_perm (e, t->mode);
  assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
  if (len)
    assert_int_equal (archive_write_data (a, t->data, len), (la_ssize_t)len);
  archive_entry_free (e);
}

static void
close_writer (struct archive *a)
{
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

struct layer
{
  char path[256];
  char digest[DIGEST_STRING_LEN + 1];
};

struct fixture
{
  char dir[64];
  char store[128];
  int n_layers;
};

static void
finish_layer (struct layer *l)
{
  ohr_error_t err = NULL;
  assert_int_equal (digest_file (l->path, l->digest, &err), 0);
}

static struct layer
make_layer_c (struct fixture *f, const struct tent *ents, size_t n,
              enum compression c)
{
  struct layer l;
  snprintf (l.path, sizeof l.path, "%s/layer-%d.tar", f->dir, f->n_layers++);
  /* names are written as UTF-8 pax records, as Go's archive/tar does; the
   * store reads them in the C locale of this process */
  locale_t utf8 = newlocale (LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  assert_non_null (utf8);
  locale_t old = uselocale (utf8);
  struct archive *a = open_writer (l.path, c);
  for (size_t i = 0; i < n; i++)
    write_entry (a, &ents[i]);
  close_writer (a);
  uselocale (old);
  freelocale (utf8);
  finish_layer (&l);
  return l;
}

#define make_layer(f, ents)                                                   \
  make_layer_c ((f), (ents), sizeof (ents) / sizeof (ents)[0], GZIP)

/* Deterministic, incompressible content: gzip cannot shrink it away. */
static void
fill_random (unsigned char *buf, size_t n, uint64_t *state)
{
  for (size_t i = 0; i < n; i++)
    {
      *state ^= *state << 13;
      *state ^= *state >> 7;
      *state ^= *state << 17;
      buf[i] = (unsigned char)*state;
    }
}

static struct layer
make_big_layer (struct fixture *f, int files, size_t file_size)
{
  struct layer l;
  snprintf (l.path, sizeof l.path, "%s/big-%d.tar", f->dir, f->n_layers++);
  struct archive *a = archive_write_new ();
  archive_write_add_filter_gzip (a);
  archive_write_set_filter_option (a, "gzip", "compression-level", "1");
  archive_write_set_format_pax_restricted (a);
  assert_int_equal (archive_write_open_filename (a, l.path), ARCHIVE_OK);
  unsigned char *buf = malloc (file_size);
  uint64_t state = 88172645463325252ull;
  for (int i = 0; i < files; i++)
    {
      char name[64];
      snprintf (name, sizeof name, "data/d%02d/f%05d", i % 37, i);
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, name);
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0644);
      archive_entry_set_size (e, (la_int64_t)file_size);
      fill_random (buf, file_size, &state);
      assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
      assert_int_equal (archive_write_data (a, buf, file_size),
                        (la_ssize_t)file_size);
      archive_entry_free (e);
    }
  free (buf);
  close_writer (a);
  finish_layer (&l);
  return l;
}

/* ---- fixture */

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/test-store-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  snprintf (f->store, sizeof f->store, "%s/store", f->dir);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  ohr_error_t err = NULL;
  fs_rm_rf (f->dir, &err);
  ohr_error_free (&err);
  free (f);
  return 0;
}

static struct store *
open_store (struct fixture *f, bool rootless)
{
  struct store *s = NULL;
  ohr_error_t err = NULL;
  if (store_open (f->store, rootless, &s, &err) < 0)
    fail_msg ("store_open: %s", err->msg);
  return s;
}

static void
import_ok (struct store *s, const struct layer *l, struct layer_report *rep)
{
  ohr_error_t err = NULL;
  struct layer_report local = { 0 };
  if (store_import_layer (s, l->digest, l->path, rep ? rep : &local, &err) < 0)
    fail_msg ("import %s: %s", l->digest, err->msg);
  layer_report_clear (&local);
}

/* A fake manifest digest per image: the store only needs it unique. */
static void
image_digest (const char *seed, char *out)
{
  digest_sha256 (seed, strlen (seed), out);
}

static void
commit_ok (struct store *s, const char *digest, const struct layer *layers,
           size_t n, const char *name)
{
  char **ds = NULL;
  for (size_t i = 0; i < n; i++)
    strv_push (&ds, layers[i].digest);
  const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
  const char *manifest = "{\"schemaVersion\":2}";
  ohr_error_t err = NULL;
  if (store_commit_image (s, digest, ds, config, strlen (config), manifest,
                          strlen (manifest), name, &err)
      < 0)
    fail_msg ("commit %s: %s", digest, err->msg);
  strv_free (ds);
}

static char *
checkout_ok (struct store *s, const char *digest)
{
  char *root = NULL;
  ohr_error_t err = NULL;
  if (store_checkout (s, digest, &root, &err) < 0)
    fail_msg ("checkout %s: %s", digest, err->msg);
  return root;
}

/* layers -> image -> checkout, in one call */
static char *
image_of (struct store *s, const char *seed, const struct layer *layers,
          size_t n, char *digest_out)
{
  char digest[DIGEST_STRING_LEN + 1];
  image_digest (seed, digest);
  for (size_t i = 0; i < n; i++)
    import_ok (s, &layers[i], NULL);
  commit_ok (s, digest, layers, n, NULL);
  if (digest_out)
    strcpy (digest_out, digest);
  return checkout_ok (s, digest);
}

/* ---- checks on a checkout */

static void
expect_file (const char *root, const char *rel, unsigned mode,
             const char *content)
{
  char *p = fs_path_join (root, rel);
  struct stat st;
  if (lstat (p, &st) < 0)
    fail_msg ("'%s' is missing: %s", rel, strerror (errno));
  if (!S_ISREG (st.st_mode))
    fail_msg ("'%s' is not a regular file (mode %o)", rel, st.st_mode);
  if ((st.st_mode & 07777) != mode)
    fail_msg ("'%s' has mode %o, expected %o", rel, st.st_mode & 07777, mode);
  char *data = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  assert_int_equal (fs_read_file (p, 1 << 20, &data, &len, &err), 0);
  assert_string_equal (data, content);
  free (data);
  free (p);
}

static void
expect_dir (const char *root, const char *rel, unsigned mode)
{
  char *p = fs_path_join (root, rel);
  struct stat st;
  if (lstat (p, &st) < 0 || !S_ISDIR (st.st_mode))
    fail_msg ("'%s' is not a directory", rel);
  if ((st.st_mode & 07777) != mode)
    fail_msg ("'%s' has mode %o, expected %o", rel, st.st_mode & 07777, mode);
  free (p);
}

static void
expect_symlink (const char *root, const char *rel, const char *target)
{
  char *p = fs_path_join (root, rel);
  char buf[4096];
  ssize_t n = readlink (p, buf, sizeof buf - 1);
  if (n < 0)
    fail_msg ("'%s' is not a symlink: %s", rel, strerror (errno));
  buf[n] = '\0';
  assert_string_equal (buf, target);
  free (p);
}

static void
expect_absent (const char *root, const char *rel)
{
  char *p = fs_path_join (root, rel);
  struct stat st;
  if (lstat (p, &st) == 0)
    fail_msg ("'%s' should not exist (mode %o)", rel, st.st_mode);
  free (p);
}

static bool
report_has (const struct layer_report *r, const char *needle)
{
  for (char **p = r->refused; p && *p; p++)
    if (strstr (*p, needle))
      return true;
  return false;
}

/* ---- counting objects */

static int n_counted;
static const char *count_suffix;

static int
count_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  size_t n = strlen (path), m = strlen (count_suffix);
  if (flag == FTW_F && n >= m && strcmp (path + n - m, count_suffix) == 0)
    n_counted++;
  return 0;
}

static int
count_objects (struct fixture *f, const char *suffix)
{
  char p[256];
  snprintf (p, sizeof p, "%s/repo/objects", f->store);
  n_counted = 0;
  count_suffix = suffix;
  assert_int_equal (nftw (p, count_cb, 16, FTW_PHYS), 0);
  return n_counted;
}

static int
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      n++;
  closedir (d);
  return n;
}

/* ---- tests */

static void
test_import_checkout (void **state)
{
  struct fixture *f = *state;
  const struct tent ents[] = {
    { 'd', "./", 0755, NULL },
    { 'd', "./etc/", 0755, NULL },
    { 'f', "./etc/hostname", 0644, "box\n" },
    { 'f', "./etc/secret", 0600, "s3cr3t" },
    { 'd', "./usr/bin/", 0755, NULL },
    { 'f', "./usr/bin/tool", 0755, "#!/bin/sh\necho hi\n" },
    { 'f', "./usr/bin/su", 04755, "setuid" },
    { 'f', "./usr/bin/crontab", 02755, "setgid" },
    { 'd', "./var/mail/", 02775, NULL },
    { 'h', "./usr/bin/tool-link", 0755, "usr/bin/tool" },
    { 'l', "./bin", 0777, "usr/bin" },
    { 'l', "./etc/abs", 0777, "/usr/bin/tool" },
    { 'f', "./empty", 0644, "" },
    { 'f', "./caf\xc3\xa9", 0644, "utf8" },
    { 'f', "./implied/parent/file", 0640, "deep" },
    { 'd', "./tmp/", 01777, NULL },
  };
  struct layer l = make_layer (f, ents);
  struct store *s = open_store (f, false);
  assert_false (store_has_layer (s, l.digest));
  struct layer_report rep = { 0 };
  import_ok (s, &l, &rep);
  assert_null (rep.refused);
  assert_int_equal (rep.stripped, 3);
  assert_true (store_has_layer (s, l.digest));

  char digest[DIGEST_STRING_LEN + 1];
  image_digest ("basic", digest);
  commit_ok (s, digest, &l, 1, "example.org/basic:1");
  assert_true (store_has_image (s, digest));
  char *root = checkout_ok (s, digest);

  expect_dir (root, ".", 0755);
  expect_file (root, "etc/hostname", 0644, "box\n");
  expect_file (root, "etc/secret", 0600, "s3cr3t");
  expect_file (root, "usr/bin/tool", 0755, "#!/bin/sh\necho hi\n");
  /* setuid and setgid go, as root too (layer.h) */
  expect_file (root, "usr/bin/su", 0755, "setuid");
  expect_file (root, "usr/bin/crontab", 0755, "setgid");
  expect_dir (root, "var/mail", 0775);
  expect_file (root, "usr/bin/tool-link", 0755, "#!/bin/sh\necho hi\n");
  expect_symlink (root, "bin", "usr/bin");
  expect_symlink (root, "etc/abs", "/usr/bin/tool");
  expect_file (root, "empty", 0644, "");
  expect_file (root, "caf\xc3\xa9", 0644, "utf8");
  expect_file (root, "implied/parent/file", 0640, "deep");
  expect_dir (root, "implied", 0755);
  expect_dir (root, "tmp", 01777);

  /* hardlinks into the repo: a checkout costs no copies */
  char *p = fs_path_join (root, "usr/bin/tool");
  char *q = fs_path_join (root, "usr/bin/tool-link");
  struct stat a, b;
  assert_int_equal (lstat (p, &a), 0);
  assert_int_equal (lstat (q, &b), 0);
  assert_int_equal (a.st_ino, b.st_ino);
  assert_true (a.st_nlink >= 3); /* the object and two names */
  free (p);
  free (q);

  /* config and name */
  char *config = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  assert_int_equal (store_get_config (s, digest, &config, &len, &err), 0);
  assert_string_equal (config,
                       "{\"architecture\":\"amd64\",\"os\":\"linux\"}");
  assert_int_equal (len, strlen (config));
  free (config);
  char *resolved = NULL;
  assert_int_equal (store_resolve (s, "example.org/basic:1", &resolved, &err),
                    0);
  assert_string_equal (resolved, digest);
  free (resolved);
  assert_int_equal (store_resolve (s, "nope:1", &resolved, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "'nope:1'"));
  ohr_error_free (&err);

  /* a second checkout is the same directory */
  char *again = checkout_ok (s, digest);
  assert_string_equal (again, root);
  free (again);
  free (root);
  store_free (s);
}

static void
test_compressions (void **state)
{
  struct fixture *f = *state;
  const struct tent ents[] = { { 'f', "a", 0644, "plain" } };
  const struct tent zents[] = { { 'f', "z", 0644, "zstd" } };
  struct layer plain = make_layer_c (f, ents, 1, PLAIN);
  struct layer zstd = make_layer_c (f, zents, 1, ZSTD);
  struct store *s = open_store (f, false);
  struct layer ls[] = { plain, zstd };
  char *root = image_of (s, "compressions", ls, 2, NULL);
  expect_file (root, "a", 0644, "plain");
  expect_file (root, "z", 0644, "zstd");
  free (root);

  /* content that does not hash to the digest is refused */
  struct layer bad = plain;
  image_digest ("not this", bad.digest);
  ohr_error_t err = NULL;
  assert_true (store_import_layer (s, bad.digest, bad.path, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, bad.digest));
  assert_non_null (strstr (err->msg, "does not match its digest"));
  assert_null (strchr (err->msg, '\n'));
  ohr_error_free (&err);
  assert_false (store_has_layer (s, bad.digest));

  /* not a tar at all */
  struct layer junk;
  snprintf (junk.path, sizeof junk.path, "%s/junk", f->dir);
  assert_int_equal (fs_write_new (junk.path, "junk", 4, 0644, &err), 0);
  finish_layer (&junk);
  assert_true (store_import_layer (s, junk.digest, junk.path, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, junk.digest));
  ohr_error_free (&err);
  store_free (s);
}

static void
test_whiteouts (void **state)
{
  struct fixture *f = *state;
  const struct tent lower[] = {
    { 'd', "a/", 0755, NULL },          { 'f', "a/x", 0644, "x" },
    { 'f', "a/y", 0644, "y" },          { 'd', "b/", 0755, NULL },
    { 'f', "b/z", 0644, "z" },          { 'd', "c/", 0700, NULL },
    { 'd', "c/d/", 0755, NULL },        { 'f', "c/d/e", 0644, "e" },
    { 'f', "c/old", 0644, "old" },      { 'f', "keep", 0644, "keep" },
    { 'f', "gone-file", 0644, "gone" }, { 'd', "d/", 0755, NULL },
    { 'f', "d/x", 0644, "d/x" },        { 'f', "etc2/x", 0644, "etc2/x" }
  };
  const struct tent upper[] = {
    { 'f', "a/.wh.x", 0644, "" },
    { 'f', ".wh.b", 0644, "" },
    { 'f', ".wh.gone-file", 0644, "" },
    { 'd', "c/", 0750, NULL },
    { 'f', "c/.wh..wh..opq", 0644, "" },
    { 'f', "c/new", 0644, "new" },
    /* whiteout and a new entry of the same name in one layer: the old
     * one goes, the new one stays */
    { 'f', ".wh.keep", 0644, "" },
    { 'f', "keep", 0644, "kept anew" },
    /* umoci writes this for "d/ became a symlink": the whiteout below the
     * symlink must not follow it into etc2 */
    { 'l', "d", 0777, "etc2" },
    { 'f', "d/.wh.x", 0644, "" },
  };
  struct layer ls[] = { make_layer (f, lower), make_layer (f, upper) };
  struct store *s = open_store (f, false);
  struct layer_report rep = { 0 };
  import_ok (s, &ls[1], &rep);
  assert_null (rep.refused); /* nothing reported for d/.wh.x */
  char *root = image_of (s, "whiteouts", ls, 2, NULL);
  expect_symlink (root, "d", "etc2");
  expect_file (root, "etc2/x", 0644, "etc2/x");
  expect_absent (root, "a/x");
  expect_file (root, "a/y", 0644, "y");
  expect_absent (root, "b");
  expect_absent (root, "gone-file");
  expect_dir (root, "c", 0750);
  expect_absent (root, "c/d");
  expect_absent (root, "c/old");
  expect_file (root, "c/new", 0644, "new");
  expect_file (root, "keep", 0644, "kept anew");
  /* no whiteout file reaches the rootfs */
  expect_absent (root, "a/.wh.x");
  expect_absent (root, ".wh.b");
  expect_absent (root, "c/.wh..wh..opq");
  free (root);
  store_free (s);
}

static void
test_replacements (void **state)
{
  struct fixture *f = *state;
  const struct tent lower[] = {
    /* the libostree < 2024.5 union-checkout case: a -> b, then a/ */
    { 'l', "a", 0777, "b" },          { 'd', "b/", 0755, NULL },
    { 'f', "b/in-b", 0644, "in b" },  { 'd', "d/", 0755, NULL },
    { 'f', "d/in-d", 0644, "in d" },  { 'f', "f", 0644, "plain file" },
    { 'l', "s", 0777, "f" },          { 'f', "t", 0644, "file to symlink" },
    { 'd', "deep/dir/", 0755, NULL }, { 'f', "deep/dir/x", 0644, "x" },
  };
  const struct tent upper[] = {
    { 'd', "a/", 0711, NULL }, /* symlink -> directory */
    { 'f', "a/inner", 0644, "inner" },
    { 'l', "d", 0777, "b" },   /* directory -> symlink */
    { 'd', "f/", 0755, NULL }, /* file -> directory */
    { 'f', "f/g", 0644, "g" },
    { 'f', "s", 0600, "symlink to file" }, /* symlink -> file */
    { 'l', "t", 0777, "f/g" },             /* file -> symlink */
    { 'f', "deep", 0644, "dir to file" },  /* directory tree -> file */
  };
  struct layer ls[] = { make_layer (f, lower), make_layer (f, upper) };
  struct store *s = open_store (f, false);
  char *root = image_of (s, "replacements", ls, 2, NULL);
  expect_dir (root, "a", 0711);
  expect_file (root, "a/inner", 0644, "inner");
  expect_file (root, "b/in-b", 0644, "in b"); /* untouched through a */
  expect_absent (root, "b/inner");
  expect_symlink (root, "d", "b");
  expect_dir (root, "f", 0755);
  expect_file (root, "f/g", 0644, "g");
  expect_file (root, "s", 0600, "symlink to file");
  expect_symlink (root, "t", "f/g");
  expect_file (root, "deep", 0644, "dir to file");
  free (root);

  /* and back again, on top: directory -> symlink over the new a/ */
  const struct tent top[] = { { 'l', "a", 0777, "d" } };
  struct layer ls3[] = { ls[0], ls[1], make_layer (f, top) };
  root = image_of (s, "replacements-3", ls3, 3, NULL);
  expect_symlink (root, "a", "d");
  free (root);
  store_free (s);
}

static void
test_implied_parent_through_symlink (void **state)
{
  struct fixture *f = *state;
  const struct tent lower[] = {
    { 'd', "usr/lib/", 0755, NULL },
    { 'f', "usr/lib/old", 0644, "old" },
    { 'l', "lib", 0777, "usr/lib" },
    { 'l', "abs", 0777, "/usr/lib" },
    { 'l', "up", 0777, "usr/../usr/./lib" },
    { 'l', "chain", 0777, "lib" },
    { 'l', "loop", 0777, "loop" },
    { 'l', "dangling", 0777, "nowhere" },
    { 'f', "file", 0644, "a file" },
    { 'l', "lib2", 0777, "usr/lib" },
  };
  /* no directory entries for lib/, abs/, ...: each is only implied, and
   * umoci and containerd write through the symlink there, inside the
   * root; an explicit lib2/ replaces its symlink instead */
  const struct tent upper[] = {
    { 'f', "lib/new", 0644, "new" },  { 'f', "lib/.wh.old", 0644, "" },
    { 'f', "abs/x/y", 0644, "y" },    { 'f', "up/z", 0644, "z" },
    { 'f', "chain/c", 0644, "c" },    { 'f', "loop/l", 0644, "l" },
    { 'f', "dangling/d", 0644, "d" }, { 'd', "lib2/", 0700, NULL },
    { 'f', "lib2/k", 0644, "k" },
  };
  struct layer ls[] = { make_layer (f, lower), make_layer (f, upper) };
  struct store *s = open_store (f, false);
  char *root = image_of (s, "through", ls, 2, NULL);
  expect_symlink (root, "lib", "usr/lib");
  expect_file (root, "usr/lib/new", 0644, "new");
  expect_absent (root, "usr/lib/old");
  expect_file (root, "usr/lib/x/y", 0644, "y");
  expect_file (root, "usr/lib/z", 0644, "z");
  expect_file (root, "usr/lib/c", 0644, "c");
  expect_symlink (root, "abs", "/usr/lib");
  /* nowhere to write through: the implied directory replaces the link */
  expect_file (root, "loop/l", 0644, "l");
  expect_file (root, "dangling/d", 0644, "d");
  expect_dir (root, "lib2", 0700);
  expect_file (root, "lib2/k", 0644, "k");
  expect_absent (root, "usr/lib/k");
  free (root);
  store_free (s);
}

static void
test_implied_dirs_keep_lower_metadata (void **state)
{
  struct fixture *f = *state;
  const struct tent lower[] = { { 'd', "./", 0700, NULL },
                                { 'd', "opt/", 0750, NULL },
                                { 'f', "opt/a", 0644, "a" } };
  /* no entry for "./" or "opt/": both are only implied */
  const struct tent upper[] = { { 'f', "opt/b", 0644, "b" } };
  struct layer ls[] = { make_layer (f, lower), make_layer (f, upper) };
  struct store *s = open_store (f, false);
  char *root = image_of (s, "implied", ls, 2, NULL);
  expect_dir (root, ".", 0700);
  expect_dir (root, "opt", 0750);
  expect_file (root, "opt/a", 0644, "a");
  expect_file (root, "opt/b", 0644, "b");
  free (root);
  store_free (s);
}

static void
test_shared_base_stored_once (void **state)
{
  struct fixture *f = *state;
  struct tent base[50];
  char names[50][32], data[50][32];
  for (int i = 0; i < 50; i++)
    {
      snprintf (names[i], sizeof names[i], "base/f%02d", i);
      snprintf (data[i], sizeof data[i], "base content %d", i);
      base[i] = (struct tent){ 'f', names[i], 0644, data[i] };
    }
  const struct tent top1[] = { { 'f', "top/one", 0644, "only in one" } };
  const struct tent top2[] = { { 'f', "top/two", 0644, "only in two" },
                               { 'f', "top/2b", 0644, "also in two" } };
  struct layer b = make_layer_c (f, base, 50, GZIP);
  struct layer ls1[] = { b, make_layer (f, top1) };
  struct layer ls2[] = { b, make_layer (f, top2) };
  struct store *s = open_store (f, false);
  char d1[DIGEST_STRING_LEN + 1], d2[DIGEST_STRING_LEN + 1];
  free (image_of (s, "one", ls1, 2, d1));
  int files_before = count_objects (f, ".file");
  assert_int_equal (files_before, 51);
  free (image_of (s, "two", ls2, 2, d2));
  /* the base's 50 files are not stored again: only two's own */
  assert_int_equal (count_objects (f, ".file"), files_before + 2);

  struct store_image *imgs = NULL;
  size_t n = 0;
  ohr_error_t err = NULL;
  assert_int_equal (store_list (s, &imgs, &n, &err), 0);
  assert_int_equal (n, 2);
  for (size_t i = 0; i < n; i++)
    {
      assert_true (imgs[i].size > 0);
      assert_true (imgs[i].shared_size > 0);
      assert_true (imgs[i].shared_size < imgs[i].size);
    }
  store_images_free (imgs, n);
  store_free (s);
}

static void
test_traversal_refused (void **state)
{
  struct fixture *f = *state;
  const struct tent dotdot[]
      = { { 'f', "ok", 0644, "fine" }, { 'f', "a/../../evil", 0644, "x" } };
  const struct tent absolute[] = { { 'f', "/etc/evil", 0644, "x" } };
  const struct tent hardlink[] = { { 'f', "ok", 0644, "fine" },
                                   { 'h', "link", 0644, "../../etc/shadow" } };
  const struct tent *cases[] = { dotdot, absolute, hardlink };
  const size_t sizes[] = { 2, 1, 2 };
  const char *named[] = { "a/../../evil", "/etc/evil", "link" };
  struct store *s = open_store (f, false);
  for (int i = 0; i < 3; i++)
    {
      struct layer l = make_layer_c (f, cases[i], sizes[i], GZIP);
      struct layer_report rep = { 0 };
      ohr_error_t err = NULL;
      assert_true (store_import_layer (s, l.digest, l.path, &rep, &err) < 0);
      if (!strstr (err->msg, named[i]) || !strstr (err->msg, l.digest))
        fail_msg ("error does not name '%s' and the digest: %s", named[i],
                  err->msg);
      assert_non_null (strstr (err->msg, "refused"));
      assert_true (report_has (&rep, named[i]));
      ohr_error_free (&err);
      layer_report_clear (&rep);
      assert_false (store_has_layer (s, l.digest));
    }

  /* a symlink climbing out is skipped and reported; the rest imports */
  const struct tent links[] = {
    { 'd', "usr/lib/", 0755, NULL },
    { 'l', "usr/lib/up", 0777, "../../etc/os-release" }, /* fine */
    { 'l', "usr/lib/out", 0777, "../../../etc/shadow" }, /* escapes */
    { 'l', "abs-out", 0777, "/../etc/shadow" },          /* escapes */
    { 'f', "etc/os-release", 0644, "ID=test" },
  };
  struct layer l = make_layer (f, links);
  struct layer_report rep = { 0 };
  import_ok (s, &l, &rep);
  assert_true (report_has (&rep, "usr/lib/out: symlink target"));
  assert_true (report_has (&rep, "abs-out: symlink target"));
  assert_int_equal (strv_len (rep.refused), 2);
  layer_report_clear (&rep);
  /* a re-import reports the same from the stored commit */
  import_ok (s, &l, &rep);
  assert_int_equal (strv_len (rep.refused), 2);
  layer_report_clear (&rep);
  char digest[DIGEST_STRING_LEN + 1];
  image_digest ("links", digest);
  commit_ok (s, digest, &l, 1, NULL);
  char *root = checkout_ok (s, digest);
  expect_symlink (root, "usr/lib/up", "../../etc/os-release");
  expect_absent (root, "usr/lib/out");
  expect_absent (root, "abs-out");
  free (root);
  store_free (s);
}

static void
test_rootless_policy (void **state)
{
  struct fixture *f = *state;
  const struct tent ents[] = {
    { 'd', "usr/bin/", 0755, NULL },
    { 'f', "usr/bin/su", 04755, "setuid" },
    { 'f', "usr/bin/wall", 02755, "setgid" },
    { 'f', "usr/bin/plain", 0755, "plain" },
    { 'c', "dev/null", 0666, NULL },
    { 'b', "dev/sda", 0660, NULL },
    { 'p', "run/fifo", 0644, NULL },
    { 'f', "esc\x1b[31mred", 0644, "terminal escape in a name" },
  };
  struct layer l = make_layer (f, ents);
  struct store *s = open_store (f, true);
  struct layer_report rep = { 0 };
  import_ok (s, &l, &rep);
  assert_int_equal (rep.stripped, 2);
  assert_true (report_has (&rep, "dev/null: device node refused in rootless"));
  assert_true (report_has (&rep, "dev/sda: device node refused in rootless"));
  assert_true (report_has (&rep, "run/fifo: fifo"));
  assert_int_equal (strv_len (rep.refused), 3);
  layer_report_clear (&rep);

  char digest[DIGEST_STRING_LEN + 1];
  image_digest ("rootless", digest);
  commit_ok (s, digest, &l, 1, NULL);
  char *root = checkout_ok (s, digest);
  expect_file (root, "usr/bin/su", 0755, "setuid");
  expect_file (root, "usr/bin/wall", 0755, "setgid");
  expect_file (root, "usr/bin/plain", 0755, "plain");
  expect_absent (root, "dev/null");
  expect_absent (root, "dev/sda");
  free (root);
  store_free (s);

  /* the repo is bare-user; opening it as root mode is an error */
  char cfg[256];
  snprintf (cfg, sizeof cfg, "%s/repo/config", f->store);
  char *text = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (fs_read_file (cfg, 65536, &text, NULL, &err), 0);
  assert_non_null (strstr (text, "mode=bare-user"));
  free (text);
  assert_true (store_open (f->store, false, &s, &err) < 0);
  assert_non_null (strstr (err->msg, "bare-user"));
  ohr_error_free (&err);

  /* as root, device nodes are skipped too (ostree cannot hold them) */
  snprintf (f->store, sizeof f->store, "%s/store-root", f->dir);
  s = open_store (f, false);
  import_ok (s, &l, &rep);
  assert_int_equal (rep.stripped, 2);
  assert_true (report_has (&rep, "dev/null: device node not stored"));
  layer_report_clear (&rep);
  store_free (s);
}

static void
test_concurrent_checkout (void **state)
{
  struct fixture *f = *state;
  struct tent ents[200];
  char names[200][32];
  for (int i = 0; i < 200; i++)
    {
      snprintf (names[i], sizeof names[i], "d%d/f%d", i % 10, i);
      ents[i] = (struct tent){ 'f', names[i], 0644, names[i] };
    }
  struct layer l = make_layer_c (f, ents, 200, GZIP);
  struct store *s = open_store (f, false);
  char digest[DIGEST_STRING_LEN + 1];
  image_digest ("concurrent", digest);
  import_ok (s, &l, NULL);
  commit_ok (s, digest, &l, 1, NULL);
  store_free (s);

  int go[2], out[2];
  assert_int_equal (pipe (go), 0);
  assert_int_equal (pipe (out), 0);
  pid_t pids[6];
  for (int i = 0; i < 6; i++)
    {
      pids[i] = fork ();
      assert_true (pids[i] >= 0);
      if (pids[i] == 0)
        {
          close (go[1]);
          char c;
          /* all start together, when the parent closes the pipe */
          if (read (go[0], &c, 1) < 0)
            _exit (2);
          struct store *cs = NULL;
          ohr_error_t err = NULL;
          char *root = NULL, line[512];
          if (store_open (f->store, false, &cs, &err) < 0
              || store_checkout (cs, digest, &root, &err) < 0)
            snprintf (line, sizeof line, "error: %s", err->msg);
          else
            snprintf (line, sizeof line, "%s", root);
          line[sizeof line - 1] = '\0';
          ssize_t w = write (out[1], line, sizeof line);
          _exit (w == (ssize_t)sizeof line ? 0 : 3);
        }
    }
  close (go[0]);
  close (go[1]);
  close (out[1]);
  char first[512] = "";
  for (int i = 0; i < 6; i++)
    {
      char line[512];
      assert_int_equal (read (out[0], line, sizeof line), sizeof line);
      if (strncmp (line, "error", 5) == 0)
        fail_msg ("%s", line);
      if (i == 0)
        strcpy (first, line);
      assert_string_equal (line, first);
    }
  close (out[0]);
  for (int i = 0; i < 6; i++)
    {
      int st;
      assert_int_equal (waitpid (pids[i], &st, 0), pids[i]);
      assert_true (WIFEXITED (st) && WEXITSTATUS (st) == 0);
    }
  char rootfs[256];
  snprintf (rootfs, sizeof rootfs, "%s/rootfs", f->store);
  assert_int_equal (count_entries (rootfs), 1); /* one checkout, no temp */
  expect_file (first, "d3/f123", 0644, "d3/f123");
}

static void
test_idempotent (void **state)
{
  struct fixture *f = *state;
  const struct tent ents[]
      = { { 'f', "a", 0644, "a" }, { 'f', "b", 0644, "b" } };
  struct layer l = make_layer (f, ents);
  struct store *s = open_store (f, false);
  char digest[DIGEST_STRING_LEN + 1];
  free (image_of (s, "idem", &l, 1, digest));
  int objects = count_objects (f, "");
  char ref[512];
  snprintf (ref, sizeof ref, "%s/repo/refs/heads/ohr/layer/sha256/%s",
            f->store, l.digest + 7);
  char *before = NULL, *after = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (fs_read_file (ref, 4096, &before, NULL, &err), 0);
  import_ok (s, &l, NULL);
  commit_ok (s, digest, &l, 1, "renamed:1");
  assert_int_equal (fs_read_file (ref, 4096, &after, NULL, &err), 0);
  assert_string_equal (before, after);
  assert_int_equal (count_objects (f, ""), objects);
  char *resolved = NULL;
  assert_int_equal (store_resolve (s, "renamed:1", &resolved, &err), 0);
  assert_string_equal (resolved, digest);
  free (resolved);
  free (before);
  free (after);
  store_free (s);
}

static void
test_remove_gc (void **state)
{
  struct fixture *f = *state;
  const struct tent base[] = { { 'f', "base", 0644, "shared base" } };
  const struct tent one[] = { { 'f', "one", 0644, "image one" } };
  const struct tent two[] = { { 'f', "two", 0644, "image two" } };
  struct layer b = make_layer (f, base);
  struct layer ls1[] = { b, make_layer (f, one) };
  struct layer ls2[] = { b, make_layer (f, two) };
  struct store *s = open_store (f, false);
  char d1[DIGEST_STRING_LEN + 1], d2[DIGEST_STRING_LEN + 1];
  image_digest ("one", d1);
  image_digest ("two", d2);
  for (int i = 0; i < 2; i++)
    {
      import_ok (s, &ls1[i], NULL);
      import_ok (s, &ls2[i], NULL);
    }
  commit_ok (s, d1, ls1, 2, "one:1");
  commit_ok (s, d2, ls2, 2, "two:1");
  char *r1 = checkout_ok (s, d1);
  char *r2 = checkout_ok (s, d2);
  assert_int_equal (count_objects (f, ".file"), 3);

  /* a leftover of a killed checkout, and one of a removed image */
  char tmp[256];
  snprintf (tmp, sizeof tmp, "%s/rootfs/.tmp-%s-XXXXXX", f->store, d1 + 7);
  assert_non_null (mkdtemp (tmp));

  ohr_error_t err = NULL;
  assert_int_equal (store_remove (s, "one:1", &err), 0);
  assert_false (store_has_image (s, d1));
  assert_false (fs_exists (r1));
  assert_true (store_has_layer (s, b.digest)); /* two still uses it */
  assert_false (store_has_layer (s, ls1[1].digest));
  char *x = NULL;
  assert_true (store_resolve (s, "one:1", &x, &err) < 0);
  ohr_error_free (&err);

  struct store_gc_stats st = { 0 };
  assert_int_equal (store_gc (s, &st, &err), 0);
  assert_true (st.objects_removed > 0);
  assert_true (st.bytes_freed > 0);
  assert_int_equal (st.checkouts_removed, 1);
  assert_false (fs_exists (tmp));
  assert_int_equal (count_objects (f, ".file"), 2);
  expect_file (r2, "base", 0644, "shared base");
  expect_file (r2, "two", 0644, "image two");

  /* a checkout of a removed image that a crash left is gc's to take */
  assert_int_equal (store_remove (s, d2, &err), 0);
  assert_int_equal (store_gc (s, &st, &err), 0);
  assert_int_equal (count_objects (f, ".file"), 0);
  assert_int_equal (count_objects (f, ".commit"), 0);
  char rootfs[256];
  snprintf (rootfs, sizeof rootfs, "%s/rootfs", f->store);
  assert_int_equal (count_entries (rootfs), 0);
  assert_true (store_remove (s, d2, &err) < 0);
  assert_non_null (strstr (err->msg, d2));
  ohr_error_free (&err);
  free (r1);
  free (r2);
  store_free (s);
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* ostree's own check of every object the refs reach, when its CLI is
 * installed (make deps installs it) */
static void
expect_fsck_ok (struct fixture *f)
{
  if (system ("command -v ostree >/dev/null 2>&1") != 0)
    return;
  char cmd[512];
  snprintf (cmd, sizeof cmd, "ostree fsck --repo='%s/repo' >/dev/null 2>&1",
            f->store);
  assert_int_equal (system (cmd), 0);
}

static pid_t
spawn_import (struct fixture *f, const struct layer *l)
{
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct store *s = NULL;
      ohr_error_t err = NULL;
      struct layer_report rep = { 0 };
      int rc
          = store_open (f->store, false, &s, &err) < 0
                    || store_import_layer (s, l->digest, l->path, &rep, &err)
                           < 0
                ? 1
                : 0;
      _exit (rc);
    }
  return pid;
}

static void
test_kill9_mid_import (void **state)
{
  struct fixture *f = *state;
  /* 24 MiB of incompressible data in 1536 files */
  struct layer big = make_big_layer (f, 1536, 16384);
  struct store *s = open_store (f, false);
  store_free (s);
  const long delays[] = { 2, 15, 60, 150 };
  int killed = 0;
  for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++)
    {
      pid_t pid = spawn_import (f, &big);
      sleep_ms (delays[i]);
      kill (pid, SIGKILL);
      int st;
      assert_int_equal (waitpid (pid, &st, 0), pid);
      if (WIFSIGNALED (st))
        killed++;
      s = open_store (f, false);
      /* either nothing of the import is visible, or all of it (a kill
       * can land after the ref was written) */
      if (store_has_layer (s, big.digest))
        assert_int_equal (count_objects (f, ".file"), 1536);
      store_free (s);
    }
  assert_true (killed > 0);
  expect_fsck_ok (f);

  /* a checkout killed half-way leaves only a temp dir, for gc */
  s = open_store (f, false);
  char digest[DIGEST_STRING_LEN + 1];
  image_digest ("big", digest);
  import_ok (s, &big, NULL);
  commit_ok (s, digest, &big, 1, NULL);
  pid_t pid = fork ();
  if (pid == 0)
    {
      struct store *cs = NULL;
      ohr_error_t err = NULL;
      char *root = NULL;
      if (store_open (f->store, false, &cs, &err) == 0)
        store_checkout (cs, digest, &root, &err);
      _exit (0);
    }
  sleep_ms (20);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);

  char *root = checkout_ok (s, digest);
  expect_dir (root, "data/d05", 0755);
  char *p = fs_path_join (root, "data/d00/f00000");
  struct stat st;
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_size, 16384);
  free (p);
  struct store_gc_stats gst = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (store_gc (s, &gst, &err), 0);
  char rootfs[256];
  snprintf (rootfs, sizeof rootfs, "%s/rootfs", f->store);
  assert_int_equal (count_entries (rootfs), 1);
  assert_int_equal (count_objects (f, ".file"), 1536);
  expect_fsck_ok (f);
  free (root);
  store_free (s);
}

/* One entry with xattrs as GNU tar and Go's archive/tar write them (pax
 * SCHILY.xattr.*): a file capability, an ACL-like trusted.* and a user.*
 * value, on a setuid-root binary. */
static struct layer
make_xattr_layer (struct fixture *f)
{
  struct layer l;
  snprintf (l.path, sizeof l.path, "%s/xattr-%d.tar", f->dir, f->n_layers++);
  struct archive *a = open_writer (l.path, GZIP);
  struct archive_entry *e = archive_entry_new ();
  /* cap_setuid+ep, as setcap writes it (VFS_CAP_REVISION_2) */
  static const unsigned char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x80 };
  archive_entry_set_pathname (e, "usr/bin/escalate");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 06755);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  archive_entry_set_size (e, 4);
  archive_entry_xattr_add_entry (e, "security.capability", cap, sizeof cap);
  archive_entry_xattr_add_entry (e, "trusted.overlay.opaque", "y", 1);
  archive_entry_xattr_add_entry (e, "user.note", "x", 1);
  assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
  assert_int_equal (archive_write_data (a, "root", 4), 4);
  archive_entry_free (e);
  close_writer (a);
  finish_layer (&l);
  return l;
}

/* A setuid-root file with a file capability and other xattrs: checked
 * out as a plain 0755 file with no extended attribute at all.  Root and
 * rootless stores alike. */
static void
test_setid_and_xattrs_dropped (void **state)
{
  struct fixture *f = *state;
  struct layer l = make_xattr_layer (f);
  /* the tar really carries them: libarchive reads them back */
  struct archive *a = archive_read_new ();
  archive_read_support_format_tar (a);
  archive_read_support_filter_gzip (a);
  assert_int_equal (archive_read_open_filename (a, l.path, 4096), ARCHIVE_OK);
  struct archive_entry *ae = NULL;
  assert_int_equal (archive_read_next_header (a, &ae), ARCHIVE_OK);
  assert_true (archive_entry_xattr_count (ae) >= 3); /* pax: 2 forms */
  assert_int_equal (archive_entry_perm (ae), 06755);
  archive_read_free (a);

  for (int rootless = 0; rootless < 2; rootless++)
    {
      snprintf (f->store, sizeof f->store, "%s/store-%d", f->dir, rootless);
      struct store *s = open_store (f, rootless);
      struct layer_report rep = { 0 };
      import_ok (s, &l, &rep);
      assert_int_equal (rep.stripped, 1);
      layer_report_clear (&rep);
      char digest[DIGEST_STRING_LEN + 1];
      image_digest (rootless ? "xattr-rootless" : "xattr-root", digest);
      commit_ok (s, digest, &l, 1, NULL);
      char *root = checkout_ok (s, digest);
      expect_file (root, "usr/bin/escalate", 0755, "root");
      char *p = fs_path_join (root, "usr/bin/escalate");
      char names[1024];
      ssize_t n = llistxattr (p, names, sizeof names);
      /* bare-user keeps its own user.ostreemeta, nothing of the tar's */
      for (ssize_t i = 0; i < n; i += (ssize_t)strlen (names + i) + 1)
        if (strcmp (names + i, "user.ostreemeta") != 0)
          fail_msg ("'%s' kept the xattr %s", p, names + i);
      assert_true (lgetxattr (p, "security.capability", NULL, 0) < 0);
      free (p);
      free (root);
      store_free (s);
    }
}

/* size bytes of zeros in one file, gzip: a few KiB that expand to size */
static struct layer
make_bomb_layer (struct fixture *f, size_t size)
{
  struct layer l;
  snprintf (l.path, sizeof l.path, "%s/bomb-%d.tar", f->dir, f->n_layers++);
  struct archive *a = open_writer (l.path, GZIP);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, "zeros");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, (la_int64_t)size);
  assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
  static const char zeros[65536];
  for (size_t done = 0; done < size; done += sizeof zeros)
    {
      size_t k = size - done < sizeof zeros ? size - done : sizeof zeros;
      assert_int_equal (archive_write_data (a, zeros, k), (la_ssize_t)k);
    }
  archive_entry_free (e);
  close_writer (a);
  finish_layer (&l);
  return l;
}

/* Files under the repo's tmp/ (transaction staging): a layer refused
 * leaves none, and nothing a later commit would move into objects/. */
static int
count_staged (struct fixture *f)
{
  char p[256];
  snprintf (p, sizeof p, "%s/repo/tmp", f->store);
  n_counted = 0;
  count_suffix = "";
  assert_int_equal (nftw (p, count_cb, 16, FTW_PHYS), 0);
  return n_counted;
}

static void
expect_too_large (struct store *s, const struct layer *l, const char *limit)
{
  ohr_error_t err = NULL;
  struct layer_report rep = { 0 };
  assert_true (store_import_layer (s, l->digest, l->path, &rep, &err) < 0);
  if (err->status != EFBIG || err->kind != OHR_ERR_IMAGE
      || strstr (err->msg, limit) == NULL || strchr (err->msg, '\n'))
    fail_msg ("unexpected error (%d): %s", err->status, err->msg);
  assert_false (store_has_layer (s, l->digest));
  ohr_error_free (&err);
  layer_report_clear (&rep);
}

/* A gzip bomb beyond the store's limit is refused whole, and leaves no
 * object, ref or staging directory; under a higher limit it imports. */
static void
test_layer_size_limit (void **state)
{
  struct fixture *f = *state;
  struct layer bomb = make_bomb_layer (f, 64 << 20);
  struct stat st;
  assert_int_equal (stat (bomb.path, &st), 0);
  assert_true (st.st_size < (1 << 20)); /* really a bomb: < 1/64 */
  const struct tent small[] = { { 'f', "a", 0644, "a" } };
  struct layer ok = make_layer (f, small);
  struct store *s = open_store (f, false);
  store_set_max_layer_size (s, 16 << 20);
  import_ok (s, &ok, NULL);
  int objects = count_objects (f, "");
  expect_too_large (s, &bomb, "larger than 16777216 bytes uncompressed");
  assert_int_equal (count_objects (f, ""), objects);
  assert_int_equal (count_staged (f), 0);

  /* many empty entries: headers count too */
  struct tent many[3000];
  char names[3000][16];
  for (int i = 0; i < 3000; i++)
    {
      snprintf (names[i], sizeof names[i], "e%05d", i);
      many[i] = (struct tent){ 'f', names[i], 0644, NULL };
    }
  struct layer flood = make_layer (f, many);
  store_set_max_layer_size (s, 1 << 20);
  expect_too_large (s, &flood, "larger than 1048576 bytes uncompressed");
  assert_int_equal (count_objects (f, ""), objects);
  assert_int_equal (count_staged (f), 0);

  /* files that each fit, the sum does not: refused before the first is
   * stored */
  struct layer big = make_big_layer (f, 40, 65536);
  expect_too_large (s, &big, "larger than 1048576 bytes uncompressed");
  assert_int_equal (count_staged (f), 0);
  assert_int_equal (count_objects (f, ""), objects);

  /* the same layers under limits they fit */
  store_set_max_layer_size (s, 65 << 20);
  import_ok (s, &bomb, NULL);
  import_ok (s, &flood, NULL);
  import_ok (s, &big, NULL);
  store_free (s);
  /* and the default admits them */
  snprintf (f->store, sizeof f->store, "%s/store-default", f->dir);
  s = open_store (f, false);
  import_ok (s, &bomb, NULL);
  store_free (s);
}

/* Created 0700 from the first mkdir, the parents too, whatever the umask
 * allows: no moment where another user can enter it. */
static void
test_store_dir_private (void **state)
{
  struct fixture *f = *state;
  snprintf (f->store, sizeof f->store, "%s/new-parent/store", f->dir);
  mode_t old = umask (0);
  struct store *s = open_store (f, false);
  umask (old);
  struct stat st;
  assert_int_equal (stat (f->store, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  char parent[256];
  snprintf (parent, sizeof parent, "%s/new-parent", f->dir);
  assert_int_equal (stat (parent, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  store_free (s);
}

static void
test_bad_input (void **state)
{
  struct fixture *f = *state;
  struct store *s = open_store (f, false);
  ohr_error_t err = NULL;
  assert_true (store_import_layer (s, "sha256:xyz", "/nonexistent", NULL, &err)
               < 0);
  assert_non_null (strstr (err->msg, "sha256:xyz"));
  ohr_error_free (&err);
  char d[DIGEST_STRING_LEN + 1];
  image_digest ("missing", d);
  assert_true (store_import_layer (s, d, "/nonexistent/blob", NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "/nonexistent/blob"));
  ohr_error_free (&err);
  char *root = NULL;
  assert_true (store_checkout (s, d, &root, &err) < 0);
  assert_non_null (strstr (err->msg, d));
  ohr_error_free (&err);
  /* an image whose layer was never imported */
  char *layers[] = { d, NULL };
  char img[DIGEST_STRING_LEN + 1];
  image_digest ("img", img);
  assert_true (
      store_commit_image (s, img, layers, "{}", 2, "{}", 2, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, d));
  assert_false (store_has_image (s, img));
  ohr_error_free (&err);
  store_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_import_checkout, setup, teardown),
    cmocka_unit_test_setup_teardown (test_compressions, setup, teardown),
    cmocka_unit_test_setup_teardown (test_whiteouts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replacements, setup, teardown),
    cmocka_unit_test_setup_teardown (test_implied_parent_through_symlink,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_implied_dirs_keep_lower_metadata,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_shared_base_stored_once, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_traversal_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_rootless_policy, setup, teardown),
    cmocka_unit_test_setup_teardown (test_concurrent_checkout, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_idempotent, setup, teardown),
    cmocka_unit_test_setup_teardown (test_remove_gc, setup, teardown),
    cmocka_unit_test_setup_teardown (test_kill9_mid_import, setup, teardown),
    cmocka_unit_test_setup_teardown (test_setid_and_xattrs_dropped, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_layer_size_limit, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store_dir_private, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_input, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
