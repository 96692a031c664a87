/* mounts.c: see mounts.h */
#define _GNU_SOURCE
#include "run/mounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
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
  /* ro, nosuid and nodev reach only the top mount of an rbind: the
   * r-variants have the runtime apply them to every submount too
   * (mount_setattr with AT_RECURSIVE) */
  const char *flat[] = { "bind", rw ? "rw" : "ro", "nosuid", "nodev", NULL };
  const char *rec_ro[]
      = { "rbind", "ro", "nosuid", "nodev", "rro", "rnosuid", "rnodev", NULL };
  const char *rec_rw[]
      = { "rbind", "rw", "nosuid", "nodev", "rnosuid", "rnodev", NULL };
  return mounts_add (t, destination, "bind", source,
                     !recursive ? flat
                     : rw       ? rec_rw
                                : rec_ro,
                     err);
}

int
mounts_add_system_bind (struct mount_table *t, const char *path,
                        ohr_error_t *err)
{
  const char *opts[] = { "rbind", "ro",      "nosuid", "nodev",   "noexec",
                         "rro",   "rnosuid", "rnodev", "rnoexec", NULL };
  return mounts_add (t, path, "bind", path, opts, err);
}

bool
mounts_recursive_attrs_supported (void)
{
#ifdef SYS_mount_setattr
  /* A size of 0 is refused with EINVAL by every kernel that has the call;
   * ENOSYS (before 5.12) or EPERM (a seccomp filter that does not know
   * it) mean a runtime's mount_setattr would fail the same way. */
  return syscall (SYS_mount_setattr, -1, "", 0, NULL, (size_t)0) < 0
         && errno == EINVAL;
#else
  return false;
#endif
}

static bool
has_option (const struct ohr_mount *m, const char *opt)
{
  for (size_t i = 0; m->options && m->options[i]; i++)
    if (strcmp (m->options[i], opt) == 0)
      return true;
  return false;
}

static bool
is_recursive_attr (const char *opt)
{
  static const char *const attrs[]
      = { "rro", "rrw", "rnosuid", "rnodev", "rnoexec", NULL };
  for (size_t i = 0; attrs[i]; i++)
    if (strcmp (opt, attrs[i]) == 0)
      return true;
  return false;
}

/* Drop the r-variants of m's options, in place. */
static void
strip_recursive_attrs (struct ohr_mount *m)
{
  size_t o = 0;
  for (size_t i = 0; m->options && m->options[i]; i++)
    if (is_recursive_attr (m->options[i]))
      free (m->options[i]);
    else
      m->options[o++] = m->options[i];
  if (m->options)
    m->options[o] = NULL;
}

int
mounts_bind_submounts (struct mount_table *t, const struct mountinfo *mi,
                       ohr_error_t *err)
{
  size_t n = t->n; /* the binds added below need no expansion */
  for (size_t i = 0; i < n; i++)
    {
      strip_recursive_attrs (&t->v[i]);
      if (!has_option (&t->v[i], "rbind") || !has_option (&t->v[i], "ro"))
        continue;
      /* mountinfo names the points the kernel resolved: a source given
       * through a symlink (a policy's /usr/lib/ssl) is compared as such */
      cleanup_free char *real = realpath (t->v[i].source, NULL);
      const char *src = real ? real : t->v[i].source;
      for (size_t j = 0; j < mi->n; j++)
        {
          const char *point = mi->v[j].point;
          if (strcmp (point, src) == 0 || !fs_path_is_under (point, src))
            continue;
          /* behind a directory we cannot search (0700, another user's):
           * the runtime could not bind it, and the script cannot reach
           * it through the rbind either */
          if (access (point, F_OK) < 0 && errno == EACCES)
            continue;
          cleanup_free char *dest = NULL;
          const char *rest = point + strlen (src);
          if (asprintf (&dest, "%s%s%s", t->v[i].destination,
                        strcmp (src, "/") == 0 ? "/" : "", rest)
              < 0)
            return ohr_error_nomem (err);
          bool noexec = has_option (&t->v[i], "noexec");
          const char *opts[]
              = { "rbind", "ro", "nosuid", "nodev", noexec ? "noexec" : NULL,
                  NULL };
          if (mounts_add (t, dest, "bind", point, opts, err) < 0)
            return -1;
        }
    }
  return 0;
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
