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
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "util/cleanup.h"
#include "util/jsoncheck.h"
#include "util/strv.h"

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

static char **
strv_copy (char *const *v)
{
  char **out = NULL;
  for (size_t i = 0; v && v[i]; i++)
    if (strv_push (&out, v[i]) < 0)
      {
        strv_free (out);
        return NULL;
      }
  return out;
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
  free (d->name);
  free (d->file);
  spec_hook_clear (&d->hook);
  for (size_t i = 0; i < d->n_annotations; i++)
    {
      pattern_clear (&d->annotations[i].key);
      pattern_clear (&d->annotations[i].value);
    }
  free (d->annotations);
  for (size_t i = 0; i < d->n_commands; i++)
    pattern_clear (&d->commands[i]);
  free (d->commands);
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

/* ---- where a value is, for messages */

struct where
{
  const struct where *up;
  const char *key; /* NULL: an array element */
  size_t index;
};

/* Keys and values come from the file: short and printable, so that a
 * message stays one readable line. */
#define CLIP_LEN 80
#define CLIP_SIZE (CLIP_LEN + 4)

static size_t
append_clipped (char *buf, size_t size, size_t o, const char *s)
{
  size_t n = 0;
  for (; s[n] && n < CLIP_LEN && o + 1 < size; n++)
    {
      unsigned char c = (unsigned char)s[n];
      buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
  if (s[n] && o + 4 < size)
    o += (size_t)snprintf (buf + o, size - o, "...");
  buf[o] = '\0';
  return o;
}

static const char *
clip (const char *s, char buf[CLIP_SIZE])
{
  append_clipped (buf, CLIP_SIZE, 0, s);
  return buf;
}

static size_t
format_where (const struct where *w, char *buf, size_t size)
{
  if (w == NULL)
    return 0;
  size_t o = format_where (w->up, buf, size);
  if (w->key == NULL)
    {
      int n = snprintf (buf + o, size - o, "[%zu]", w->index);
      return n < 0 || (size_t)n >= size - o ? size - 1 : o + (size_t)n;
    }
  if (o > 0 && o + 1 < size)
    buf[o++] = '.';
  return append_clipped (buf, size, o, w->key);
}

static int no_memory (ohr_error_t *err);

static int bad (const struct where *w, ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* "<json path>: <message>"; hooks_load_file adds the file. */
static int
bad (const struct where *w, ohr_error_t *err, const char *fmt, ...)
{
  char path[512] = "";
  format_where (w, path, sizeof path);
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *msg = NULL;
  int r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    return no_memory (err);
  if (path[0] == '\0')
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "%s", msg);
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "%s: %s", path, msg);
}

static int
no_memory (ohr_error_t *err)
{
  return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "hooks");
}

static const char *
type_name (yajl_val v)
{
  if (YAJL_IS_STRING (v))
    return "a string";
  if (YAJL_IS_NUMBER (v))
    return "a number";
  if (YAJL_IS_OBJECT (v))
    return "an object";
  if (YAJL_IS_ARRAY (v))
    return "a list";
  if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    return "a boolean";
  return "null";
}

static int
wrong_type (yajl_val v, const struct where *w, const char *expected,
            ohr_error_t *err)
{
  return bad (w, err, "expected %s, found %s", expected, type_name (v));
}

/* ---- values */

typedef int parse_fn (yajl_val v, const struct where *w, struct hook_def *d,
                      ohr_error_t *err);

struct field
{
  const char *key;
  parse_fn *parse;
  const char *required; /* NULL, or what to do when it is missing */
};

static int walk_object (yajl_val obj, const struct where *w,
                        const struct field *fields, struct hook_def *d,
                        ohr_error_t *err);

static int
parse_strings (yajl_val v, const struct where *w, bool need_assignment,
               char ***out, ohr_error_t *err)
{
  if (!YAJL_IS_ARRAY (v))
    return wrong_type (v, w, "a list of strings", err);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      yajl_val e = v->u.array.values[i];
      struct where iw = { w, NULL, i };
      char buf[CLIP_SIZE];
      if (!YAJL_IS_STRING (e))
        return wrong_type (e, &iw, "a string", err);
      if (need_assignment
          && (e->u.string[0] == '=' || strchr (e->u.string, '=') == NULL))
        return bad (&iw, err, "\"%s\" is not NAME=VALUE",
                    clip (e->u.string, buf));
      if (strv_push (out, e->u.string) < 0)
        return no_memory (err);
    }
  return 0;
}

static int
parse_path (yajl_val v, const struct where *w, struct hook_def *d,
            ohr_error_t *err)
{
  if (!YAJL_IS_STRING (v))
    return wrong_type (v, w, "a string", err);
  if (v->u.string[0] == '\0')
    return bad (w, err, "empty path: name the hook program");
  if ((d->hook.path = strdup (v->u.string)) == NULL)
    return no_memory (err);
  return 0;
}

