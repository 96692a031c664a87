/* probe.c: what a statement records of the runtime and the toolchain,
 * asked of the programs themselves: `RUNTIME --version`, and the
 * toolchain digest (attest_toolchain_digest: rustc, its driver libraries
 * and `rustc -vV`, cheaper than hashing a whole toolchain). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/strv.h"
#include "util/walk.h"

/* Run argv; its stdout (status 0 required). */
static int
probe (char *const *argv, char **out, ohr_error_t *err)
{
  struct proc_result res = { 0 };
  if (proc_run (argv, &res, err) < 0)
    return ohr_error_wrap (err, "cannot run '%s'", argv[0]);
  if (res.status != 0)
    {
      char *e = res.err;
      e[strcspn (e, "\n")] = '\0';
      int r = ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                             "'%s %s' exited with status %d%s%.200s", argv[0],
                             argv[1], res.status, e[0] ? ": " : "", e);
      proc_result_clear (&res);
      return r;
    }
  *out = steal_pointer (&res.out);
  proc_result_clear (&res);
  return 0;
}

int
attest_first_line (char *const *argv, char **out, ohr_error_t *err)
{
  cleanup_free char *text = NULL;
  if (probe (argv, &text, err) < 0)
    return -1;
  char *s = text + strspn (text, " \t\r\n");
  s[strcspn (s, "\r\n")] = '\0';
  if (s[0] == '\0')
    return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                          "'%s %s' printed nothing", argv[0], argv[1]);
  return (*out = strdup (s)) ? 0 : ohr_error_nomem (err);
}

static int
driver_lib (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  char ***out = ctx;
  size_t n = strlen (e->name);
  if (strncmp (e->name, "librustc_driver-", 16) == 0 && n > 19
      && strcmp (e->name + n - 3, ".so") == 0
      && strv_pushf (out, "lib/%s", e->name) < 0)
    return ohr_error_nomem (err);
  return WALK_SKIP; /* lib/ itself only */
}

/* root/lib/librustc_driver-*.so, sorted, as "lib/NAME" (none when there
 * is no lib/) */
static int
driver_libs (const char *root, char ***out, ohr_error_t *err)
{
  cleanup_free char *lib = fs_path_join (root, "lib");
  if (lib == NULL)
    return ohr_error_nomem (err);
  cleanup_close int fd = open (lib, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  if (walk_fd (fd, lib, NULL, driver_lib, out, err) < 0)
    return -1;
  if (*out)
    qsort (*out, strv_len (*out), sizeof **out, attest_compare_strings);
  return 0;
}

/* rustc's toolchain root and its real binary (see attest.h). */
static int
toolchain_root (const char *rustc, char *const *toolchains, char **out_root,
                char **out_rustc, char ***out_libs, ohr_error_t *err)
{
  char real[PATH_MAX];
  if (realpath (rustc, real) == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot resolve rustc '%s'", rustc);
  cleanup_free char *root = NULL;
  for (size_t i = 0; toolchains && toolchains[i] && root == NULL; i++)
    {
      char rt[PATH_MAX];
      if (realpath (toolchains[i], rt) && fs_path_is_under (real, rt)
          && strcmp (real, rt) != 0)
        root = strdup (rt);
    }
  if (root == NULL)
    {
      cleanup_free char *bin = attest_dir_of (real);
      if (bin && strcmp (attest_base_of (bin), "bin") == 0)
        root = attest_dir_of (bin);
    }
  cleanup_strv char **libs = NULL;
  if (root && driver_libs (root, &libs, err) < 0)
    return -1;
  if (libs == NULL)
    {
      /* a rustup proxy (a link to rustup): ask it where the toolchain is */
      char *argv[] = { (char *)rustc, "--print", "sysroot", NULL };
      cleanup_free char *sysroot = NULL;
      if (probe (argv, &sysroot, err) < 0)
        return -1;
      sysroot[strcspn (sysroot, "\r\n")] = '\0';
      free (root);
      root = realpath (sysroot, NULL);
      cleanup_free char *bin = root ? fs_path_join (root, "bin/rustc") : NULL;
      if (bin == NULL || realpath (bin, real) == NULL)
        return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                              "toolchain of '%s': no bin/rustc in its "
                              "sysroot '%s'",
                              rustc, sysroot);
      if (driver_libs (root, &libs, err) < 0)
        return -1;
      if (libs == NULL)
        return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                              "toolchain '%s': no lib/librustc_driver-*.so",
                              root);
    }
  if ((*out_rustc = strdup (real)) == NULL)
    return ohr_error_nomem (err);
  *out_root = steal_pointer (&root);
  *out_libs = steal_pointer (&libs);
  return 0;
}

int
attest_toolchain_digest (const char *rustc, char *const *toolchains,
                         char out[DIGEST_STRING_LEN + 1], char **out_release,
                         ohr_error_t *err)
{
  cleanup_free char *root = NULL, *real = NULL, *vv = NULL;
  cleanup_strv char **libs = NULL;
  if (toolchain_root (rustc, toolchains, &root, &real, &libs, err) < 0)
    return ohr_error_wrap (err, "toolchain");
  char *argv[] = { real, "-vV", NULL };
  if (probe (argv, &vv, err) < 0)
    return ohr_error_wrap (err, "toolchain");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    return ohr_error_nomem (err);
  char d[DIGEST_STRING_LEN + 1];
  int r = digest_file (real, d, err);
  if (r == 0)
    {
      const char *rel
          = fs_path_is_under (real, root) ? real + strlen (root) + 1 : "rustc";
      fprintf (f, "%s %s", rel, d);
      fputc ('\0', f);
    }
  for (size_t i = 0; r == 0 && libs[i]; i++)
    {
      cleanup_free char *p = fs_path_join (root, libs[i]);
      r = p ? digest_file (p, d, err) : ohr_error_nomem (err);
      if (r == 0)
        {
          fprintf (f, "%s %s", libs[i], d);
          fputc ('\0', f);
        }
    }
  digest_sha256 (vv, strlen (vv), d);
  fprintf (f, "rustc -vV %s", d);
  fputc ('\0', f);
  if (fclose (f) != 0 && r == 0)
    r = ohr_error_nomem (err);
  if (r == 0)
    digest_sha256 (buf, len, out);
  free (buf);
  if (r < 0)
    return ohr_error_wrap (err, "toolchain");
  if (out_release)
    {
      vv[strcspn (vv, "\r\n")] = '\0';
      if ((*out_release = strdup (vv)) == NULL)
        return ohr_error_nomem (err);
    }
  return 0;
}
