/* image-host.c: the embedded "host" image.
 *
 * A skeleton rootfs whose /usr (and /bin, /lib... where they are not
 * merged-/usr symlinks) are read-only binds of the host's, so compilers,
 * pkg-config and -dev libraries work without a download.  Only the few
 * /etc files programs need are copied in (dynamic loader cache, passwd and
 * group for name lookups, alternatives for /usr/bin/cc -> gcc); the rest of
 * the host's /etc (shadow, ssh, credentials) never appears.
 *
 * The skeleton lives in the cache under a name derived from a fingerprint
 * of the copied host files, so it is built once and rebuilt only when one
 * of them changes (apt installs a library: ld.so.cache changes).  A run
 * costs a dozen stat calls.  Building is atomic: a temp directory renamed
 * into place; concurrent first runs race harmlessly (the loser deletes its
 * copy).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define HOST_LAYOUT_VERSION 2 /* 2: /cargo for canonical paths */

/* /etc entries copied into the skeleton (files, symlinks or directories of
 * them).  Missing ones are skipped. */
static const char *const etc_entries[] = {
  "ld.so.cache",   "ld.so.conf",   "ld.so.conf.d", "passwd",    "group",
  "nsswitch.conf", "alternatives", "os-release",   "localtime",
};

/* Top-level directories that merged-/usr systems make symlinks. */
static const char *const usr_links[] = {
  "bin", "sbin", "lib", "lib32", "lib64", "libx32",
};

static const char *const skeleton_dirs[] = {
  "dev", "proc", "sys",     "tmp", "run", "home", "etc",
  "usr", "var",  "var/tmp", "opt", "mnt", "srv",
};

static uint64_t
fnv1a (uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  return h;
}

static uint64_t
hash_stat (uint64_t h, const char *path)
{
  struct stat st;
  h = fnv1a (h, path, strlen (path) + 1);
  if (lstat (path, &st) < 0)
    return fnv1a (h, "-", 1);
  int64_t v[5]
      = { (int64_t)st.st_ino, (int64_t)st.st_mode, (int64_t)st.st_size,
          (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec };
  return fnv1a (h, v, sizeof v);
}

/* Changes whenever a host file the skeleton copies or mirrors changes. */
static uint64_t
host_fingerprint (void)
{
  uint64_t h = 1469598103934665603ULL;
  int version = HOST_LAYOUT_VERSION;
  h = fnv1a (h, &version, sizeof version);
  char path[64];
  for (size_t i = 0; i < sizeof etc_entries / sizeof *etc_entries; i++)
    {
      snprintf (path, sizeof path, "/etc/%s", etc_entries[i]);
      h = hash_stat (h, path);
    }
  for (size_t i = 0; i < sizeof usr_links / sizeof *usr_links; i++)
    {
      snprintf (path, sizeof path, "/%s", usr_links[i]);
      h = hash_stat (h, path);
    }
  return h;
}

static int
copy_dir_entries (const char *src, const char *dst, ohr_error_t *err)
{
  if (mkdir (dst, 0755) < 0 && errno != EEXIST)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot create '%s'",
                            dst);
  cleanup_dir DIR *d = opendir (src);
  if (d == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot read '%s'",
                            src);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      cleanup_free char *s = fs_path_join (src, de->d_name);
      cleanup_free char *t = fs_path_join (dst, de->d_name);
      if (s == NULL || t == NULL)
        return ohr_error_nomem (err);
      struct stat st;
      if (lstat (s, &st) < 0
          || !(S_ISREG (st.st_mode) || S_ISLNK (st.st_mode)))
        continue; /* only flat directories of files and links are copied */
      if (fs_copy_entry (s, t, err) < 0)
        return -1;
    }
  return 0;
}

