/* gerror.c: see gerror.h */
#include "util/gerror.h"

#include <errno.h>
#include <stdarg.h>

int
ohr_error_gerror (ohr_error_t *err, const GError *gerr, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *head = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *msg = g_strdup (gerr ? gerr->message : "unknown error");
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return ohr_error_set (err, EIO, OHR_ERR_IMAGE, "%s: %s", head, msg);
}
