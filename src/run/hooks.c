/* hooks.c: see hooks.h.
 *
 * A file is read through the descriptor whose owner and mode were checked,
 * syntax-checked with yajl's event parser (depth, NUL bytes: yajl_tree
 * frees recursively and hands strings over as C strings), parsed with
 * yajl_tree, then walked against tables of known keys so that every error
 * names the JSON path of the value it is about.
 */
#define _GNU_SOURCE
#include "run/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsoncheck.h"
#include "util/jsonpath.h"
#include "util/strv.h"
#include "util/yajl.h"

/* A valid file nests 3 deep (top, when, annotations). */
#define MAX_DEPTH 16
#define HOOKS_VERSION "1.0.0"

static const char *const stage_names[HOOK_N_STAGES] = {
  [HOOK_PRESTART] = "prestart",
  [HOOK_CREATE_RUNTIME] = "createRuntime",
  [HOOK_CREATE_CONTAINER] = "createContainer",
  [HOOK_START_CONTAINER] = "startContainer",
  [HOOK_POSTSTART] = "poststart",
  [HOOK_POSTSTOP] = "poststop",
};

const char *
hooks_stage_name (enum hook_stage stage)
{
  return (unsigned)stage < HOOK_N_STAGES ? stage_names[stage] : NULL;
}

/* ---- spec hooks */

static void
spec_hook_clear (struct spec_hook *h)
{
  free (h->path);
  strv_free (h->args);
  strv_free (h->env);
  *h = (struct spec_hook){ 0 };
}

static int
spec_hook_copy (const struct spec_hook *h, struct spec_hook *out)
{
  struct spec_hook c = { .timeout = h->timeout };
  if ((c.path = strdup (h->path)) == NULL
      || (h->args && (c.args = strv_copy (h->args)) == NULL)
      || (h->env && (c.env = strv_copy (h->env)) == NULL))
    {
      spec_hook_clear (&c);
      return -1;
    }
  *out = c;
  return 0;
}

bool
spec_hooks_empty (const struct spec_hooks *h)
{
  for (int s = 0; h && s < HOOK_N_STAGES; s++)
    if (h->stages[s].n > 0)
      return false;
  return true;
}

void
spec_hooks_clear (struct spec_hooks *h)
{
  for (int s = 0; s < HOOK_N_STAGES; s++)
    {
      struct spec_hook_list *l = &h->stages[s];
      for (size_t i = 0; i < l->n; i++)
        spec_hook_clear (&l->v[i]);
      free (l->v);
      l->v = NULL;
      l->n = 0;
    }
}

/* ---- hook definitions */

static void
pattern_clear (struct hook_pattern *p)
{
  if (p->text)
    regfree (&p->re);
  free (p->text);
  p->text = NULL;
}

void
hook_def_clear (struct hook_def *d)
{
  spec_hook_clear (&d->hook);
  for (size_t i = 0; i < d->n_annotations; i++)
    {
      pattern_clear (&d->annotations[i].key);
      pattern_clear (&d->annotations[i].value);
    }
  for (size_t i = 0; i < d->n_commands; i++)
    pattern_clear (&d->commands[i]);
  free_many (d->name, d->file, d->annotations, d->commands);
  *d = (struct hook_def){ .always = HOOK_FLAG_UNSET,
                          .has_bind_mounts = HOOK_FLAG_UNSET };
}

void
hooks_set_clear (struct hook_set *s)
{
  for (size_t i = 0; i < s->n; i++)
    hook_def_clear (&s->v[i]);
  free (s->v);
  strv_free (s->notes);
  *s = (struct hook_set){ 0 };
}

/* ---- values */

/* hooks.d keys are camelCase (oci-hooks(5)): a key that differs only in
 * case is the typo to suggest ("hasbindmounts", the 0.1.0 spelling). */
#define WALK_FLAGS JSON_SUGGEST_CASE

