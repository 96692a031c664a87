/* procfs.h: read the kernel's settings from /proc and /sys (sysctls such
 * as user.max_user_namespaces), for run mode's decisions and for doctor,
 * and when a process started. */
#ifndef OHR_UTIL_PROCFS_H
#define OHR_UTIL_PROCFS_H

#include "util/error.h"

/* The number a file holds, or missing when it does not exist or cannot be
 * read (an older kernel, a kernel without the feature). */
long procfs_read_long (const char *path, long missing);

/* The process ids a procfs at proc_dir lists now (its numeric entries),
 * as a NULL-terminated strv of decimal strings. */
int procfs_list_pids (const char *proc_dir, char ***out, ohr_error_t *err);

/* When process pid started (field 22 of /proc/PID/stat, clock ticks since
 * boot): with the pid, it names one process, not whoever reuses the pid.
 * 0 when there is no such process or its stat cannot be read. */
unsigned long long procfs_start_time (long pid);

#endif
