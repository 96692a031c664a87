/* policy.c: see policy.h.
 *
 * Loading is three passes over at most 1 MiB: a syntax pass with yajl's
 * event parser (to report line and column, and to refuse deep nesting
 * before yajl_tree, whose free is recursive, builds a tree), yajl_tree,
 * then a walk of the tree against tables of known keys, so every error
 * can name the JSON path of the value it is about.
 */
#define _GNU_SOURCE
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsoncheck.h"
#include "util/jsongen.h"
#include "util/jsonpath.h"
#include "util/strv.h"
#include "util/yajl.h"

/* A valid policy nests 5 deep (top, packages, rule, mounts, mount). */
#define MAX_DEPTH 16
/* Below this not even a compiler starts; it also catches "512" written
 * for "512M". */
#define MIN_MEMORY (16ULL << 20)
/* OCI's memory limit is an int64. */
#define MAX_MEMORY ((uint64_t)INT64_MAX)
/* The kernel's PID_MAX_LIMIT: more can never be reached. */
#define MAX_PIDS 4194304
/* Keeps seconds safe for int arithmetic (ms, time_t on 32 bits) in the
 * runner; 68 years is no limit in practice. */
#define MAX_TIMEOUT ((uint64_t)INT32_MAX)
/* Below 64 the runtime and the init cannot start; above the kernel's
 * default fs.nr_open a setrlimit fails. */
#define MIN_NOFILE 64
#define MAX_NOFILE 1048576
#define MIN_TMPFS (1ULL << 20)

const char policy_builtin_json[] = "{\n"
                                   "  \"version\": 1,\n"
                                   "  \"strict\": false,\n"
                                   "  \"defaults\": {\n"
                                   "    \"network\": \"none\",\n"
                                   "    \"mounts\": [],\n"
                                   "    \"env\": [],\n"
                                   "    \"source-writes\": \"none\",\n"
                                   "    \"paths\": \"canonical\",\n"
                                   "    \"memory\": \"4G\",\n"
                                   "    \"pids\": 4096,\n"
                                   "    \"timeout\": \"30m\",\n"
                                   "    \"nofile\": 65536,\n"
                                   "    \"tmpfs\": \"1G\",\n"
                                   "    \"seccomp\": \"default\"\n"
                                   "  },\n"
                                   "  \"packages\": []\n"
                                   "}\n";

/* ---- sizes, durations, counts */

/* Decimal digits only: no sign, no spaces, no fraction.  Returns the end
 * of the digits, or NULL (no digits, or too large for 64 bits). */
static const char *
parse_decimal (const char *s, uint64_t *out)
{
  uint64_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      uint64_t d = (uint64_t)(*p - '0');
      if (v > (UINT64_MAX - d) / 10)
        return NULL;
      v = v * 10 + d;
    }
  if (p == s)
    return NULL;
  *out = v;
  return p;
}

/* v * unit, saturating: an overflow is "too large" for the caller. */
static uint64_t
scale (uint64_t v, uint64_t unit)
{
  return v > UINT64_MAX / unit ? UINT64_MAX : v * unit;
}

int
policy_parse_size (const char *s, uint64_t *out)
{
  static const char units[] = "KMGT";
  uint64_t v;
  const char *p = parse_decimal (s, &v);
  if (p == NULL)
    return -1;
  if (*p == '\0')
    return (*out = v), 0;
  char c = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
  const char *u = strchr (units, c); /* c is not NUL: checked above */
  if (u == NULL || p[1] != '\0')
    return -1;
  *out = scale (v, 1ULL << (10 * (u - units + 1)));
  return 0;
}

int
policy_parse_duration (const char *s, uint64_t *out)
{
  uint64_t v;
  const char *p = parse_decimal (s, &v);
  if (p == NULL || (*p != '\0' && p[1] != '\0'))
    return -1;
  switch (*p)
    {
    case '\0':
    case 's':
      *out = v;
      return 0;
    case 'm':
      *out = scale (v, 60);
      return 0;
    case 'h':
      *out = scale (v, 3600);
      return 0;
    }
  return -1;
}

static int
parse_count (const char *s, uint64_t *out)
{
  const char *p = parse_decimal (s, out);
  return p && *p == '\0' ? 0 : -1;
}

/* A limit: its syntax and range, for parsing and for messages. */
struct limit
{
  const char *what;
  int (*parse) (const char *, uint64_t *);
  bool strings; /* "2G" and "10m" spellings are allowed */
  const char *syntax;
  uint64_t min, max;
  const char *min_text, *max_text;
};

static const struct limit memory_limit = {
  .what = "size",
  .parse = policy_parse_size,
  .strings = true,
  .syntax = "use bytes, or a number with a K, M, G or T suffix",
  .min = MIN_MEMORY,
  .max = MAX_MEMORY,
  .min_text = "16M (a number without a suffix is bytes)",
  .max_text = "9223372036854775807 bytes",
};

static const struct limit pids_limit = {
  .what = "pids",
  .parse = parse_count,
  .strings = false,
  .syntax = "use a whole number",
  .min = 1,
  .max = MAX_PIDS,
  .min_text = "1",
  .max_text = "4194304",
};

static const struct limit nofile_limit = {
  .what = "nofile",
  .parse = parse_count,
  .strings = false,
  .syntax = "use a whole number",
  .min = MIN_NOFILE,
  .max = MAX_NOFILE,
  .min_text = "64",
  .max_text = "1048576",
};

