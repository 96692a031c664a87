/* probe.c: doctor_probe (see doctor.h): every fact run mode's outcome
 * depends on, gathered the way run mode gathers it (the runtimes through
 * runtime.h, the store through catalog.h as plain files, the hooks
 * through hooks.h), plus the probes that fork and unshare (namespaces.c).
 * A probe that fails is a fact, not an error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "doctor/internal.h"
#include "image/catalog.h"
#include "image/oci-layout.h"
#include "image/ref.h"
#include "run/bundle.h"
#include "run/hooks.h"
#include "runtime/runtime.h"
#include "runtime/userns.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/helper-exe.h"
#include "util/proc.h"
#include "util/procfs.h"
#include "util/strv.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static char *
read_text (const char *path)
{
  ohr_error_t e = NULL;
  char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, 1 << 20, &data, &len, &e) < 0)
    {
      ohr_error_free (&e);
      return NULL;
    }
  return data;
}

static void
probe_runtime (const char *name, struct doctor_runtime *rt)
{
  rt->path = runtime_find_in_path (name);
  if (rt->path == NULL)
    return;
  char *argv[] = { rt->path, "--version", NULL };
  struct proc_result pr = { 0 };
  ohr_error_t e = NULL;
  if (proc_run (argv, &pr, &e) < 0)
    {
      rt->error = strdup (e && e->msg ? e->msg : "cannot run it");
      ohr_error_free (&e);
      return;
    }
  if (pr.status == 0 && pr.out && pr.out[0])
    rt->version = doctor_first_line (pr.out);
  else if (asprintf (&rt->error, "--version exited with %d%s%s", pr.status,
                     pr.err && pr.err[0] ? ": " : "", pr.err ? pr.err : "")
           >= 0)
    rt->error[strcspn (rt->error, "\n")] = '\0';
  proc_result_clear (&pr);
}

/* Is dir usable by the runner: exists with a test file made and removed,
 * or would be created (its nearest existing parent is writable).  With
 * private_dir, also ours and not group/other-writable (the state dir). */
static void
probe_dir (const char *path, bool private_dir, struct doctor_dir *d)
{
  d->path = strdup (path);
  struct stat st;
  struct statfs sfs;
  if (stat (path, &st) < 0)
    {
      d->error = errno;
      if (errno != ENOENT)
        return;
      cleanup_free char *anc = strdup (path);
      while (anc && strrchr (anc, '/') && strcmp (anc, "/") != 0)
        {
          char *slash = strrchr (anc, '/');
          if (slash == anc)
            slash[1] = '\0';
          else
            *slash = '\0';
          if (stat (anc, &st) == 0)
            break;
        }
      if (anc == NULL)
        return;
      if (access (anc, W_OK | X_OK) == 0)
        {
          d->error = 0;
          if (asprintf (&d->why, "not there yet: created under %s", anc) < 0)
            d->why = NULL;
        }
      else
        {
          d->error = errno;
          if (asprintf (&d->why, "cannot be created: %s is not writable (%s)",
                        anc, strerror (errno))
              < 0)
            d->why = NULL;
        }
      if (statfs (anc, &sfs) == 0)
        d->tmpfs = sfs.f_type == TMPFS_MAGIC;
      return;
    }
  d->exists = true;
  if (statfs (path, &sfs) == 0)
    d->tmpfs = sfs.f_type == TMPFS_MAGIC;
  if (!S_ISDIR (st.st_mode))
    {
      d->error = ENOTDIR;
      d->why = strdup ("not a directory");
      return;
    }
  if (private_dir && (st.st_uid != geteuid () || (st.st_mode & 022)))
    {
      d->error = EPERM;
      if (asprintf (&d->why,
                    "owned by uid %u, mode %03o: must be yours and "
                    "not writable by group or others",
                    (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777))
          < 0)
        d->why = NULL;
      return;
    }
  cleanup_free char *tmpl = NULL;
  if (asprintf (&tmpl, "%s/.ohr-doctor-XXXXXX", path) < 0)
    {
      d->error = ENOMEM;
      return;
    }
  int fd = mkstemp (tmpl);
  if (fd < 0)
    {
      d->error = errno;
      if (asprintf (&d->why, "cannot create a file in it (%s)",
                    strerror (errno))
          < 0)
        d->why = NULL;
      return;
    }
  close (fd);
  unlink (tmpl);
  d->error = 0;
}

