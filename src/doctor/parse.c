/* parse.c: the pure parsers of what doctor's probes read (see doctor.h):
 * /proc/self/mountinfo's masks, the Seccomp: field of
 * /proc/self/status, uid_map, /proc/self/cgroup.  Unit-tested on the
 * texts of pods and hosts (tests/unit/test-doctor.c). */
#define _GNU_SOURCE
#include "doctor/doctor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

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
