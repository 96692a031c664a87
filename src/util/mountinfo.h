/* mountinfo.h: a mount table read from /proc/PID/mountinfo's text (the
 * mounts a process sees: id, parent, mount point, filesystem type), for
 * the cgroup-mode decision and for finding the submounts under a path. */
#ifndef OHR_UTIL_MOUNTINFO_H
#define OHR_UTIL_MOUNTINFO_H

#include <stddef.h>

#include "util/error.h"

/* A Kubernetes node with thousands of mounts stays far below this. */
#define MOUNTINFO_MAX (16u << 20)

struct mountinfo_entry
{
  long id;
  long parent;
  const char *point; /* unescaped, into mountinfo.buf */
  const char *fstype;
};

struct mountinfo
{
  struct mountinfo_entry *v;
  size_t n;
  char *buf; /* a copy of the text, cut into fields */
};

/* Parse TEXT; lines that are not mount entries are skipped.  Fails only
 * for want of memory (-1, errno ENOMEM). */
int mountinfo_parse (const char *text, struct mountinfo *out);

/* This process's table (/proc/self/mountinfo). */
int mountinfo_read_self (struct mountinfo *out, ohr_error_t *err);

/* The mount holding PATH (normalized, absolute), found the way the kernel
 * walks to it: component by component, crossing each mount point, so a
 * later mount on a parent directory hides what was mounted below it.
 * NULL when the table has no root. */
const struct mountinfo_entry *mountinfo_mount_of (const struct mountinfo *t,
                                                  const char *path);

/* Forget the mounts strictly below PATH (normalized, absolute): what a
 * process that hides them will not see. */
void mountinfo_drop_below (struct mountinfo *t, const char *path);

void mountinfo_clear (struct mountinfo *t);

#endif