static int
push_string (const char *s, const struct json_where *w, void *ctx,
             ohr_error_t *err)
{
  return strv_push (ctx, s) < 0 ? ohr_error_nomem (err) : 0;
}

/* NAME=VALUE, as the spec's env has it */
static int
push_assignment (const char *s, const struct json_where *w, void *ctx,
                 ohr_error_t *err)
{
  char buf[CLIP_SIZE];
  if (s[0] == '=' || strchr (s, '=') == NULL)
    return json_bad (w, err, "\"%s\" is not NAME=VALUE", json_clip (s, buf));
  return push_string (s, w, ctx, err);
}

static int
parse_path (yajl_val v, const struct json_where *w, void *target,
            ohr_error_t *err)
{
  struct hook_def *d = target;
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  if (v->u.string[0] == '\0')
    return json_bad (w, err, "empty path: name the hook program");
  if ((d->hook.path = strdup (v->u.string)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

static int
parse_args (yajl_val v, const struct json_where *w, void *target,
            ohr_error_t *err)
{
  struct hook_def *d = target;
  return json_each_string (v, w, "a list of strings", push_string,
                           &d->hook.args, err);
}

static int
parse_env (yajl_val v, const struct json_where *w, void *target,
           ohr_error_t *err)
{
  struct hook_def *d = target;
  return json_each_string (v, w, "a list of strings", push_assignment,
                           &d->hook.env, err);
}

static int
parse_timeout (yajl_val v, const struct json_where *w, void *target,
               ohr_error_t *err)
{
  struct hook_def *d = target;
  char buf[CLIP_SIZE];
  if (!YAJL_IS_NUMBER (v))
    return json_wrong_type (v, w, "a number", err);
  /* the spec's timeout is an integer of seconds, greater than zero */
  if (!YAJL_IS_INTEGER (v) || v->u.number.i < 1 || v->u.number.i > INT_MAX)
    return json_bad (w, err,
                     "invalid timeout %s: use whole seconds from 1 to %d, or "
                     "leave it out",
                     json_clip (v->u.number.r, buf), INT_MAX);
  d->hook.timeout = (int)v->u.number.i;
  return 0;
}

static int
parse_flag (yajl_val v, const struct json_where *w, enum hook_flag *out,
            ohr_error_t *err)
{
  bool b;
  if (json_bool (v, w, &b, err) < 0)
    return -1;
  *out = b ? HOOK_FLAG_TRUE : HOOK_FLAG_FALSE;
  return 0;
}

static int
parse_always (yajl_val v, const struct json_where *w, void *target,
              ohr_error_t *err)
{
  struct hook_def *d = target;
  return parse_flag (v, w, &d->always, err);
}

static int
parse_has_bind_mounts (yajl_val v, const struct json_where *w, void *target,
                       ohr_error_t *err)
{
  struct hook_def *d = target;
  return parse_flag (v, w, &d->has_bind_mounts, err);
}

static int
compile (const char *text, const struct json_where *w,
         struct hook_pattern *out, ohr_error_t *err)
{
  char buf[CLIP_SIZE], msg[128];
  int rc = regcomp (&out->re, text, REG_EXTENDED | REG_NOSUB);
  if (rc == REG_ESPACE)
    return ohr_error_nomem (err);
  if (rc != 0)
    {
      regerror (rc, &out->re, msg, sizeof msg);
      regfree (&out->re);
      return json_bad (w, err,
                       "invalid regular expression \"%s\": %s (POSIX extended "
                       "syntax)",
                       json_clip (text, buf), msg);
    }
  if ((out->text = strdup (text)) == NULL)
    {
      regfree (&out->re);
      return ohr_error_nomem (err);
    }
  return 0;
}

static int
parse_annotations (yajl_val v, const struct json_where *w, void *target,
                   ohr_error_t *err)
{
  struct hook_def *d = target;
  if (!YAJL_IS_OBJECT (v))
    return json_wrong_type (v, w, "an object of key and value patterns", err);
  size_t n = v->u.object.len;
  if (n == 0)
    return 0;
  d->annotations = calloc (n, sizeof *d->annotations);
  if (d->annotations == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; i < n; i++)
    {
      const char *key = v->u.object.keys[i];
      yajl_val val = v->u.object.values[i];
      struct json_where kw = { w, key, 0 };
      for (size_t j = 0; j < i; j++)
        if (strcmp (v->u.object.keys[j], key) == 0)
          return json_bad (&kw, err, "duplicate key");
      if (!YAJL_IS_STRING (val))
        return json_wrong_type (val, &kw, "a string (a value pattern)", err);
      struct hook_annotation_pattern *p = &d->annotations[i];
      if (compile (key, &kw, &p->key, err) < 0)
        return -1;
      d->n_annotations++; /* from here on, hook_def_clear frees it */
      if (compile (val->u.string, &kw, &p->value, err) < 0)
        return -1;
    }
  return 0;
}

static int
add_command (const char *s, const struct json_where *w, void *ctx,
             ohr_error_t *err)
{
  struct hook_def *d = ctx;
  if (compile (s, w, &d->commands[d->n_commands], err) < 0)
    return -1;
  d->n_commands++;
  return 0;
}

static int
parse_commands (yajl_val v, const struct json_where *w, void *target,
                ohr_error_t *err)
{
  struct hook_def *d = target;
  size_t n = YAJL_IS_ARRAY (v) ? v->u.array.len : 0;
  if (n > 0 && (d->commands = calloc (n, sizeof *d->commands)) == NULL)
    return ohr_error_nomem (err);
  return json_each_string (v, w, "a list of patterns", add_command, d, err);
}

static const char known_stages[]
    = "prestart, createRuntime, createContainer, startContainer, poststart, "
      "poststop";

static int
add_stage (const char *name, const struct json_where *w, void *ctx,
           ohr_error_t *err)
{
  struct hook_def *d = ctx;
  for (int s = 0; s < HOOK_N_STAGES; s++)
    if (strcmp (stage_names[s], name) == 0)
      {
        d->stages |= 1u << s;
        return 0;
      }
  char buf[CLIP_SIZE];
  return json_bad (w, err, "unknown stage \"%s\": use one of %s",
                   json_clip (name, buf), known_stages);
}

static int
parse_stages (yajl_val v, const struct json_where *w, void *target,
              ohr_error_t *err)
{
  if (YAJL_IS_ARRAY (v) && v->u.array.len == 0)
    return json_bad (w, err, "no stage: name at least one of %s",
                     known_stages);
  return json_each_string (v, w, "a list of stages", add_stage, target, err);
}

static const struct json_field hook_fields[] = {
  { "path", parse_path, "add \"path\": the hook program" },
  { "args", parse_args, NULL },
  { "env", parse_env, NULL },
  { "timeout", parse_timeout, NULL },
  { NULL, NULL, NULL },
};

static const struct json_field when_fields[] = {
  { "always", parse_always, NULL },
  { "annotations", parse_annotations, NULL },
  { "commands", parse_commands, NULL },
  { "hasBindMounts", parse_has_bind_mounts, NULL },
  { NULL, NULL, NULL },
};

static int
parse_hook (yajl_val v, const struct json_where *w, void *target,
            ohr_error_t *err)
{
  struct hook_def *d = target;
  return json_walk_object (v, w, hook_fields, WALK_FLAGS, d, err);
}

static int
parse_when (yajl_val v, const struct json_where *w, void *target,
            ohr_error_t *err)
{
  struct hook_def *d = target;
  if (json_walk_object (v, w, when_fields, WALK_FLAGS, d, err) < 0)
    return -1;
  /* oci-hooks(5): at least one must be specified; with none the hook
   * would never run, which is never what the file means */
  if (d->always == HOOK_FLAG_UNSET && d->has_bind_mounts == HOOK_FLAG_UNSET
      && d->n_annotations == 0 && d->n_commands == 0)
    return json_bad (w, err,
                     "no condition: add \"always\": true, \"annotations\", "
                     "\"commands\" or \"hasBindMounts\"");
  return 0;
}

static int
parse_version (yajl_val v, const struct json_where *w, void *target,
               ohr_error_t *err)
{
  char buf[CLIP_SIZE];
  if (!YAJL_IS_STRING (v))
    return json_wrong_type (v, w, "a string", err);
  if (strcmp (v->u.string, HOOKS_VERSION) != 0)
    return json_bad (
        w, err,
        "unsupported version \"%s\": this runner reads \"" HOOKS_VERSION
        "\" files",
        json_clip (v->u.string, buf));
  return 0;
}

static const struct json_field top_fields[] = {
  { "version", parse_version, NULL }, /* checked first, see parse_top */
  { "hook", parse_hook, "add \"hook\": {\"path\": ...}" },
  { "when", parse_when, "add \"when\": {\"always\": true} or a condition" },
  { "stages", parse_stages, "add \"stages\": [\"poststop\"] or others" },
  { NULL, NULL, NULL },
};

static int
parse_top (yajl_val root, struct hook_def *d, ohr_error_t *err)
{
  if (!YAJL_IS_OBJECT (root))
    return json_wrong_type (root, NULL, "an object", err);
  /* the version decides what the other keys mean: first */
  const char *vpath[] = { "version", NULL };
  if (yajl_tree_get (root, vpath, yajl_t_any) == NULL)
    return json_bad (NULL, err,
                     "missing \"version\": this runner reads oci-hooks(5) "
                     "\"" HOOKS_VERSION
                     "\" files (a file without a version uses "
                     "the old 0.1.0 schema: rewrite it as " HOOKS_VERSION ")");
  return json_walk_object (root, NULL, top_fields, WALK_FLAGS, d, err);
}

/* ---- files */

/* Hook programs run on the host with the runtime's privileges: whoever
 * can edit a hook file or its directory can run code as the user (or
 * root).  Like ssh with its configuration, refuse what others can edit. */
static const char *
untrusted (const struct stat *st)
{
  if (st->st_uid != geteuid () && st->st_uid != 0)
    return "belongs to another user: it must be yours or root's";
  if (st->st_mode & (S_IWGRP | S_IWOTH))
    return "is writable by group or others: run 'chmod go-w' on it";
  return NULL;
}

DEFINE_CLEANUP_CLEAR (hook_def, struct hook_def, hook_def_clear)
#define cleanup_hook_def CLEANUP (hook_def)

static int
read_hook_file (const char *path, char **out, size_t *out_len,
                ohr_error_t *err)
{
  /* O_NONBLOCK: a FIFO named *.json must be refused, not waited on */
  cleanup_close int fd
      = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE, "cannot open");
  struct stat st;
  if (fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE, "cannot stat");
  if (!S_ISREG (st.st_mode))
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "not a regular file");
  const char *why = untrusted (&st);
  if (why)
    return ohr_error_set (err, EPERM, OHR_ERR_USAGE, "%s", why);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (fs_read_fd (fd, NULL, HOOKS_MAX_FILE_SIZE, OHR_ERR_USAGE, &buf, &len,
                  err)
      < 0)
    return -1;
  if (len > HOOKS_MAX_FILE_SIZE)
    return ohr_error_set (err, EFBIG, OHR_ERR_USAGE,
                          "larger than %d bytes: a hook file names one "
                          "program",
                          HOOKS_MAX_FILE_SIZE);
  *out = steal_pointer (&buf);
  *out_len = len;
  return 0;
}

static int
parse_hook_data (const char *data, size_t len, struct hook_def *d,
                 ohr_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  if (json_parse_checked (data, len, MAX_DEPTH, &root, err) < 0)
    return -1;
  return parse_top (root, d, err);
}

/* The directory a file is listed in, absolute and without symlinks, for
 * relative hook paths. */
static char *
listing_dir (const char *file)
{
  cleanup_free char *copy = strdup (file);
  if (copy == NULL)
    return NULL;
  char *slash = strrchr (copy, '/');
  if (slash == copy)
    return strdup ("/");
  if (slash)
    *slash = '\0';
  return realpath (slash ? copy : ".", NULL);
}

static int note (char **out_note, const char *file, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Skip a hook: *out_note = "hook 'FILE': ...: skipped"; returns 0. */
static int
note (char **out_note, const char *file, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *msg = NULL;
  int r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0 || asprintf (out_note, "hook '%s': %s: skipped", file, msg) < 0)
    return -1;
  return 0;
}

/* Resolve d->hook.path (relative: against the file's directory) and
 * check the program.  1: usable, 0: skipped with a note, -1: error. */
static int
resolve_program (struct hook_def *d, char **out_note, ohr_error_t *err)
{
  if (d->hook.path[0] != '/')
    {
      cleanup_free char *dir = listing_dir (d->file);
      if (dir == NULL)
        return ohr_error_errno (err, errno, OHR_ERR_USAGE,
                                "hook '%s': cannot resolve its directory",
                                d->file);
      char *abs = NULL;
      if (asprintf (&abs, "%s%s%s", dir, strcmp (dir, "/") ? "/" : "",
                    d->hook.path)
          < 0)
        return ohr_error_nomem (err);
      free (d->hook.path);
      d->hook.path = abs;
    }
  const char *p = d->hook.path;
  struct stat st;
  int r;
  if (stat (p, &st) < 0)
    r = note (out_note, d->file, "program '%s': %s", p, strerror (errno));
  else if (!S_ISREG (st.st_mode))
    r = note (out_note, d->file, "program '%s' is not a regular file", p);
  else if (!(st.st_mode & 0111) || access (p, X_OK) < 0)
    r = note (out_note, d->file, "program '%s' is not executable", p);
  else if (untrusted (&st))
    r = note (out_note, d->file, "program '%s' %s", p, untrusted (&st));
  else
    return 1;
  return r < 0 ? ohr_error_nomem (err) : 0;
}

int
hooks_load_file (const char *path, struct hook_def *out, char **out_note,
                 ohr_error_t *err)
{
  cleanup_hook_def struct hook_def d = {
    .always = HOOK_FLAG_UNSET,
    .has_bind_mounts = HOOK_FLAG_UNSET,
  };
  const char *base = strrchr (path, '/');
  if ((d.file = strdup (path)) == NULL
      || (d.name = strdup (base ? base + 1 : path)) == NULL)
    return ohr_error_nomem (err);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (read_hook_file (path, &data, &len, err) < 0
      || parse_hook_data (data, len, &d, err) < 0)
    return ohr_error_wrap (err, "hook '%s'", path);
  /* the runtime's argv: the path when the file gives none (an empty argv
   * is not something every runtime handles) */
  if (d.hook.args == NULL && strv_push (&d.hook.args, d.hook.path) < 0)
    return ohr_error_nomem (err);
  int r = resolve_program (&d, out_note, err);
  if (r <= 0)
    return r;
  *out = d;
  d = (struct hook_def){ 0 }; /* ownership moved to *out */
  return 1;
}

/* ---- directories */

struct entry
{
  char *name;
  char *path;
};

struct entries
{
  struct entry *v;
  size_t n;
};

static void
entries_clear (struct entries *e)
{
  for (size_t i = 0; i < e->n; i++)
    free_many (e->v[i].name, e->v[i].path);
  free (e->v);
}

DEFINE_CLEANUP_CLEAR (entries, struct entries, entries_clear)
#define cleanup_entries CLEANUP (entries)

/* Add dir/name, replacing an entry of the same name from an earlier
 * directory (podman: later directories mask earlier ones). */
static int
entries_put (struct entries *e, const char *dir, const char *name)
{
  char *path = NULL;
  if (asprintf (&path, "%s/%s", dir, name) < 0)
    return -1;
  for (size_t i = 0; i < e->n; i++)
    if (strcmp (e->v[i].name, name) == 0)
      {
        free (e->v[i].path);
        e->v[i].path = path;
        return 0;
      }
  char *n = strdup (name);
  struct entry *nv = n ? realloc (e->v, (e->n + 1) * sizeof *nv) : NULL;
  if (nv == NULL)
    {
      free (n);
      free (path);
      return -1;
    }
  e->v = nv;
  e->v[e->n++] = (struct entry){ n, path };
  return 0;
}

/* podman's order: file names compared case-insensitively (ties by
 * bytes, so the order never depends on the directory listing). */
static int
entry_cmp (const void *a, const void *b)
{
  const struct entry *x = a, *y = b;
  int c = strcasecmp (x->name, y->name);
  return c ? c : strcmp (x->name, y->name);
}

static bool
is_json_name (const char *name)
{
  size_t n = strlen (name);
  return n > 5 && strcmp (name + n - 5, ".json") == 0;
}

static int
scan_dir (const char *dir, struct entries *e, char ***notes, ohr_error_t *err)
{
  cleanup_free char *real = realpath (dir, NULL);
  if (real == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE, "hooks directory '%s'",
                            dir);
  cleanup_dir DIR *d = opendir (real);
  if (d == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE, "hooks directory '%s'",
                            dir);
  struct stat st;
  if (fstat (dirfd (d), &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_USAGE, "hooks directory '%s'",
                            dir);
  const char *why = untrusted (&st);
  if (why)
    return ohr_error_set (err, EPERM, OHR_ERR_USAGE, "hooks directory '%s' %s",
                          dir, why);
  for (;;)
    {
      /* readdir's end and its failure differ only in errno */
      errno = 0;
      struct dirent *de = readdir (d);
      if (de == NULL && errno)
        return ohr_error_errno (err, errno, OHR_ERR_USAGE,
                                "cannot list hooks directory '%s'", dir);
      if (de == NULL)
        break;
      if (!is_json_name (de->d_name))
        continue;
      /* follows symlinks: hooks.d entries are often links to packaged
       * files */
      if (fstatat (dirfd (d), de->d_name, &st, 0) < 0 || !S_ISREG (st.st_mode))
        {
          if (strv_pushf (notes, "hook '%s/%s': not a regular file: skipped",
                          real, de->d_name)
              < 0)
            return ohr_error_nomem (err);
          continue;
        }
      if (entries_put (e, real, de->d_name) < 0)
        return ohr_error_nomem (err);
    }
  return 0;
}

DEFINE_CLEANUP_CLEAR (hook_set, struct hook_set, hooks_set_clear)
#define cleanup_hook_set CLEANUP (hook_set)

int
hooks_load (char *const *dirs, struct hook_set *out, ohr_error_t *err)
{
  cleanup_hook_set struct hook_set set = { 0 };
  cleanup_entries struct entries e = { 0 };
  for (size_t i = 0; dirs && dirs[i]; i++)
    if (scan_dir (dirs[i], &e, &set.notes, err) < 0)
      return -1;
  if (e.n > 0)
    {
      qsort (e.v, e.n, sizeof *e.v, entry_cmp);
      if ((set.v = calloc (e.n, sizeof *set.v)) == NULL)
        return ohr_error_nomem (err);
    }
  for (size_t i = 0; i < e.n; i++)
    {
      char *msg = NULL;
      int r = hooks_load_file (e.v[i].path, &set.v[set.n], &msg, err);
      if (r < 0)
        return -1;
      if (r > 0)
        set.n++;
      else if (strv_push_owned (&set.notes, msg) < 0)
        return ohr_error_nomem (err);
    }
  *out = set;
  set = (struct hook_set){ 0 };
  return 0;
}

/* ---- matching */

/* 1 match, 0 none, -1 error (set). */
static int
search (const struct hook_pattern *p, const char *s, ohr_error_t *err)
{
  int rc = regexec (&p->re, s, 0, NULL, 0);
  if (rc == 0)
    return 1;
  if (rc == REG_NOMATCH)
    return 0;
  return ohr_error_set (
      err, rc == REG_ESPACE ? ENOMEM : EINVAL, OHR_ERR_INTERNAL,
      "hooks: cannot match regular expression \"%s\"", p->text);
}

/* Does some annotation KEY=VALUE match both patterns of p? */
static int
match_annotation (const struct hook_annotation_pattern *p,
                  char *const *annotations, ohr_error_t *err)
{
  for (size_t i = 0; annotations && annotations[i]; i++)
    {
      const char *a = annotations[i];
      const char *eq = strchr (a, '=');
      if (eq == NULL)
        continue;
      cleanup_free char *key = strndup (a, (size_t)(eq - a));
      if (key == NULL)
        return ohr_error_nomem (err);
      int r = search (&p->key, key, err);
      if (r > 0)
        r = search (&p->value, eq + 1, err);
      if (r != 0)
        return r;
    }
  return 0;
}

int
hooks_match (const struct hook_def *d, const struct hook_context *ctx,
             ohr_error_t *err)
{
  /* podman's 1.0.0 rule: every condition present must hold */
  if (d->always == HOOK_FLAG_FALSE)
    return 0;
  if (d->has_bind_mounts == HOOK_FLAG_FALSE
      || (d->has_bind_mounts == HOOK_FLAG_TRUE && !ctx->has_bind_mounts))
    return 0;
  for (size_t i = 0; i < d->n_annotations; i++)
    {
      int r = match_annotation (&d->annotations[i], ctx->annotations, err);
      if (r <= 0)
        return r;
    }
  if (d->n_commands > 0)
    {
      if (ctx->script == NULL)
        return 0;
      for (size_t i = 0; i < d->n_commands; i++)
        {
          int r = search (&d->commands[i], ctx->script, err);
          if (r != 0)
            return r;
        }
      return 0;
    }
  /* only conditions that held are left; parse_when saw at least one */
  return d->always == HOOK_FLAG_TRUE || d->has_bind_mounts == HOOK_FLAG_TRUE
         || d->n_annotations > 0;
}

static int
append_hook (struct spec_hook_list *l, const struct spec_hook *h)
{
  struct spec_hook *nv = realloc (l->v, (l->n + 1) * sizeof *nv);
  if (nv == NULL)
    return -1;
  l->v = nv;
  if (spec_hook_copy (h, &l->v[l->n]) < 0)
    return -1;
  l->n++;
  return 0;
}

DEFINE_CLEANUP_CLEAR (spec_hooks, struct spec_hooks, spec_hooks_clear)
#define cleanup_spec_hooks CLEANUP (spec_hooks)

int
hooks_select (const struct hook_set *set, const struct hook_context *ctx,
              struct spec_hooks *out, ohr_error_t *err)
{
  cleanup_spec_hooks struct spec_hooks sel = { 0 };
  for (size_t i = 0; i < set->n; i++)
    {
      const struct hook_def *d = &set->v[i];
      int r = hooks_match (d, ctx, err);
      if (r < 0)
        return ohr_error_wrap (err, "hook '%s'", d->file);
      if (r == 0)
        continue;
      for (int s = 0; s < HOOK_N_STAGES; s++)
        if ((d->stages & (1u << s))
            && append_hook (&sel.stages[s], &d->hook) < 0)
          return ohr_error_nomem (err);
    }
  *out = sel;
  sel = (struct spec_hooks){ 0 };
  return 0;
}
