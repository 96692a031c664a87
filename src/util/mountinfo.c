/* mountinfo.c: see mountinfo.h */
#define _GNU_SOURCE
#include "util/mountinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

void
mountinfo_clear (struct mountinfo *t)
{
  free (t->v);
  free (t->buf);
  memset (t, 0, sizeof *t);
}

/* The kernel writes a space, tab, newline or backslash in a mount point
 * as \ooo; undo that in place. */
static void
unescape_octal (char *s)
{
  char *o = s;
  for (const char *p = s; *p;)
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0'
        && p[2] <= '7' && p[3] >= '0' && p[3] <= '7')
      {
        *o++
            = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
        p += 4;
      }
    else
      *o++ = *p++;
  *o = '\0';
}

/* One line: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE
 * SOURCE SUPEROPTIONS".  False when the line is not such an entry. */
static bool
parse_line (char *line, struct mountinfo_entry *out)
{
  char *save = NULL, *end = NULL, *f[5];
  for (int i = 0; i < 5; i++)
    if ((f[i] = strtok_r (i == 0 ? line : NULL, " ", &save)) == NULL)
      return false;
  out->id = strtol (f[0], &end, 10);
  if (*end != '\0')
    return false;
  out->parent = strtol (f[1], &end, 10);
  if (*end != '\0')
    return false;
  /* the options, then optional fields up to "-", then the type */
  char *tok;
  while ((tok = strtok_r (NULL, " ", &save)) != NULL && strcmp (tok, "-") != 0)
    ;
  if (tok == NULL || (tok = strtok_r (NULL, " ", &save)) == NULL)
    return false;
  unescape_octal (f[4]);
  if (f[4][0] != '/')
    return false;
  out->point = f[4];
  out->fstype = tok;
  return true;
}

int
mountinfo_parse (const char *text, struct mountinfo *out)
{
  memset (out, 0, sizeof *out);
  size_t lines = 1;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  out->buf = strdup (text);
  out->v = calloc (lines, sizeof *out->v);
  if (out->buf == NULL || out->v == NULL)
    {
      mountinfo_clear (out);
      errno = ENOMEM;
      return -1;
    }
  char *save = NULL;
  for (char *line = strtok_r (out->buf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    if (parse_line (line, &out->v[out->n]))
      out->n++;
  return 0;
}

void
mountinfo_drop_below (struct mountinfo *t, const char *path)
{
  size_t o = 0;
  for (size_t i = 0; i < t->n; i++)
    if (strcmp (t->v[i].point, path) == 0
        || !fs_path_is_under (t->v[i].point, path))
      t->v[o++] = t->v[i];
  t->n = o;
}

int
mountinfo_read_self (struct mountinfo *out, ohr_error_t *err)
{
  cleanup_free char *text = NULL;
  if (fs_read_file ("/proc/self/mountinfo", MOUNTINFO_MAX, &text, NULL, err)
      < 0)
    return -1;
  if (mountinfo_parse (text, out) < 0)
    return ohr_error_nomem (err);
  return 0;
}

/* The mount of "/" that is not on top of another listed mount (the lines
 * are not in mount order: on some hosts /proc comes before /). */
static const struct mountinfo_entry *
root_mount (const struct mountinfo *t)
{
  const struct mountinfo_entry *first = NULL;
  for (size_t i = 0; i < t->n; i++)
    {
      if (strcmp (t->v[i].point, "/") != 0)
        continue;
      if (first == NULL)
        first = &t->v[i];
      bool on_listed = false;
      for (size_t j = 0; j < t->n && !on_listed; j++)
        on_listed = j != i && t->v[j].id == t->v[i].parent;
      if (!on_listed)
        return &t->v[i];
    }
  return first;
}

/* What the path walk reaches at POINT, a directory of CUR: the mount on
 * it, the one mounted on top of that, and so on (the last listed wins). */
static const struct mountinfo_entry *
top_at (const struct mountinfo *t, const struct mountinfo_entry *cur,
        const char *point)
{
  /* bounded: a malformed table may have cycles */
  for (size_t steps = 0; steps < t->n; steps++)
    {
      const struct mountinfo_entry *next = NULL;
      for (size_t i = 0; i < t->n; i++)
        if (&t->v[i] != cur && t->v[i].parent == cur->id
            && strcmp (t->v[i].point, point) == 0)
          next = &t->v[i];
      if (next == NULL)
        break;
      cur = next;
    }
  return cur;
}

const struct mountinfo_entry *
mountinfo_mount_of (const struct mountinfo *t, const char *path)
{
  const struct mountinfo_entry *cur = root_mount (t);
  cleanup_free char *p = strdup (path);
  if (cur == NULL || p == NULL)
    return NULL;
  cur = top_at (t, cur, "/");
  for (size_t i = 1; p[i - 1] != '\0'; i++)
    if (p[i] == '/' || p[i] == '\0')
      {
        char c = p[i];
        p[i] = '\0';
        cur = top_at (t, cur, p);
        p[i] = c;
      }
  return cur;
}
