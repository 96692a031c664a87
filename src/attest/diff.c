/* diff.c: differences between what a statement recorded and what is
 * there now: file by file (attest_check_subjects), and within a file, the
 * first differing line with hints at why (an embedded path, a timestamp,
 * the same lines in another order). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

void
attest_diffs_clear (struct attest_diffs *d)
{
  for (size_t i = 0; i < d->n; i++)
    free_many (d->v[i].name, d->v[i].old_line, d->v[i].new_line);
  free (d->v);
  d->v = NULL;
  d->n = 0;
}

struct attest_diff *
attest_diffs_add (struct attest_diffs *d, enum attest_diff_kind kind,
                  const char *name)
{
  struct attest_diff *nv = realloc (d->v, (d->n + 1) * sizeof *nv);
  if (nv == NULL)
    return NULL;
  d->v = nv;
  struct attest_diff *x = &nv[d->n];
  *x = (struct attest_diff){ .kind = kind };
  if ((x->name = strdup (name)) == NULL)
    return NULL;
  d->n++;
  return x;
}

struct line
{
  const char *p;
  size_t n;
};

/* Lines without their '\n'; a final '\n' does not start another. */
static struct line *
split_lines (const char *s, size_t len, size_t *out_n)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\n')
      n++;
  struct line *v = malloc ((n + 1) * sizeof *v);
  if (v == NULL)
    return NULL;
  size_t k = 0, start = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\n')
      {
        v[k++] = (struct line){ s + start, i - start };
        start = i + 1;
      }
  if (start < len)
    v[k++] = (struct line){ s + start, len - start };
  *out_n = k;
  return v;
}

