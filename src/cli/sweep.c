/* sweep.c: see sweep.h */
#define _GNU_SOURCE
#include "cli/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "run/bundle.h"
#include "run/outcheck.h"
#include "runtime/memcg.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static const char *const backends[] = { "crun", "runc" };

static void
note (char ***notes, const char *id, const char *what, ohr_error_t *err)
{
  if (err && *err)
    strv_pushf (notes, "stale run %s: %s: %s", id, what, (*err)->msg);
  else
    strv_pushf (notes, "stale run %s: %s", id, what);
  ohr_error_free (err);
}

/* The OUT_DIR a bundle's run wrote, from the annotation run mode puts in
 * every config.json (written by the runner, in a private directory). */
static char *
bundle_out_dir (int dfd)
{
  cleanup_free char *cfg = NULL;
  ohr_error_t ignored = NULL;
  if (fs_read_file_at (dfd, "config.json", "config.json", 1 << 20, &cfg, NULL,
                       &ignored)
      < 0)
    {
      ohr_error_free (&ignored);
      return NULL;
    }
  char errbuf[64];
  yajl_val root = yajl_tree_parse (cfg, errbuf, sizeof errbuf);
  const char *path[] = { "annotations", "org.oci-host-runner.out-dir", NULL };
  yajl_val v = root ? yajl_tree_get (root, path, yajl_t_string) : NULL;
  char *out = v && v->u.string[0] == '/' ? strdup (v->u.string) : NULL;
  yajl_tree_free (root);
  return out;
}

/* Its container, under whichever runtime root holds it: the runtime that
 * made it may have been killed with the runner. */
static void
delete_container (const char *state_dir, const char *id,
                  const struct runtime *current, const struct hostinfo *host,
                  char ***notes)
{
  for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
    {
      struct runtime other = { 0 };
      const struct runtime *rt = current;
      ohr_error_t err = NULL;
      if (strcmp (current->backend->name, backends[i]) != 0)
        {
          /* a state root of the other runtime only when it exists */
          cleanup_free char *root = fs_path_join (state_dir, backends[i]);
          if (root == NULL || !fs_is_dir (root))
            continue;
          if (runtime_select (backends[i], host, state_dir, &other, &err) < 0)
            {
              note (notes, id, "cannot delete its container", &err);
              continue;
            }
          rt = &other;
        }
      if (runtime_has_container (rt, id))
        {
          if (runtime_force_delete (rt, id, &err) < 0)
            note (notes, id, "cannot delete its container", &err);
          else
            strv_pushf (notes, "stale run %s: container deleted (%s)", id,
                        rt->backend->name);
        }
      runtime_clear (&other);
    }
}

static void
neutralise_out_dir (int dfd, const char *id, char ***notes)
{
  cleanup_free char *out_dir = bundle_out_dir (dfd);
  if (out_dir == NULL || !fs_is_dir (out_dir))
    return; /* an older bundle, or OUT_DIR gone (cargo clean) */
  struct outcheck_out_dir found = { 0 };
  ohr_error_t err = NULL;
  if (outcheck_out_dir (out_dir, NULL, &found, &err) < 0)
    note (notes, id, "cannot check its OUT_DIR", &err);
  else if (found.setid.n || found.links.n)
    strv_pushf (notes,
                "stale run %s: OUT_DIR '%s': %zu setuid/setgid or "
                "capability file(s) cleared, %zu link(s) out of it removed",
                id, out_dir, found.setid.n, found.links.n);
  outcheck_out_dir_clear (&found);
}

struct sweep
{
  const char *state_dir;
  const struct runtime *current;
  const struct hostinfo *host;
  char ***notes;
  char *memcg_parent; /* as root: where runs make their memory cgroup */
  bool memcg_looked;
};

static void
sweep_one (int bundles_fd, const char *id, int dfd, void *ctx)
{
  struct sweep *sw = ctx;
  delete_container (sw->state_dir, id, sw->current, sw->host, sw->notes);
  /* the memory cgroup a root run under crun made itself (memcg.h): empty
   * once its container is gone */
  if (!sw->host->rootless && !sw->memcg_looked)
    {
      sw->memcg_parent = memcg_parent_here ();
      sw->memcg_looked = true;
    }
  if (sw->memcg_parent && memcg_remove_stale (sw->memcg_parent, id))
    strv_pushf (sw->notes, "stale run %s: its memory cgroup removed", id);
  neutralise_out_dir (dfd, id, sw->notes);
  ohr_error_t err = NULL;
  if (fs_rm_rf_at (bundles_fd, id, &err) < 0)
    note (sw->notes, id, "cannot remove its bundle", &err);
  else
    strv_pushf (sw->notes, "stale run %s: bundle and source overlay removed",
                id);
}

void
sweep_stale_runs (const char *state_dir, const struct runtime *current,
                  const struct hostinfo *host, char ***notes)
{
  struct sweep sw = { state_dir, current, host, notes, NULL, false };
  bundle_each_stale (state_dir, sweep_one, &sw);
  free (sw.memcg_parent);
}
