/* doctor.c: see doctor.h */
#define _GNU_SOURCE
#include "doctor/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "image/catalog.h"
#include "image/oci-layout.h"
#include "image/ref.h"
#include "run/hooks.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/helper-exe.h"
#include "util/proc.h"
#include "util/strv.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* ---- pure helpers */

static const char *const setting_names[DOCTOR_N_SETTINGS] = {
  [SETTING_HOST_USERS] = "hostUsers: false",
  [SETTING_PROC_MOUNT] = "procMount: Unmasked",
  [SETTING_SECCOMP] = "seccompProfile: Localhost oci-host-runner.json or "
                      "Unconfined",
  [SETTING_APPARMOR] = "appArmorProfile: Unconfined",
  [SETTING_NON_ROOT] = "runAsNonRoot: true",
  [SETTING_SYSCTL_USERNS] = "node sysctl user.max_user_namespaces > 0",
  [SETTING_SYSCTL_CLONE] = "node sysctl kernel.unprivileged_userns_clone=1",
  [SETTING_SYSCTL_APPARMOR]
  = "node sysctl kernel.apparmor_restrict_unprivileged_userns=0",
  [SETTING_RUNTIME] = "crun or runc in PATH",
  [SETTING_VOLUME] = "a writable volume (emptyDir or PVC)",
  [SETTING_INIT] = "ohr-init installed",
};

const char *
doctor_setting_name (enum doctor_setting s)
{
  return s < DOCTOR_N_SETTINGS ? setting_names[s] : "?";
}

char *
doctor_first_line (const char *text)
{
  if (text == NULL)
    return NULL;
  return strndup (text, strcspn (text, "\n"));
}

int
doctor_seccomp_mode (const char *status)
{
  for (const char *p = status; p && *p; p = strchr (p, '\n'))
    {
      if (*p == '\n')
        p++;
      if (strncmp (p, "Seccomp:", 8) == 0)
        return atoi (p + 8);
    }
  return -1;
}

bool
doctor_uid_map_is_identity (const char *uid_map)
{
  unsigned long inside, outside, count;
  return uid_map
         && sscanf (uid_map, "%lu %lu %lu", &inside, &outside, &count) == 3
         && inside == 0 && outside == 0 && count == 4294967295UL
         && strchr (uid_map, '\n') == strrchr (uid_map, '\n');
}

char *
doctor_cgroup2_path (const char *text)
{
  for (const char *p = text; p && *p; p = strchr (p, '\n'))
    {
      if (*p == '\n')
        p++;
      if (strncmp (p, "0::", 3) == 0)
        return strndup (p + 3, strcspn (p + 3, "\n"));
    }
  return NULL;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0'
          && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
          r += 3;
        }
      else
        *w++ = *r;
    }
  *w = '\0';
}

/* Kernel mount points below /sys are permanently empty directories: a
 * mount there does not hide anything from a fresh sysfs. */
static bool
sys_mount_hides (const char *mnt, const char *fstype, const char *root)
{
  if (strcmp (fstype, "sysfs") == 0)
    return strcmp (root, "/") != 0; /* a re-bound subtree */
  if (strcmp (fstype, "tmpfs") == 0)
    return !fs_path_is_under (mnt, "/sys/fs/cgroup");
  size_t n = strlen (root);
  return n >= 5 && strcmp (root + n - 5, "/null") == 0; /* /dev/null */
}

int
doctor_find_masks (const char *mountinfo, const char *under, char ***out)
{
  *out = NULL;
  int n = 0;
  size_t ulen = strlen (under);
  cleanup_free char *copy = strdup (mountinfo ? mountinfo : "");
  if (copy == NULL)
    return -1;
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      /* id parent maj:min root mountpoint options [optional...] - type
       * source superoptions */
      char *f[5] = { 0 };
      char *lsave = NULL, *tok = strtok_r (line, " ", &lsave);
      for (int i = 0; i < 5 && tok; i++, tok = strtok_r (NULL, " ", &lsave))
        f[i] = tok;
      while (tok && strcmp (tok, "-") != 0)
        tok = strtok_r (NULL, " ", &lsave);
      char *fstype = tok ? strtok_r (NULL, " ", &lsave) : NULL;
      if (f[4] == NULL || fstype == NULL)
        continue;
      unescape_octal (f[3]);
      unescape_octal (f[4]);
      const char *mnt = f[4];
      if (strncmp (mnt, under, ulen) != 0 || mnt[ulen] != '/')
        continue;
      bool hides = strcmp (under, "/proc") == 0
                       ? strcmp (fstype, "binfmt_misc") != 0
                       : sys_mount_hides (mnt, fstype, f[3]);
      if (!hides || strv_contains (*out, mnt))
        continue;
      if (strv_push (out, mnt) < 0)
        {
          strv_free (*out);
          *out = NULL;
          return -1;
        }
      n++;
    }
  return n;
}

/* ---- probes */

static long
read_long (const char *path, long missing)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return missing;
  char buf[32];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return missing;
  buf[n] = '\0';
  return strtol (buf, NULL, 10);
}

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

static int
write_file (const char *path, const char *data)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  ssize_t w = write (fd, data, strlen (data));
  int e = w < 0 ? errno : 0;
  close (fd);
  return e;
}

/* In a child: a user namespace with our uid and gid as 0, as rootless
 * crun and runc make one.  Returns 0 or an errno. */
static int
enter_userns (void)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  char map[64];
  if (unshare (CLONE_NEWUSER) < 0)
    return errno;
  int e = write_file ("/proc/self/setgroups", "deny");
  if (e && e != ENOENT)
    return e;
  snprintf (map, sizeof map, "0 %u 1", (unsigned)uid);
  if ((e = write_file ("/proc/self/uid_map", map)) != 0)
    return e;
  snprintf (map, sizeof map, "0 %u 1", (unsigned)gid);
  return write_file ("/proc/self/gid_map", map);
}