static const struct limit tmpfs_limit = {
  .what = "size",
  .parse = policy_parse_size,
  .strings = true,
  .syntax = "use bytes, or a number with a K, M, G or T suffix",
  .min = MIN_TMPFS,
  .max = MAX_MEMORY,
  .min_text = "1M (a number without a suffix is bytes)",
  .max_text = "9223372036854775807 bytes",
};

static const struct limit timeout_limit = {
  .what = "duration",
  .parse = policy_parse_duration,
  .strings = true,
  .syntax = "use seconds, or a number with an s, m or h suffix",
  .min = 1,
  .max = MAX_TIMEOUT,
  .min_text = "1s",
  .max_text = "2147483647s",
};

/* The text of a number or string value: the parsers read both. */
static const char *
scalar_text (yajl_val v)
{
  return YAJL_IS_NUMBER (v) ? v->u.number.r : v->u.string;
}

static int
parse_limit (yajl_val v, const struct json_where *w, const struct limit *l,
             uint64_t *out, ohr_error_t *err)
{
  if (!YAJL_IS_NUMBER (v) && !(l->strings && YAJL_IS_STRING (v)))
    return json_wrong_type (
        v, w, l->strings ? "a number or a string" : "a number", err);
  const char *text = scalar_text (v);
  char buf[CLIP_SIZE];
  uint64_t n;
  if (l->parse (text, &n) < 0)
    return json_bad (w, err, "invalid %s \"%s\": %s", l->what,
                     json_clip (text, buf), l->syntax);
  if (n < l->min)
    return json_bad (w, err, "%s \"%s\" is below the minimum of %s", l->what,
                     json_clip (text, buf), l->min_text);
  if (n > l->max)
    return json_bad (w, err, "%s \"%s\" is above the maximum of %s", l->what,
                     json_clip (text, buf), l->max_text);
  *out = n;
  return 0;
}

/* ---- values */

/* What a key's value is parsed into. */
struct target
{
  struct policy *policy;
  struct policy_rule *rule;
  bool rule_source_set; /* the rule named "source" */
  struct policy_settings *settings;
  struct policy_mount *mount;
};

/* Each enumerated setting has exactly two values. */
struct choice
{
  const char *name[2];
  int value[2];
};

static int
parse_choice (yajl_val v, const struct json_where *w, const struct choice *c,
              int *out, ohr_error_t *err)
{
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  for (int i = 0; i < 2; i++)
    if (strcmp (v->u.string, c->name[i]) == 0)
      return (*out = c->value[i]), 0;
  char buf[CLIP_SIZE];
  return json_bad (w, err, "invalid value \"%s\": use \"%s\" or \"%s\"",
                   json_clip (v->u.string, buf), c->name[0], c->name[1]);
}

static int
parse_network (yajl_val v, const struct json_where *w, void *target,
               ohr_error_t *err)
{
  struct target *t = target;
  static const struct choice c
      = { { "none", "host" }, { NETWORK_NONE, NETWORK_HOST } };
  int n;
  if (parse_choice (v, w, &c, &n, err) < 0)
    return -1;
  t->settings->network = (enum network_mode)n;
  t->settings->set |= POLICY_SET_NETWORK;
  return 0;
}

static int
parse_source_writes (yajl_val v, const struct json_where *w, void *target,
                     ohr_error_t *err)
{
  struct target *t = target;
  static const struct choice c
      = { { "none", "overlay" },
          { POLICY_SOURCE_WRITES_NONE, POLICY_SOURCE_WRITES_OVERLAY } };
  int n;
  if (parse_choice (v, w, &c, &n, err) < 0)
    return -1;
  t->settings->source_writes = (enum policy_source_writes)n;
  t->settings->set |= POLICY_SET_SOURCE_WRITES;
  return 0;
}

static int
parse_paths (yajl_val v, const struct json_where *w, void *target,
             ohr_error_t *err)
{
  struct target *t = target;
  static const struct choice c
      = { { "identity", "canonical" }, { PATHS_IDENTITY, PATHS_CANONICAL } };
  int n;
  if (parse_choice (v, w, &c, &n, err) < 0)
    return -1;
  t->settings->paths = (enum paths_mode)n;
  t->settings->set |= POLICY_SET_PATHS;
  return 0;
}

static int
parse_memory (yajl_val v, const struct json_where *w, void *target,
              ohr_error_t *err)
{
  struct target *t = target;
  if (parse_limit (v, w, &memory_limit, &t->settings->memory, err) < 0)
    return -1;
  t->settings->set |= POLICY_SET_MEMORY;
  return 0;
}

static int
parse_pids (yajl_val v, const struct json_where *w, void *target,
            ohr_error_t *err)
{
  struct target *t = target;
  if (parse_limit (v, w, &pids_limit, &t->settings->pids, err) < 0)
    return -1;
  t->settings->set |= POLICY_SET_PIDS;
  return 0;
}

static int
parse_timeout (yajl_val v, const struct json_where *w, void *target,
               ohr_error_t *err)
{
  struct target *t = target;
  if (parse_limit (v, w, &timeout_limit, &t->settings->timeout, err) < 0)
    return -1;
  t->settings->set |= POLICY_SET_TIMEOUT;
  return 0;
}

