/* strv.h: NULL-terminated, heap-owned string vectors. */
#ifndef OHR_UTIL_STRV_H
#define OHR_UTIL_STRV_H

#include <stdbool.h>
#include <stddef.h>

size_t strv_len (char *const *v);
/* Append a copy of s; returns 0, or -1 on allocation failure. */
int strv_push (char ***v, const char *s);
/* Append s, taking ownership of it; returns 0, or -1 (s is then freed). */
int strv_push_owned (char ***v, char *s);
/* Append "fmt..." formatted; returns 0, or -1. */
int strv_pushf (char ***v, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* A deep copy; NULL for an empty (or NULL) v, and on allocation failure. */
char **strv_copy (char *const *v);
bool strv_contains (char *const *v, const char *s);
void strv_free (char **v);

static inline void
cleanup_strvp (char ***v)
{
  strv_free (*v);
}
#define cleanup_strv __attribute__ ((cleanup (cleanup_strvp)))

#endif
