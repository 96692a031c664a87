/* runrecord.c: see runrecord.h.
 *
 * Written by hand in sorted key order (the format is fixed, and a test
 * checks the order), read through the same defensive checks as manifests
 * (manifest.c): the record sits in a directory a build may share, and the
 * attest helper must never act on something other tools read differently.
 */
#define _GNU_SOURCE
#include "attest/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "util/jsongen.h"
#include <yajl/yajl_tree.h>

#include "util/cleanup.h"
#include "util/clip.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/jsoncheck.h"
#include "util/strv.h"
#include "util/yajl.h"

#define JSON_MAX_DEPTH 64
#define ID_MAX 128

/* ---- from the environment */

static const char *
env_get (char *const *env, const char *name)
{
  size_t n = strlen (name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

int
runrecord_features (char *const *env, char ***out, ohr_error_t *err)
{
  static const char prefix[] = "CARGO_FEATURE_";
  cleanup_strv char **v = NULL;
  for (size_t i = 0; env && env[i]; i++)
    {
      if (strncmp (env[i], prefix, sizeof prefix - 1) != 0)
        continue;
      const char *name = env[i] + sizeof prefix - 1;
      size_t n = strcspn (name, "=");
      if (n == 0 || name[n] != '=')
        continue;
      char *f = strndup (name, n);
      if (f == NULL)
        return ohr_error_nomem (err);
      for (char *p = f; *p; p++)
        *p = *p == '_' ? '-' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
      if (strv_contains (v, f))
        {
          free (f);
          continue;
        }
      if (strv_push_owned (&v, f) < 0)
        return ohr_error_nomem (err);
    }
  if (v)
    qsort (v, strv_len (v), sizeof *v, compare_strings);
  *out = steal_pointer (&v);
  return 0;
}

static int
set_from (char **field, char *const *env, const char *name, ohr_error_t *err)
{
  const char *v = env_get (env, name);
  char *copy = NULL;
  if (v && (copy = strdup (v)) == NULL)
    return ohr_error_nomem (err);
  free (*field);
  *field = copy;
  return 0;
}

int
runrecord_set_cargo (struct runrecord *rr, char *const *env, ohr_error_t *err)
{
  char **features = NULL;
  if (set_from (&rr->package_name, env, "CARGO_PKG_NAME", err) < 0
      || set_from (&rr->package_version, env, "CARGO_PKG_VERSION", err) < 0
      || set_from (&rr->profile, env, "PROFILE", err) < 0
      || set_from (&rr->target, env, "TARGET", err) < 0
      || set_from (&rr->host, env, "HOST", err) < 0
      || set_from (&rr->opt_level, env, "OPT_LEVEL", err) < 0
      || set_from (&rr->debug, env, "DEBUG", err) < 0
      || set_from (&rr->rustc, env, "RUSTC", err) < 0
      || runrecord_features (env, &features, err) < 0)
    return -1;
  strv_free (rr->features);
  rr->features = features;
  return 0;
}

void
runrecord_format_time (const struct timespec *ts,
                       char out[RUNRECORD_TIME_SIZE])
{
  struct tm tm;
  time_t t = ts->tv_sec;
  gmtime_r (&t, &tm);
  /* years past 9999 do not fit the format: the record says 9999 */
  if (tm.tm_year > 9999 - 1900)
    tm.tm_year = 9999 - 1900;
  size_t n = strftime (out, RUNRECORD_TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
  unsigned ms = (unsigned)(ts->tv_nsec / 1000000) % 1000u;
  snprintf (out + n, RUNRECORD_TIME_SIZE - n, ".%03uZ", ms);
}

static bool
valid_time (const char *s)
{
  static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (strlen (s) != sizeof shape - 1)
    return false;
  for (size_t i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
      return false;
  return true;
}

bool
runrecord_valid_id (const char *id)
{
  if (id == NULL || id[0] == '\0' || id[0] == '.' || id[0] == '-'
      || strlen (id) > ID_MAX)
    return false;
  for (const char *p = id; *p; p++)
    if (!clip_name_char (*p))
      return false;
  return true;
}

char *
runrecord_path (const char *dir, const char *id)
{
  char *s = NULL;
  return asprintf (&s, "%s/%s.run.json", dir, id) < 0 ? NULL : s;
}

char *
runrecord_reused_name (const char *id)
{
  char *s = NULL;
  return asprintf (&s, "%s.reused.json", id) < 0 ? NULL : s;
}

char *
runrecord_directives_name (const char *id)
{
  char *s = NULL;
  return asprintf (&s, "%s.directives", id) < 0 ? NULL : s;
}

/* ---- writing: every call in a generator block goes through G(); the
 * first failure jumps to its single error label (crun GEN_OR_FAIL). */

static const char *
paths_name (enum paths_mode m)
{
  return m == PATHS_CANONICAL ? "canonical" : "identity";
}

static const char *
network_name (enum network_mode m)
{
  return m == NETWORK_HOST ? "host" : "none";
}

/* Keys in strcmp order: a reader comparing two records byte for byte, or
 * a digest over one, must not depend on how this function is written. */
static yajl_gen_status
gen_record (yajl_gen g, const struct runrecord *rr)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_strv (g, "args", rr->args));
  G (gen_kv (g, "cwd", rr->cwd));
  G (gen_kv (g, "debug", rr->debug));
  G (gen_kv (g, "directives", rr->directives));
  G (gen_strv (g, "env", rr->env));
  G (gen_str (g, "exit_status"));
  G (yajl_gen_integer (g, rr->exit_status));
  G (gen_strv (g, "features", rr->features));
  G (gen_kv (g, "finished", rr->finished));
  G (gen_kv (g, "host", rr->host));
  G (gen_kv (g, "id", rr->id));
  G (gen_str (g, "image"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "digest", rr->image_digest));
  G (gen_kv (g, "ref", rr->image_ref));
  G (yajl_gen_map_close (g));
  G (gen_kv (g, "manifest_dir", rr->manifest_dir));
  G (gen_kv (g, "network", network_name (rr->network)));
  G (gen_kv (g, "opt_level", rr->opt_level));
  G (gen_kv (g, "out_dir", rr->out_dir));
  G (gen_str (g, "package"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "name", rr->package_name));
  G (gen_kv (g, "version", rr->package_version));
  G (yajl_gen_map_close (g));
  G (gen_kv (g, "paths", paths_name (rr->paths)));
  G (gen_kv (g, "policy", rr->policy));
  G (gen_kv (g, "policy_digest", rr->policy_digest));
  G (gen_kv (g, "profile", rr->profile));
  if (rr->cache_key)
    {
      G (gen_str (g, "result_cache"));
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "key", rr->cache_key));
      G (gen_kv (g, "statement", rr->cache_statement));
      G (yajl_gen_map_close (g));
    }
  G (gen_kv (g, "runner_version", rr->runner_version));
  G (gen_str (g, "runtime"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "name", rr->runtime_name));
  G (gen_kv (g, "path", rr->runtime_path));
  G (yajl_gen_map_close (g));
  G (gen_kv (g, "rustc", rr->rustc));
  G (gen_kv (g, "script", rr->script));
  G (gen_kv (g, "started", rr->started));
  G (gen_kv (g, "target", rr->target));
  G (gen_strv (g, "toolchains", rr->toolchains));
  G (gen_str (g, "version"));
  G (yajl_gen_integer (g, RUNRECORD_VERSION));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

#undef G

/* What a record must hold before it is written: the reader would refuse
 * it otherwise, and the runner should learn that now, not the helper. */
static int
check_writable (const struct runrecord *rr, ohr_error_t *err)
{
  const char *missing = !rr->id               ? "id"
                        : !rr->script         ? "script"
                        : !rr->out_dir        ? "out_dir"
                        : !rr->manifest_dir   ? "manifest_dir"
                        : !rr->cwd            ? "cwd"
                        : !rr->image_ref      ? "image.ref"
                        : !rr->runtime_name   ? "runtime.name"
                        : !rr->runtime_path   ? "runtime.path"
                        : !rr->runner_version ? "runner_version"
                        : !rr->directives     ? "directives"
                        : !rr->started        ? "started"
                        : !rr->finished       ? "finished"
                                              : NULL;
  if (missing)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record: '%s' is not set", missing);
  if (!runrecord_valid_id (rr->id))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record: '%s' is not a valid id", rr->id);
  if (rr->cache_key
      && (rr->cache_statement == NULL
          || !runrecord_valid_id (rr->cache_statement)))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record: a result-cache hit needs the reused "
                          "statement's file name");
  return 0;
}

