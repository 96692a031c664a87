/* jsoncheck.h: the one syntax pass over JSON before yajl_tree_parse builds
 * a tree of it, for the user's files (policy, hooks.d) and for untrusted
 * input (manifests, image configs): NUL bytes and "\u0000" in strings are
 * refused (yajl_tree hands strings over as C strings, which would end
 * there for us but not for other parsers), so is nesting deeper than
 * max_depth (yajl_tree_free recurses), and so are comments unless allowed
 * (yajl_tree_parse allows them; JSON does not).  After the tree is built,
 * json_find_duplicate_key refuses what two parsers would read
 * differently. */
#ifndef OHR_UTIL_JSONCHECK_H
#define OHR_UTIL_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "util/error.h"

/* What the pass found wrong. */
enum json_flaw
{
  JSON_FLAW_NONE = 0,
  JSON_FLAW_NUL_BYTE,
  JSON_FLAW_NUL_ESCAPE, /* "\u0000" in a string or a key */
  JSON_FLAW_TOO_DEEP,
  JSON_FLAW_COMMENT, /* only when comments are not allowed */
  JSON_FLAW_SYNTAX,  /* yajl's message says what */
  JSON_FLAW_NO_MEMORY,
};

struct json_scan
{
  int max_depth;
  bool allow_comments;
  /* filled by json_scan */
  enum json_flaw flaw;
  size_t offset;     /* the byte it is at */
  char message[128]; /* JSON_FLAW_SYNTAX: yajl's, one line, no full stop */
};

/* 0 when data[0..len) passes, else -1 with s->flaw, ->offset and
 * ->message set, for callers that word their own messages. */
int json_scan (const char *data, size_t len, struct json_scan *s);

/* The pass for the user's files, comments allowed: 0, or -1 with
 * "line N, column M: what" (OHR_ERR_USAGE). */
int json_check_syntax (const char *data, size_t len, int max_depth,
                       ohr_error_t *err);

/* json_check_syntax, then yajl_tree_parse: 0 with *out (the caller frees
 * it, cleanup_yajl_val), or -1. */
int json_parse_checked (const char *data, size_t len, int max_depth,
                        yajl_val *out, ohr_error_t *err);

/* "invalid WHAT: <fmt...>", EINVAL, of kind: how the strict parse, and
 * the schema checks of its callers, word what they refuse. */
int json_invalid (ohr_error_t *err, enum ohr_error_kind kind, const char *what,
                  const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* The strict parse of JSON nobody vouches for (manifests, image configs,
 * run records, attestations): at most max bytes, the pass with comments
 * refused, yajl_tree_parse, no duplicate key, an object at the top.  0
 * with *out (the caller frees it), or -1 with json_invalid (kind, what). */
int json_parse_strict (const char *data, size_t len, size_t max, int max_depth,
                       enum ohr_error_kind kind, const char *what,
                       yajl_val *out, ohr_error_t *err);

/* The value of key in obj, an object, or NULL (after json_parse_strict a
 * key is there once at most). */
yajl_val json_get (yajl_val obj, const char *key);

/* A key that appears twice in one object anywhere in v (yajl would read
 * the first, Go's encoding/json the last): 1 with *out_key, 0 when there
 * is none, -1 out of memory. */
int json_find_duplicate_key (yajl_val v, const char **out_key);

#endif
