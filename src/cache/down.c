/* down.c: the "down once per build" marker (see down.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/down.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/procfs.h"

#define MARKER_MAGIC "oci-host-runner result-cache down v1"
#define MARKER_MAX 512

char *
cache_down_build_id (void)
{
  return cache_down_build_id_of (getppid ());
}

char *
cache_down_build_id_of (pid_t ppid)
{
  unsigned long long start = ppid > 1 ? procfs_start_time (ppid) : 0;
  char *id = NULL;
  if (start == 0)
    return strdup ("");
  if (asprintf (&id, "%ld-%llu", (long)ppid, start) < 0)
    return NULL;
  return id;
}

char *
cache_down_path (const char *state_dir, const char *url)
{
  char d[DIGEST_STRING_LEN + 1];
  digest_sha256 (url, strlen (url), d);
  char *p = NULL;
  if (asprintf (&p, "%s/result-cache/down-%.16s", state_dir, d + 7) < 0)
    return NULL;
  return p;
}

bool
cache_down_is_marked (const char *path, const char *build_id, time_t now)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  if (fs_read_file (path, MARKER_MAX, &data, &len, &err) < 0)
    {
      ohr_error_free (&err);
      return false;
    }
  char id[128] = "";
  long long since = 0;
  /* "MAGIC\nbuild ID\nsince T\n"; an empty id is written as "-" */
  if (strncmp (data, MARKER_MAGIC "\n", sizeof MARKER_MAGIC) != 0
      || sscanf (data + sizeof MARKER_MAGIC, "build %127s\nsince %lld", id,
                 &since)
             != 2)
    return false;
  const char *want = *build_id ? build_id : "-";
  return strcmp (id, want) == 0 && since <= (long long)now
         && (long long)now - since < CACHE_DOWN_LIFETIME;
}

int
cache_down_mark (const char *path, const char *build_id, time_t now,
                 ohr_error_t *err)
{
  cleanup_free char *dir = strdup (path);
  if (dir == NULL)
    return ohr_error_nomem (err);
  char *slash = strrchr (dir, '/');
  if (slash)
    *slash = '\0';
  if (slash && fs_ensure_private_dir (dir, err) < 0)
    return ohr_error_wrap (err, "remote cache down marker");
  cleanup_free char *text = NULL;
  int n = asprintf (&text, MARKER_MAGIC "\nbuild %s\nsince %lld\n",
                    *build_id ? build_id : "-", (long long)now);
  if (n < 0)
    return ohr_error_nomem (err);
  if (fs_write_atomic (path, text, (size_t)n, 0600, false, err) < 0)
    return ohr_error_wrap (err, "remote cache down marker");
  return 0;
}
