/* jsonpath.h: the one JSON-path error reporter, for the user's own JSON
 * files (the policy, hooks.d).  As a walk of a yajl tree descends it
 * chains json_where links on the stack, so that every schema error can
 * name the value it is about ("packages[1].network: ...") without
 * allocating unless it is reported.  json_walk_object checks an object
 * against a table of known keys: each known, each once, the required ones
 * present, with "did you mean" for a typo. */
#ifndef OHR_UTIL_JSONPATH_H
#define OHR_UTIL_JSONPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "util/clip.h"
#include "util/error.h"

/* One step from a value up to the document root (NULL). */
struct json_where
{
  const struct json_where *up;
  const char *key; /* NULL: an array element */
  size_t index;
};

/* "a.b[2].c" into buf (empty for the root); keys are clipped.  Returns its
 * length. */
size_t json_where_format (const struct json_where *w, char *buf, size_t size);

/* A key or value from the file, for a message. */
static inline const char *
json_clip (const char *s, char buf[CLIP_SIZE])
{
  return clip (s, CLIP_UTF8, buf);
}

/* A schema error about the value at w: "<path>: <message>" (just the
 * message at the root), EINVAL, OHR_ERR_USAGE.  Callers add the file. */
int json_bad (const struct json_where *w, ohr_error_t *err, const char *fmt,
              ...) __attribute__ ((format (printf, 3, 4)));

/* "a string", "a number", "an object", "a list", "a boolean", "null" */
const char *json_type_name (yajl_val v);

/* "<path>: expected <expected>, found <type of v>" */
int json_wrong_type (yajl_val v, const struct json_where *w,
                     const char *expected, ohr_error_t *err);

/* v as a boolean: true or false, else an error. */
int json_bool (yajl_val v, const struct json_where *w, bool *out,
               ohr_error_t *err);

/* Called for each string of a list, with the string's place. */
typedef int json_string_fn (const char *s, const struct json_where *w,
                            void *ctx, ohr_error_t *err);

/* fn for each element of v, which must be a list ("expected" says what
 * kind, "a list of patterns", when it is not) of strings. */
int json_each_string (yajl_val v, const struct json_where *w,
                      const char *expected, json_string_fn *fn, void *ctx,
                      ohr_error_t *err);

/* Parses the value of one key into target (the caller's type). */
typedef int json_field_fn (yajl_val v, const struct json_where *w,
                           void *target, ohr_error_t *err);

/* A table of known keys ends with { NULL }; at most 32 keys. */
struct json_field
{
  const char *key;
  json_field_fn *parse;
  const char *required; /* NULL, or what to do when it is missing */
};

enum json_walk_flags
{
  /* "did you mean" a key that differs only in case (camelCase keys, as in
   * oci-hooks(5): "hasbindmounts") */
  JSON_SUGGEST_CASE = 1 << 0,
  /* "did you mean" a key within two edits, or one the key abbreviates
   * (three characters or more: "dest" for "destination") */
  JSON_SUGGEST_EDITS = 1 << 1,
  /* "duplicate key \"KEY\"" rather than "duplicate key" */
  JSON_DUPLICATE_NAMED = 1 << 2,
};

const struct json_field *json_find_field (const struct json_field *fields,
                                          const char *key);

/* Every key of obj must be in fields and appear once, every required one
 * must be there; each value goes to its field's parse with target.
 * Keys are refused rather than ignored: a misspelt key silently ignored
 * would mean something else than the file says. */
int json_walk_object (yajl_val obj, const struct json_where *w,
                      const struct json_field *fields, unsigned flags,
                      void *target, ohr_error_t *err);

#endif