static int
compare_lines (const void *a, const void *b)
{
  const struct line *x = a, *y = b;
  int c = memcmp (x->p, y->p, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

static bool
lines_equal (const struct line *a, const struct line *b)
{
  return a->n == b->n && memcmp (a->p, b->p, a->n) == 0;
}

static bool
digits (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static long
number (const char *s, size_t n)
{
  long v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

static bool
plausible_date (long year, long month, long day, int this_year)
{
  return year >= this_year - 20 && year <= this_year + 1 && month >= 1
         && month <= 12 && day >= 1 && day <= 31;
}

/* Digits that read as a time near now: an epoch in seconds, ms, us or ns
 * (10, 13, 16 or 19 digits), a date (YYYYMMDD, YYYY-MM-DD) of the last
 * twenty years, or a time of day (HH:MM:SS). */
static bool
looks_like_time (const char *s, size_t n, time_t now)
{
  struct tm tm;
  gmtime_r (&now, &tm);
  int year = tm.tm_year + 1900;
  const long window = 20L * 366 * 24 * 3600;
  for (size_t i = 0; i < n;)
    {
      if (!digits (s + i, 1))
        {
          i++;
          continue;
        }
      size_t j = i;
      while (j < n && digits (s + j, 1))
        j++;
      size_t len = j - i;
      if (len == 10 || len == 13 || len == 16 || len == 19)
        {
          long secs = number (s + i, 10);
          if (secs > (long)now - window && secs < (long)now + 2 * 24 * 3600)
            return true;
        }
      if (len == 8
          && plausible_date (number (s + i, 4), number (s + i + 4, 2),
                             number (s + i + 6, 2), year))
        return true;
      if (len == 4 && j + 6 <= n && s[j] == '-' && digits (s + j + 1, 2)
          && s[j + 3] == '-' && digits (s + j + 4, 2)
          && plausible_date (number (s + i, 4), number (s + j + 1, 2),
                             number (s + j + 4, 2), year))
        return true;
      if (len == 2 && j + 6 <= n && s[j] == ':' && digits (s + j + 1, 2)
          && s[j + 3] == ':' && digits (s + j + 4, 2))
        return true;
      i = j;
    }
  return false;
}

static char *
truncated (const struct line *l)
{
  return strndup (l->p, l->n < ATTEST_LINE_MAX ? l->n : ATTEST_LINE_MAX);
}

static bool
contains_any (const char *s, size_t len, const char *const *needles)
{
  for (size_t i = 0; needles && needles[i]; i++)
    if (needles[i][0] && memmem (s, len, needles[i], strlen (needles[i])))
      return true;
  return false;
}

int
attest_diff_contents (const char *old, size_t old_len, const char *new,
                      size_t new_len, const char *const *old_paths,
                      const char *const *new_paths, time_t now,
                      struct attest_diff *d, ohr_error_t *err)
{
  if (contains_any (old, old_len, old_paths)
      || contains_any (new, new_len, new_paths))
    d->hints |= ATTEST_HINT_PATH;
  if (old_len == new_len && memcmp (old, new, old_len) == 0)
    return 0;
  if (memchr (old, '\0', old_len) || memchr (new, '\0', new_len))
    {
      d->note = "binary content: no line shown";
      return 0;
    }
  size_t on = 0, nn = 0;
  cleanup_free struct line *ol = split_lines (old, old_len, &on);
  cleanup_free struct line *nl = split_lines (new, new_len, &nn);
  if (ol == NULL || nl == NULL)
    return ohr_error_nomem (err);
  size_t i = 0;
  while (i < on && i < nn && lines_equal (&ol[i], &nl[i]))
    i++;
  if (i == on && i == nn)
    {
      /* the same lines: only a final newline differs */
      d->note = "only the final newline differs";
      return 0;
    }
  d->line = (long)i + 1;
  if ((i < on && (d->old_line = truncated (&ol[i])) == NULL)
      || (i < nn && (d->new_line = truncated (&nl[i])) == NULL))
    return ohr_error_nomem (err);
  if ((i < on && looks_like_time (ol[i].p, ol[i].n, now))
      || (i < nn && looks_like_time (nl[i].p, nl[i].n, now)))
    d->hints |= ATTEST_HINT_TIMESTAMP;
  if (on == nn && on > 1)
    {
      qsort (ol, on, sizeof *ol, compare_lines);
      qsort (nl, nn, sizeof *nl, compare_lines);
      size_t k = 0;
      while (k < on && lines_equal (&ol[k], &nl[k]))
        k++;
      if (k == on)
        d->hints |= ATTEST_HINT_ORDER;
    }
  return 0;
}

/* s with every needle replaced by with, to f. */
static void
put_replaced (FILE *f, const char *s, size_t len, const char *needle,
              const char *with)
{
  size_t nl = needle ? strlen (needle) : 0;
  const char *p = s, *end = s + len;
  while (p < end)
    {
      const char *hit = nl ? memmem (p, (size_t)(end - p), needle, nl) : NULL;
      if (hit == NULL)
        {
          fwrite (p, 1, (size_t)(end - p), f);
          break;
        }
      fwrite (p, 1, (size_t)(hit - p), f);
      fputs (with, f);
      p = hit + nl;
    }
}

/* The lines of a directive stream that its digest covers
 * (attest_is_directive), out_dir replaced by a placeholder; a fresh
 * string, NULL when out of memory.  *dropped: whether other lines were
 * left out. */
static char *
directive_lines (const char *s, size_t len, const char *out_dir,
                 size_t *out_len, bool *dropped)
{
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream (&buf, &n);
  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < len;)
    {
      const char *nl = memchr (s + i, '\n', len - i);
      size_t end = nl ? (size_t)(nl - s) + 1 : len;
      if (attest_is_directive (s + i, end - i))
        put_replaced (f, s + i, end - i, out_dir, "${OUT_DIR}");
      else
        *dropped = true;
      i = end;
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return NULL;
    }
  *out_len = n;
  return buf;
}

int
attest_diff_directives (const char *old, size_t old_len, const char *new,
                        size_t new_len, const char *old_out,
                        const char *new_out, time_t now, struct attest_diff *d,
                        ohr_error_t *err)
{
  size_t a = 0, b = 0;
  bool dropped = false;
  cleanup_free char *na
      = directive_lines (old, old_len, old_out, &a, &dropped);
  cleanup_free char *nb
      = directive_lines (new, new_len, new_out, &b, &dropped);
  if (na == NULL || nb == NULL)
    return ohr_error_nomem (err);
  if (a == b && memcmp (na, nb, a) == 0)
    return 1;
  if (attest_diff_contents (na, a, nb, b, NULL, NULL, now, d, err) < 0)
    return -1;
  if (d->line > 0 && d->note == NULL && dropped)
    d->note = "line numbers count the cargo: lines only";
  return 0;
}

int
attest_check_subjects (const struct attest_statement *st,
                       const struct runrecord *rr, const char *record_dir,
                       struct attest_diffs *out, ohr_error_t *err)
{
  cleanup_files struct attest_files now = { 0 };
  if (attest_tree_files (rr->out_dir, "out/", &now, err) < 0)
    return ohr_error_wrap (err, "OUT_DIR");
  cleanup_free char *dpath = fs_path_join (record_dir, rr->directives);
  if (dpath == NULL)
    return ohr_error_nomem (err);
  struct attest_diffs d = { 0 };
  int r = 0;
  for (size_t i = 0; r == 0 && i < st->subjects.n; i++)
    {
      const struct attest_file *s = &st->subjects.v[i];
      const struct attest_file *f = NULL;
      char dg[DIGEST_STRING_LEN + 1] = "";
      if (strcmp (s->name, "directives") == 0)
        {
          if (fs_exists (dpath)
              && (r = attest_digest_directives (dpath, dg, err)) < 0)
            break;
        }
      else if ((f = attest_files_find (&now, s->name)) != NULL)
        snprintf (dg, sizeof dg, "%s", f->digest);
      if (dg[0] == '\0'
          && attest_diffs_add (&d, ATTEST_DIFF_MISSING, s->name) == NULL)
        r = ohr_error_nomem (err);
      else if (dg[0] && strcmp (dg, s->digest) != 0
               && attest_diffs_add (&d, ATTEST_DIFF_CHANGED, s->name) == NULL)
        r = ohr_error_nomem (err);
    }
  for (size_t i = 0; r == 0 && i < now.n; i++)
    if (attest_files_find (&st->subjects, now.v[i].name) == NULL
        && attest_diffs_add (&d, ATTEST_DIFF_EXTRA, now.v[i].name) == NULL)
      r = ohr_error_nomem (err);
  if (r < 0)
    {
      attest_diffs_clear (&d);
      return -1;
    }
  *out = d;
  return 0;
}