/* Runs whose runner died leave their bundle (and perhaps a container)
 * until the next run sweeps them (src/cli/sweep.h): say so, since a
 * doctor run may be all that happens here after a crash. */
static void
probe_stale_runs (const char *state_dir, struct doctor_dir *d)
{
  size_t n = d->error == 0 ? bundle_each_stale (state_dir, NULL, NULL) : 0;
  if (n == 0 || d->why)
    return;
  if (asprintf (&d->why,
                "%zu run%s whose runner died left state here; the next run "
                "sweeps it",
                n, n == 1 ? "" : "s")
      < 0)
    d->why = NULL;
}

/* The checkout (STORE/rootfs) hardlinks the repo's objects (STORE/repo):
 * both must be on one filesystem.  A real link(2) proves it. */
static void
probe_store_links (const char *store, struct doctor_facts *f)
{
  cleanup_free char *repo = fs_path_join (store, "repo");
  cleanup_free char *repo_tmp = fs_path_join (store, "repo/tmp");
  cleanup_free char *rootfs = fs_path_join (store, "rootfs");
  if (repo == NULL || repo_tmp == NULL || rootfs == NULL)
    return;
  f->store_link_error = DOCTOR_NOT_PROBED;
  if (!fs_is_dir (store))
    {
      f->store_link_detail = strdup ("store not created yet");
      return;
    }
  struct stat a, b;
  if (stat (repo, &a) == 0 && stat (rootfs, &b) == 0 && a.st_dev != b.st_dev)
    {
      f->store_link_error = EXDEV;
      f->store_link_detail
          = strdup ("repo/ and rootfs/ are on different filesystems");
      return;
    }
  const char *from_dir
      = fs_is_dir (repo_tmp) ? repo_tmp : (fs_is_dir (repo) ? repo : store);
  const char *to_dir = fs_is_dir (rootfs) ? rootfs : store;
  cleanup_free char *src = NULL, *dst = NULL;
  if (asprintf (&src, "%s/.ohr-doctor-XXXXXX", from_dir) < 0
      || asprintf (&dst, "%s/.ohr-doctor-link-%d", to_dir, (int)getpid ()) < 0)
    return;
  int fd = mkstemp (src);
  if (fd < 0)
    {
      f->store_link_error = errno;
      f->store_link_detail = strdup ("cannot create a test file");
      return;
    }
  close (fd);
  f->store_link_error = link (src, dst) < 0 ? errno : 0;
  unlink (dst);
  unlink (src);
  if (asprintf (&f->store_link_detail, "%s -> %s",
                from_dir == store ? "store"
                                  : (from_dir == repo ? "repo" : "repo/tmp"),
                to_dir == store ? "store" : "rootfs")
      < 0)
    f->store_link_detail = NULL;
}

static long
count_entries (const char *dir)
{
  cleanup_dir DIR *d = opendir (dir);
  if (d == NULL)
    return 0;
  long n = 0;
  struct dirent *de;
  while ((de = readdir (d)))
    if (de->d_name[0] != '.')
      n++;
  return n;
}

/* The catalogue's names, and how many point at a prepared checkout. */
static void
probe_catalog (const char *store, struct doctor_facts *f)
{
  cleanup_free char *cat = fs_path_join (store, "catalog");
  cleanup_free char *rootfs = fs_path_join (store, "rootfs");
  if (rootfs)
    f->n_checkouts = count_entries (rootfs);
  cleanup_dir DIR *d = cat ? opendir (cat) : NULL;
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      if (de->d_name[0] == '.')
        continue;
      cleanup_free char *p = fs_path_join (cat, de->d_name);
      cleanup_free char *text = p ? read_text (p) : NULL;
      char *tab = text ? strchr (text, '\t') : NULL;
      if (tab == NULL)
        continue;
      tab[1 + strcspn (tab + 1, "\n")] = '\0';
      f->n_names++;
      if (catalog_prepared (store, tab + 1))
        f->n_prepared++;
      else
        f->n_dangling++;
    }
}

