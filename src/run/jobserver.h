/* jobserver.h: carry Cargo's jobserver into the container.
 *
 * Cargo hands build scripts a GNU make jobserver in CARGO_MAKEFLAGS
 * ("-j --jobserver-fds=R,W --jobserver-auth=R,W", or "fifo:PATH").  The
 * cc crate uses it to limit parallel compiles to Cargo's -j.  A container
 * only receives fds 0-2 plus those passed with --preserve-fds, so the pipe
 * ends are passed as fds first_fd, first_fd+1 and the variable is rewritten
 * to name them.  A fifo jobserver needs its path mounted instead.
 */
#ifndef OHR_JOBSERVER_H
#define OHR_JOBSERVER_H

#include <stdbool.h>

#include "util/error.h"

struct jobserver
{
  int read_fd; /* host fds, -1 when none */
  int write_fd;
  char *fifo;      /* fifo path, or NULL */
  char *makeflags; /* CARGO_MAKEFLAGS rewritten for the container */
  int fifo_fd;     /* the fifo opened by jobserver_open_fifo, or -1 */
};

/* Parse makeflags (may be NULL); fds that are not open are ignored and
 * their flags dropped, so the script falls back to its own -j. */
int jobserver_parse (const char *makeflags, int first_fd,
                     struct jobserver *out, ohr_error_t *err);

/* Open the fifo of a fifo jobserver here and pass it as the fd pair
 * first_fd, first_fd+1 (CARGO_MAKEFLAGS rewritten to name them) instead
 * of mounting its path: as root the container's root is an unprivileged
 * id, which cannot open the invoking user's fifo.  Nothing to do without
 * a fifo. */
int jobserver_open_fifo (struct jobserver *js, int first_fd, ohr_error_t *err);

void jobserver_clear (struct jobserver *js);

#endif
