/* error.c: see error.h */
#define _GNU_SOURCE
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

static int
error_return (int status)
{
  return status > 0 ? -status : -1;
}

static int
set_message (ohr_error_t *err, int status, enum ohr_error_kind kind, char *msg)
{
  if (err == NULL)
    {
      free (msg);
      return error_return (status);
    }
  /* An error that is already set wins: it is the root cause. */
  if (*err != NULL)
    {
      free (msg);
      return error_return ((*err)->status);
    }
  struct ohr_error *e = calloc (1, sizeof *e);
  if (e == NULL)
    {
      free (msg);
      return error_return (ENOMEM);
    }
  e->status = status;
  e->kind = kind;
  e->msg = msg ? msg : strdup ("out of memory");
  *err = e;
  return error_return (status);
}

int
ohr_error_vset (ohr_error_t *err, int status, enum ohr_error_kind kind,
                const char *fmt, va_list ap)
{
  return set_message (err, status, kind, vformat (fmt, ap));
}

int
ohr_error_set (ohr_error_t *err, int status, enum ohr_error_kind kind,
               const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = ohr_error_vset (err, status, kind, fmt, ap);
  va_end (ap);
  return r;
}

int
ohr_error_errno (ohr_error_t *err, int status, enum ohr_error_kind kind,
                 const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *head = vformat (fmt, ap);
  va_end (ap);
  char *msg = NULL;
  if (head && asprintf (&msg, "%s: %s", head, strerror (status)) < 0)
    msg = NULL;
  free (head);
  return set_message (err, status, kind, msg);
}

int
ohr_error_nomem (ohr_error_t *err)
{
  return ohr_error_set (err, ENOMEM, OHR_ERR_INTERNAL, "out of memory");
}

int
ohr_error_wrap (ohr_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  char *head = vformat (fmt, ap);
  va_end (ap);
  char *msg = NULL;
  if (head && asprintf (&msg, "%s: %s", head, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = msg;
    }
  free (head);
  return error_return ((*err)->status);
}

void
ohr_error_free (ohr_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}