static int
parse_args (yajl_val v, const struct where *w, struct hook_def *d,
            ohr_error_t *err)
{
  return parse_strings (v, w, false, &d->hook.args, err);
}

static int
parse_env (yajl_val v, const struct where *w, struct hook_def *d,
           ohr_error_t *err)
{
  return parse_strings (v, w, true, &d->hook.env, err);
}

static int
parse_timeout (yajl_val v, const struct where *w, struct hook_def *d,
               ohr_error_t *err)
{
  char buf[CLIP_SIZE];
  if (!YAJL_IS_NUMBER (v))
    return wrong_type (v, w, "a number", err);
  /* the spec's timeout is an integer of seconds, greater than zero */
  if (!YAJL_IS_INTEGER (v) || v->u.number.i < 1 || v->u.number.i > INT_MAX)
    return bad (w, err,
                "invalid timeout %s: use whole seconds from 1 to %d, or "
                "leave it out",
                clip (v->u.number.r, buf), INT_MAX);
  d->hook.timeout = (int)v->u.number.i;
  return 0;
}

static int
parse_flag (yajl_val v, const struct where *w, enum hook_flag *out,
            ohr_error_t *err)
{
  if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
    return wrong_type (v, w, "true or false", err);
  *out = YAJL_IS_TRUE (v) ? HOOK_FLAG_TRUE : HOOK_FLAG_FALSE;
  return 0;
}

static int
parse_always (yajl_val v, const struct where *w, struct hook_def *d,
              ohr_error_t *err)
{
  return parse_flag (v, w, &d->always, err);
}

static int
parse_has_bind_mounts (yajl_val v, const struct where *w, struct hook_def *d,
                       ohr_error_t *err)
{
  return parse_flag (v, w, &d->has_bind_mounts, err);
}

static int
compile (const char *text, const struct where *w, struct hook_pattern *out,
         ohr_error_t *err)
{
  char buf[CLIP_SIZE], msg[128];
  int rc = regcomp (&out->re, text, REG_EXTENDED | REG_NOSUB);
  if (rc == REG_ESPACE)
    return no_memory (err);
  if (rc != 0)
    {
      regerror (rc, &out->re, msg, sizeof msg);
      regfree (&out->re);
      return bad (w, err,
                  "invalid regular expression \"%s\": %s (POSIX extended "
                  "syntax)",
                  clip (text, buf), msg);
    }
  if ((out->text = strdup (text)) == NULL)
    {
      regfree (&out->re);
      return no_memory (err);
    }
  return 0;
}