int
runrecord_to_json (const struct runrecord *rr, char **out, size_t *out_len,
                   ohr_error_t *err)
{
  if (check_writable (rr, err) < 0)
    return -1;
  cleanup_yajl_gen yajl_gen g = gen_new ();
  if (g == NULL)
    return ohr_error_nomem (err);
  if (gen_check (gen_record (g, rr), "a value", err) < 0)
    return ohr_error_wrap (err, "run record");
  /* ends in a newline, as a text file does */
  size_t len = 0;
  cleanup_free char *text = gen_text (g, &len);
  char *s = NULL;
  if (text == NULL || asprintf (&s, "%s\n", text) < 0)
    return ohr_error_nomem (err);
  *out = s;
  if (out_len)
    *out_len = len + 1;
  return 0;
}

int
runrecord_write (const struct runrecord *rr, const char *path,
                 ohr_error_t *err)
{
  cleanup_free char *json = NULL;
  size_t len = 0;
  if (runrecord_to_json (rr, &json, &len, err) < 0
      || fs_write_atomic (path, json, len, 0644, true, err) < 0)
    return ohr_error_wrap (err, "run record '%s'", path);
  return 0;
}

/* ---- defensive JSON input (as in manifest.c) */

#define invalid(err, what, ...)                                               \
  json_invalid (err, OHR_ERR_INTERNAL, what, __VA_ARGS__)

