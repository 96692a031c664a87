/* internal.h: what the attest helper's files share and nothing outside
 * src/attest/ uses (attest.h is the folder's interface).  record.c, which
 * run mode links, does not include it. */
#ifndef OHR_ATTEST_INTERNAL_H
#define OHR_ATTEST_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "attest/attest.h"
#include "attest/record.h"
#include "util/cleanup.h"
#include "util/error.h"

#define SHA256_HEX(d) ((d) + 7) /* "sha256:HEX" -> "HEX" */

DEFINE_CLEANUP_CLEAR (runrecord, struct runrecord, runrecord_clear)
#define cleanup_runrecord CLEANUP (runrecord)

DEFINE_CLEANUP_CLEAR (statement, struct attest_statement,
                      attest_statement_clear)
#define cleanup_statement CLEANUP (statement)

DEFINE_CLEANUP_CLEAR (files, struct attest_files, attest_files_clear)
#define cleanup_files CLEANUP (files)

/* qsort of a char * array by bytes */
static inline int
attest_compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* The directory part of a path ("." when none); NULL: out of memory. */
char *attest_dir_of (const char *path);
const char *attest_base_of (const char *path);

/* ---- canonical.c */

/* The text a generator holds (st: the status of its last call), made
 * canonical; frees g. */
int attest_gen_finish (yajl_gen g, yajl_gen_status st, char **out,
                       size_t *out_len, ohr_error_t *err);

/* ---- tree.c: lists of named digests */

int attest_files_add (struct attest_files *f, const char *name,
                      const char *digest);
/* qsort and bsearch order: by name */
int attest_files_compare (const void *a, const void *b);
const struct attest_file *attest_files_find (const struct attest_files *f,
                                             const char *name);

/* ---- probe.c */

/* The first non-empty line argv prints (status 0 required). */
int attest_first_line (char *const *argv, char **out, ohr_error_t *err);

/* ---- statement.c */

/* Whether a line (len bytes, with or without its '\n') is one of the
 * directives that a directive stream's digest covers: "cargo:" after
 * spaces and tabs. */
bool attest_is_directive (const char *line, size_t len);

/* The digest of the directives (lines starting with "cargo:") in the
 * directive stream at path. */
int attest_digest_directives (const char *path, char *out, ohr_error_t *err);

/* ---- parse.c: reading JSON back */

/* The string at path in root, or NULL. */
const char *attest_str_at (yajl_val root, const char *const *path);

/* EINVAL "WHAT: message" (fmt: a string literal) */
#define attest_bad(err, what, fmt, ...)                                       \
  ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL, "%s: " fmt, what,             \
                 ##__VA_ARGS__)

/* ---- deps.c: the dependencies' OUT_DIRs a run read */

/* "dependency-out-dir:<pkg>-<hash>/out": a resolved dependency's name */
#define ATTEST_DEP_OUT_DIR "dependency-out-dir:"

/* The record's build directory (NULL when OUT_DIR is not of Cargo's
 * shape) and the dependencies' OUT_DIRs below it that its DEP_* variables
 * name, as context_dependency_dirs finds them (existing directories). */
int attest_dep_dirs (const struct runrecord *rr, char **out_build_dir,
                     char ***out_dirs, ohr_error_t *err);

/* Each of them as ATTEST_DEP_OUT_DIR<path below the build directory>
 * with attest_tree_digest of it, sorted by name. */
int attest_dep_digests (const struct runrecord *rr, struct attest_files *out,
                        ohr_error_t *err);

/* Copy each of dirs (absolute) to the same path below tree (tree + path). */
int attest_dep_copy (char *const *dirs, const char *tree, ohr_error_t *err);

/* A recorded environment entry for a re-run whose build directory is the
 * recorded one below tree: a DEP_* value below build_dir is prefixed with
 * tree (*out, "NAME=<tree><value>"; returns 1); anything else stays as it
 * is (returns 0; also when build_dir is NULL).  -1: out of memory. */
int attest_dep_rewrite (const char *entry, const char *build_dir,
                        const char *tree, char **out);

/* ---- diff.c */

/* A new difference at the end of d; NULL when out of memory. */
struct attest_diff *attest_diffs_add (struct attest_diffs *d,
                                      enum attest_diff_kind kind,
                                      const char *name);

#endif
