/* catalog.c: see catalog.h */
#define _GNU_SOURCE
#include "image/catalog.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Names are user input: hash them for a file name, keep the name inside
 * the file and compare it, so a collision is a miss, never a wrong image. */
static char *
entry_path (const char *store_dir, const char *name)
{
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    {
      h ^= *p;
      h *= 1099511628211ULL;
    }
  char *path = NULL;
  if (asprintf (&path, "%s/catalog/%016llx", store_dir, (unsigned long long)h)
      < 0)
    return NULL;
  return path;
}

int
catalog_lookup (const char *store_dir, const char *name, char **out_digest,
                ohr_error_t *err)
{
  cleanup_free char *path = entry_path (store_dir, name);
  if (path == NULL)
    return ohr_error_nomem (err);
  cleanup_free char *data = NULL;
  ohr_error_t ignored = NULL;
  if (fs_read_file (path, 8192, &data, NULL, &ignored) < 0)
    {
      int missing = ignored && ignored->status == ENOENT;
      ohr_error_free (&ignored);
      return missing
                 ? 0
                 : ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                                  "cannot read catalogue entry '%s'", path);
    }
  char *tab = strchr (data, '\t');
  char *nl = tab ? strchr (tab, '\n') : NULL;
  if (tab == NULL || nl == NULL)
    return 0; /* torn or foreign: treat as a miss, the helper rewrites it */
  *tab = *nl = '\0';
  if (strcmp (data, name) != 0)
    return 0;
  *out_digest = strdup (tab + 1);
  return *out_digest ? 1 : ohr_error_nomem (err);
}

int
catalog_record (const char *store_dir, const char *name, const char *digest,
                ohr_error_t *err)
{
  cleanup_free char *dir = fs_path_join (store_dir, "catalog");
  cleanup_free char *path = entry_path (store_dir, name);
  cleanup_free char *line = NULL;
  if (dir == NULL || path == NULL
      || asprintf (&line, "%s\t%s\n", name, digest) < 0)
    return ohr_error_nomem (err);
  if (fs_mkdir_p (dir, 0755, err) < 0)
    return -1;
  return fs_write_atomic (path, line, strlen (line), 0644, true, err);
}

int
catalog_forget (const char *store_dir, const char *digest, ohr_error_t *err)
{
  cleanup_free char *dir = fs_path_join (store_dir, "catalog");
  cleanup_dir DIR *d = dir ? opendir (dir) : NULL;
  if (d == NULL)
    return errno == ENOENT ? 0
                           : ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                              "cannot read '%s'", dir);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      cleanup_free char *p = fs_path_join (dir, de->d_name);
      cleanup_free char *data = NULL;
      if (p == NULL || fs_read_file (p, 8192, &data, NULL, NULL) < 0)
        continue;
      char *tab = strchr (data, '\t');
      if (tab && strncmp (tab + 1, digest, strlen (digest)) == 0)
        unlink (p);
    }
  return 0;
}

int
catalog_archive_name (const char *path, const char *tag, char **out,
                      ohr_error_t *err)
{
  cleanup_free char *abs = realpath (path, NULL);
  struct stat st;
  if (abs == NULL || stat (abs, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "OCI archive '%s'",
                            path);
  if (asprintf (out, "oci-archive:%s@%llu-%lld.%09ld-%llu%s%s", abs,
                (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
                st.st_mtim.tv_nsec, (unsigned long long)st.st_size,
                tag ? ":" : "", tag ? tag : "")
      < 0)
    return ohr_error_nomem (err);
  return 0;
}

static char *
digest_hex_path (const char *store_dir, const char *sub, const char *digest,
                 const char *suffix)
{
  const char *hex = strncmp (digest, "sha256:", 7) == 0 ? digest + 7 : digest;
  char *p = NULL;
  if (asprintf (&p, "%s/%s/%s%s", store_dir, sub, hex, suffix) < 0)
    return NULL;
  return p;
}

char *
catalog_rootfs_path (const char *store_dir, const char *digest)
{
  return digest_hex_path (store_dir, "rootfs", digest, "");
}

char *
catalog_config_path (const char *store_dir, const char *digest)
{
  return digest_hex_path (store_dir, "configs", digest, ".json");
}

char *
catalog_libc_path (const char *store_dir, const char *digest)
{
  return digest_hex_path (store_dir, "configs", digest, ".libc");
}

bool
catalog_prepared (const char *store_dir, const char *digest)
{
  cleanup_free char *r = catalog_rootfs_path (store_dir, digest);
  cleanup_free char *c = catalog_config_path (store_dir, digest);
  return r && c && fs_is_dir (r) && fs_exists (c);
}