static int
parse_nofile (yajl_val v, const struct json_where *w, void *target,
              ohr_error_t *err)
{
  struct target *t = target;
  if (parse_limit (v, w, &nofile_limit, &t->settings->nofile, err) < 0)
    return -1;
  t->settings->set |= POLICY_SET_NOFILE;
  return 0;
}

static int
parse_seccomp (yajl_val v, const struct json_where *w, void *target,
               ohr_error_t *err)
{
  struct target *t = target;
  static const struct choice c
      = { { "default", "unconfined" },
          { POLICY_SECCOMP_DEFAULT, POLICY_SECCOMP_UNCONFINED } };
  int n;
  if (parse_choice (v, w, &c, &n, err) < 0)
    return -1;
  t->settings->seccomp = (enum policy_seccomp)n;
  t->settings->set |= POLICY_SET_SECCOMP;
  return 0;
}

/* A syscall's name as libseccomp spells it: lowercase letters, digits and
 * '_'.  Whether the profile restricts it is seccomp_check_policy's to say
 * (the profile lives with the spec, in src/run/). */
static int
parse_syscall_entry (const char *e, const struct json_where *w, void *ctx,
                     ohr_error_t *err)
{
  struct policy_settings *settings = ctx;
  char buf[CLIP_SIZE];
  size_t n = strspn (e, "abcdefghijklmnopqrstuvwxyz0123456789_");
  if (n == 0 || e[n] != '\0' || n > 64)
    return json_bad (w, err,
                     "invalid syscall name \"%s\": use the name as in "
                     "syscalls(2), such as \"keyctl\"",
                     json_clip (e, buf));
  if (strv_push (&settings->syscalls, e) < 0)
    return ohr_error_nomem (err);
  return 0;
}

static int
parse_tmpfs (yajl_val v, const struct json_where *w, void *target,
             ohr_error_t *err)
{
  struct target *t = target;
  if (parse_limit (v, w, &tmpfs_limit, &t->settings->tmpfs, err) < 0)
    return -1;
  t->settings->set |= POLICY_SET_TMPFS;
  return 0;
}

static int
parse_syscalls (yajl_val v, const struct json_where *w, void *target,
                ohr_error_t *err)
{
  struct target *t = target;
  return json_each_string (v, w, "a list", parse_syscall_entry, t->settings,
                           err);
}

/* An absolute path, normalized so that later comparisons (same
 * destination, path under a mount) are plain string compares. */
static int
parse_abs_path (yajl_val v, const struct json_where *w, char **out,
                ohr_error_t *err)
{
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  char buf[CLIP_SIZE];
  if (v->u.string[0] != '/')
    return json_bad (w, err, "\"%s\" is not an absolute path",
                     json_clip (v->u.string, buf));
  errno = 0;
  char *n = fs_path_normalize (v->u.string);
  if (n == NULL && errno == ENOMEM)
    return ohr_error_nomem (err);
  if (n == NULL)
    return json_bad (w, err,
                     "\"%s\" contains '..': name the directory without it, "
                     "since symlinks decide what '..' means",
                     json_clip (v->u.string, buf));
  *out = n;
  return 0;
}

static int
parse_mount_source (yajl_val v, const struct json_where *w, void *target,
                    ohr_error_t *err)
{
  struct target *t = target;
  return parse_abs_path (v, w, &t->mount->source, err);
}

static int
parse_mount_destination (yajl_val v, const struct json_where *w, void *target,
                         ohr_error_t *err)
{
  struct target *t = target;
  return parse_abs_path (v, w, &t->mount->destination, err);
}

/* Policy keys are lowercase words: a typo is a few edits away. */
#define WALK_FLAGS (JSON_SUGGEST_EDITS | JSON_DUPLICATE_NAMED)

static const struct json_field mount_fields[] = {
  { "source", parse_mount_source, "add \"source\": the host path to mount" },
  { "destination", parse_mount_destination, NULL },
  { NULL, NULL, NULL },
};

static void
mount_clear (struct policy_mount *m)
{
  free (m->source);
  free (m->destination);
  m->source = m->destination = NULL;
}

/* Append m to s->mounts, taking its strings. */
static int
append_mount (struct policy_settings *s, struct policy_mount *m)
{
  struct policy_mount *nm
      = realloc (s->mounts, (s->n_mounts + 1) * sizeof *nm);
  if (nm == NULL)
    return -1;
  s->mounts = nm;
  s->mounts[s->n_mounts++] = *m;
  m->source = m->destination = NULL;
  return 0;
}

/* "/path" or {"source": "/path", "destination": "/path"}. */
static int
parse_mount (yajl_val v, const struct json_where *w, struct policy_settings *s,
             ohr_error_t *err)
{
  struct policy_mount m = { NULL, NULL };
  struct target t = { .mount = &m };
  int r;
  if (YAJL_IS_STRING (v))
    r = parse_abs_path (v, w, &m.source, err);
  else if (YAJL_IS_OBJECT (v))
    r = json_walk_object (v, w, mount_fields, WALK_FLAGS, &t, err);
  else
    r = json_wrong_type (v, w, "a path or an object", err);
  if (r == 0 && m.destination == NULL
      && (m.destination = strdup (m.source)) == NULL)
    r = ohr_error_nomem (err);
  if (r == 0 && append_mount (s, &m) < 0)
    r = ohr_error_nomem (err);
  mount_clear (&m);
  return r;
}

