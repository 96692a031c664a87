/* internal.h: what the attest helper's files share and nothing outside
 * src/attest/ uses (attest.h is the folder's interface).  record.c, which
 * run mode links, does not include it. */
#ifndef OHR_ATTEST_INTERNAL_H
#define OHR_ATTEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "attest/attest.h"
#include "attest/record.h"
#include "util/error.h"

#define SHA256_HEX(d) ((d) + 7) /* "sha256:HEX" -> "HEX" */

static inline void
cleanup_runrecordp (struct runrecord *rr)
{
  runrecord_clear (rr);
}
#define cleanup_runrecord __attribute__ ((cleanup (cleanup_runrecordp)))

static inline void
cleanup_statementp (struct attest_statement *st)
{
  attest_statement_clear (st);
}
#define cleanup_statement __attribute__ ((cleanup (cleanup_statementp)))

static inline void
cleanup_filesp (struct attest_files *f)
{
  attest_files_clear (f);
}
#define cleanup_files __attribute__ ((cleanup (cleanup_filesp)))

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

/* The digest of the directives (lines starting with "cargo:") in the
 * directive stream at path. */
int attest_digest_directives (const char *path, char *out, ohr_error_t *err);

/* ---- parse.c: reading JSON back */

/* The string at path in root, or NULL. */
const char *attest_str_at (yajl_val root, const char *const *path);

/* EINVAL "WHAT: message" */
int attest_bad (ohr_error_t *err, const char *what, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ---- diff.c */

/* A new difference at the end of d; NULL when out of memory. */
struct attest_diff *attest_diffs_add (struct attest_diffs *d,
                                      enum attest_diff_kind kind,
                                      const char *name);

#endif