int
runrecord_json_parse (const char *data, size_t len, size_t max,
                      const char *what, struct yajl_val_s **out,
                      ohr_error_t *err)
{
  return json_parse_strict (data, len, max, JSON_MAX_DEPTH, OHR_ERR_INTERNAL,
                            what, out, err);
}

/* ---- reading */

struct reader
{
  const char *what; /* "run record 'PATH'" */
  ohr_error_t *err;
};

static int
check_keys (struct reader *r, yajl_val obj, const char *where,
            const char *const *known)
{
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      size_t k = 0;
      while (known[k] && strcmp (known[k], obj->u.object.keys[i]) != 0)
        k++;
      if (known[k] == NULL)
        return invalid (r->err, r->what, "unknown key '%s%s%.80s'", where,
                        where[0] ? "." : "", obj->u.object.keys[i]);
    }
  return 0;
}

enum str_kind
{
  STR_ANY,
  STR_NULLABLE,
  STR_ABSPATH,
  STR_NAME, /* a plain file name, usable beside the record */
};

static int
get_str (struct reader *r, yajl_val obj, const char *key, enum str_kind kind,
         char **out)
{
  yajl_val v = json_get (obj, key);
  if (v == NULL)
    return invalid (r->err, r->what, "'%s' is missing", key);
  if (YAJL_IS_NULL (v) && kind == STR_NULLABLE)
    return 0;
  if (!YAJL_IS_STRING (v))
    return invalid (r->err, r->what, "'%s' must be a string%s", key,
                    kind == STR_NULLABLE ? " or null" : "");
  const char *s = v->u.string;
  if (kind == STR_ABSPATH && s[0] != '/')
    return invalid (r->err, r->what, "'%s' must be an absolute path", key);
  if (kind == STR_NAME && !runrecord_valid_id (s))
    return invalid (r->err, r->what, "'%s' must be a plain file name", key);
  if ((*out = strdup (s)) == NULL)
    return ohr_error_nomem (r->err);
  return 0;
}

