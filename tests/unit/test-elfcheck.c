/* test-elfcheck.c: glibc versions needed by programs and defined by an
 * image's libc, on real binaries (compiled here with cc), the host's libc,
 * and broken or hostile files and root filesystems. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/elfcheck.h"
#include "util/error.h"
#include "util/fs.h"

#define HOST_LIBC "/lib/x86_64-linux-gnu/libc.so.6"

struct tmp
{
  char dir[64];
};

static int
setup_tmp (void **state)
{
  struct tmp *t = calloc (1, sizeof *t);
  if (t == NULL)
    return -1;
  strcpy (t->dir, "/tmp/test-elfcheck-XXXXXX");
  if (mkdtemp (t->dir) == NULL)
    {
      free (t);
      return -1;
    }
  umask (022);
  *state = t;
  return 0;
}

static int
teardown_tmp (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  int r = fs_rm_rf (t->dir, &err);
  ohr_error_free (&err);
  free (t);
  return r;
}

static char *
path_in (const struct tmp *t, const char *rel)
{
  char *p = NULL;
  assert_true (asprintf (&p, "%s/%s", t->dir, rel) > 0);
  return p;
}

static void
write_file (const char *path, const void *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, data, len), (ssize_t)len);
  close (fd);
}

static char *
read_all (const char *path, size_t *len)
{
  char *data = NULL;
  ohr_error_t err = NULL;
  if (fs_read_file (path, 64 << 20, &data, len, &err) < 0)
    fail_msg ("read %s: %s", path, err->msg);
  return data;
}

/* Compile src into dir/name with cc and extra flags; false (and the test is
 * skipped) when there is no C compiler. */
static bool
compile (const struct tmp *t, const char *name, const char *src,
         const char *flags)
{
  char *c = path_in (t, "prog.c");
  char *out = path_in (t, name);
  write_file (c, src, strlen (src));
  char *cmd = NULL;
  assert_true (asprintf (&cmd, "cc %s -o '%s' '%s' 2>&1", flags, out, c) > 0);
  int r = system (cmd);
  free (cmd);
  free (c);
  free (out);
  return r == 0;
}

static void
host_glibc (int *major, int *minor)
{
  assert_int_equal (sscanf (gnu_get_libc_version (), "%d.%d", major, minor),
                    2);
}

static bool
version_le (int ma, int mi, int ma2, int mi2)
{
  return ma < ma2 || (ma == ma2 && mi <= mi2);
}

/* ---- version names */