static int
parse_mounts (yajl_val v, const struct json_where *w, void *target,
              ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_ARRAY (v))
    return json_wrong_type (v, w, "a list", err);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      struct json_where iw = { w, NULL, i };
      if (parse_mount (v->u.array.values[i], &iw, t->settings, err) < 0)
        return -1;
    }
  return 0;
}

/* Letters, digits and '_', plus '-' and '.' after the first character:
 * the cc crate reads names like CFLAGS_x86_64-unknown-linux-gnu. */
static bool
valid_env_name (const char *s, size_t n)
{
  if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9') || c == '_'
                || (i > 0 && (c == '-' || c == '.'));
      if (!ok)
        return false;
    }
  return true;
}

static int
parse_env_entry (const char *e, const struct json_where *w, void *ctx,
                 ohr_error_t *err)
{
  struct policy_settings *settings = ctx;
  char buf[CLIP_SIZE];
  if (!valid_env_name (e, strcspn (e, "=")))
    return json_bad (w, err,
                     "invalid variable \"%s\": use NAME or NAME=VALUE, NAME "
                     "made of letters, digits and '_'",
                     json_clip (e, buf));
  if (strv_push (&settings->env, e) < 0)
    return ohr_error_nomem (err);
  return 0;
}

static int
parse_env (yajl_val v, const struct json_where *w, void *target,
           ohr_error_t *err)
{
  struct target *t = target;
  return json_each_string (v, w, "a list", parse_env_entry, t->settings, err);
}

/* A path relative to the workspace root: not empty, not absolute, no "."
 * or ".." component, kept normalized ("a/b", not "a//b/"). */
static int
parse_workspace_read_entry (const char *e, const struct json_where *w,
                            void *ctx, ohr_error_t *err)
{
  struct policy_settings *settings = ctx;
  char buf[CLIP_SIZE];
  cleanup_free char *abs = NULL;
  if (asprintf (&abs, "/%s", e) < 0)
    return ohr_error_nomem (err);
  cleanup_free char *n = e[0] && e[0] != '/' ? fs_path_normalize (abs) : NULL;
  if (n == NULL || strcmp (n, "/") == 0 || strcmp (n, abs) != 0)
    return json_bad (w, err,
                     "\"%s\" is not a plain path relative to the workspace "
                     "root: write it as \".git\" or \"dir/file\"",
                     json_clip (e, buf));
  if (!strv_contains (settings->workspace_read, e)
      && strv_push (&settings->workspace_read, e) < 0)
    return ohr_error_nomem (err);
  return 0;
}

static int
parse_workspace_read (yajl_val v, const struct json_where *w, void *target,
                      ohr_error_t *err)
{
  struct target *t = target;
  return json_each_string (v, w, "a list", parse_workspace_read_entry,
                           t->settings, err);
}

/* Cargo package names: ASCII letters, digits, '-' and '_'. */
static bool
valid_package_name (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
          || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
      return false;
  return true;
}