static int
get_strv (struct reader *r, yajl_val obj, const char *key, bool abspath,
          char ***out)
{
  yajl_val v = json_get (obj, key);
  if (v == NULL)
    return invalid (r->err, r->what, "'%s' is missing", key);
  if (!YAJL_IS_ARRAY (v))
    return invalid (r->err, r->what, "'%s' must be an array of strings", key);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      yajl_val e = v->u.array.values[i];
      if (!YAJL_IS_STRING (e))
        return invalid (r->err, r->what, "'%s[%zu]' must be a string", key, i);
      if (abspath && e->u.string[0] != '/')
        return invalid (r->err, r->what, "'%s[%zu]' must be an absolute path",
                        key, i);
      if (strv_push (out, e->u.string) < 0)
        return ohr_error_nomem (r->err);
    }
  return 0;
}

static int
get_object (struct reader *r, yajl_val obj, const char *key,
            const char *const *known, yajl_val *out)
{
  yajl_val v = json_get (obj, key);
  if (v == NULL)
    return invalid (r->err, r->what, "'%s' is missing", key);
  if (!YAJL_IS_OBJECT (v))
    return invalid (r->err, r->what, "'%s' must be an object", key);
  if (check_keys (r, v, key, known) < 0)
    return -1;
  *out = v;
  return 0;
}

/* A nested string: errors name it "image.ref". */
static int
get_sub (struct reader *r, yajl_val obj, const char *parent, const char *key,
         enum str_kind kind, char **out)
{
  yajl_val v = json_get (obj, key);
  if (v == NULL || (!YAJL_IS_STRING (v) && !YAJL_IS_NULL (v))
      || (YAJL_IS_NULL (v) && kind != STR_NULLABLE))
    return invalid (r->err, r->what, "'%s.%s' must be a string%s", parent, key,
                    kind == STR_NULLABLE ? " or null" : "");
  if (YAJL_IS_NULL (v))
    return 0;
  if (kind == STR_ABSPATH && v->u.string[0] != '/')
    return invalid (r->err, r->what, "'%s.%s' must be an absolute path",
                    parent, key);
  if ((*out = strdup (v->u.string)) == NULL)
    return ohr_error_nomem (r->err);
  return 0;
}

static int
get_enum (struct reader *r, yajl_val obj, const char *key, const char *a,
          const char *b, int *out)
{
  yajl_val v = json_get (obj, key);
  if (v && YAJL_IS_STRING (v) && strcmp (v->u.string, a) == 0)
    *out = 0;
  else if (v && YAJL_IS_STRING (v) && strcmp (v->u.string, b) == 0)
    *out = 1;
  else
    return invalid (r->err, r->what, "'%s' must be \"%s\" or \"%s\"", key, a,
                    b);
  return 0;
}

static int
check_digest (struct reader *r, const char *field, const char *value)
{
  if (value && !digest_valid (value))
    return invalid (r->err, r->what, "'%s' must be \"sha256:<64 hex>\"",
                    field);
  return 0;
}

static int
check_env (struct reader *r, char *const *env)
{
  for (size_t i = 0; env && env[i]; i++)
    if (strchr (env[i], '=') == NULL || env[i][0] == '=')
      return invalid (r->err, r->what, "'env[%zu]' must be NAME=VALUE", i);
  return 0;
}

static const char *const top_keys[]
    = { "version",      "id",          "package",        "features",
        "profile",      "target",      "host",           "opt_level",
        "debug",        "args",        "script",         "out_dir",
        "manifest_dir", "cwd",         "toolchains",     "rustc",
        "image",        "runtime",     "runner_version", "policy_digest",
        "policy",       "paths",       "network",        "env",
        "directives",   "exit_status", "started",        "finished",
        "result_cache", NULL };