static void
probe_image (const char *image, const char *store, struct doctor_facts *f)
{
  f->image = strdup (image);
  struct imageref ref = { 0 };
  ohr_error_t e = NULL;
  cleanup_free char *digest = NULL, *name = NULL;
  int r = imageref_parse (image, &ref, &e);
  if (r == 0 && ref.kind == IMAGEREF_HOST)
    f->image_state = 0;
  else if (r == 0 && ref.kind == IMAGEREF_REGISTRY && ref.digest == NULL)
    f->image_state = 3;
  else if (r == 0 && ref.kind == IMAGEREF_OCI_LAYOUT)
    r = ocilayout_resolve (ref.path, ref.tag, ref.digest, &digest, &e);
  else if (r == 0)
    {
      if (ref.kind == IMAGEREF_OCI_ARCHIVE)
        r = catalog_archive_name (ref.path, ref.tag, &name, &e);
      else
        name = strdup (ref.canonical);
      if (r == 0)
        r = catalog_lookup (store, name, &digest, &e) < 0 ? -1 : 0;
    }
  if (r < 0)
    {
      f->image_state = -1;
      f->image_detail = strdup (e && e->msg ? e->msg : "cannot resolve it");
    }
  else if (ref.kind != IMAGEREF_HOST && f->image_state != 3)
    {
      f->image_state = digest && catalog_prepared (store, digest) ? 1 : 2;
      f->image_detail = digest ? strdup (digest) : NULL;
    }
  ohr_error_free (&e);
  imageref_clear (&ref);
}

static void
probe_cgroups (struct doctor_facts *f)
{
  f->cgroups = hostinfo_cgroup_mode_at ("/sys/fs/cgroup");
  if (f->cgroups == CGROUP_MODE_NONE)
    {
      f->cgroup_error = ENOENT;
      return;
    }
  if (f->cgroups == CGROUP_MODE_UNIFIED)
    {
      cleanup_free char *self = read_text ("/proc/self/cgroup");
      cleanup_free char *rel = doctor_cgroup2_path (self);
      f->cgroup_path = fs_path_join ("/sys/fs/cgroup",
                                     rel && strcmp (rel, "/") != 0 ? rel : "");
    }
  else
    f->cgroup_path = strdup ("/sys/fs/cgroup/memory");
  if (f->cgroup_path)
    f->cgroup_error = access (f->cgroup_path, W_OK) < 0 ? errno : 0;
}

static void
probe_apparmor (struct doctor_facts *f)
{
  cleanup_free char *enabled
      = read_text ("/sys/module/apparmor/parameters/enabled");
  f->apparmor_enabled = enabled && enabled[0] == 'Y';
  f->apparmor_restrict = procfs_read_long (
      "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", -1);
  if (!f->apparmor_enabled)
    return;
  cleanup_free char *label = read_text ("/proc/self/attr/apparmor/current");
  if (label == NULL)
    label = read_text ("/proc/self/attr/current");
  f->apparmor_label = doctor_first_line (label);
}

/* The hook directories run mode loads (cmd-run.c: --hooks-dir, else the
 * shipped ones beside the binary and /etc's), loaded the same way: a
 * directory or file that is not the user's or root's stops every run.  In
 * a hostUsers: false pod whose runtime cannot idmap the image, the
 * shipped directory belongs to "nobody". */
static void
probe_hooks (const struct run_options *o, struct doctor_facts *f)
{
  ohr_error_t e = NULL;
  if (o->hooks_dirs_set)
    for (size_t i = 0; o->hooks_dirs && o->hooks_dirs[i]; i++)
      strv_push (&f->hooks_dirs, o->hooks_dirs[i]);
  else
    {
      char exe[PATH_MAX];
      ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
      if (n < 0)
        return;
      exe[n] = '\0';
      *strrchr (exe, '/') = '\0';
      cleanup_free char *tree = NULL, *installed = NULL;
      if (asprintf (&tree, "%s/../hooks", exe) < 0
          || asprintf (&installed, "%s/../share/oci-host-runner/hooks.d", exe)
                 < 0)
        return;
      const char *const cands[] = { fs_is_dir (tree) ? tree : installed,
                                    "/etc/oci-host-runner/hooks.d" };
      for (size_t i = 0; i < 2; i++)
        if (fs_is_dir (cands[i]))
          strv_push (&f->hooks_dirs, cands[i]);
    }
  if (f->hooks_dirs == NULL)
    return;
  struct hook_set set = { 0 };
  if (hooks_load (f->hooks_dirs, &set, &e) < 0)
    {
      f->hooks_error = strdup (e && e->msg ? e->msg : "cannot load them");
      ohr_error_free (&e);
      return;
    }
  f->n_hooks = (long)set.n;
  hooks_set_clear (&set);
}

