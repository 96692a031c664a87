/* jsoncheck.h: a syntax pass over untrusted JSON before yajl_tree_parse
 * builds a tree of it: NUL bytes, "\u0000" in strings and nesting deeper
 * than max_depth are refused (yajl_tree_free recurses), and every error
 * names the line and column.  Comments are allowed, as yajl_tree_parse
 * allows them. */
#ifndef OHR_UTIL_JSONCHECK_H
#define OHR_UTIL_JSONCHECK_H

#include <stddef.h>

#include "util/error.h"

/* 0, or -1 with "line N, column M: what" (OHR_ERR_USAGE). */
int json_check_syntax (const char *data, size_t len, int max_depth,
                       ohr_error_t *err);

#endif