static const char *const cache_keys[] = { "key", "statement", NULL };

/* "result_cache", a hit's: absent for a run */
static int
read_result_cache (struct reader *r, yajl_val root, struct runrecord *rr)
{
  yajl_val rc;
  if (json_get (root, "result_cache") == NULL)
    return 0;
  if (get_object (r, root, "result_cache", cache_keys, &rc) < 0
      || get_sub (r, rc, "result_cache", "key", STR_ANY, &rr->cache_key) < 0
      || get_sub (r, rc, "result_cache", "statement", STR_ANY,
                  &rr->cache_statement)
             < 0)
    return -1;
  if (strlen (rr->cache_key) != 64
      || strspn (rr->cache_key, "0123456789abcdef") != 64)
    return invalid (r->err, r->what,
                    "'result_cache.key' must be 64 lowercase hex digits");
  if (!runrecord_valid_id (rr->cache_statement))
    return invalid (r->err, r->what,
                    "'result_cache.statement' must be a plain file name");
  return 0;
}
static const char *const package_keys[] = { "name", "version", NULL };
static const char *const image_keys[] = { "ref", "digest", NULL };
static const char *const runtime_keys[] = { "name", "path", NULL };

static int
read_version (struct reader *r, yajl_val root)
{
  yajl_val v = json_get (root, "version");
  if (v == NULL || !YAJL_IS_INTEGER (v))
    return invalid (r->err, r->what, "'version' must be an integer");
  if (YAJL_GET_INTEGER (v) != RUNRECORD_VERSION)
    return invalid (r->err, r->what,
                    "version %lld is not supported (this is version %d)",
                    (long long)YAJL_GET_INTEGER (v), RUNRECORD_VERSION);
  return 0;
}