enum
{
  R_SETUP, /* user, mount, PID and network namespaces */
  R_BIND,  /* rbind of /proc, read-only */
  R_PROC,  /* fresh procfs */
  R_SYSFS, /* fresh sysfs */
  R_N,
};

/* The mount flags of path that a read-only remount must keep (locked in
 * a less privileged mount namespace). */
static unsigned long
kept_flags (const char *path)
{
  struct statvfs sv;
  unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (statvfs (path, &sv) == 0)
    {
      if (sv.f_flag & ST_NOATIME)
        fl |= MS_NOATIME;
      if (sv.f_flag & ST_NODIRATIME)
        fl |= MS_NODIRATIME;
      if (sv.f_flag & ST_RELATIME)
        fl |= MS_RELATIME;
    }
  return fl;
}

/* PID 1 of the new PID namespace: what the runtime will do for a
 * container's /proc and /sys, and what --degraded proc does instead. */
static void
mount_probes (int res[R_N])
{
  const char *const scratch[] = { "/tmp", "/mnt", "/run", "/dev", NULL };
  res[R_BIND] = ENOENT;
  for (size_t i = 0; scratch[i]; i++)
    if (mount ("tmpfs", scratch[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=700")
        == 0)
      {
        cleanup_free char *p = fs_path_join (scratch[i], "proc");
        unsigned long fl = kept_flags ("/proc");
        if (p == NULL || mkdir (p, 0700) < 0
            || mount ("/proc", p, NULL, MS_BIND | MS_REC, NULL) < 0
            || mount (NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | fl,
                      NULL)
                   < 0)
          res[R_BIND] = errno ? errno : ENOMEM;
        else
          res[R_BIND] = 0;
        break;
      }
    else
      res[R_BIND] = errno;
  res[R_PROC]
      = mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
                < 0
            ? errno
            : 0;
  res[R_SYSFS] = mount ("sysfs", "/sys", "sysfs",
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
                         < 0
                     ? errno
                     : 0;
}

static void
send_results (int fd, const int *res, size_t n)
{
  if (write (fd, res, n * sizeof *res) < 0)
    _exit (1);
}

/* Runs fn in a child (which may fork again and writes n ints on fd);
 * the results stay DOCTOR_NOT_PROBED where nothing came back. */
static void
run_probe (void (*fn) (int fd, void *arg), void *arg, int *res, size_t n)
{
  for (size_t i = 0; i < n; i++)
    res[i] = DOCTOR_NOT_PROBED;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return;
  fflush (NULL);
  pid_t pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      fn (p[1], arg);
      _exit (0);
    }
  close (p[1]);
  if (pid > 0)
    {
      int buf[R_N + 1];
      ssize_t got = 0, r;
      while ((size_t)got < n * sizeof *res
             && ((r = read (p[0], (char *)buf + got,
                            n * sizeof *res - (size_t)got))
                     > 0
                 || (r < 0 && errno == EINTR)))
        got += r > 0 ? r : 0;
      if ((size_t)got == n * sizeof *res)
        memcpy (res, buf, n * sizeof *res);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  close (p[0]);
}

static void
userns_child (int fd, void *arg)
{
  (void)arg;
  int res = enter_userns ();
  send_results (fd, &res, 1);
}

static void
mounts_child (int fd, void *arg)
{
  bool userns = *(bool *)arg;
  int res[R_N]
      = { 0, DOCTOR_NOT_PROBED, DOCTOR_NOT_PROBED, DOCTOR_NOT_PROBED };
  if ((userns && (res[R_SETUP] = enter_userns ()) != 0)
      || (unshare (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) < 0
          && (res[R_SETUP] = errno) != 0)
      || (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
          && (res[R_SETUP] = errno) != 0))
    {
      send_results (fd, res, R_N);
      return;
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      mount_probes (res);
      send_results (fd, res, R_N);
      _exit (0);
    }
  if (pid < 0)
    {
      res[R_SETUP] = errno;
      send_results (fd, res, R_N);
      return;
    }
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* crun's hybrid-cgroup workaround, as runtime.c's child does it. */
static void
hybrid_child (int fd, void *arg)
{
  bool rootless = *(bool *)arg;
  int res = 0;
  if (rootless)
    {
      if ((res = enter_userns ()) == 0
          && (unshare (CLONE_NEWNS) < 0
              || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0
              || mount ("tmpfs", "/sys/fs/cgroup", "tmpfs",
                        MS_NOSUID | MS_NODEV, "mode=755")
                     < 0))
        res = errno;
    }
  else if (unshare (CLONE_NEWNS) < 0
           || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0
           || (umount2 ("/sys/fs/cgroup/unified", MNT_DETACH) < 0
               && errno != EINVAL && errno != ENOENT))
    res = errno;
  send_results (fd, &res, 1);
}

static char *
find_in_path (const char *name)
{
  if (strchr (name, '/'))
    return access (name, X_OK) == 0 ? strdup (name) : NULL;
  const char *path = getenv ("PATH");
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  cleanup_free char *copy = strdup (path);
  char *save = NULL;
  for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d;
       d = strtok_r (NULL, ":", &save))
    {
      char *cand = fs_path_join (d, name);
      if (cand && access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

static void
probe_runtime (const char *name, struct doctor_runtime *rt)
{
  rt->path = find_in_path (name);
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
  f->apparmor_restrict = read_long (
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
  f->max_userns = read_long ("/proc/sys/user/max_user_namespaces", -1);
  f->unpriv_userns_clone
      = read_long ("/proc/sys/kernel/unprivileged_userns_clone", -1);
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
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "doctor");

  run_probe (userns_child, NULL, &f->userns_error, 1);
  int res[R_N];
  bool userns = f->rootless;
  if (!userns || f->userns_error == 0)
    run_probe (mounts_child, &userns, res, R_N);
  else
    for (int i = 0; i < R_N; i++)
      res[i] = DOCTOR_NOT_PROBED;
  f->mount_ns_error = res[R_SETUP];
  f->proc_bind_error = res[R_BIND];
  f->proc_error = res[R_PROC];
  f->sysfs_error = res[R_SYSFS];

  probe_cgroups (f);
  f->hybrid_error = DOCTOR_NOT_PROBED;
  if (f->cgroups == CGROUP_MODE_HYBRID)
    run_probe (hybrid_child, &f->rootless, &f->hybrid_error, 1);

  const char *store = o->store_dir ? o->store_dir : o->cache_dir;
  probe_dir (o->state_dir, true, &f->state);
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

/* ---- evaluation */

struct eval
{
  const struct doctor_facts *f;
  struct doctor_report *r;
  bool oom;
  /* what blocks a run, apart from a fresh procfs */
  int blockers;
  bool proc_blocks;
};

static char *xfmt (struct eval *ev, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static char *
xfmt (struct eval *ev, const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    {
      s = NULL;
      ev->oom = true;
    }
  va_end (ap);
  return s;
}

/* Takes detail and fix. */
static void
add (struct eval *ev, const char *name, enum doctor_status st, char *detail,
     char *fix)
{
  struct doctor_report *r = ev->r;
  struct doctor_check *nv = realloc (r->v, (r->n + 1) * sizeof *nv);
  char *n = strdup (name);
  if (nv == NULL || n == NULL || detail == NULL)
    {
      ev->oom = true;
      if (nv)
        r->v = nv;
      free (n);
      free (detail);
      free (fix);
      return;
    }
  r->v = nv;
  r->v[r->n++] = (struct doctor_check){
    .name = n, .status = st, .detail = detail, .fix = fix
  };
}

static char *
sdup (struct eval *ev, const char *s)
{
  char *d = s ? strdup (s) : NULL;
  if (s && d == NULL)
    ev->oom = true;
  return d;
}

static void
need (struct eval *ev, enum doctor_setting s)
{
  ev->r->missing[s] = true;
}

#define FIX_SECCOMP                                                           \
  "allow unshare, mount and clone with namespace flags: securityContext."     \
  "seccompProfile {type: Localhost, localhostProfile: oci-host-runner.json} " \
  "(examples/kubernetes/seccomp-oci-host-runner.json) or {type: Unconfined}"
#define FIX_PROC                                                              \
  "securityContext.procMount: Unmasked (Kubernetes accepts it with "          \
  "spec.hostUsers: false)"
#define FIX_APPARMOR                                                          \
  "securityContext.appArmorProfile: {type: Unconfined} (the runtime's "       \
  "default profile denies mount)"
#define FIX_NON_ROOT                                                          \
  "run as a non-root user (securityContext.runAsNonRoot: true, runAsUser: "   \
  "1000): rootless runs need no cgroups"
#define FIX_DEGRADED                                                          \
  "--degraded proc (OCI_HOST_RUNNER_DEGRADED=proc): no PID namespace, the "   \
  "pod's /proc read-only"

static const char *
err_name (int e)
{
  return e == DOCTOR_NOT_PROBED ? "not probed" : strerrorname_np (e);
}

static bool
seccomp_filtered (const struct doctor_facts *f)
{
  return f->seccomp_mode == 2;
}

static bool
apparmor_confined (const struct doctor_facts *f)
{
  return f->apparmor_enabled && f->apparmor_label
         && strncmp (f->apparmor_label, "unconfined", 10) != 0;
}

/* Why a namespace or mount syscall was refused, when neither a sysctl
 * nor masked paths explain it: the seccomp filter, else AppArmor. */
static enum doctor_setting
syscall_blocker (const struct doctor_facts *f, int e)
{
  if (e == EACCES && apparmor_confined (f))
    return SETTING_APPARMOR;
  if (seccomp_filtered (f))
    return SETTING_SECCOMP;
  if (apparmor_confined (f))
    return SETTING_APPARMOR;
  return DOCTOR_N_SETTINGS;
}

static const char *
blocker_fix (enum doctor_setting s)
{
  switch (s)
    {
    case SETTING_SECCOMP:
      return FIX_SECCOMP;
    case SETTING_APPARMOR:
      return FIX_APPARMOR;
    default:
      return "look for a seccomp or LSM policy refusing it (dmesg, audit "
             "log)";
    }
}

/* ---- the runtime the runner would choose */

struct choice
{
  const char *name; /* crun | runc */
  const struct doctor_runtime *rt;
  const char *path;
};

static void
choose_runtime (const struct doctor_facts *f, struct choice *c)
{
  const char *want = f->want_runtime ? f->want_runtime : "auto";
  memset (c, 0, sizeof *c);
  if (strcmp (want, "auto") == 0)
    {
      /* runtime.c: crun first when found (its check only refuses when
       * user namespaces are disabled, which blocks runc too) */
      if (f->crun.path)
        *c = (struct choice){ "crun", &f->crun, f->crun.path };
      else if (f->runc.path)
        *c = (struct choice){ "runc", &f->runc, f->runc.path };
    }
  else if (strcmp (want, "crun") == 0)
    *c = (struct choice){ "crun", &f->crun, f->crun.path };
  else if (strcmp (want, "runc") == 0)
    *c = (struct choice){ "runc", &f->runc, f->runc.path };
  else
    {
      const char *base = strrchr (want, '/');
      base = base ? base + 1 : want;
      const struct doctor_runtime *same
          = strstr (base, "crun") ? &f->crun : &f->runc;
      *c = (struct choice){ strstr (base, "crun") ? "crun" : "runc",
                            same->path && strcmp (same->path, want) == 0
                                ? same
                                : NULL,
                            access (want, X_OK) == 0 ? want : NULL };
    }
}

static void
check_runtimes (struct eval *ev, const struct choice *c)
{
  const struct doctor_facts *f = ev->f;
  const struct doctor_runtime *rts[] = { &f->crun, &f->runc };
  const char *names[] = { "crun", "runc" };
  bool any = f->crun.version || f->runc.version;
  for (int i = 0; i < 2; i++)
    {
      cleanup_free char *check = xfmt (ev, "runtime %s", names[i]);
      if (check == NULL)
        return;
      const struct doctor_runtime *rt = rts[i];
      if (rt->version)
        add (ev, check, DOCTOR_OK, xfmt (ev, "%s: %s", rt->path, rt->version),
             NULL);
      else if (rt->path)
        add (ev, check, DOCTOR_FAIL,
             xfmt (ev, "%s: %s", rt->path, rt->error ? rt->error : "broken"),
             xfmt (ev, "reinstall %s (Debian: apt-get install %s)", names[i],
                   names[i]));
      else
        add (ev, check, any ? DOCTOR_WARN : DOCTOR_FAIL,
             xfmt (ev, "not found in PATH%s",
                   any ? (i == 0 ? " (runc is used; crun starts containers "
                                   "in about a third of the time)"
                                 : " (crun is used)")
                       : ""),
             xfmt (ev,
                   "install %s (Debian: apt-get install %s; the "
                   "oci-host-runner image has both)",
                   names[i], names[i]));
    }
  if (!any)
    need (ev, SETTING_RUNTIME);
  /* the runtime run mode would pick */
  const char *want = f->want_runtime ? f->want_runtime : "auto";
  bool works
      = c->path
        && (c->rt ? c->rt->version != NULL : access (c->path, X_OK) == 0);
  bool hybrid = f->cgroups == CGROUP_MODE_HYBRID;
  bool crun = c->name && strcmp (c->name, "crun") == 0;
  if (!works)
    {
      ev->blockers++;
      add (ev, "runtime choice", DOCTOR_FAIL,
           xfmt (ev, "--runtime %s: %s", want,
                 c->path ? "it does not run" : "not found"),
           sdup (ev, "install crun or runc, or name one that works with "
                     "--runtime (OCI_HOST_RUNNER_RUNTIME)"));
      if (strcmp (want, "auto") != 0 && any)
        return;
      need (ev, SETTING_RUNTIME);
      return;
    }
  if (crun && hybrid && f->hybrid_error != 0)
    {
      ev->blockers++;
      add (ev, "runtime choice", DOCTOR_FAIL,
           xfmt (ev,
                 "--runtime %s picks crun at %s, whose hybrid-cgroup "
                 "workaround fails here (%s)",
                 want, c->path, err_name (f->hybrid_error)),
           sdup (ev, f->runc.version
                         ? "--runtime runc (OCI_HOST_RUNNER_RUNTIME=runc)"
                         : "install runc (Debian: apt-get install runc)"));
      return;
    }
  add (ev, "runtime choice", DOCTOR_OK,
       xfmt (ev, "--runtime %s: %s at %s%s", want, c->name, c->path,
             crun && hybrid
                 ? (f->rootless ? " (hybrid cgroups: started in the runner's "
                                  "own user namespace, no cgroups)"
                                : " (hybrid cgroups: started without the "
                                  "v2 tree)")
                 : ""),
       NULL);
}

/* A fresh procfs (sysfs) is refused because of masked paths: the masks
 * are there, and either mount(2) itself works (a bind of /proc did) or
 * nothing could be probed. */
static bool
masked_failure (const struct doctor_facts *f, bool proc)
{
  int e = proc ? f->proc_error : f->sysfs_error;
  char **masks = proc ? f->proc_masks : f->sys_masks;
  if (e == 0 || masks == NULL || masks[0] == NULL)
    return false;
  if (!proc && f->rootless && f->network_host)
    return false; /* /sys is bound, not mounted */
  if (e == DOCTOR_NOT_PROBED)
    return f->mount_ns_error == DOCTOR_NOT_PROBED;
  return f->proc_bind_error == 0;
}

/* --degraded proc binds the pod's /proc (read-only) instead of mounting a
 * fresh one; it needs a working bind and a fresh sysfs. */
static bool
degraded_works (const struct doctor_facts *f)
{
  return f->proc_bind_error == 0
         && (f->sysfs_error == 0 || (f->rootless && f->network_host));
}

/* procMount: Unmasked is what fixes it */
static bool
needs_unmasked (const struct doctor_facts *f)
{
  return (masked_failure (f, true)
          && !(f->degraded_proc && degraded_works (f)))
         || masked_failure (f, false);
}

static void
check_userns (struct eval *ev)
{
  const struct doctor_facts *f = ev->f;
  /* the pod's own user namespace (hostUsers: false) */
  if (f->in_userns)
    add (ev, "pod user namespace", DOCTOR_OK,
         xfmt (ev, "yes, uid map '%s' (hostUsers: false)",
               f->uid_map ? f->uid_map : "?"),
         NULL);
  else if (needs_unmasked (f))
    {
      need (ev, SETTING_HOST_USERS);
      add (ev, "pod user namespace", DOCTOR_FAIL,
           sdup (ev, "no (hostUsers: true); procMount: Unmasked, which the "
                     "fresh mounts below need, requires one"),
           sdup (ev, "spec.hostUsers: false"));
    }
  else
    add (ev, "pod user namespace", DOCTOR_OK,
         sdup (ev, "no (the initial user namespace, or hostUsers: true)"),
         NULL);

  /* sysctls */
  bool needed = f->rootless;
  enum doctor_status bad = needed ? DOCTOR_FAIL : DOCTOR_WARN;
  if (f->max_userns == 0)
    {
      if (needed)
        need (ev, SETTING_SYSCTL_USERNS);
      add (ev, "userns sysctls", bad,
           sdup (ev, "user.max_user_namespaces=0: user namespaces are "
                     "disabled"),
           sdup (ev, "on the node: sysctl -w user.max_user_namespaces=15000 "
                     "(rootless runs need user namespaces)"));
    }
  else if (f->unpriv_userns_clone == 0)
    {
      if (needed)
        need (ev, SETTING_SYSCTL_CLONE);
      add (ev, "userns sysctls", bad,
           sdup (ev, "kernel.unprivileged_userns_clone=0"),
           sdup (ev, "on the node: sysctl -w "
                     "kernel.unprivileged_userns_clone=1"));
    }
  else
    add (ev, "userns sysctls", DOCTOR_OK,
         f->max_userns < 0
             ? sdup (ev, "user.max_user_namespaces not readable")
             : xfmt (ev, "user.max_user_namespaces=%ld%s", f->max_userns,
                     f->unpriv_userns_clone == 1
                         ? ", kernel.unprivileged_userns_clone=1"
                         : ""),
         NULL);

  /* AppArmor: the sysctl that restricts unprivileged user namespaces,
   * and the process's own profile */
  if (f->apparmor_restrict == 1 && needed && f->userns_error != 0)
    {
      need (ev, SETTING_SYSCTL_APPARMOR);
      add (ev, "apparmor", DOCTOR_FAIL,
           sdup (ev, "kernel.apparmor_restrict_unprivileged_userns=1: "
                     "unprivileged user namespaces are restricted"),
           sdup (ev, "on the node: sysctl -w "
                     "kernel.apparmor_restrict_unprivileged_userns=0, or an "
                     "AppArmor profile with 'userns,' for crun and runc"));
    }
  else if (!f->apparmor_enabled)
    add (ev, "apparmor", DOCTOR_OK, sdup (ev, "not enabled"), NULL);
  else if (!apparmor_confined (f))
    add (ev, "apparmor", DOCTOR_OK,
         xfmt (ev, "%s", f->apparmor_label ? f->apparmor_label : "unconfined"),
         NULL);
  else
    add (ev, "apparmor", DOCTOR_OK,
         xfmt (ev,
               "confined by '%s' (the probes below show whether it "
               "allows what runtimes do)",
               f->apparmor_label),
         NULL);

  /* the probe itself */
  if (f->userns_error == 0)
    add (ev, "user namespace", DOCTOR_OK,
         sdup (ev, "unshare(CLONE_NEWUSER) and a uid/gid map work"), NULL);
  else if (!needed)
    add (ev, "user namespace", DOCTOR_OK,
         xfmt (ev, "unshare(CLONE_NEWUSER): %s; not needed as root",
               err_name (f->userns_error)),
         NULL);
  else
    {
      ev->blockers++;
      enum doctor_setting why
          = f->max_userns == 0            ? SETTING_SYSCTL_USERNS
            : f->unpriv_userns_clone == 0 ? SETTING_SYSCTL_CLONE
            : f->apparmor_restrict == 1   ? SETTING_SYSCTL_APPARMOR
            : f->userns_error == ENOSPC   ? SETTING_SYSCTL_USERNS
                                        : syscall_blocker (f, f->userns_error);
      if (why < DOCTOR_N_SETTINGS)
        need (ev, why);
      add (ev, "user namespace", DOCTOR_FAIL,
           xfmt (ev, "unshare(CLONE_NEWUSER): %s%s",
                 err_name (f->userns_error),
                 why == SETTING_SECCOMP
                     ? " (a seccomp filter refuses it: Seccomp: 2 in "
                       "/proc/self/status)"
                     : ""),
           why == SETTING_SYSCTL_USERNS && f->userns_error == ENOSPC
               ? sdup (ev, "on the node: raise user.max_user_namespaces")
           : why == SETTING_SECCOMP || why == SETTING_APPARMOR
                   || why == DOCTOR_N_SETTINGS
               ? sdup (ev, blocker_fix (why))
               : xfmt (ev, "%s (see above)", doctor_setting_name (why)));
    }

  /* seccomp: a summary of what the probes found */
  bool refused = (f->userns_error == EPERM && needed)
                 || f->mount_ns_error == EPERM
                 || (f->proc_bind_error != 0
                     && f->proc_bind_error != DOCTOR_NOT_PROBED);
  if (f->seccomp_mode <= 0)
    add (ev, "seccomp", DOCTOR_OK,
         sdup (ev, f->seccomp_mode == 0 ? "no filter" : "unknown"), NULL);
  else if (refused && syscall_blocker (f, EPERM) == SETTING_SECCOMP)
    add (ev, "seccomp", DOCTOR_FAIL,
         sdup (ev, "a filter (Seccomp: 2) refuses the namespace or mount "
                   "calls that runtimes make"),
         sdup (ev, FIX_SECCOMP));
  else
    add (ev, "seccomp", DOCTOR_OK,
         sdup (ev, "a filter is active; it allows the namespace and mount "
                   "calls probed below"),
         NULL);
}

static char *
mask_list (struct eval *ev, char **masks)
{
  size_t n = strv_len (masks);
  char buf[512] = "";
  for (size_t i = 0; i < n && i < 4; i++)
    {
      size_t l = strlen (buf);
      snprintf (buf + l, sizeof buf - l, "%s%s", i ? ", " : "", masks[i]);
    }
  if (n > 4)
    {
      size_t l = strlen (buf);
      snprintf (buf + l, sizeof buf - l, " and %zu more", n - 4);
    }
  return xfmt (ev, "%s", buf);
}

/* A fresh procfs (or sysfs) in the new namespaces the runtime makes. */
static void
check_fresh_mount (struct eval *ev, bool proc)
{
  const struct doctor_facts *f = ev->f;
  const char *name = proc ? "procfs" : "sysfs";
  int e = proc ? f->proc_error : f->sysfs_error;
  char **masks = proc ? f->proc_masks : f->sys_masks;
  bool masked = masks && masks[0];
  if (!proc && f->rootless && f->network_host)
    {
      add (ev, name, DOCTOR_OK,
           sdup (ev, "not mounted fresh: with --network host the pod's /sys "
                     "is bound read-only"),
           NULL);
      return;
    }
  if (e == 0)
    {
      add (ev, name, DOCTOR_OK,
           xfmt (ev, "a fresh %s mounts in new %s namespaces", name,
                 proc ? "PID and mount" : "network and mount"),
           NULL);
      return;
    }
  cleanup_free char *list = masked ? mask_list (ev, masks) : NULL;
  /* A bind of /proc worked, so mount(2) itself is allowed: the masks
   * are what refuse a fresh instance (the kernel's mount_too_revealing) */
  bool mounts_allowed = f->proc_bind_error == 0;
  bool degraded = proc && f->degraded_proc && degraded_works (f);
  if (e == DOCTOR_NOT_PROBED && f->mount_ns_error != DOCTOR_NOT_PROBED
      && f->mount_ns_error != 0)
    {
      /* new mount/PID/network namespaces refused */
      enum doctor_setting why = f->rootless
                                    ? syscall_blocker (f, f->mount_ns_error)
                                    : SETTING_NON_ROOT;
      if (why < DOCTOR_N_SETTINGS)
        need (ev, why);
      if (proc)
        ev->blockers++;
      add (ev, name, DOCTOR_FAIL,
           xfmt (ev,
                 "not probed: new mount, PID and network namespaces "
                 "refused (%s)%s",
                 err_name (f->mount_ns_error),
                 f->rootless ? "" : " (root without CAP_SYS_ADMIN?)"),
           sdup (ev,
                 why == SETTING_NON_ROOT ? FIX_NON_ROOT : blocker_fix (why)));
      return;
    }
  if (masked_failure (f, proc))
    {
      if (degraded)
        {
          add (ev, name, DOCTOR_WARN,
               xfmt (ev,
                     "a fresh procfs is refused (%s): /proc has masked "
                     "paths (%s); degraded mode 'proc' is on: no PID "
                     "namespace, the pod's /proc read-only, so build "
                     "scripts can see and signal the processes of their "
                     "user",
                     err_name (e), list),
               sdup (ev, FIX_PROC " restores the PID namespace"));
          return;
        }
      need (ev, SETTING_PROC_MOUNT);
      if (!f->in_userns)
        need (ev, SETTING_HOST_USERS);
      if (proc)
        ev->proc_blocks = true;
      else
        ev->blockers++;
      bool offer = proc && degraded_works (f);
      add (ev, name, DOCTOR_FAIL,
           e == DOCTOR_NOT_PROBED
               ? xfmt (ev,
                       "not probed (no user namespace), but %s has "
                       "masked paths (%s): a fresh %s will be refused",
                       proc ? "/proc" : "/sys", list, name)
               : xfmt (ev,
                       "a fresh %s is refused (%s): %s has masked paths "
                       "(%s)",
                       name, err_name (e), proc ? "/proc" : "/sys", list),
           offer  ? sdup (ev, FIX_PROC "; or " FIX_DEGRADED)
           : proc ? sdup (ev, FIX_PROC " (--degraded proc does not help "
                                       "here: it needs a fresh sysfs)")
                  : sdup (ev, FIX_PROC " (it unmasks /sys too; --degraded "
                                       "proc binds only /proc)"));
      return;
    }
  if (e == DOCTOR_NOT_PROBED)
    {
      add (ev, name, DOCTOR_WARN,
           xfmt (ev,
                 "not probed (it needs a user namespace); %s has no "
                 "masked paths",
                 proc ? "/proc" : "/sys"),
           NULL);
      return;
    }
  enum doctor_setting why = syscall_blocker (f, e);
  if (why < DOCTOR_N_SETTINGS)
    need (ev, why);
  if (proc)
    ev->proc_blocks = true;
  else
    ev->blockers++;
  add (ev, name, DOCTOR_FAIL,
       xfmt (ev, "mount(%s): %s%s", name, err_name (e),
             mounts_allowed ? "" : " (bind mounts are refused too)"),
       sdup (ev, blocker_fix (why)));
}

static void
check_cgroups (struct eval *ev, const struct choice *c)
{
  const struct doctor_facts *f = ev->f;
  const char *mode = hostinfo_cgroup_mode_name (f->cgroups);
  if (f->cgroups == CGROUP_MODE_NONE)
    add (ev, "cgroups", DOCTOR_WARN,
         sdup (ev, "no cgroup filesystem: memory and pids limits are not "
                   "enforced; the timeout still is"),
         NULL);
  else if (f->rootless)
    add (ev, "cgroups", DOCTOR_WARN,
         xfmt (ev,
               "%s, rootless: memory and pids limits are not enforced; "
               "the timeout still is",
               mode),
         NULL);
  else if (f->cgroup_error == 0)
    add (ev, "cgroups", DOCTOR_OK,
         xfmt (ev, "%s, %s writable: memory and pids limits are enforced",
               mode, f->cgroup_path ? f->cgroup_path : "?"),
         NULL);
  else
    {
      ev->blockers++;
      need (ev, SETTING_NON_ROOT);
      add (ev, "cgroups", DOCTOR_FAIL,
           xfmt (ev,
                 "%s, %s not writable (%s): as root the runtime must "
                 "create the container's cgroup",
                 mode, f->cgroup_path ? f->cgroup_path : "?",
                 err_name (f->cgroup_error)),
           sdup (ev, FIX_NON_ROOT));
    }

  bool crun = c->name && strcmp (c->name, "crun") == 0;
  if (f->cgroups != CGROUP_MODE_HYBRID)
    add (ev, "hybrid cgroups", DOCTOR_OK,
         xfmt (ev, "no (%s): crun runs unchanged", mode), NULL);
  else if (f->hybrid_error == 0)
    add (ev, "hybrid cgroups", DOCTOR_OK,
         sdup (ev, f->rootless
                       ? "yes: crun runs in the runner's own user namespace "
                         "with an empty /sys/fs/cgroup (probe ok)"
                       : "yes: crun runs in a mount namespace without "
                         "/sys/fs/cgroup/unified (probe ok)"),
         NULL);
  else
    add (ev, "hybrid cgroups", crun ? DOCTOR_FAIL : DOCTOR_WARN,
         xfmt (ev, "yes, and crun's workaround fails here (%s)",
               err_name (f->hybrid_error)),
         sdup (ev, "--runtime runc (OCI_HOST_RUNNER_RUNTIME=runc)"));
}

static void
check_dir (struct eval *ev, const char *name, const struct doctor_dir *d,
           const char *option, bool blocks)
{
  if (d->path == NULL)
    return;
  if (d->error == 0)
    {
      add (ev, name, DOCTOR_OK,
           xfmt (ev, "%s%s%s%s", d->path, d->tmpfs ? " (tmpfs)" : "",
                 d->why ? ": " : "", d->why ? d->why : ""),
           NULL);
      return;
    }
  if (blocks)
    {
      ev->blockers++;
      need (ev, SETTING_VOLUME);
    }
  add (ev, name, blocks ? DOCTOR_FAIL : DOCTOR_WARN,
       xfmt (ev, "%s: %s", d->path, d->why ? d->why : strerror (d->error)),
       xfmt (ev, "%s on a writable volume (an emptyDir, or a PVC)", option));
}

static void
check_store (struct eval *ev)
{
  const struct doctor_facts *f = ev->f;
  bool must_pull = f->image_state == 2;
  check_dir (ev, "state dir", &f->state,
             "--state-dir (OCI_HOST_RUNNER_STATE_DIR), your own and mode "
             "0700,",
             true);
  check_dir (ev, "cache dir", &f->cache,
             "--cache-dir (OCI_HOST_RUNNER_CACHE_DIR)", f->image_state == 0);
  if (f->store.path && strcmp (f->store.path, f->cache.path) != 0)
    check_dir (ev, "store", &f->store, "--store (OCI_HOST_RUNNER_STORE_DIR)",
               must_pull);
  else
    add (ev, "store", f->store.error == 0 ? DOCTOR_OK : DOCTOR_WARN,
         xfmt (ev, "the cache dir%s",
               f->store.error == 0 ? "" : ": pulls will fail"),
         NULL);

  int le = f->store_link_error;
  const char *ld = f->store_link_detail ? f->store_link_detail : "";
  if (le == 0)
    add (ev, "store hardlinks", DOCTOR_OK,
         xfmt (ev, "link(2) works (%s): checkouts share the repo's files", ld),
         NULL);
  else if (le == DOCTOR_NOT_PROBED)
    add (ev, "store hardlinks", DOCTOR_OK,
         xfmt (ev, "%s; repo and checkouts are created in it together",
               *ld ? ld : "not probed"),
         NULL);
  else
    {
      if (must_pull)
        {
          ev->blockers++;
          need (ev, SETTING_VOLUME);
        }
      add (ev, "store hardlinks", must_pull ? DOCTOR_FAIL : DOCTOR_WARN,
           xfmt (ev, "%s (%s): pulls cannot check images out", ld,
                 err_name (le)),
           sdup (ev, "mount one volume at the store directory, not separate "
                     "ones for repo/ and rootfs/"));
    }

  /* what the store holds, and whether --image is in it */
  cleanup_free char *counts
      = xfmt (ev, "%ld names in the catalogue, %ld prepared, %ld checkouts",
              f->n_names, f->n_prepared, f->n_checkouts);
  if (counts == NULL)
    return;
  switch (f->image_state)
    {
    case 0:
      add (ev, "images", DOCTOR_OK,
           xfmt (ev,
                 "%s; --image host: the embedded image, built in the "
                 "cache dir on first use",
                 counts),
           NULL);
      break;
    case 1:
      add (ev, "images", DOCTOR_OK,
           xfmt (ev, "%s; --image %s: prepared (%s)", counts, f->image,
                 f->image_detail ? f->image_detail : "?"),
           NULL);
      break;
    case 2:
      if (f->store_helper == NULL)
        {
          ev->blockers++;
          need (ev, SETTING_INIT);
        }
      add (ev, "images", f->store_helper ? DOCTOR_WARN : DOCTOR_FAIL,
           xfmt (ev,
                 "%s; --image %s: not in the store yet, the first run "
                 "fetches it%s",
                 counts, f->image,
                 f->store_helper ? ""
                                 : ", but oci-host-runner-store is "
                                   "not installed"),
           sdup (ev, "oci-host-runner pull (or import) it beforehand, into "
                     "a shared store (a PVC)"));
      break;
    case 3:
      ev->blockers++;
      add (ev, "images", DOCTOR_FAIL,
           xfmt (ev, "%s; --image %s is not pinned by digest", counts,
                 f->image),
           sdup (ev, "pin it: oci-host-runner pull REF prints the digest "
                     "(or --allow-unpinned)"));
      break;
    default:
      ev->blockers++;
      add (ev, "images", DOCTOR_FAIL,
           xfmt (ev, "%s; --image %s: %s", counts, f->image,
                 f->image_detail ? f->image_detail : "cannot resolve it"),
           sdup (ev, "fix --image (OCI_HOST_RUNNER_IMAGE)"));
      break;
    }
  if (f->n_dangling > 0)
    add (ev, "images", DOCTOR_WARN,
         xfmt (ev, "%ld catalogue names point at missing checkouts",
               f->n_dangling),
         sdup (ev, "oci-host-runner gc, then pull them again"));
}

int
doctor_evaluate (const struct doctor_facts *f, struct doctor_report *out,
                 ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct eval ev = { .f = f, .r = out };
  struct choice c;
  choose_runtime (f, &c);

  check_runtimes (&ev, &c);
  check_userns (&ev);
  check_fresh_mount (&ev, true);
  check_fresh_mount (&ev, false);
  check_cgroups (&ev, &c);
  check_store (&ev);
  if (f->hooks_error)
    {
      ev.blockers++;
      add (&ev, "hooks", DOCTOR_FAIL, sdup (&ev, f->hooks_error),
           sdup (&ev, "--hooks-dir DIR (OCI_HOST_RUNNER_HOOKS_DIR) with "
                      "directories you own, or OCI_HOST_RUNNER_HOOKS_DIR= "
                      "for none; in a hostUsers: false pod the runtime must "
                      "idmap the image (containerd >= 2.0, CRI-O >= 1.25)"));
    }
  else
    add (&ev, "hooks", DOCTOR_OK,
         f->hooks_dirs ? xfmt (&ev, "%ld from %zu director%s", f->n_hooks,
                               strv_len (f->hooks_dirs),
                               strv_len (f->hooks_dirs) == 1 ? "y" : "ies")
                       : sdup (&ev, "no hook directories"),
         NULL);
  if (f->init_path)
    add (&ev, "init", DOCTOR_OK, sdup (&ev, f->init_path), NULL);
  else
    {
      ev.blockers++;
      need (&ev, SETTING_INIT);
      add (&ev, "init", DOCTOR_FAIL,
           sdup (&ev, "ohr-init not found beside the runner or in "
                      "../libexec/oci-host-runner"),
           sdup (&ev, "reinstall (make install), or set "
                      "OCI_HOST_RUNNER_INIT"));
    }

  out->can_run = ev.blockers == 0 && !ev.proc_blocks;
  out->degraded_would_run
      = ev.blockers == 0 && ev.proc_blocks && degraded_works (f);

  /* the verdict */
  char missing[1024] = "";
  for (int s = 0; s < DOCTOR_N_SETTINGS; s++)
    if (out->missing[s])
      {
        size_t l = strlen (missing);
        snprintf (missing + l, sizeof missing - l, "%s%s", l ? ", " : "",
                  doctor_setting_name ((enum doctor_setting)s));
      }
  const char *how = c.name ? c.name : "no runtime";
  const char *who = f->rootless ? "rootless" : "root";
  if (out->can_run)
    add (&ev, "verdict",
         f->degraded_proc && f->proc_error != 0 ? DOCTOR_WARN : DOCTOR_OK,
         xfmt (&ev, "build scripts can run here (%s, %s%s)", how, who,
               f->degraded_proc && f->proc_error != 0
                   ? ", degraded mode 'proc'"
                   : ""),
         NULL);
  else
    add (&ev, "verdict", DOCTOR_FAIL,
         xfmt (&ev, "build scripts cannot run here; missing: %s",
               missing[0] ? missing : "see the checks above"),
         out->degraded_would_run
             ? sdup (&ev, "set procMount: Unmasked (with hostUsers: false); "
                          "or run with " FIX_DEGRADED
                          " (this pod passes every other check)")
             : sdup (&ev, "the fixes above"));
  if (ev.oom)
    {
      doctor_report_clear (out);
      return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "doctor");
    }
  return 0;
}

/* ---- output */

static const char *
status_word (enum doctor_status s)
{
  return s == DOCTOR_OK ? "ok" : s == DOCTOR_WARN ? "warn" : "FAIL";
}

char *
doctor_format_line (const struct doctor_check *c)
{
  char *s = NULL;
  if (asprintf (&s, "%-4s %s: %s%s%s", status_word (c->status), c->name,
                c->detail ? c->detail : "",
                c->fix && c->status != DOCTOR_OK ? "; fix: " : "",
                c->fix && c->status != DOCTOR_OK ? c->fix : "")
      < 0)
    return NULL;
  return s;
}

static yajl_gen_status
gen_str (yajl_gen g, const char *s)
{
  return s ? yajl_gen_string (g, (const unsigned char *)s, strlen (s))
           : yajl_gen_null (g);
}

int
doctor_report_json (const struct doctor_report *r, char **out, size_t *out_len,
                    ohr_error_t *err)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "doctor");
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  yajl_gen_status st = yajl_gen_array_open (g);
  for (size_t i = 0; st == yajl_gen_status_ok && i < r->n; i++)
    {
      const struct doctor_check *c = &r->v[i];
      if ((st = yajl_gen_map_open (g)) != yajl_gen_status_ok
          || (st = gen_str (g, "check")) != yajl_gen_status_ok
          || (st = gen_str (g, c->name)) != yajl_gen_status_ok
          || (st = gen_str (g, "status")) != yajl_gen_status_ok
          || (st = gen_str (g, status_word (c->status)[0] == 'F'
                                   ? "fail"
                                   : status_word (c->status)))
                 != yajl_gen_status_ok
          || (st = gen_str (g, "detail")) != yajl_gen_status_ok
          || (st = gen_str (g, c->detail)) != yajl_gen_status_ok
          || (st = gen_str (g, "fix")) != yajl_gen_status_ok
          || (st = gen_str (g, c->status != DOCTOR_OK ? c->fix : NULL))
                 != yajl_gen_status_ok)
        break;
      st = yajl_gen_map_close (g);
    }
  if (st == yajl_gen_status_ok)
    st = yajl_gen_array_close (g);
  const unsigned char *buf;
  size_t len;
  int r2 = 0;
  if (st != yajl_gen_status_ok
      || yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    r2 = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                        "doctor: cannot write JSON (status %d)", (int)st);
  else if ((*out = strndup ((const char *)buf, len)) == NULL)
    r2 = ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "doctor");
  else
    *out_len = len;
  yajl_gen_free (g);
  return r2;
}

static void
runtime_clear_fact (struct doctor_runtime *rt)
{
  free (rt->path);
  free (rt->version);
  free (rt->error);
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
  free (f->cgroup_path);
  runtime_clear_fact (&f->crun);
  runtime_clear_fact (&f->runc);
  free (f->want_runtime);
  free (f->apparmor_label);
  free (f->uid_map);
  strv_free (f->proc_masks);
  strv_free (f->sys_masks);
  dir_clear (&f->state);
  dir_clear (&f->cache);
  dir_clear (&f->store);
  free (f->store_link_detail);
  free (f->image);
  free (f->image_detail);
  strv_free (f->hooks_dirs);
  free (f->hooks_error);
  free (f->init_path);
  free (f->store_helper);
  memset (f, 0, sizeof *f);
}

void
doctor_report_clear (struct doctor_report *r)
{
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->v[i].name);
      free (r->v[i].detail);
      free (r->v[i].fix);
    }
  free (r->v);
  memset (r, 0, sizeof *r);
}
