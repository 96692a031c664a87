/* mounts.c: see mounts.h */
#define _GNU_SOURCE
#include "run/mounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/strv.h"

int
mounts_add (struct mount_table *t, const char *destination, const char *type,
            const char *source, const char *const *options, ohr_error_t *err)
{
  struct ohr_mount *nv = realloc (t->v, (t->n + 1) * sizeof *nv);
  if (nv == NULL)
    return ohr_error_nomem (err);
  t->v = nv;
  struct ohr_mount *m = &t->v[t->n];
  memset (m, 0, sizeof *m);
  m->destination = strdup (destination);
  m->type = strdup (type);
  m->source = strdup (source);
  m->order = (int)t->n;
  bool ok = m->destination && m->type && m->source;
  for (size_t i = 0; ok && options && options[i]; i++)
    ok = strv_push (&m->options, options[i]) == 0;
  t->n++; /* owned from here on, freed by mounts_free even when !ok */
  if (!ok)
    return ohr_error_nomem (err);
  return 0;
}

int
mounts_add_bind (struct mount_table *t, const char *source,
                 const char *destination, bool rw, bool recursive,
                 ohr_error_t *err)
{
  const char *opts[] = { recursive ? "rbind" : "bind", rw ? "rw" : "ro",
                         "nosuid", "nodev", NULL };
  return mounts_add (t, destination, "bind", source, opts, err);
}

const struct ohr_mount *
mounts_find (const struct mount_table *t, const char *dest)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp (t->v[i].destination, dest) == 0)
      return &t->v[i];
  return NULL;
}

const struct ohr_mount *
mounts_covering (const struct mount_table *t, const char *path)
{
  const struct ohr_mount *best = NULL;
  for (size_t i = 0; i < t->n; i++)
    if (fs_path_is_under (path, t->v[i].destination)
        && (best == NULL
            || strlen (t->v[i].destination) > strlen (best->destination)))
      best = &t->v[i];
  return best;
}

static int
depth (const char *path)
{
  int d = 0;
  for (const char *p = path; *p; p++)
    if (*p == '/' && p[1] != '\0')
      d++;
  return d;
}

static int
compare_mounts (const void *a, const void *b)
{
  const struct ohr_mount *x = a, *y = b;
  int dx = depth (x->destination), dy = depth (y->destination);
  if (dx != dy)
    return dx < dy ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

void
mounts_sort (struct mount_table *t)
{
  if (t->n > 1)
    qsort (t->v, t->n, sizeof *t->v, compare_mounts);
  for (size_t i = 0; i < t->n; i++)
    t->v[i].order = (int)i;
}

void
mounts_free (struct mount_table *t)
{
  for (size_t i = 0; i < t->n; i++)
    {
      free (t->v[i].destination);
      free (t->v[i].type);
      free (t->v[i].source);
      strv_free (t->v[i].options);
    }
  free (t->v);
  t->v = NULL;
  t->n = 0;
}