static int
parse_annotations (yajl_val v, const struct where *w, struct hook_def *d,
                   ohr_error_t *err)
{
  if (!YAJL_IS_OBJECT (v))
    return wrong_type (v, w, "an object of key and value patterns", err);
  size_t n = v->u.object.len;
  if (n == 0)
    return 0;
  d->annotations = calloc (n, sizeof *d->annotations);
  if (d->annotations == NULL)
    return no_memory (err);
  for (size_t i = 0; i < n; i++)
    {
      const char *key = v->u.object.keys[i];
      yajl_val val = v->u.object.values[i];
      struct where kw = { w, key, 0 };
      for (size_t j = 0; j < i; j++)
        if (strcmp (v->u.object.keys[j], key) == 0)
          return bad (&kw, err, "duplicate key");
      if (!YAJL_IS_STRING (val))
        return wrong_type (val, &kw, "a string (a value pattern)", err);
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
parse_commands (yajl_val v, const struct where *w, struct hook_def *d,
                ohr_error_t *err)
{
  if (!YAJL_IS_ARRAY (v))
    return wrong_type (v, w, "a list of patterns", err);
  size_t n = v->u.array.len;
  if (n == 0)
    return 0;
  d->commands = calloc (n, sizeof *d->commands);
  if (d->commands == NULL)
    return no_memory (err);
  for (size_t i = 0; i < n; i++)
    {
      yajl_val e = v->u.array.values[i];
      struct where iw = { w, NULL, i };
      if (!YAJL_IS_STRING (e))
        return wrong_type (e, &iw, "a string", err);
      if (compile (e->u.string, &iw, &d->commands[i], err) < 0)
        return -1;
      d->n_commands++;
    }
  return 0;
}

static const char known_stages[]
    = "prestart, createRuntime, createContainer, startContainer, poststart, "
      "poststop";

static int
parse_stages (yajl_val v, const struct where *w, struct hook_def *d,
              ohr_error_t *err)
{
  if (!YAJL_IS_ARRAY (v))
    return wrong_type (v, w, "a list of stages", err);
  if (v->u.array.len == 0)
    return bad (w, err, "no stage: name at least one of %s", known_stages);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      yajl_val e = v->u.array.values[i];
      struct where iw = { w, NULL, i };
      char buf[CLIP_SIZE];
      if (!YAJL_IS_STRING (e))
        return wrong_type (e, &iw, "a string", err);
      int s = 0;
      while (s < HOOK_N_STAGES && strcmp (stage_names[s], e->u.string) != 0)
        s++;
      if (s == HOOK_N_STAGES)
        return bad (&iw, err, "unknown stage \"%s\": use one of %s",
                    clip (e->u.string, buf), known_stages);
      d->stages |= 1u << s;
    }
  return 0;
}

static const struct field hook_fields[] = {
  { "path", parse_path, "add \"path\": the hook program" },
  { "args", parse_args, NULL },
  { "env", parse_env, NULL },
  { "timeout", parse_timeout, NULL },
  { NULL, NULL, NULL },
};

static const struct field when_fields[] = {
  { "always", parse_always, NULL },
  { "annotations", parse_annotations, NULL },
  { "commands", parse_commands, NULL },
  { "hasBindMounts", parse_has_bind_mounts, NULL },
  { NULL, NULL, NULL },
};

static int
parse_hook (yajl_val v, const struct where *w, struct hook_def *d,
            ohr_error_t *err)
{
  return walk_object (v, w, hook_fields, d, err);
}

static int
parse_when (yajl_val v, const struct where *w, struct hook_def *d,
            ohr_error_t *err)
{
  if (walk_object (v, w, when_fields, d, err) < 0)
    return -1;
  /* oci-hooks(5): at least one must be specified; with none the hook
   * would never run, which is never what the file means */
  if (d->always == HOOK_FLAG_UNSET && d->has_bind_mounts == HOOK_FLAG_UNSET
      && d->n_annotations == 0 && d->n_commands == 0)
    return bad (w, err,
                "no condition: add \"always\": true, \"annotations\", "
                "\"commands\" or \"hasBindMounts\"");
  return 0;
}

static int
parse_version (yajl_val v, const struct where *w, struct hook_def *d,
               ohr_error_t *err)
{
  char buf[CLIP_SIZE];
  if (!YAJL_IS_STRING (v))
    return wrong_type (v, w, "a string", err);
  if (strcmp (v->u.string, HOOKS_VERSION) != 0)
    return bad (
        w, err,
        "unsupported version \"%s\": this runner reads \"" HOOKS_VERSION
        "\" files",
        clip (v->u.string, buf));
  return 0;
}

static const struct field top_fields[] = {
  { "version", parse_version, NULL }, /* checked first, see parse_top */
  { "hook", parse_hook, "add \"hook\": {\"path\": ...}" },
  { "when", parse_when, "add \"when\": {\"always\": true} or a condition" },
  { "stages", parse_stages, "add \"stages\": [\"poststop\"] or others" },
  { NULL, NULL, NULL },
};

static const struct field *
find_field (const struct field *fields, const char *key)
{
  for (const struct field *f = fields; f->key; f++)
    if (strcmp (f->key, key) == 0)
      return f;
  return NULL;
}

/* A key that differs from a known one only in case is a typo
 * ("hasbindmounts", the 0.1.0 spelling). */
static int
unknown_key (const struct where *kw, const char *key,
             const struct field *fields, ohr_error_t *err)
{
  char known[256] = "", shown[CLIP_SIZE];
  size_t o = 0;
  for (const struct field *f = fields; f->key; f++)
    {
      if (strcasecmp (f->key, key) == 0)
        return bad (kw, err, "unknown key \"%s\": did you mean \"%s\"?",
                    clip (key, shown), f->key);
      o += (size_t)snprintf (known + o, sizeof known - o, "%s%s",
                             o ? ", " : "", f->key);
    }
  return bad (kw, err, "unknown key \"%s\": known keys are %s",
              clip (key, shown), known);
}

/* Every key must be known and appear once: a misspelt condition quietly
 * ignored would inject a hook where it was not meant to run. */
static int
walk_object (yajl_val obj, const struct where *w, const struct field *fields,
             struct hook_def *d, ohr_error_t *err)
{
  if (!YAJL_IS_OBJECT (obj))
    return wrong_type (obj, w, "an object", err);
  unsigned seen = 0;
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      const char *key = obj->u.object.keys[i];
      struct where kw = { w, key, 0 };
      const struct field *f = find_field (fields, key);
      if (f == NULL)
        return unknown_key (&kw, key, fields, err);
      unsigned bit = 1u << (f - fields);
      if (seen & bit)
        return bad (&kw, err, "duplicate key");
      seen |= bit;
      if (f->parse (obj->u.object.values[i], &kw, d, err) < 0)
        return -1;
    }
  for (const struct field *f = fields; f->key; f++)
    if (f->required && !(seen & (1u << (f - fields))))
      return bad (w, err, "missing \"%s\": %s", f->key, f->required);
  return 0;
}