static void
test_parse_version (void **state)
{
  int ma = -1, mi = -1;
  assert_true (elfcheck_parse_glibc_version ("GLIBC_2.34", &ma, &mi));
  assert_int_equal (ma, 2);
  assert_int_equal (mi, 34);
  assert_true (elfcheck_parse_glibc_version ("GLIBC_2.2.5", &ma, &mi));
  assert_int_equal (ma, 2);
  assert_int_equal (mi, 2);
  assert_false (elfcheck_parse_glibc_version ("GLIBC_PRIVATE", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBC_ABI_DT_RELR", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBCXX_3.4", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBC_2", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBC_2.", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBC_2.3.4.5", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBC_2.34x", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("GLIBC_99999.1", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version ("", &ma, &mi));
  assert_false (elfcheck_parse_glibc_version (NULL, &ma, &mi));
  assert_int_equal (ma, 2); /* untouched by failures */
}

/* ---- real programs */

static void
test_host_program (void **state)
{
  int ma = -1, mi = -1, hma, hmi;
  ohr_error_t err = NULL;
  if (elfcheck_glibc_needs ("/usr/bin/ls", &ma, &mi, &err) < 0)
    fail_msg ("%s", err->msg);
  host_glibc (&hma, &hmi);
  print_message ("/usr/bin/ls needs GLIBC_%d.%d (host glibc %d.%d)\n", ma, mi,
                 hma, hmi);
  assert_int_equal (ma, 2);
  assert_true (mi >= 3);
  assert_true (version_le (ma, mi, hma, hmi));
}

static const char prog_234[]
    = "#define _GNU_SOURCE\n#include <unistd.h>\n#include <stdio.h>\n"
      "int main (void) { closefrom (3); puts (\"ok\"); return 0; }\n";

static void
test_compiled_program (void **state)
{
  struct tmp *t = *state;
  if (!compile (t, "p234", prog_234, "-O0"))
    skip ();
  char *p = path_in (t, "p234");
  int ma = -1, mi = -1, hma, hmi;
  ohr_error_t err = NULL;
  if (elfcheck_glibc_needs (p, &ma, &mi, &err) < 0)
    fail_msg ("%s", err->msg);
  host_glibc (&hma, &hmi);
  print_message ("closefrom() program needs GLIBC_%d.%d\n", ma, mi);
  /* closefrom is GLIBC_2.34 */
  assert_int_equal (ma, 2);
  assert_true (mi >= 34);
  assert_true (version_le (ma, mi, hma, hmi));

  /* The loader does not need section headers: neither do we. */
  size_t len;
  char *data = read_all (p, &len);
  Elf64_Ehdr *eh = (Elf64_Ehdr *)data;
  eh->e_shoff = 0;
  eh->e_shnum = 0;
  eh->e_shstrndx = 0;
  char *q = path_in (t, "p234-noshdr");
  write_file (q, data, len);
  int ma2 = -1, mi2 = -1;
  if (elfcheck_glibc_needs (q, &ma2, &mi2, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (ma2, ma);
  assert_int_equal (mi2, mi);
  free (q);
  free (data);
  free (p);
}

static void
test_static_program (void **state)
{
  struct tmp *t = *state;
  const char *flags[] = { "-static", "-static-pie" };
  for (size_t i = 0; i < 2; i++)
    {
      if (!compile (t, "static", prog_234, flags[i]))
        skip ();
      char *p = path_in (t, "static");
      int ma = -1, mi = -1;
      ohr_error_t err = NULL;
      if (elfcheck_glibc_needs (p, &ma, &mi, &err) < 0)
        fail_msg ("%s: %s", flags[i], err->msg);
      assert_int_equal (ma, 0);
      assert_int_equal (mi, 0);
      free (p);
    }
}

/* ---- the host's libc, directly and as an image root */

static void
test_host_libc (void **state)
{
  int ma = -1, mi = -1, hma, hmi;
  ohr_error_t err = NULL;
  if (elfcheck_libc_version ("/", &ma, &mi, &err) < 0)
    fail_msg ("%s", err->msg);
  host_glibc (&hma, &hmi);
  print_message ("host libc defines up to GLIBC_%d.%d (runs %d.%d)\n", ma, mi,
                 hma, hmi);
  assert_int_equal (ma, 2);
  assert_true (mi >= 34);
  assert_true (version_le (ma, mi, hma, hmi));
  if (hma == 2 && hmi == 36) /* Debian 12 */
    assert_int_equal (mi, 36);

  int fd = open (HOST_LIBC, O_RDONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  int ma2 = -1, mi2 = -1;
  if (elfcheck_glibc_defines_fd (fd, HOST_LIBC, &ma2, &mi2, &err) < 0)
    fail_msg ("%s", err->msg);
  close (fd);
  assert_int_equal (ma2, ma);
  assert_int_equal (mi2, mi);

  /* libc.so.6 itself needs versions of ld.so: fine, and not above its own. */
  int ma3 = -1, mi3 = -1;
  if (elfcheck_glibc_needs (HOST_LIBC, &ma3, &mi3, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_true (version_le (ma3, mi3, ma, mi));
}

/* ---- broken and hostile files: a clear error, never a crash */

static void
expect_error (const char *path, const char *want, enum ohr_error_kind kind)
{
  int ma = -7, mi = -7;
  ohr_error_t err = NULL;
  int r = elfcheck_glibc_needs (path, &ma, &mi, &err);
  if (r >= 0)
    fail_msg ("%s: expected an error with '%s', got %d.%d", path, want, ma,
              mi);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: error '%s' lacks '%s'", path, err->msg, want);
  assert_int_equal (err->kind, kind);
  assert_int_equal (ma, -7); /* out_ set only on success */
  ohr_error_free (&err);
}

static void
test_not_elf (void **state)
{
  struct tmp *t = *state;
  char *p = path_in (t, "text");
  write_file (p, "#!/bin/sh\necho hi\n", 18);
  expect_error (p, "not an ELF file", OHR_ERR_NOEXEC);
  write_file (p, "", 0);
  expect_error (p, "not an ELF file", OHR_ERR_NOEXEC);
  write_file (p, "\177ELF", 4);
  expect_error (p, "shorter than an ELF header", OHR_ERR_NOEXEC);
  expect_error (t->dir, "not a regular file", OHR_ERR_NOEXEC);
  free (p);
  char *missing = path_in (t, "missing");
  expect_error (missing, "No such file", OHR_ERR_NOTFOUND);
  free (missing);

  Elf64_Ehdr eh = { 0 };
  memcpy (eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  p = path_in (t, "elf32");
  write_file (p, &eh, sizeof eh);
  expect_error (p, "not a 64-bit ELF", OHR_ERR_NOEXEC);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2MSB;
  write_file (p, &eh, sizeof eh);
  expect_error (p, "not a little-endian", OHR_ERR_NOEXEC);
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_type = ET_REL;
  write_file (p, &eh, sizeof eh);
  expect_error (p, "not an executable or shared object", OHR_ERR_NOEXEC);
  eh.e_type = ET_DYN;
  eh.e_phentsize = sizeof (Elf64_Phdr);
  eh.e_phnum = 3;
  eh.e_phoff = UINT64_MAX - 8;
  write_file (p, &eh, sizeof eh);
  expect_error (p, "beyond the end of the file", OHR_ERR_NOEXEC);
  free (p);
}

static void
test_truncated (void **state)
{
  struct tmp *t = *state;
  if (!compile (t, "prog", prog_234, "-O0"))
    skip ();
  char *p = path_in (t, "prog");
  size_t len;
  char *data = read_all (p, &len);
  char *q = path_in (t, "cut");

  /* Header only: the program headers are past the end. */
  write_file (q, data, sizeof (Elf64_Ehdr));
  expect_error (q, "truncated ELF", OHR_ERR_NOEXEC);

  /* Every length: either the answer or an error, never a crash (ASan). */
  int ma = 0, mi = 0, full_ma, full_mi, ok = 0, failed = 0;
  ohr_error_t err = NULL;
  assert_int_equal (elfcheck_glibc_needs (p, &full_ma, &full_mi, &err), 0);
  for (size_t n = 0; n < len; n += 1 + n / 64)
    {
      write_file (q, data, n);
      if (elfcheck_glibc_needs (q, &ma, &mi, &err) < 0)
        {
          assert_non_null (err);
          assert_non_null (err->msg);
          ohr_error_free (&err);
          failed++;
        }
      else
        {
          assert_true (version_le (ma, mi, full_ma, full_mi));
          ok++;
        }
    }
  print_message ("truncations: %d errors, %d complete enough\n", failed, ok);
  assert_true (failed > 0);
  free (q);
  free (data);
  free (p);
}

static void
test_corrupted (void **state)
{
  struct tmp *t = *state;
  if (!compile (t, "prog", prog_234, "-O0"))
    skip ();
  char *p = path_in (t, "prog");
  size_t len;
  char *data = read_all (p, &len);
  char *q = path_in (t, "bad");
  char *copy = malloc (len);
  assert_non_null (copy);
  /* Deterministic garbage in the headers and the first pages (dynamic
   * segment, version records, string table are there in a small program). */
  uint64_t x = 88172645463325252ULL;
  int errors = 0;
  for (int round = 0; round < 400; round++)
    {
      memcpy (copy, data, len);
      for (int k = 0; k < 1 + round % 8; k++)
        {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          size_t limit = len < 16384 ? len : 16384;
          size_t at = (round % 4 == 0) ? x % 64 : x % limit;
          copy[at] = (char)(x >> 32);
        }
      write_file (q, copy, len);
      int ma, mi;
      ohr_error_t err = NULL;
      if (elfcheck_glibc_needs (q, &ma, &mi, &err) < 0)
        {
          assert_non_null (err);
          errors++;
          ohr_error_free (&err);
        }
    }
  print_message ("corruptions: %d of 400 rejected\n", errors);

  free (copy);
  free (q);
  free (data);
  free (p);
}

/* ---- image roots: symlinks resolved inside, never outside */

static void
copy_host_libc (const char *dst)
{
  size_t len;
  char *data = read_all (HOST_LIBC, &len);
  write_file (dst, data, len);
  free (data);
}

static void
mkdirs (const struct tmp *t, const char *rel)
{
  char *p = path_in (t, rel);
  ohr_error_t err = NULL;
  if (fs_mkdir_p (p, 0755, &err) < 0)
    fail_msg ("%s", err->msg);
  free (p);
}

static void
link_in (const struct tmp *t, const char *target, const char *rel)
{
  char *p = path_in (t, rel);
  assert_int_equal (symlink (target, p), 0);
  free (p);
}

static void
expect_root_error (const struct tmp *t, const char *want)
{
  int ma = -7, mi = -7;
  ohr_error_t err = NULL;
  if (elfcheck_libc_version (t->dir, &ma, &mi, &err) >= 0)
    fail_msg ("expected an error with '%s', got %d.%d", want, ma, mi);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("error '%s' lacks '%s'", err->msg, want);
  assert_int_equal (err->kind, OHR_ERR_IMAGE);
  assert_int_equal (ma, -7);
  ohr_error_free (&err);
}

static void
test_root_inside_links (void **state)
{
  struct tmp *t = *state;
  /* merged /usr, and libc.so.6 an absolute link: both resolve in the root */
  mkdirs (t, "usr/lib/x86_64-linux-gnu");
  mkdirs (t, "opt/glibc");
  link_in (t, "usr/lib", "lib");
  char *real = path_in (t, "opt/glibc/libc-2.so");
  copy_host_libc (real);
  free (real);
  link_in (t, "/lib/../../opt/./glibc//libc-2.so",
           "usr/lib/x86_64-linux-gnu/libc.so.6");
  int ma = -1, mi = -1, hma = -1, hmi = -1;
  ohr_error_t err = NULL;
  if (elfcheck_libc_version (t->dir, &ma, &mi, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (elfcheck_libc_version ("/", &hma, &hmi, &err), 0);
  assert_int_equal (ma, hma);
  assert_int_equal (mi, hmi);
}

static void
test_root_escape_refused (void **state)
{
  struct tmp *t = *state;
  mkdirs (t, "usr/lib/x86_64-linux-gnu");
  /* Points at the host's libc through "..": must not be read. */
  link_in (t, "../../../../../../../../../../lib/x86_64-linux-gnu/libc.so.6",
           "usr/lib/x86_64-linux-gnu/libc.so.6");
  expect_root_error (t, "leads outside the image");

  /* The same climb after an absolute link. */
  char *p = path_in (t, "usr/lib/x86_64-linux-gnu/libc.so.6");
  unlink (p);
  assert_int_equal (symlink ("/usr/../../lib/x86_64-linux-gnu/libc.so.6", p),
                    0);
  expect_root_error (t, "leads outside the image");

  /* A loop. */
  unlink (p);
  assert_int_equal (symlink ("libc.so.6", p), 0);
  expect_root_error (t, "too many levels of symbolic links");

  /* A directory where libc should be. */
  unlink (p);
  assert_int_equal (mkdir (p, 0755), 0);
  expect_root_error (t, "not a regular file");
  assert_int_equal (rmdir (p), 0);

  /* Not an ELF file. */
  write_file (p, "not elf", 7);
  expect_root_error (t, "not an ELF file");

  /* A static program is ELF but defines no versions. */
  unlink (p);
  if (compile (t, "static", prog_234, "-static"))
    {
      char *s = path_in (t, "static");
      assert_int_equal (rename (s, p), 0);
      free (s);
      expect_root_error (t, "defines no symbol versions");
    }
  free (p);
}

static void
test_root_without_libc (void **state)
{
  struct tmp *t = *state;
  expect_root_error (t, "no libc.so.6 in image root");
  mkdirs (t, "usr/lib");
  /* a dangling link and a file used as a directory: still "no libc" */
  link_in (t, "/nonexistent/libc.so.6", "usr/lib/libc.so.6");
  char *f = path_in (t, "lib64");
  write_file (f, "x", 1);
  free (f);
  expect_root_error (t, "no libc.so.6 in image root");
  char *missing = path_in (t, "missing");
  int ma, mi;
  ohr_error_t err = NULL;
  assert_true (elfcheck_libc_version (missing, &ma, &mi, &err) < 0);
  assert_non_null (strstr (err->msg, "open image root"));
  ohr_error_free (&err);
  free (missing);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_version),
    cmocka_unit_test (test_host_program),
    cmocka_unit_test_setup_teardown (test_compiled_program, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_static_program, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test (test_host_libc),
    cmocka_unit_test_setup_teardown (test_not_elf, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_truncated, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_corrupted, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_root_inside_links, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_root_escape_refused, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_root_without_libc, setup_tmp,
                                     teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
