/* proc.h: run a helper program to completion, capturing its stdout and
 * stderr (bounded), with no shell involved. */
#ifndef OHR_UTIL_PROC_H
#define OHR_UTIL_PROC_H

#include <stddef.h>

#include "util/error.h"

struct proc_result
{
  int status; /* exit code, or 128+N when killed by signal N */
  char *out;  /* stdout, NUL-terminated (at most 1 MiB kept) */
  char *err;  /* stderr, NUL-terminated (at most 1 MiB kept) */
};

int proc_run (char *const *argv, struct proc_result *out, ohr_error_t *err);
void proc_result_clear (struct proc_result *r);

#endif