static int
parse_top (yajl_val root, struct hook_def *d, ohr_error_t *err)
{
  if (!YAJL_IS_OBJECT (root))
    return wrong_type (root, NULL, "an object", err);
  /* the version decides what the other keys mean: first */
  const char *vpath[] = { "version", NULL };
  if (yajl_tree_get (root, vpath, yajl_t_any) == NULL)
    return bad (NULL, err,
                "missing \"version\": this runner reads oci-hooks(5) "
                "\"" HOOKS_VERSION "\" files (a file without a version uses "
                "the old 0.1.0 schema: rewrite it as " HOOKS_VERSION ")");
  return walk_object (root, NULL, top_fields, d, err);
}

/* ---- syntax pass */

static int
check_syntax (const char *data, size_t len, ohr_error_t *err)
{
  return json_check_syntax (data, len, MAX_DEPTH, err);
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

static void
cleanup_yajl_valp (yajl_val *v)
{
  yajl_tree_free (*v);
}
#define cleanup_yajl_val __attribute__ ((cleanup (cleanup_yajl_valp)))

static void
cleanup_hook_defp (struct hook_def *d)
{
  hook_def_clear (d);
}
#define cleanup_hook_def __attribute__ ((cleanup (cleanup_hook_defp)))

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
  /* one byte more than allowed tells "too large" from "exactly 1 MiB" */
  cleanup_free char *buf = malloc (HOOKS_MAX_FILE_SIZE + 2);
  if (buf == NULL)
    return no_memory (err);
  size_t len = 0;
  while (len <= HOOKS_MAX_FILE_SIZE)
    {
      ssize_t r = read (fd, buf + len, HOOKS_MAX_FILE_SIZE + 1 - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return ohr_error_errno (err, errno, OHR_ERR_USAGE, "cannot read");
      if (r == 0)
        break;
      len += (size_t)r;
    }
  if (len > HOOKS_MAX_FILE_SIZE)
    return ohr_error_set (err, EFBIG, OHR_ERR_USAGE,
                          "larger than %d bytes: a hook file names one "
                          "program",
                          HOOKS_MAX_FILE_SIZE);
  buf[len] = '\0';
  *out = steal_pointer (&buf);
  *out_len = len;
  return 0;
}

static int
parse_hook_data (const char *data, size_t len, struct hook_def *d,
                 ohr_error_t *err)
{
  if (check_syntax (data, len, err) < 0)
    return -1;
  char errbuf[128] = "";
  cleanup_yajl_val yajl_val root
      = yajl_tree_parse (data, errbuf, sizeof errbuf);
  /* the syntax pass accepted the text: this is out of memory */
  if (root == NULL)
    return ohr_error_set (err, ENOMEM, OHR_ERR_INTERNAL, "%.*s",
                          (int)strcspn (errbuf, "\n"), errbuf);
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
        return no_memory (err);
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
  return r < 0 ? no_memory (err) : 0;
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
    return no_memory (err);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (read_hook_file (path, &data, &len, err) < 0
      || parse_hook_data (data, len, &d, err) < 0)
    return ohr_error_wrap (err, "hook '%s'", path);
  /* the runtime's argv: the path when the file gives none (an empty argv
   * is not something every runtime handles) */
  if (d.hook.args == NULL && strv_push (&d.hook.args, d.hook.path) < 0)
    return no_memory (err);
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
    {
      free (e->v[i].name);
      free (e->v[i].path);
    }
  free (e->v);
}

static void
cleanup_entriesp (struct entries *e)
{
  entries_clear (e);
}
#define cleanup_entries __attribute__ ((cleanup (cleanup_entriesp)))

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
            return no_memory (err);
          continue;
        }
      if (entries_put (e, real, de->d_name) < 0)
        return no_memory (err);
    }
  return 0;
}

static void
cleanup_hook_setp (struct hook_set *s)
{
  hooks_set_clear (s);
}
#define cleanup_hook_set __attribute__ ((cleanup (cleanup_hook_setp)))

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
        return no_memory (err);
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
        return no_memory (err);
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
        return no_memory (err);
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

static void
cleanup_spec_hooksp (struct spec_hooks *h)
{
  spec_hooks_clear (h);
}
#define cleanup_spec_hooks __attribute__ ((cleanup (cleanup_spec_hooksp)))

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
          return no_memory (err);
    }
  *out = sel;
  sel = (struct spec_hooks){ 0 };
  return 0;
}
