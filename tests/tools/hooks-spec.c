/* hooks-spec: a test driver for tests/integration/test-hooks.sh, until the
 * runner passes hooks itself.  It loads hooks directories (hooks_load),
 * selects the hooks of a run (hooks_select) and puts them, with the given
 * annotations, into a bundle's config.json that the real runner wrote
 * (--keep-bundle).  The "hooks" and "annotations" objects are produced by
 * spec_generate, the runner's own generator, and grafted into the file in
 * place of any it had; everything else is copied unchanged.
 *
 *   hooks-spec [--hooks-dir DIR]... [--annotation KEY=VALUE]...
 *              [--script PATH] [--no-bind-mounts] CONFIG.json
 *
 * --script is the build script path "commands" match (default: the
 * config's process.args[1], the script the init runs).  Prints one line
 * "STAGE PATH" per injected hook, notes on stderr.  Exit 0, or 1 with one
 * line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "run/hooks.h"
#include "run/spec.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jsongen.h"
#include "util/strv.h"

static bool
is_grafted (const char *key)
{
  return strcmp (key, "hooks") == 0 || strcmp (key, "annotations") == 0;
}

/* config with its "hooks" and "annotations" replaced by those of extra. */
static char *
graft (yajl_val config, yajl_val extra)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return NULL;
  yajl_gen_status st = yajl_gen_map_open (g);
  for (size_t i = 0; st == yajl_gen_status_ok && i < config->u.object.len; i++)
    {
      const char *key = config->u.object.keys[i];
      if (is_grafted (key))
        continue;
      if ((st = gen_str (g, key)) == yajl_gen_status_ok)
        st = gen_json_value (g, config->u.object.values[i]);
    }
  for (size_t i = 0; st == yajl_gen_status_ok && i < extra->u.object.len; i++)
    {
      const char *key = extra->u.object.keys[i];
      if (!is_grafted (key))
        continue;
      if ((st = gen_str (g, key)) == yajl_gen_status_ok)
        st = gen_json_value (g, extra->u.object.values[i]);
    }
  if (st == yajl_gen_status_ok)
    st = yajl_gen_map_close (g);
  const unsigned char *buf = NULL;
  size_t len = 0;
  char *out = NULL;
  if (st == yajl_gen_status_ok
      && yajl_gen_get_buf (g, &buf, &len) == yajl_gen_status_ok)
    out = strndup ((const char *)buf, len);
  yajl_gen_free (g);
  return out;
}

static int die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("hooks-spec: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  return 1;
}

static int
run (char *const *dirs, char *const *annotations, const char *script,
     bool bind_mounts, const char *config_path)
{
  ohr_error_t err = NULL;
  cleanup_free char *data = NULL;
  if (fs_read_file (config_path, 16 << 20, &data, NULL, &err) < 0)
    {
      int r = die ("%s", err->msg);
      ohr_error_free (&err);
      return r;
    }
  char errbuf[256] = "";
  yajl_val config = yajl_tree_parse (data, errbuf, sizeof errbuf);
  if (config == NULL || !YAJL_IS_OBJECT (config))
    {
      yajl_tree_free (config);
      return die ("%s: not a JSON object: %s", config_path, errbuf);
    }
  const char *args_path[] = { "process", "args", NULL };
  yajl_val args = yajl_tree_get (config, args_path, yajl_t_array);
  if (script == NULL && args && args->u.array.len > 1
      && YAJL_IS_STRING (args->u.array.values[1]))
    script = args->u.array.values[1]->u.string;

  struct hook_set set = { 0 };
  struct spec_hooks sel = { 0 };
  char *json = NULL, *merged = NULL;
  yajl_val extra = NULL;
  int rc = 1;
  struct hook_context ctx = {
    .script = script,
    .annotations = annotations,
    .has_bind_mounts = bind_mounts,
  };
  if (hooks_load (dirs, &set, &err) < 0
      || hooks_select (&set, &ctx, &sel, &err) < 0)
    goto out;
  for (size_t i = 0; set.notes && set.notes[i]; i++)
    fprintf (stderr, "hooks-spec: %s\n", set.notes[i]);
  /* the runner's generator, on a minimal spec: only the two objects are
   * taken from it */
  char *min_args[] = { "/x", NULL };
  struct spec_input in = {
    .rootfs = "/",
    .args = min_args,
    .cwd = "/",
    .hooks = &sel,
    .annotations = annotations,
  };
  if (spec_generate (&in, &json, NULL, &err) < 0)
    goto out;
  extra = yajl_tree_parse (json, errbuf, sizeof errbuf);
  if (extra == NULL)
    {
      die ("generated spec does not parse: %s", errbuf);
      goto out;
    }
  if ((merged = graft (config, extra)) == NULL)
    {
      die ("cannot generate the merged config");
      goto out;
    }
  if (fs_write_atomic (config_path, merged, strlen (merged), 0644, false, &err)
      < 0)
    goto out;
  for (int s = 0; s < HOOK_N_STAGES; s++)
    for (size_t i = 0; i < sel.stages[s].n; i++)
      printf ("%s %s\n", hooks_stage_name ((enum hook_stage)s),
              sel.stages[s].v[i].path);
  rc = 0;
out:
  if (err)
    {
      die ("%s", err->msg);
      ohr_error_free (&err);
    }
  yajl_tree_free (extra);
  yajl_tree_free (config);
  free (json);
  free (merged);
  spec_hooks_clear (&sel);
  hooks_set_clear (&set);
  return rc;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "hooks-dir", required_argument, NULL, 'd' },
    { "annotation", required_argument, NULL, 'a' },
    { "script", required_argument, NULL, 's' },
    { "no-bind-mounts", no_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_strv char **dirs = NULL;
  cleanup_strv char **annotations = NULL;
  const char *script = NULL;
  bool bind_mounts = true;
  int c;
  while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        if (strv_push (&dirs, optarg) < 0)
          return die ("out of memory");
        break;
      case 'a':
        if (strv_push (&annotations, optarg) < 0)
          return die ("out of memory");
        break;
      case 's':
        script = optarg;
        break;
      case 'n':
        bind_mounts = false;
        break;
      default:
        return die ("usage: hooks-spec [--hooks-dir DIR]... "
                    "[--annotation K=V]... [--script PATH] "
                    "[--no-bind-mounts] CONFIG.json");
      }
  if (optind + 1 != argc)
    return die ("usage: hooks-spec [options] CONFIG.json");
  return run (dirs, annotations, script, bind_mounts, argv[optind]);
}
