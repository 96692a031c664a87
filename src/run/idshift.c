/* idshift.c: see idshift.h */
#define _GNU_SOURCE
#include "run/idshift.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/mounts.h"
#include "util/cleanup.h"

struct lend
{
  const struct idmap *map;
  uid_t uid;
  gid_t gid;
};

static int
lend_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  const struct lend *l = ctx;
  const struct stat *st = e->st;
  if (st->st_uid != l->uid || (S_ISREG (st->st_mode) && st->st_nlink > 1))
    return WALK_CONTINUE;
  gid_t gid = st->st_gid == l->gid ? l->map->gid : (gid_t)-1;
  /* EPERM as root: an immutable or append-only file, which the script
   * could not change anyway; it stays the user's, and the after-run check
   * still judges it (a setuid one it cannot clear fails the run) */
  if (fchownat (e->dirfd, e->name, l->map->uid, gid, AT_SYMLINK_NOFOLLOW) < 0
      && errno != ENOENT && errno != EPERM)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot lend '%s' to the container's root",
                            e->path);
  return WALK_CONTINUE;
}

int
idshift_lend (const char *dir, const struct idmap *map,
              struct idshift_owner *out, ohr_error_t *err)
{
  cleanup_close int fd
      = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open directory '%s'", dir);
  struct idshift_owner o = { .map = map, .uid = st.st_uid, .gid = st.st_gid };
  if (idmap_has_uid (map, o.uid))
    o.uid = geteuid ();
  if (idmap_has_gid (map, o.gid))
    o.gid = getegid ();
  /* set before the first chown: a failure half-way still gives back */
  *out = o;
  struct lend l = { .map = map, .uid = st.st_uid, .gid = st.st_gid };
  if (walk_fd (fd, dir, NULL, lend_entry, &l, err) < 0)
    return -1;
  if (fchown (fd, map->uid, map->gid) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot lend '%s' to the container's root", dir);
  return 0;
}

/* The owner's id for one of the range, else -1 (unchanged). */
static uid_t
back_uid (const struct idshift_owner *o, uid_t uid)
{
  return idmap_has_uid (o->map, uid) ? o->uid : (uid_t)-1;
}

static gid_t
back_gid (const struct idshift_owner *o, gid_t gid)
{
  return idmap_has_gid (o->map, gid) ? o->gid : (gid_t)-1;
}

int
idshift_give_back_entry (const struct walk_entry *e,
                         const struct idshift_owner *o, ohr_error_t *err)
{
  uid_t uid = back_uid (o, e->st->st_uid);
  gid_t gid = back_gid (o, e->st->st_gid);
  if (uid == (uid_t)-1 && gid == (gid_t)-1)
    return 0;
  /* the kernel drops setuid (and setgid with group execute) on chown;
   * what is left, or a bit set again since the walk looked, goes now,
   * while the entry is ours: nothing stays setid under the owner's ids */
  if (fchownat (e->dirfd, e->name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT
               ? 0
               : ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                  "cannot give '%s' back", e->path);
  struct stat st;
  if (S_ISLNK (e->st->st_mode) || S_ISDIR (e->st->st_mode)
      || fstatat (e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0
      || !(st.st_mode & (S_ISUID | S_ISGID)) || S_ISLNK (st.st_mode)
      || S_ISDIR (st.st_mode))
    return 0;
  if (fchmodat (e->dirfd, e->name, st.st_mode & 0777, 0) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot clear the setid bits of '%s'", e->path);
  return 0;
}

int
idshift_give_back_fd (int fd, const struct idshift_owner *o, ohr_error_t *err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot stat");
  uid_t uid = back_uid (o, st.st_uid);
  gid_t gid = back_gid (o, st.st_gid);
  if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown (fd, uid, gid) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot give back");
  return 0;
}

static bool
searchable (const struct stat *st, uid_t uid, gid_t gid)
{
  if (st->st_uid == uid)
    return st->st_mode & S_IXUSR;
  if (st->st_gid == gid)
    return st->st_mode & S_IXGRP;
  return st->st_mode & S_IXOTH;
}

bool
idshift_reaches (const char *path, uid_t uid, gid_t gid)
{
  cleanup_free char *p = strdup (path);
  if (p == NULL || p[0] != '/')
    return false;
  size_t n = strlen (p);
  for (size_t i = 1; i <= n; i++)
    {
      if (p[i] != '/' && p[i] != '\0')
        continue;
      char c = p[i];
      p[i] = '\0';
      struct stat st;
      bool ok = lstat (p, &st) == 0 && S_ISDIR (st.st_mode)
                && searchable (&st, uid, gid);
      p[i] = c;
      if (!ok)
        return false;
    }
  struct stat root;
  return stat ("/", &root) == 0 && searchable (&root, uid, gid);
}

/* Make rel (relative, components separated by '/') beneath rootfd; the
 * last component a file when file. */
static int
make_beneath (int rootfd, const char *rel, bool file)
{
  cleanup_free char *copy = strdup (rel);
  if (copy == NULL)
    return -1;
  cleanup_close int fd = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  char *save = NULL;
  for (char *c = strtok_r (copy, "/", &save); c && fd >= 0;)
    {
      char *next = strtok_r (NULL, "/", &save);
      if (next == NULL && file)
        {
          int f = openat (fd, c, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                          0644);
          if (f >= 0)
            close (f);
          return 0; /* whatever is there: the runtime says what is wrong */
        }
      if (mkdirat (fd, c, 0755) < 0 && errno != EEXIST)
        return -1;
      int nfd = openat (fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (nfd < 0)
        return 0; /* a symlink (or no directory): the runtime's to resolve */
      /* a runtime running as real root made some with the mode of the
       * host's directory (crun: /root, 0700): the mapped root must pass */
      struct stat st;
      if (fstat (nfd, &st) == 0 && (st.st_mode & 0055) != 0055
          && fchmodat (fd, c, (st.st_mode & 07777) | 0055, 0) < 0)
        {
          close (nfd);
          return -1;
        }
      close (fd);
      fd = nfd;
      c = next;
    }
  return fd >= 0 ? 0 : -1;
}

int
idshift_make_mount_points (const char *rootfs,
                           const struct mount_table *mounts, ohr_error_t *err)
{
  cleanup_close int rootfd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open the rootfs '%s'", rootfs);
  for (size_t i = 0; i < mounts->n; i++)
    {
      const struct ohr_mount *m = &mounts->v[i];
      cleanup_free char *parent = strdup (m->destination);
      if (parent == NULL)
        return ohr_error_nomem (err);
      char *slash = strrchr (parent, '/');
      if (slash == NULL || m->destination[1] == '\0')
        continue;
      slash[slash == parent ? 1 : 0] = '\0';
      /* below another mount, the runtime creates it there: in a tmpfs of
       * the mapped root's, or in a host directory bound at its own path */
      const struct ohr_mount *over = mounts_covering (mounts, parent);
      if (over && strcmp (over->destination, "/") != 0)
        continue;
      struct stat st;
      bool file = strcmp (m->type, "bind") == 0 && stat (m->source, &st) == 0
                  && !S_ISDIR (st.st_mode);
      if (make_beneath (rootfd, m->destination + 1, file) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create the mount point '%s' in '%s'",
                                m->destination, rootfs);
    }
  return 0;
}
