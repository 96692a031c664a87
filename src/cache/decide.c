/* decide.c: see decide.h */
#define _GNU_SOURCE
#include "cache/decide.h"

#include <dirent.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

const char *
cache_refusal (const struct cache_facts *f)
{
  if (f->mode == RESULT_CACHE_OFF)
    return "--result-cache off";
  if (!f->pinned_image && f->mode != RESULT_CACHE_LOCAL)
    return "the host image is cached only with --result-cache local";
  if (!f->network_none)
    return "network host";
  if (!f->canonical_paths)
    return "identity paths";
  if (f->source_overlay)
    return "source writes go to an overlay (policy source-writes)";
  if (!f->build_dir)
    return "OUT_DIR is not in a Cargo build directory";
  if (!f->out_dir_empty)
    return "OUT_DIR was not empty at start";
  if (f->hooks)
    return "OCI hooks may change the container";
  if (f->degraded_proc)
    return "--degraded proc shows the host's processes";
  return NULL;
}

bool
cache_dir_is_empty (const char *path)
{
  cleanup_dir DIR *d = opendir (path);
  if (d == NULL)
    return false;
  struct dirent *e;
  while ((e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      return false;
  return true;
}

void
cache_dir_empty_out (const char *path)
{
  cleanup_dir DIR *d = opendir (path);
  struct dirent *e;
  while (d && (e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      {
        ohr_error_t ignored = NULL;
        fs_rm_rf_at (dirfd (d), e->d_name, &ignored);
        ohr_error_free (&ignored);
      }
}
