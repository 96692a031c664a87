/* deps.c: the dependencies' OUT_DIRs a build script read.  Cargo names
 * them in DEP_<LINKS>_<KEY> variables (a dependency's build script
 * exported `cargo:include=...` or other metadata naming its OUT_DIR), the
 * run record keeps those, and the runner mounts those directories
 * read-only (context_dependency_dirs).  They are inputs of the run: the
 * statement names each with the digest of its tree, and a re-run copies
 * them into its temporary tree, where its DEP_* variables name them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/internal.h"
#include "run/context.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

int
attest_dep_dirs (const struct runrecord *rr, char **out_build_dir,
                 char ***out_dirs, ohr_error_t *err)
{
  cleanup_free char *build_dir = NULL, *target_dir = NULL;
  cleanup_strv char **dirs = NULL;
  if (context_cargo_dirs (rr->out_dir, rr->target, &build_dir, &target_dir,
                          err)
          < 0
      || context_dependency_dirs (build_dir, rr->env, &dirs, err) < 0)
    return -1;
  *out_build_dir = steal_pointer (&build_dir);
  *out_dirs = steal_pointer (&dirs);
  return 0;
}

int
attest_dep_digests (const struct runrecord *rr, struct attest_files *out,
                    ohr_error_t *err)
{
  cleanup_free char *build_dir = NULL;
  cleanup_strv char **dirs = NULL;
  cleanup_files struct attest_files f = { 0 };
  if (attest_dep_dirs (rr, &build_dir, &dirs, err) < 0)
    return -1;
  for (size_t i = 0; dirs[i]; i++)
    {
      char d[DIGEST_STRING_LEN + 1];
      cleanup_free char *name = NULL;
      if (attest_tree_digest (dirs[i], d, err) < 0)
        return ohr_error_wrap (err, "dependency OUT_DIR '%s'", dirs[i]);
      if (asprintf (&name, "%s%s", ATTEST_DEP_OUT_DIR,
                    dirs[i] + strlen (build_dir) + 1)
              < 0
          || attest_files_add (&f, name, d) < 0)
        return ohr_error_nomem (err);
    }
  if (f.n)
    qsort (f.v, f.n, sizeof *f.v, attest_files_compare);
  *out = f;
  f = (struct attest_files){ 0 };
  return 0;
}

int
attest_dep_copy (char *const *dirs, const char *tree, ohr_error_t *err)
{
  for (size_t i = 0; dirs && dirs[i]; i++)
    {
      cleanup_free char *dst = NULL, *parent = NULL;
      if (asprintf (&dst, "%s%s", tree, dirs[i]) < 0)
        return ohr_error_nomem (err);
      if ((parent = attest_dir_of (dst)) == NULL)
        return ohr_error_nomem (err);
      if (fs_mkdir_p (parent, 0755, err) < 0)
        return -1;
      if (fs_copy_tree (dirs[i], dst, err) < 0)
        return ohr_error_wrap (err, "dependency OUT_DIR '%s'", dirs[i]);
    }
  return 0;
}

int
attest_dep_rewrite (const char *entry, const char *build_dir, const char *tree,
                    char **out)
{
  const char *eq = strchr (entry, '=');
  if (build_dir == NULL || strncmp (entry, "DEP_", 4) != 0 || eq == NULL
      || eq[1] != '/')
    return 0;
  cleanup_free char *value = fs_path_normalize (eq + 1);
  if (value == NULL || !fs_path_is_under (value, build_dir))
    return 0;
  if (asprintf (out, "%.*s=%s%s", (int)(eq - entry), entry, tree, eq + 1) < 0)
    {
      *out = NULL;
      return -1;
    }
  return 1;
}