static int
copy_etc (const char *root, ohr_error_t *err)
{
  for (size_t i = 0; i < sizeof etc_entries / sizeof *etc_entries; i++)
    {
      char src[256], dst[4096];
      snprintf (src, sizeof src, "/etc/%s", etc_entries[i]);
      snprintf (dst, sizeof dst, "%s/etc/%s", root, etc_entries[i]);
      struct stat st;
      if (lstat (src, &st) < 0)
        continue;
      int r = S_ISDIR (st.st_mode) ? copy_dir_entries (src, dst, err)
                                   : fs_copy_entry (src, dst, err);
      if (r < 0)
        return -1;
    }
  static const char hosts[]
      = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  char path[4096];
  snprintf (path, sizeof path, "%s/etc/hosts", root);
  return fs_write_atomic (path, hosts, sizeof hosts - 1, 0644, true, err);
}

static int
make_skeleton (const char *root, ohr_error_t *err)
{
  char path[4096];
  for (size_t i = 0; i < sizeof skeleton_dirs / sizeof *skeleton_dirs; i++)
    {
      snprintf (path, sizeof path, "%s/%s", root, skeleton_dirs[i]);
      if (mkdir (path, 0755) < 0 && errno != EEXIST)
        return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                "cannot create '%s'", path);
    }
  snprintf (path, sizeof path, "%s/root", root);
  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot create '%s'",
                            path);
  snprintf (path, sizeof path, "%s/tmp", root);
  chmod (path, 01777);
  for (size_t i = 0; i < sizeof usr_links / sizeof *usr_links; i++)
    {
      char host[64], target[4096];
      snprintf (host, sizeof host, "/%s", usr_links[i]);
      snprintf (path, sizeof path, "%s/%s", root, usr_links[i]);
      ssize_t n = readlink (host, target, sizeof target - 1);
      if (n >= 0)
        {
          target[n] = '\0';
          if (symlink (target, path) < 0)
            return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                    "cannot create '%s'", path);
        }
      else if (fs_is_dir (host) && mkdir (path, 0755) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                "cannot create '%s'", path);
    }
  return copy_etc (root, err);
}

/* Build the skeleton in a temp dir beside final and rename it into place. */
static int
prepare_rootfs (const char *parent, const char *final, ohr_error_t *err)
{
  if (fs_mkdir_p (parent, 0700, err) < 0)
    return -1;
  cleanup_free char *tmp = NULL;
  if (asprintf (&tmp, "%s/.tmp-rootfs-XXXXXX", parent) < 0)
    return ohr_error_nomem (err);
  if (mkdtemp (tmp) == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot create '%s'",
                            tmp);
  chmod (tmp, 0755);
  if (make_skeleton (tmp, err) < 0)
    {
      fs_rm_rf (tmp, NULL);
      return -1;
    }
  if (rename (tmp, final) < 0)
    {
      int e = errno;
      fs_rm_rf (tmp, NULL);
      if (e != EEXIST && e != ENOTEMPTY)
        return ohr_error_errno (err, e, OHR_ERR_IMAGE,
                                "cannot rename '%s' to '%s'", tmp, final);
      /* another run prepared the same skeleton first: use theirs */
    }
  return 0;
}

static int
add_host_binds (struct image *img, ohr_error_t *err)
{
  if (mounts_add_bind (&img->binds, "/usr", "/usr", false, true, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof usr_links / sizeof *usr_links; i++)
    {
      char host[64];
      snprintf (host, sizeof host, "/%s", usr_links[i]);
      struct stat st;
      if (lstat (host, &st) == 0 && S_ISDIR (st.st_mode)
          && mounts_add_bind (&img->binds, host, host, false, true, err) < 0)
        return -1;
    }
  return 0;
}

int
image_host_open (const struct image_options *opts, struct image *img,
                 ohr_error_t *err)
{
  cleanup_free char *parent = fs_path_join (opts->cache_dir, "host");
  if (parent == NULL
      || asprintf (&img->rootfs, "%s/rootfs-%016llx", parent,
                   (unsigned long long)host_fingerprint ())
             < 0)
    return ohr_error_nomem (err);
  if (!fs_is_dir (img->rootfs)
      && prepare_rootfs (parent, img->rootfs, err) < 0)
    return ohr_error_wrap (err, "cannot prepare the rootfs in '%s'", parent);
  if (add_host_binds (img, err) < 0)
    return -1;
  if (strv_push (&img->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                            "/usr/bin:/sbin:/bin")
      < 0)
    return ohr_error_nomem (err);
  return 0;
}
