/* parse.c: statements read back: checked (types, names, digests) into
 * struct attest_statement, and the run record a statement file comes
 * from. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/yajl.h"

void
attest_statement_clear (struct attest_statement *st)
{
  free_many (st->invocation_id, st->package_name, st->package_version);
  attest_files_clear (&st->subjects);
  attest_files_clear (&st->deps);
  *st = (struct attest_statement){ 0 };
}

const char *
attest_str_at (yajl_val root, const char *const *path)
{
  yajl_val v = yajl_tree_get (root, (const char **)path, yajl_t_string);
  return v ? v->u.string : NULL;
}

static bool
valid_hex (const char *s)
{
  return s && strlen (s) == 64 && strspn (s, "0123456789abcdef") == 64;
}

/* "directives", or "out/" and a relative path without empty, "." or ".."
 * parts: a name from a statement becomes a path under OUT_DIR. */
static bool
valid_subject_name (const char *name)
{
  if (strcmp (name, "directives") == 0)
    return true;
  if (strncmp (name, "out/", 4) != 0 || name[4] == '\0')
    return false;
  for (const char *p = name + 4; *p;)
    {
      size_t n = strcspn (p, "/");
      if (n == 0 || (n == 1 && p[0] == '.')
          || (n == 2 && p[0] == '.' && p[1] == '.'))
        return false;
      p += n;
      if (*p == '/')
        {
          p++;
          if (*p == '\0')
            return false;
        }
    }
  return true;
}

/* name and digest.sha256 of a ResourceDescriptor */
static int
descriptor (yajl_val v, const char *what, const char *list, size_t i,
            bool need_digest, struct attest_files *out, ohr_error_t *err)
{
  static const char *const name_path[] = { "name", NULL };
  static const char *const sha_path[] = { "digest", "sha256", NULL };
  const char *name = YAJL_IS_OBJECT (v) ? attest_str_at (v, name_path) : NULL;
  const char *hex = YAJL_IS_OBJECT (v) ? attest_str_at (v, sha_path) : NULL;
  if (name == NULL)
    return attest_bad (err, what, "%s[%zu] has no name", list, i);
  if (hex == NULL && !need_digest)
    return 0;
  if (!valid_hex (hex))
    return attest_bad (err, what,
                       "%s[%zu] ('%.80s') has no valid sha256 digest", list, i,
                       name);
  char d[DIGEST_STRING_LEN + 1];
  snprintf (d, sizeof d, "sha256:%s", hex);
  return attest_files_add (out, name, d) < 0 ? ohr_error_nomem (err) : 0;
}

static int
read_statement (yajl_val root, const char *what, struct attest_statement *st,
                ohr_error_t *err)
{
  static const char *const type_path[] = { "_type", NULL };
  static const char *const ptype_path[] = { "predicateType", NULL };
  static const char *const btype_path[]
      = { "predicate", "buildDefinition", "buildType", NULL };
  static const char *const subject_path[] = { "subject", NULL };
  static const char *const id_path[]
      = { "predicate", "runDetails", "metadata", "invocationId", NULL };
  static const char *const name_path[] = {
    "predicate", "buildDefinition", "externalParameters", "package", "name",
    NULL
  };
  static const char *const version_path[]
      = { "predicate", "buildDefinition", "externalParameters",
          "package",   "version",         NULL };
  static const char *const deps_path[]
      = { "predicate", "buildDefinition", "resolvedDependencies", NULL };
  const char *t = attest_str_at (root, type_path);
  const char *pt = attest_str_at (root, ptype_path);
  const char *bt = attest_str_at (root, btype_path);
  if (t == NULL || strcmp (t, ATTEST_STATEMENT_TYPE) != 0)
    return attest_bad (err, what, "not an in-toto statement v1 (_type)");
  if (pt == NULL || strcmp (pt, ATTEST_PREDICATE_TYPE) != 0 || bt == NULL
      || strcmp (bt, ATTEST_BUILD_TYPE) != 0)
    return attest_bad (
        err, what,
        "not a SLSA provenance of a build-script run (predicateType "
        "or buildType)");
  const char *id = attest_str_at (root, id_path);
  if (id == NULL || !runrecord_valid_id (id))
    return attest_bad (err, what, "no valid runDetails.metadata.invocationId");
  if ((st->invocation_id = strdup (id)) == NULL)
    return ohr_error_nomem (err);
  const char *name = attest_str_at (root, name_path);
  const char *version = attest_str_at (root, version_path);
  if ((name && (st->package_name = strdup (name)) == NULL)
      || (version && (st->package_version = strdup (version)) == NULL))
    return ohr_error_nomem (err);
  yajl_val subj
      = yajl_tree_get (root, (const char **)subject_path, yajl_t_array);
  if (subj == NULL)
    return attest_bad (err, what, "no subject list");
  for (size_t i = 0; i < subj->u.array.len; i++)
    if (descriptor (subj->u.array.values[i], what, "subject", i, true,
                    &st->subjects, err)
        < 0)
      return -1;
  if (st->subjects.n)
    qsort (st->subjects.v, st->subjects.n, sizeof *st->subjects.v,
           attest_files_compare);
  for (size_t i = 0; i < st->subjects.n; i++)
    {
      if (!valid_subject_name (st->subjects.v[i].name))
        return attest_bad (err, what, "subject name '%.80s' is not allowed",
                           st->subjects.v[i].name);
      if (i > 0
          && strcmp (st->subjects.v[i - 1].name, st->subjects.v[i].name) == 0)
        return attest_bad (err, what, "subject '%.80s' is listed twice",
                           st->subjects.v[i].name);
    }
  yajl_val deps = yajl_tree_get (root, (const char **)deps_path, yajl_t_any);
  if (deps && !YAJL_IS_ARRAY (deps))
    return attest_bad (err, what, "resolvedDependencies is not a list");
  for (size_t i = 0; deps && i < deps->u.array.len; i++)
    if (descriptor (deps->u.array.values[i], what, "resolvedDependencies", i,
                    false, &st->deps, err)
        < 0)
      return -1;
  return 0;
}

int
attest_statement_parse (const char *data, size_t len, const char *origin,
                        struct attest_statement *out, ohr_error_t *err)
{
  cleanup_free char *what = NULL;
  cleanup_yajl_val yajl_val root = NULL;
  cleanup_statement struct attest_statement st = { 0 };
  if (asprintf (&what, "statement '%s'", origin ? origin : "(memory)") < 0)
    return ohr_error_nomem (err);
  if (runrecord_json_parse (data, len, ATTEST_MAX_SIZE, what, &root, err) < 0
      || read_statement (root, what, &st, err) < 0)
    return -1;
  *out = st;
  st = (struct attest_statement){ 0 }; /* now the caller's */
  return 0;
}

char *
attest_record_path (const char *statement_path,
                    const struct attest_statement *st)
{
  cleanup_free char *dir = attest_dir_of (statement_path);
  return dir ? runrecord_path (dir, st->invocation_id) : NULL;
}