static int
read_record (struct reader *r, yajl_val root, struct runrecord *rr)
{
  yajl_val pkg, img, rt;
  int paths = 0, network = 0;
  if (check_keys (r, root, "", top_keys) < 0 || read_version (r, root) < 0
      || get_str (r, root, "id", STR_NAME, &rr->id) < 0
      || get_object (r, root, "package", package_keys, &pkg) < 0
      || get_sub (r, pkg, "package", "name", STR_NULLABLE, &rr->package_name)
             < 0
      || get_sub (r, pkg, "package", "version", STR_NULLABLE,
                  &rr->package_version)
             < 0
      || get_strv (r, root, "features", false, &rr->features) < 0
      || get_str (r, root, "profile", STR_NULLABLE, &rr->profile) < 0
      || get_str (r, root, "target", STR_NULLABLE, &rr->target) < 0
      || get_str (r, root, "host", STR_NULLABLE, &rr->host) < 0
      || get_str (r, root, "opt_level", STR_NULLABLE, &rr->opt_level) < 0
      || get_str (r, root, "debug", STR_NULLABLE, &rr->debug) < 0
      || get_strv (r, root, "args", false, &rr->args) < 0
      || get_str (r, root, "script", STR_ABSPATH, &rr->script) < 0
      || get_str (r, root, "out_dir", STR_ABSPATH, &rr->out_dir) < 0
      || get_str (r, root, "manifest_dir", STR_ABSPATH, &rr->manifest_dir) < 0
      || get_str (r, root, "cwd", STR_ABSPATH, &rr->cwd) < 0
      || get_strv (r, root, "toolchains", true, &rr->toolchains) < 0
      || get_str (r, root, "rustc", STR_NULLABLE, &rr->rustc) < 0
      || get_object (r, root, "image", image_keys, &img) < 0
      || get_sub (r, img, "image", "ref", STR_ANY, &rr->image_ref) < 0
      || get_sub (r, img, "image", "digest", STR_NULLABLE, &rr->image_digest)
             < 0
      || check_digest (r, "image.digest", rr->image_digest) < 0
      || get_object (r, root, "runtime", runtime_keys, &rt) < 0
      || get_sub (r, rt, "runtime", "name", STR_ANY, &rr->runtime_name) < 0
      || get_sub (r, rt, "runtime", "path", STR_ABSPATH, &rr->runtime_path) < 0
      || get_str (r, root, "runner_version", STR_ANY, &rr->runner_version) < 0
      || get_str (r, root, "policy_digest", STR_NULLABLE, &rr->policy_digest)
             < 0
      || check_digest (r, "policy_digest", rr->policy_digest) < 0
      || get_str (r, root, "policy", STR_NULLABLE, &rr->policy) < 0
      || get_enum (r, root, "paths", "identity", "canonical", &paths) < 0
      || get_enum (r, root, "network", "none", "host", &network) < 0
      || get_strv (r, root, "env", false, &rr->env) < 0
      || check_env (r, rr->env) < 0
      || get_str (r, root, "directives", STR_NAME, &rr->directives) < 0
      || get_str (r, root, "started", STR_ANY, &rr->started) < 0
      || get_str (r, root, "finished", STR_ANY, &rr->finished) < 0
      || read_result_cache (r, root, rr) < 0)
    return -1;
  if (rr->policy && !runrecord_valid_id (rr->policy))
    return invalid (r->err, r->what, "'policy' must be a plain file name");
  if (rr->rustc && rr->rustc[0] != '/')
    return invalid (r->err, r->what, "'rustc' must be an absolute path");
  if (!valid_time (rr->started) || !valid_time (rr->finished))
    return invalid (r->err, r->what,
                    "'started' and 'finished' must be "
                    "\"YYYY-MM-DDTHH:MM:SS.mmmZ\"");
  rr->paths = paths ? PATHS_CANONICAL : PATHS_IDENTITY;
  rr->network = network ? NETWORK_HOST : NETWORK_NONE;
  yajl_val st = json_get (root, "exit_status");
  if (st == NULL || !YAJL_IS_INTEGER (st) || YAJL_GET_INTEGER (st) < 0
      || YAJL_GET_INTEGER (st) > 255)
    return invalid (r->err, r->what,
                    "'exit_status' must be an integer from 0 to 255");
  rr->exit_status = (int)YAJL_GET_INTEGER (st);
  return 0;
}

int
runrecord_parse (const char *data, size_t len, const char *origin,
                 struct runrecord *out, ohr_error_t *err)
{
  cleanup_free char *what = NULL;
  if (asprintf (&what, "run record '%s'", origin ? origin : "(memory)") < 0)
    return ohr_error_nomem (err);
  cleanup_yajl_val yajl_val root = NULL;
  if (runrecord_json_parse (data, len, RUNRECORD_MAX_SIZE, what, &root, err)
      < 0)
    return -1;
  struct reader r = { .what = what, .err = err };
  struct runrecord rr = { 0 };
  if (read_record (&r, root, &rr) < 0)
    {
      runrecord_clear (&rr);
      return -1;
    }
  *out = rr;
  return 0;
}

int
runrecord_read (const char *path, struct runrecord *out, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, RUNRECORD_MAX_SIZE, &data, &len, err) < 0)
    return ohr_error_wrap (err, "run record");
  return runrecord_parse (data, len, path, out, err);
}

void
runrecord_clear (struct runrecord *rr)
{
  free_many (rr->id, rr->package_name, rr->package_version, rr->profile,
             rr->target, rr->host, rr->opt_level, rr->debug, rr->script,
             rr->out_dir, rr->manifest_dir, rr->cwd, rr->rustc, rr->image_ref,
             rr->image_digest, rr->runtime_name, rr->runtime_path,
             rr->runner_version, rr->policy_digest, rr->policy, rr->directives,
             rr->started, rr->finished, rr->cache_key, rr->cache_statement);
  strv_free (rr->features);
  strv_free (rr->args);
  strv_free (rr->toolchains);
  strv_free (rr->env);
  *rr = (struct runrecord){ 0 };
}