int
doctor_probe (const struct run_options *o, struct doctor_facts *f,
              ohr_error_t *err)
{
  memset (f, 0, sizeof *f);
  f->uid = (unsigned)geteuid ();
  f->rootless = f->uid != 0;
  f->want_runtime = strdup (o->runtime ? o->runtime : "auto");
  f->degraded_proc = o->degraded_proc;
  f->network_host = o->network_set && o->network == NETWORK_HOST;
  probe_runtime ("crun", &f->crun);
  probe_runtime ("runc", &f->runc);
  /* the rest of what runtime_choose decides on, looked up as run mode
   * does (runtime.c: runtime_select) */
  f->want_runtime_executable = f->want_runtime && strchr (f->want_runtime, '/')
                               && access (f->want_runtime, X_OK) == 0;
  const char *no_userns = NULL;
  f->userns_unavailable = userns_available (&no_userns) ? NULL : no_userns;
  f->max_userns = procfs_read_long ("/proc/sys/user/max_user_namespaces", -1);
  f->unpriv_userns_clone
      = procfs_read_long ("/proc/sys/kernel/unprivileged_userns_clone", -1);
  probe_apparmor (f);
  cleanup_free char *status = read_text ("/proc/self/status");
  f->seccomp_mode = doctor_seccomp_mode (status);
  cleanup_free char *uid_map = read_text ("/proc/self/uid_map");
  f->in_userns = uid_map && !doctor_uid_map_is_identity (uid_map);
  if (uid_map)
    {
      f->uid_map = doctor_first_line (uid_map);
      char *w = f->uid_map;
      for (char *r = f->uid_map; w && *r; r++)
        if (*r != ' ' || (w > f->uid_map && w[-1] != ' '))
          *w++ = *r;
      if (w)
        *w = '\0';
      size_t n = f->uid_map ? strlen (f->uid_map) : 0;
      while (n > 0 && f->uid_map[n - 1] == ' ')
        f->uid_map[--n] = '\0';
    }
  cleanup_free char *mountinfo = read_text ("/proc/self/mountinfo");
  if (doctor_find_masks (mountinfo, "/proc", &f->proc_masks) < 0
      || doctor_find_masks (mountinfo, "/sys", &f->sys_masks) < 0)
    return ohr_error_nomem (err);

  doctor_probe_namespaces (f);
  probe_cgroups (f);
  doctor_probe_hybrid (f);

  const char *store = o->store_dir ? o->store_dir : o->cache_dir;
  probe_dir (o->state_dir, true, &f->state);
  probe_stale_runs (o->state_dir, &f->state);
  probe_dir (o->cache_dir, false, &f->cache);
  probe_dir (store, false, &f->store);
  probe_store_links (store, f);
  probe_catalog (store, f);
  probe_image (o->image ? o->image : "host", store, f);

  probe_hooks (o, f);
  ohr_error_t e = NULL;
  if (helper_exe_find ("ohr-init", "OCI_HOST_RUNNER_INIT", &f->init_path, &e)
      < 0)
    ohr_error_free (&e);
  if (helper_exe_find ("oci-host-runner-store", "OCI_HOST_RUNNER_STORE",
                       &f->store_helper, &e)
      < 0)
    ohr_error_free (&e);
  return 0;
}

static void
runtime_clear_fact (struct doctor_runtime *rt)
{
  free_many (rt->path, rt->version, rt->error);
}

static void
dir_clear (struct doctor_dir *d)
{
  free (d->path);
  free (d->why);
}

void
doctor_facts_clear (struct doctor_facts *f)
{
  free_many (f->cgroup_path, f->want_runtime, f->apparmor_label, f->uid_map,
             f->store_link_detail, f->image, f->image_detail, f->hooks_error,
             f->init_path, f->store_helper);
  runtime_clear_fact (&f->crun);
  runtime_clear_fact (&f->runc);
  strv_free (f->proc_masks);
  strv_free (f->sys_masks);
  dir_clear (&f->state);
  dir_clear (&f->cache);
  dir_clear (&f->store);
  strv_free (f->hooks_dirs);
  doctor_cargo_clear (&f->cargo);
  memset (f, 0, sizeof *f);
}