static int
parse_package (yajl_val v, const struct json_where *w, void *target,
               ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  char buf[CLIP_SIZE];
  if (!valid_package_name (v->u.string))
    return json_bad (w, err,
                     "invalid package name \"%s\": use the name from the "
                     "package's Cargo.toml",
                     json_clip (v->u.string, buf));
  if ((t->rule->package = strdup (v->u.string)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

/* Parsed now, so a bad requirement is reported with its path when the
 * policy is loaded, not when some package happens to be resolved. */
static int
parse_version_req (yajl_val v, const struct json_where *w, void *target,
                   ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  ohr_error_t e = NULL;
  if (semver_req_parse (v->u.string, &t->rule->req, &e) < 0)
    {
      int r = e->status == ENOMEM ? ohr_error_nomem (err)
                                  : json_bad (w, err, "%s", e->msg);
      ohr_error_free (&e);
      return r;
    }
  if ((t->rule->version = strdup (v->u.string)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

const char *
policy_source_name (enum policy_source src)
{
  switch (src)
    {
    case POLICY_SOURCE_REGISTRY:
      return "registry";
    case POLICY_SOURCE_GIT:
      return "git";
    case POLICY_SOURCE_PATH:
      return "path";
    case POLICY_SOURCE_ANY:
      return "any";
    }
  return "?";
}

static int
parse_rule_source (yajl_val v, const struct json_where *w, void *target,
                   ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  for (int i = POLICY_SOURCE_REGISTRY; i <= POLICY_SOURCE_ANY; i++)
    if (strcmp (v->u.string, policy_source_name ((enum policy_source)i)) == 0)
      {
        t->rule->source = (enum policy_source)i;
        t->rule_source_set = true;
        return 0;
      }
  char buf[CLIP_SIZE];
  return json_bad (w, err,
                   "invalid value \"%s\": use \"registry\", \"git\", "
                   "\"path\" or \"any\"",
                   json_clip (v->u.string, buf));
}

static int
parse_rule_git (yajl_val v, const struct json_where *w, void *target,
                ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  char buf[CLIP_SIZE];
  const char *u = v->u.string;
  if (*u == '\0' || strpbrk (u, "?# \t\n") != NULL)
    return json_bad (w, err,
                     "\"%s\" is not a repository URL as Cargo.lock writes "
                     "it: write it without \"git+\", \"?\" or \"#\"",
                     json_clip (u, buf));
  if (strncmp (u, "git+", 4) == 0)
    u += 4;
  if ((t->rule->git = strdup (u)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

static int
parse_rule_checksum (yajl_val v, const struct json_where *w, void *target,
                     ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  const char *c = v->u.string;
  if (strncmp (c, "sha256:", 7) == 0)
    c += 7;
  char buf[CLIP_SIZE];
  if (strlen (c) != 64 || strspn (c, "0123456789abcdef") != 64)
    return json_bad (w, err,
                     "\"%s\" is not a checksum: use the 64 lowercase hex "
                     "digits of the package's Cargo.lock entry",
                     json_clip (v->u.string, buf));
  if ((t->rule->checksum = strdup (c)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

/* The settings keys, shared by "defaults" and the rules. */
/* clang-format off */
#define SETTINGS_FIELDS                                \
  { "network", parse_network, NULL },                  \
  { "mounts", parse_mounts, NULL },                    \
  { "env", parse_env, NULL },                          \
  { "workspace-read", parse_workspace_read, NULL },    \
  { "source-writes", parse_source_writes, NULL },      \
  { "paths", parse_paths, NULL },                      \
  { "memory", parse_memory, NULL },                    \
  { "pids", parse_pids, NULL },                        \
  { "timeout", parse_timeout, NULL },                  \
  { "nofile", parse_nofile, NULL },                    \
  { "tmpfs", parse_tmpfs, NULL },                      \
  { "seccomp", parse_seccomp, NULL },                  \
  { "syscalls", parse_syscalls, NULL }
/* clang-format on */

static const struct json_field settings_fields[] = {
  SETTINGS_FIELDS,
  { NULL, NULL, NULL },
};

static const struct json_field rule_fields[] = {
  { "package", parse_package,
    "add \"package\": the name from the package's Cargo.toml" },
  { "version", parse_version_req, NULL },
  { "source", parse_rule_source, NULL },
  { "git", parse_rule_git, NULL },
  { "checksum", parse_rule_checksum, NULL },
  SETTINGS_FIELDS,
  { NULL, NULL, NULL },
};

static char *render_json (yajl_val v);

static int
parse_rule (yajl_val v, const struct json_where *w, struct policy_rule *rule,
            ohr_error_t *err)
{
  struct target t = { .rule = rule, .settings = &rule->settings };
  if (json_walk_object (v, w, rule_fields, WALK_FLAGS, &t, err) < 0)
    return -1;
  /* "git" means git crates; "checksum" registry crates: a "source" that
   * says otherwise is a contradiction, not a rule that never matches */
  if (rule->git && !t.rule_source_set)
    rule->source = POLICY_SOURCE_GIT;
  if (rule->git && rule->source != POLICY_SOURCE_GIT
      && rule->source != POLICY_SOURCE_ANY)
    return json_bad (w, err,
                     "\"git\" names a git repository, but "
                     "\"source\" is \"%s\"",
                     policy_source_name (rule->source));
  if (rule->checksum && rule->source != POLICY_SOURCE_REGISTRY
      && rule->source != POLICY_SOURCE_ANY)
    return json_bad (w, err,
                     "\"checksum\" is a registry crate's, but "
                     "\"source\" is \"%s\"",
                     policy_source_name (rule->source));
  if ((rule->json = render_json (v)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

static int
parse_packages (yajl_val v, const struct json_where *w, void *target,
                ohr_error_t *err)
{
  struct target *t = target;
  if (!YAJL_IS_ARRAY (v))
    return json_wrong_type (v, w, "a list", err);
  struct policy *p = t->policy;
  if (v->u.array.len == 0)
    return 0;
  p->rules = calloc (v->u.array.len, sizeof *p->rules);
  if (p->rules == NULL)
    return ohr_error_nomem (err);
  /* n_rules counts the rules to free, including a half-parsed one */
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      struct json_where iw = { w, NULL, i };
      p->n_rules++;
      if (parse_rule (v->u.array.values[i], &iw, &p->rules[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
parse_defaults (yajl_val v, const struct json_where *w, void *target,
                ohr_error_t *err)
{
  struct target *t = target;
  return json_walk_object (v, w, settings_fields, WALK_FLAGS, t, err);
}

static int
parse_strict (yajl_val v, const struct json_where *w, void *target,
              ohr_error_t *err)
{
  struct target *t = target;
  return json_bool (v, w, &t->policy->strict, err);
}

/* The format version: a later format may mean something else by the same
 * keys, so anything but 1 is refused rather than half-understood. */
static int
parse_format_version (yajl_val v, const struct json_where *w, void *target,
                      ohr_error_t *err)
{
  if (!YAJL_IS_NUMBER (v))
    return json_wrong_type (v, w, "a number", err);
  char buf[CLIP_SIZE];
  if (strcmp (v->u.number.r, "1") != 0)
    return json_bad (w, err,
                     "unsupported version %s: this runner reads version %d",
                     json_clip (v->u.number.r, buf), POLICY_FILE_VERSION);
  return 0;
}

static const struct json_field top_fields[] = {
  { "version", parse_format_version, "add \"version\": 1" },
  { "strict", parse_strict, NULL },
  { "defaults", parse_defaults, NULL },
  { "packages", parse_packages, NULL },
  { NULL, NULL, NULL },
};

/* ---- one-line JSON */

/* What g generated, when st says it all went well. */
static char *
gen_result (yajl_gen g, yajl_gen_status st)
{
  return st == yajl_gen_status_ok ? gen_text (g, NULL) : NULL;
}

/* The rule as the user wrote it (key order kept, comments and spaces
 * dropped), so a message can quote it on one line. */
static char *
render_json (yajl_val v)
{
  cleanup_yajl_gen yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return NULL;
  return gen_result (g, gen_json_value (g, v));
}

static bool
all_digits (const char *s)
{
  return *s && strspn (s, "0123456789") == strlen (s);
}

char *
policy_rule_suggestion (const char *name, const char *field, const char *value)
{
  return policy_rule_suggestion_for (name, POLICY_SOURCE_REGISTRY, field,
                                     value);
}

/* {"package":NAME, then "source" unless a registry crate's. */
static yajl_gen_status
gen_rule_start (yajl_gen g, const char *name, enum policy_source source)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_str (g, "package"));
  G (gen_str (g, name));
  if (source != POLICY_SOURCE_REGISTRY)
    {
      G (gen_str (g, "source"));
      G (gen_str (g, policy_source_name (source)));
    }
fail:
  return st;
}

char *
policy_rule_suggestion_for (const char *name, enum policy_source source,
                            const char *field, const char *value)
{
  if (name == NULL || field == NULL || value == NULL
      || json_find_field (settings_fields, field) == NULL)
    return NULL;
  bool list = strcmp (field, "mounts") == 0 || strcmp (field, "env") == 0
              || strcmp (field, "workspace-read") == 0;
  bool number = (strcmp (field, "pids") == 0 || strcmp (field, "nofile") == 0)
                && all_digits (value);
  cleanup_yajl_gen yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return NULL;
  yajl_gen_status st;
  G (gen_rule_start (g, name, source));
  G (gen_str (g, field));
  if (list)
    G (yajl_gen_array_open (g));
  if (number)
    G (yajl_gen_number (g, value, strlen (value)));
  else
    G (gen_str (g, value));
  if (list)
    G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return gen_result (g, st);
}

char *
policy_mount_suggestion (const char *name, enum policy_source from,
                         const char *source, const char *destination)
{
  if (strcmp (source, destination) == 0)
    return policy_rule_suggestion_for (name, from, "mounts", source);
  cleanup_yajl_gen yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return NULL;
  yajl_gen_status st;
  G (gen_rule_start (g, name, from));
  G (gen_str (g, "mounts"));
  G (yajl_gen_array_open (g));
  G (yajl_gen_map_open (g));
  G (gen_str (g, "source"));
  G (gen_str (g, source));
  G (gen_str (g, "destination"));
  G (gen_str (g, destination));
  G (yajl_gen_map_close (g));
  G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return gen_result (g, st);
}

/* ---- loading */

static void
settings_clear (struct policy_settings *s)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    mount_clear (&s->mounts[i]);
  free (s->mounts);
  strv_free (s->env);
  strv_free (s->workspace_read);
  strv_free (s->syscalls);
  s->mounts = NULL;
  s->n_mounts = 0;
  s->env = NULL;
  s->workspace_read = NULL;
  s->syscalls = NULL;
}

static void
rule_clear (struct policy_rule *r)
{
  free_many (r->package, r->version, r->json, r->git, r->checksum);
  semver_req_free (r->req);
  settings_clear (&r->settings);
}

void
policy_clear (struct policy *p)
{
  for (size_t i = 0; i < p->n_rules; i++)
    rule_clear (&p->rules[i]);
  free_many (p->rules, p->path, p->data);
  settings_clear (&p->defaults);
  p->rules = NULL;
  p->n_rules = 0;
  p->path = NULL;
  p->data = NULL;
  p->len = 0;
  p->digest[0] = '\0';
}

DEFINE_CLEANUP_CLEAR (policy, struct policy, policy_clear)
#define cleanup_policy CLEANUP (policy)

void
policy_default (struct policy *out)
{
  *out = (struct policy){
    .strict = false,
    .defaults = {
      .set = POLICY_SET_ALL,
      .network = NETWORK_NONE,
      .source_writes = POLICY_SOURCE_WRITES_NONE,
      .paths = PATHS_CANONICAL,
      .memory = POLICY_DEFAULT_MEMORY,
      .pids = POLICY_DEFAULT_PIDS,
      .timeout = POLICY_DEFAULT_TIMEOUT,
      .nofile = POLICY_DEFAULT_NOFILE,
      .tmpfs = POLICY_DEFAULT_TMPFS,
      .seccomp = POLICY_SECCOMP_DEFAULT,
    },
  };
  /* the digest is computed on demand (policy-digest.c): run mode must
   * not load libcrypto for a value only attestations use */
  out->data = strdup (policy_builtin_json);
  out->len = out->data ? strlen (policy_builtin_json) : 0;
}

static int
parse_policy (const char *data, size_t len, struct policy *out,
              ohr_error_t *err)
{
  if (len > POLICY_MAX_SIZE)
    return ohr_error_set (err, EFBIG, OHR_ERR_USAGE,
                          "larger than %d bytes: a policy is a short list of "
                          "exceptions",
                          POLICY_MAX_SIZE);
  cleanup_yajl_val yajl_val root = NULL;
  if (json_parse_checked (data, len, MAX_DEPTH, &root, err) < 0)
    return -1;
  cleanup_policy struct policy p;
  policy_default (&p);
  struct target t = { .policy = &p, .settings = &p.defaults };
  if (json_walk_object (root, NULL, top_fields, WALK_FLAGS, &t, err) < 0)
    return -1;
  free (p.data);
  p.data = malloc (len ? len : 1);
  if (p.data == NULL)
    return ohr_error_nomem (err);
  memcpy (p.data, data, len);
  p.len = len;
  *out = p;
  memset (&p, 0, sizeof p); /* ownership moved to *out */
  return 0;
}

int
policy_load_data (const char *data, size_t len, const char *origin,
                  struct policy *out, ohr_error_t *err)
{
  if (parse_policy (data, len, out, err) < 0)
    return ohr_error_wrap (err, "policy '%s'", origin);
  return 0;
}

/* Someone who can edit the policy can widen what every build script may
 * do: insist on the user's or root's file, writable by them only. */
static int
check_owner (const char *path, const struct stat *st, ohr_error_t *err)
{
  if (!S_ISREG (st->st_mode))
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "policy '%s' is not a regular file", path);
  if (st->st_uid != geteuid () && st->st_uid != 0)
    return ohr_error_set (err, EPERM, OHR_ERR_USAGE,
                          "policy '%s' belongs to uid %u: it must be yours "
                          "or root's",
                          path, (unsigned)st->st_uid);
  if (st->st_mode & (S_IWGRP | S_IWOTH))
    return ohr_error_set (err, EPERM, OHR_ERR_USAGE,
                          "policy '%s' is writable by others: run 'chmod "
                          "go-w %s'",
                          path, path);
  return 0;
}

/* Read through the descriptor that was checked, so the bytes parsed and
 * digested are those of the file that passed check_owner. */
static int
read_policy (const char *path, char **out, size_t *out_len, ohr_error_t *err)
{
  /* O_NONBLOCK: a FIFO at the path must be refused, not waited on */
  cleanup_close int fd
      = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE,
                            "cannot open policy '%s'", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE,
                            "cannot stat policy '%s'", path);
  if (check_owner (path, &st, err) < 0)
    return -1;
  /* policy_load_data says when it is too large */
  if (fs_read_fd (fd, path, POLICY_MAX_SIZE, OHR_ERR_USAGE, out, out_len, err)
      < 0)
    return ohr_error_wrap (err, "policy");
  return 0;
}

int
policy_load (const char *path, struct policy *out, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (read_policy (path, &data, &len, err) < 0)
    return -1;
  struct policy p;
  if (policy_load_data (data, len, path, &p, err) < 0)
    return -1;
  if ((p.path = strdup (path)) == NULL)
    {
      policy_clear (&p);
      return ohr_error_nomem (err);
    }
  *out = p;
  return 0;
}

/* ---- resolution */

/* A later mount to the same destination replaces the earlier one, in
 * place, so the order of nested mounts stays the order first given. */
static int
add_mount (struct policy_settings *s, const struct policy_mount *m)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (strcmp (s->mounts[i].destination, m->destination) == 0)
      {
        char *src = strdup (m->source);
        if (src == NULL)
          return -1;
        free (s->mounts[i].source);
        s->mounts[i].source = src;
        return 0;
      }
  struct policy_mount copy = { strdup (m->source), strdup (m->destination) };
  int r = copy.source && copy.destination ? append_mount (s, &copy) : -1;
  mount_clear (&copy);
  return r;
}

/* A later NAME or NAME=VALUE replaces an earlier one with the same NAME. */
static int
add_env (struct policy_settings *s, const char *e)
{
  size_t n = strcspn (e, "=");
  for (size_t i = 0; s->env && s->env[i]; i++)
    if (strcspn (s->env[i], "=") == n && strncmp (s->env[i], e, n) == 0)
      {
        char *copy = strdup (e);
        if (copy == NULL)
          return -1;
        free (s->env[i]);
        s->env[i] = copy;
        return 0;
      }
  return strv_push (&s->env, e);
}

/* Layer src over dst: named scalars override, lists accumulate. */
static int
settings_merge (struct policy_settings *dst, const struct policy_settings *src)
{
  if (src->set & POLICY_SET_NETWORK)
    dst->network = src->network;
  if (src->set & POLICY_SET_SOURCE_WRITES)
    dst->source_writes = src->source_writes;
  if (src->set & POLICY_SET_PATHS)
    dst->paths = src->paths;
  if (src->set & POLICY_SET_MEMORY)
    dst->memory = src->memory;
  if (src->set & POLICY_SET_PIDS)
    dst->pids = src->pids;
  if (src->set & POLICY_SET_TIMEOUT)
    dst->timeout = src->timeout;
  if (src->set & POLICY_SET_NOFILE)
    dst->nofile = src->nofile;
  if (src->set & POLICY_SET_TMPFS)
    dst->tmpfs = src->tmpfs;
  if (src->set & POLICY_SET_SECCOMP)
    dst->seccomp = src->seccomp;
  dst->set |= src->set;
  for (size_t i = 0; src->syscalls && src->syscalls[i]; i++)
    if (!strv_contains (dst->syscalls, src->syscalls[i])
        && strv_push (&dst->syscalls, src->syscalls[i]) < 0)
      return -1;
  for (size_t i = 0; i < src->n_mounts; i++)
    if (add_mount (dst, &src->mounts[i]) < 0)
      return -1;
  for (size_t i = 0; src->env && src->env[i]; i++)
    if (add_env (dst, src->env[i]) < 0)
      return -1;
  for (size_t i = 0; src->workspace_read && src->workspace_read[i]; i++)
    if (!strv_contains (dst->workspace_read, src->workspace_read[i])
        && strv_push (&dst->workspace_read, src->workspace_read[i]) < 0)
      return -1;
  return 0;
}

static bool
name_matches (const struct policy_rule *r, const char *name,
              const struct semver *version)
{
  if (strcmp (r->package, name) != 0)
    return false;
  if (r->req == NULL)
    return true;
  return version != NULL && semver_req_matches (r->req, version);
}

/* Cargo.lock writes "git+URL", then "?branch=..." and/or "#commit". */
static bool
git_matches (const char *source_id, const char *url)
{
  size_t n = strlen (url);
  return source_id && strncmp (source_id, "git+", 4) == 0
         && strncmp (source_id + 4, url, n) == 0
         && strchr ("?#", source_id[4 + n]) != NULL;
}

static bool
source_matches (const struct policy_rule *r, const struct policy_package *pkg)
{
  if (r->source != POLICY_SOURCE_ANY && r->source != pkg->source)
    return false;
  if (r->git
      && (pkg->source != POLICY_SOURCE_GIT
          || !git_matches (pkg->source_id, r->git)))
    return false;
  return r->checksum == NULL
         || (pkg->checksum && strcmp (pkg->checksum, r->checksum) == 0);
}

static int
add_match (struct policy_match **v, size_t *n, size_t index, const char *json)
{
  struct policy_match *nm = realloc (*v, (*n + 1) * sizeof *nm);
  if (nm == NULL)
    return -1;
  *v = nm;
  char *copy = strdup (json);
  if (copy == NULL)
    return -1;
  nm[(*n)++] = (struct policy_match){ index, copy };
  return 0;
}

static int
resolve_layers (const struct policy *p, const struct policy_package *pkg,
                const struct semver *version, struct policy_effective *e)
{
  if (settings_merge (&e->settings, &p->defaults) < 0)
    return -1;
  for (size_t i = 0; i < p->n_rules; i++)
    {
      const struct policy_rule *r = &p->rules[i];
      if (!name_matches (r, pkg->name, version))
        continue;
      if (!source_matches (r, pkg))
        {
          if (add_match (&e->passed, &e->n_passed, i, r->json) < 0)
            return -1;
          continue;
        }
      if (settings_merge (&e->settings, &r->settings) < 0
          || add_match (&e->matches, &e->n_matches, i, r->json) < 0)
        return -1;
    }
  return 0;
}

void
policy_effective_clear (struct policy_effective *e)
{
  settings_clear (&e->settings);
  for (size_t i = 0; i < e->n_matches; i++)
    free (e->matches[i].json);
  for (size_t i = 0; i < e->n_passed; i++)
    free (e->passed[i].json);
  free_many (e->matches, e->passed);
  e->matches = e->passed = NULL;
  e->n_matches = e->n_passed = 0;
}

int
policy_resolve (const struct policy *p, const char *name, const char *version,
                struct policy_effective *out, ohr_error_t *err)
{
  struct policy_package pkg
      = { .name = name, .version = version, .source = POLICY_SOURCE_REGISTRY };
  return policy_resolve_package (p, &pkg, out, err);
}

int
policy_resolve_package (const struct policy *p,
                        const struct policy_package *pkg,
                        struct policy_effective *out, ohr_error_t *err)
{
  struct semver v = { 0 };
  if (pkg->version && semver_parse (pkg->version, &v, err) < 0)
    return ohr_error_wrap (err, "package '%s'", pkg->name);
  struct policy_effective e = { .strict = p->strict };
  int r = resolve_layers (p, pkg, pkg->version ? &v : NULL, &e);
  semver_clear (&v);
  if (r < 0)
    {
      policy_effective_clear (&e);
      return ohr_error_nomem (err);
    }
  *out = e;
  return 0;
}

/* ---- where the file is */

char *
policy_find_default (const char *xdg_config_home, const char *home,
                     const char *sysconf_dir)
{
  const char *rel = "oci-host-runner/policy.json";
  char *user = NULL;
  /* XDG: an unset, empty or relative $XDG_CONFIG_HOME means ~/.config */
  if (xdg_config_home && xdg_config_home[0] == '/')
    user = fs_path_join (xdg_config_home, rel);
  else if (home && home[0] == '/')
    {
      cleanup_free char *dir = fs_path_join (home, ".config");
      user = dir ? fs_path_join (dir, rel) : NULL;
    }
  /* Anything at the path counts, even a broken symlink: loading then
   * fails loudly instead of falling back to the system file. */
  if (user && fs_exists (user))
    return user;
  free (user);
  char *sys = sysconf_dir ? fs_path_join (sysconf_dir, rel) : NULL;
  if (sys && fs_exists (sys))
    return sys;
  free (sys);
  return NULL;
}

char *
policy_default_path (void)
{
  return policy_find_default (getenv ("XDG_CONFIG_HOME"), getenv ("HOME"),
                              "/etc");
}
