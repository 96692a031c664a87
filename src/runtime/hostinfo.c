/* hostinfo.c: see hostinfo.h */
#define _GNU_SOURCE
#include "runtime/hostinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

/* A Kubernetes node with thousands of mounts stays far below this. */
#define MOUNTINFO_MAX (16u << 20)
#define CONTROLLERS_MAX 4096

struct mount_entry
{
  long id;
  long parent;
  const char *point; /* unescaped, into mount_table.buf */
  const char *fstype;
};

struct mount_table
{
  struct mount_entry *v;
  size_t n;
  char *buf; /* a copy of the text, cut into fields */
};

static void
mount_table_clear (struct mount_table *t)
{
  free (t->v);
  free (t->buf);
  memset (t, 0, sizeof *t);
}

/* The kernel writes a space, tab, newline or backslash in a mount point
 * as \ooo; undo that in place. */
static void
unescape_octal (char *s)
{
  char *o = s;
  for (const char *p = s; *p;)
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0'
        && p[2] <= '7' && p[3] >= '0' && p[3] <= '7')
      {
        *o++
            = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
        p += 4;
      }
    else
      *o++ = *p++;
  *o = '\0';
}

/* One line: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE
 * SOURCE SUPEROPTIONS".  False when the line is not such an entry. */
static bool
parse_line (char *line, struct mount_entry *out)
{
  char *save = NULL, *end = NULL, *f[5];
  for (int i = 0; i < 5; i++)
    if ((f[i] = strtok_r (i == 0 ? line : NULL, " ", &save)) == NULL)
      return false;
  out->id = strtol (f[0], &end, 10);
  if (*end != '\0')
    return false;
  out->parent = strtol (f[1], &end, 10);
  if (*end != '\0')
    return false;
  /* the options, then optional fields up to "-", then the type */
  char *tok;
  while ((tok = strtok_r (NULL, " ", &save)) != NULL && strcmp (tok, "-") != 0)
    ;
  if (tok == NULL || (tok = strtok_r (NULL, " ", &save)) == NULL)
    return false;
  unescape_octal (f[4]);
  if (f[4][0] != '/')
    return false;
  out->point = f[4];
  out->fstype = tok;
  return true;
}

