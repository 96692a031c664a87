/* bundle.c: a directory of statements as one JSON-lines bundle, each
 * statement (its envelope when there is one) canonical on one line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/walk.h"

struct bundle_line
{
  char *name;
  char *version;
  char *line;
};

static int
compare_bundle_lines (const void *a, const void *b)
{
  const struct bundle_line *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  if (c == 0)
    c = strcmp (x->version, y->version);
  return c ? c : strcmp (x->line, y->line);
}

static bool
has_suffix (const char *s, const char *suffix, size_t *base_len)
{
  size_t n = strlen (s), m = strlen (suffix);
  if (n <= m || strcmp (s + n - m, suffix) != 0)
    return false;
  *base_len = n - m;
  return true;
}

static int
bundle_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  char ***bases = ctx;
  size_t n = 0;
  if (!has_suffix (e->name, ".intoto.json", &n)
      && !has_suffix (e->name, ".dsse.json", &n))
    return WALK_SKIP;
  cleanup_free char *base = strndup (e->name, n);
  if (base == NULL)
    return ohr_error_nomem (err);
  if (!strv_contains (*bases, base) && strv_push (bases, base) < 0)
    return ohr_error_nomem (err);
  return WALK_SKIP; /* the directory's own entries only */
}

static int
bundle_bases (const char *dir, char ***out, ohr_error_t *err)
{
  cleanup_strv char **bases = NULL;
  if (walk_tree (AT_FDCWD, dir, NULL, bundle_entry, &bases, err) < 0)
    return -1;
  if (bases)
    qsort (bases, strv_len (bases), sizeof *bases, attest_compare_strings);
  *out = steal_pointer (&bases);
  return 0;
}

static int
bundle_line (const char *dir, const char *base, struct bundle_line *out,
             ohr_error_t *err)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/%s.dsse.json", dir, base) < 0)
    return ohr_error_nomem (err);
  if (!fs_exists (path))
    {
      free (path);
      if (asprintf (&path, "%s/%s.intoto.json", dir, base) < 0)
        return ohr_error_nomem (err);
    }
  cleanup_free char *data = NULL, *payload = NULL;
  size_t len = 0, plen = 0;
  bool envelope = false;
  cleanup_statement struct attest_statement st = { 0 };
  if (fs_read_file (path, ATTEST_MAX_SIZE, &data, &len, err) < 0
      || attest_canonical_json (data, len, &out->line, NULL, err) < 0
      || attest_load (path, &payload, &plen, &envelope, err) < 0
      || attest_statement_parse (payload, plen, path, &st, err) < 0)
    return ohr_error_wrap (err, "bundle");
  out->name = strdup (st.package_name ? st.package_name : "");
  out->version = strdup (st.package_version ? st.package_version : "");
  return out->name && out->version ? 0 : ohr_error_nomem (err);
}

int
attest_bundle (const char *dir, const char *out_path, size_t *out_n,
               ohr_error_t *err)
{
  cleanup_strv char **bases = NULL;
  if (bundle_bases (dir, &bases, err) < 0)
    return -1;
  size_t n = strv_len (bases);
  struct bundle_line *lines = calloc (n ? n : 1, sizeof *lines);
  if (lines == NULL)
    return ohr_error_nomem (err);
  int r = 0;
  for (size_t i = 0; r == 0 && i < n; i++)
    r = bundle_line (dir, bases[i], &lines[i], err);
  char *buf = NULL;
  size_t len = 0;
  if (r == 0)
    {
      qsort (lines, n, sizeof *lines, compare_bundle_lines);
      FILE *f = open_memstream (&buf, &len);
      if (f == NULL)
        r = ohr_error_nomem (err);
      for (size_t i = 0; f && i < n; i++)
        fprintf (f, "%s\n", lines[i].line);
      if (f && fclose (f) != 0)
        r = ohr_error_nomem (err);
    }
  for (size_t i = 0; i < n; i++)
    {
      free (lines[i].name);
      free (lines[i].version);
      free (lines[i].line);
    }
  free (lines);
  cleanup_free char *default_path = NULL;
  if (r == 0 && out_path == NULL
      && (out_path = default_path = fs_path_join (dir, "bundle.intoto.jsonl"))
             == NULL)
    r = ohr_error_nomem (err);
  if (r == 0)
    r = fs_write_atomic (out_path, buf ? buf : "", len, 0644, true, err);
  free (buf);
  if (r == 0 && out_n)
    *out_n = n;
  return r;
}
