/* error.h: the one error convention of oci-host-runner.
 *
 * A function that can fail returns >= 0 on success and a negative value on
 * failure (NULL for pointer returns) and fills its last argument, an
 * ohr_error_t *, with an errno-style code, an exit-code category and a
 * message.  Callers add context with ohr_error_wrap(); only main() prints.
 * Modelled on crun's libcrun_error_t.
 */
#ifndef OHR_UTIL_ERROR_H
#define OHR_UTIL_ERROR_H

#include <stdarg.h>

/* What kind of failure it is: main() turns this into the exit code. */
enum ohr_error_kind
{
  OHR_ERR_INTERNAL = 0, /* a bug or an unexpected system failure */
  OHR_ERR_USAGE,        /* bad option or argument */
  OHR_ERR_CONTEXT,      /* the environment Cargo gives is missing or wrong */
  OHR_ERR_IMAGE,        /* the image cannot be resolved or prepared */
  OHR_ERR_RUNTIME,      /* crun/runc failed before the script ran */
  OHR_ERR_NOEXEC,       /* the script exists but cannot be executed */
  OHR_ERR_NOTFOUND,     /* the script does not exist */
  OHR_ERR_POLICY,       /* a policy violation detected by the runner */
};

struct ohr_error
{
  int status;               /* errno value, 0 when not from a syscall */
  enum ohr_error_kind kind; /* exit-code category */
  char *msg;                /* full message, without program name */
};
typedef struct ohr_error *ohr_error_t;

/* Set *err (which must be NULL) and return a negative value: -status, or -1.
 */
int ohr_error_set (ohr_error_t *err, int status, enum ohr_error_kind kind,
                   const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* ohr_error_set with a va_list: for the module's own printf-like error
 * helpers. */
int ohr_error_vset (ohr_error_t *err, int status, enum ohr_error_kind kind,
                    const char *fmt, va_list ap)
    __attribute__ ((format (printf, 4, 0)));

/* Like ohr_error_set, but appends ": strerror(status)". */
int ohr_error_errno (ohr_error_t *err, int status, enum ohr_error_kind kind,
                     const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* The one out-of-memory error: ENOMEM, OHR_ERR_INTERNAL, "out of memory"
 * (callers' wrapping says what was being done). */
int ohr_error_nomem (ohr_error_t *err);

/* Prefix the message of an existing error with context; returns the same
 * negative value the original setter returned. */
int ohr_error_wrap (ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

void ohr_error_free (ohr_error_t *err);

#endif