static int
mount_table_parse (const char *text, struct mount_table *out)
{
  memset (out, 0, sizeof *out);
  size_t lines = 1;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  out->buf = strdup (text);
  out->v = calloc (lines, sizeof *out->v);
  if (out->buf == NULL || out->v == NULL)
    {
      mount_table_clear (out);
      return -1;
    }
  char *save = NULL;
  for (char *line = strtok_r (out->buf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    if (parse_line (line, &out->v[out->n]))
      out->n++;
  return 0;
}

/* The mount of "/" that is not on top of another listed mount (the lines
 * are not in mount order: on some hosts /proc comes before /). */
static const struct mount_entry *
root_mount (const struct mount_table *t)
{
  const struct mount_entry *first = NULL;
  for (size_t i = 0; i < t->n; i++)
    {
      if (strcmp (t->v[i].point, "/") != 0)
        continue;
      if (first == NULL)
        first = &t->v[i];
      bool on_listed = false;
      for (size_t j = 0; j < t->n && !on_listed; j++)
        on_listed = j != i && t->v[j].id == t->v[i].parent;
      if (!on_listed)
        return &t->v[i];
    }
  return first;
}

/* What the path walk reaches at POINT, a directory of CUR: the mount on
 * it, the one mounted on top of that, and so on (the last listed wins). */
static const struct mount_entry *
top_at (const struct mount_table *t, const struct mount_entry *cur,
        const char *point)
{
  /* bounded: a malformed table may have cycles */
  for (size_t steps = 0; steps < t->n; steps++)
    {
      const struct mount_entry *next = NULL;
      for (size_t i = 0; i < t->n; i++)
        if (&t->v[i] != cur && t->v[i].parent == cur->id
            && strcmp (t->v[i].point, point) == 0)
          next = &t->v[i];
      if (next == NULL)
        break;
      cur = next;
    }
  return cur;
}

/* The mount holding PATH (normalized, absolute), found the way the kernel
 * walks to it: component by component, crossing each mount point.  So a
 * later mount on a parent directory hides what was mounted below it. */
static const struct mount_entry *
mount_of (const struct mount_table *t, const char *path)
{
  const struct mount_entry *cur = root_mount (t);
  cleanup_free char *p = strdup (path);
  if (cur == NULL || p == NULL)
    return NULL;
  cur = top_at (t, cur, "/");
  for (size_t i = 1; p[i - 1] != '\0'; i++)
    if (p[i] == '/' || p[i] == '\0')
      {
        char c = p[i];
        p[i] = '\0';
        cur = top_at (t, cur, p);
        p[i] = c;
      }
  return cur;
}

static bool
is_type (const struct mount_entry *m, const char *fstype)
{
  return m != NULL && strcmp (m->fstype, fstype) == 0;
}

static bool
has_word (const char *s)
{
  for (; s && *s; s++)
    if (!isspace ((unsigned char)*s))
      return true;
  return false;
}

enum cgroup_mode
hostinfo_cgroup_mode_from_mountinfo (const char *mountinfo,
                                     const char *cgroup_root,
                                     const char *unified_controllers)
{
  cleanup_free char *root
      = cgroup_root ? fs_path_normalize (cgroup_root) : NULL;
  cleanup_free char *unified = root ? fs_path_join (root, "unified") : NULL;
  struct mount_table t;
  if (mountinfo == NULL || unified == NULL
      || mount_table_parse (mountinfo, &t) < 0)
    return CGROUP_MODE_NONE;
  enum cgroup_mode mode = CGROUP_MODE_NONE;
  const struct mount_entry *m = mount_of (&t, root);
  if (is_type (m, "cgroup2"))
    mode = CGROUP_MODE_UNIFIED;
  else if (is_type (m, "tmpfs"))
    /* A v2 tree beside v1 hierarchies counts as hybrid only when it holds
     * controllers: that is what makes crun refuse it ("drop all
     * controllers from cgroupv2"); an empty unified tree (systemd's
     * default) is legacy. */
    mode = is_type (mount_of (&t, unified), "cgroup2")
                   && has_word (unified_controllers)
               ? CGROUP_MODE_HYBRID
               : CGROUP_MODE_LEGACY;
  mount_table_clear (&t);
  return mode;
}

enum cgroup_mode
hostinfo_cgroup_mode_at (const char *root)
{
  cleanup_free char *real = root ? realpath (root, NULL) : NULL;
  if (real == NULL)
    return CGROUP_MODE_NONE;
  ohr_error_t e = NULL;
  cleanup_free char *mountinfo = NULL;
  if (fs_read_file ("/proc/self/mountinfo", MOUNTINFO_MAX, &mountinfo, NULL,
                    &e)
      < 0)
    {
      ohr_error_free (&e);
      return CGROUP_MODE_NONE;
    }
  cleanup_free char *path = fs_path_join (real, "unified/cgroup.controllers");
  cleanup_free char *controllers = NULL;
  if (path && fs_read_file (path, CONTROLLERS_MAX, &controllers, NULL, &e) < 0)
    ohr_error_free (&e); /* not there: no controllers */
  return hostinfo_cgroup_mode_from_mountinfo (mountinfo, real, controllers);
}

void
hostinfo_probe (struct hostinfo *out)
{
  out->uid = geteuid ();
  out->gid = getegid ();
  out->rootless = out->uid != 0;
  out->cgroups = hostinfo_cgroup_mode_at ("/sys/fs/cgroup");
}

const char *
hostinfo_cgroup_mode_name (enum cgroup_mode mode)
{
  switch (mode)
    {
    case CGROUP_MODE_LEGACY:
      return "v1";
    case CGROUP_MODE_HYBRID:
      return "hybrid";
    case CGROUP_MODE_UNIFIED:
      return "v2";
    case CGROUP_MODE_NONE:
    default:
      return "none";
    }
}

static bool
has_controller (const char *list, const char *name)
{
  size_t n = strlen (name);
  for (const char *p = list; p && *p;)
    {
      while (isspace ((unsigned char)*p))
        p++;
      size_t w = 0;
      while (p[w] && !isspace ((unsigned char)p[w]))
        w++;
      if (w == n && strncmp (p, name, n) == 0)
        return true;
      p += w;
    }
  return false;
}

const char *
hostinfo_delegation_refusal (const struct delegation_facts *f)
{
  if (!f->rootless)
    return "not rootless";
  if (f->mode != CGROUP_MODE_UNIFIED)
    return "cgroups are not v2 only: nothing is delegated to users";
  if (f->service_controllers == NULL)
    return "no user@UID.service cgroup (no systemd user manager)";
  if (!has_controller (f->service_controllers, "memory")
      || !has_controller (f->service_controllers, "pids"))
    return "systemd does not delegate the memory and pids controllers to "
           "you (Delegate= of user@.service)";
  if (!f->user_bus)
    return "the user's D-Bus ($XDG_RUNTIME_DIR/bus) is not there";
  return NULL;
}

void
hostinfo_delegation_probe (const struct hostinfo *host,
                           struct delegation_facts *out,
                           char **out_controllers)
{
  *out = (struct delegation_facts){ .mode = host->cgroups,
                                    .rootless = host->rootless };
  *out_controllers = NULL;
  /* only where it can matter: every rootless run reads this */
  if (!host->rootless || host->cgroups != CGROUP_MODE_UNIFIED)
    return;
  char path[160];
  snprintf (path, sizeof path,
            "/sys/fs/cgroup/user.slice/user-%u.slice/user@%u.service/"
            "cgroup.controllers",
            (unsigned)host->uid, (unsigned)host->uid);
  ohr_error_t e = NULL;
  if (fs_read_file (path, CONTROLLERS_MAX, out_controllers, NULL, &e) < 0)
    ohr_error_free (&e);
  out->service_controllers = *out_controllers;
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  struct stat st;
  if (xdg && xdg[0] == '/')
    {
      cleanup_free char *bus = fs_path_join (xdg, "bus");
      out->user_bus = bus && stat (bus, &st) == 0 && S_ISSOCK (st.st_mode);
    }
}
