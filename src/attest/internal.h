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

/* ---- diff.c */

/* A new difference at the end of d; NULL when out of memory. */
struct attest_diff *attest_diffs_add (struct attest_diffs *d,
                                      enum attest_diff_kind kind,
                                      const char *name);

#endif
