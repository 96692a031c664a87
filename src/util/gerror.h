/* gerror.h: GError (glib, libostree) becomes our error at the module edge
 * (STYLE.md: one error convention).  Only the store helper's modules
 * include it, so that nothing else pulls glib in. */
#ifndef OHR_UTIL_GERROR_H
#define OHR_UTIL_GERROR_H

#include <glib.h>

#include "util/error.h"

/* "<fmt...>: <gerr's message on one line>", EIO, OHR_ERR_IMAGE; gerr may
 * be NULL ("unknown error") and is not freed. */
int ohr_error_gerror (ohr_error_t *err, const GError *gerr, const char *fmt,
                      ...) __attribute__ ((format (printf, 3, 4)));

#endif
