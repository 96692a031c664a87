/* store-main.c: oci-host-runner-store, the helper that owns the image
 * store.  Run mode never links libostree or libcurl (they cost ~11 ms per
 * exec); it execs this helper on a catalogue miss, and the pull, import,
 * images, inspect, rm and gc commands of oci-host-runner run here.
 *
 * Output is for people except `ensure` and `resolve`, which print one
 * digest for the runner to read.  Errors: one line on stderr, prefixed
 * "oci-host-runner-store: ", exit 123 (image), 121 (usage), 125 (other).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cache/maint.h"
#include "cache/memo.h"
#include "cli/cache-cmd.h"
#include "cli/dispatch.h"
#include "cli/exitcodes.h"
#include "cli/options.h"
#include "image/catalog.h"
#include "image/ref.h"
#include "policy/policy.h"
#include "store/pull.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

extern char **environ;

struct store_cli
{
  char *store_dir;
  char **insecure;
  uint64_t max_layer_size; /* 0: the store's default */
  char *max_size;          /* cache gc --max-size */
  bool help;
  char **args;
};

struct store_command
{
  const char *name;
  const char *usage;
  int (*fn) (struct store_cli *cli, ohr_error_t *err);
  int min_args, max_args;
};

static char *
default_store (void)
{
  const char *x = getenv ("XDG_CACHE_HOME");
  const char *home = getenv ("HOME");
  char *s = NULL;
  if (x && x[0] == '/')
    return asprintf (&s, "%s/oci-host-runner", x) < 0 ? NULL : s;
  return asprintf (&s, "%s/.cache/oci-host-runner", home ? home : "/") < 0
             ? NULL
             : s;
}

static int
store_option (int c, const char *arg, void *ctx, ohr_error_t *err)
{
  struct store_cli *cli = ctx;
  switch (c)
    {
    case 's':
      return options_set_string (&cli->store_dir, arg, err);
    case 'k':
      return strv_push (&cli->insecure, arg) < 0 ? ohr_error_nomem (err) : 0;
    case 'm':
      return options_set_string (&cli->max_size, arg, err);
    default:
      cli->help = true;
      return 0;
    }
}

/* OCI_HOST_RUNNER_MAX_LAYER_SIZE: the memory syntax of the policy ("512M",
 * "32G", bytes); unset or empty is the store's default. */
static int
max_layer_size (struct store_cli *cli, ohr_error_t *err)
{
  const char *v = getenv ("OCI_HOST_RUNNER_MAX_LAYER_SIZE");
  if (v == NULL || *v == '\0')
    return 0;
  if (policy_parse_size (v, &cli->max_layer_size) < 0
      || cli->max_layer_size == 0 || cli->max_layer_size == UINT64_MAX)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "OCI_HOST_RUNNER_MAX_LAYER_SIZE: '%.64s' is not a "
                          "size (bytes, or with K, M, G or T)",
                          v);
  return 0;
}

/* The options and variables, by run mode's rule (src/cli/options.h):
 * --store replaces OCI_HOST_RUNNER_STORE_DIR (then, as in run mode, the
 * cache directory holds the store), and --insecure-registry, given once
 * or more, replaces the list of OCI_HOST_RUNNER_INSECURE_REGISTRIES. */
static int
parse_cli (int argc, char **argv, struct store_cli *cli, ohr_error_t *err)
{
  static const struct option opts[]
      = { { "store", required_argument, NULL, 's' },
          { "insecure-registry", required_argument, NULL, 'k' },
          { "max-size", required_argument, NULL, 'm' },
          { "help", no_argument, NULL, 'h' },
          { NULL, 0, NULL, 0 } };
  if (cli_parse_options (argc, argv, "+h", opts, store_option, cli, &cli->args,
                         err)
      < 0)
    return -1;
  if (cli->insecure == NULL
      && options_env_list (environ, "OCI_HOST_RUNNER_INSECURE_REGISTRIES",
                           &cli->insecure, err)
             < 0)
    return -1;
  if (max_layer_size (cli, err) < 0)
    return -1;
  /* the same default as the runner's: the store lives in the cache */
  const char *env = getenv ("OCI_HOST_RUNNER_STORE_DIR");
  if (env == NULL || *env == '\0')
    env = getenv ("OCI_HOST_RUNNER_CACHE_DIR");
  if (cli->store_dir == NULL)
    cli->store_dir = env && *env ? strdup (env) : default_store ();
  return cli->store_dir ? 0 : ohr_error_nomem (err);
}

static void
fetch_opts (const struct store_cli *cli, struct fetch_options *o)
{
  o->store_dir = cli->store_dir;
  o->rootless = geteuid () != 0;
  o->insecure_hosts = cli->insecure;
  o->progress = isatty (STDERR_FILENO) && getenv ("CARGO") == NULL;
  o->max_layer_size = cli->max_layer_size;
}

/* A name as given, its canonical form, a pinned digest the store has, or
 * a name the catalogue knows (pinned names are recorded there). */
static int
resolve_name (const struct store_cli *cli, struct store *st, const char *text,
              char **out, ohr_error_t *err)
{
  struct imageref ref = { 0 };
  int r = -1;
  if (imageref_parse (text, &ref, NULL) == 0)
    {
      if (store_resolve (st, ref.canonical, out, NULL) == 0)
        r = 0;
      else if (ref.digest && store_has_image (st, ref.digest))
        r = (*out = strdup (ref.digest)) ? 0 : -1;
      else if (catalog_lookup (cli->store_dir, ref.canonical, out, NULL) == 1)
        r = 0;
    }
  imageref_clear (&ref);
  return r == 0 ? 0 : store_resolve (st, text, out, err);
}

/* One pull at a time per store: a second `ensure` of the same image (cargo
 * runs build scripts in parallel) waits, then finds it prepared. */
static int
lock_pulls (const struct store_cli *cli, int *out_fd, ohr_error_t *err)
{
  cleanup_free char *path = fs_path_join (cli->store_dir, "pull.lock");
  /* 0700 from the first mkdir, as store_open makes it: checkouts keep the
   * image's files, for this user's runs only */
  if (path == NULL || fs_mkdir_p (cli->store_dir, 0700, err) < 0)
    return -1;
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot open '%s'",
                            path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        close (fd);
        return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot lock '%s'",
                                path);
      }
  *out_fd = fd;
  return 0;
}

/* Fetch and prepare the image cli->args[0] names, one pull at a time.
 * pull and import say what they fetched; ensure prints the digest alone,
 * for the runner to read. */
static int
pull (struct store_cli *cli, bool digest_only, ohr_error_t *err)
{
  struct imageref ref = { 0 };
  struct fetch_options o = { 0 };
  struct fetch_result res = { 0 };
  cleanup_close int lock = -1;
  fetch_opts (cli, &o);
  int r = lock_pulls (cli, &lock, err);
  if (r == 0)
    r = imageref_parse (cli->args[0], &ref, err);
  if (r == 0)
    r = fetch_ensure (&ref, &o, &res, err);
  if (r == 0 && digest_only)
    printf ("%s\n", res.manifest_digest);
  else if (r == 0)
    {
      for (size_t i = 0; res.refused && res.refused[i]; i++)
        fprintf (stderr, "oci-host-runner: refused layer entry %s\n",
                 res.refused[i]);
      printf ("%s %s (%d layers fetched, %d already stored)\n", ref.canonical,
              res.manifest_digest, res.layers_fetched, res.layers_present);
      if (res.pinned)
        printf ("pin it as: %s\n", res.pinned);
    }
  fetch_result_clear (&res);
  imageref_clear (&ref);
  return r;
}

static int
cmd_pull (struct store_cli *cli, ohr_error_t *err)
{
  return pull (cli, false, err);
}

static int
cmd_ensure (struct store_cli *cli, ohr_error_t *err)
{
  return pull (cli, true, err);
}

static int
cmd_resolve (struct store_cli *cli, ohr_error_t *err)
{
  struct imageref ref = { 0 };
  struct fetch_options o = { 0 };
  cleanup_free char *digest = NULL;
  fetch_opts (cli, &o);
  int r = imageref_parse (cli->args[0], &ref, err);
  if (r == 0)
    r = fetch_resolve_tag (&ref, &o, &digest, err);
  if (r == 0)
    printf ("%s\n", digest);
  imageref_clear (&ref);
  return r;
}

static char *
human_size (uint64_t n)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  double v = (double)n;
  size_t u = 0;
  while (v >= 1024 && u < 4)
    v /= 1024, u++;
  char *s = NULL;
  return asprintf (&s, u ? "%.1f %s" : "%.0f %s", v, units[u]) < 0 ? NULL : s;
}

/* The store of --store (or its variables), opened for a command. */
static int
open_store (const struct store_cli *cli, struct store **out, ohr_error_t *err)
{
  return store_open (cli->store_dir, geteuid () != 0, out, err);
}

static int
cmd_images (struct store_cli *cli, ohr_error_t *err)
{
  cleanup_store struct store *st = NULL;
  struct store_image *v = NULL;
  size_t n = 0;
  if (open_store (cli, &st, err) < 0 || store_list (st, &v, &n, err) < 0)
    return -1;
  printf ("%-50s %-20s %10s %10s\n", "NAME", "DIGEST", "SIZE", "SHARED");
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *size = human_size (v[i].size);
      cleanup_free char *shared = human_size (v[i].shared_size);
      printf ("%-50s %.19s %10s %10s\n", v[i].name ? v[i].name : "<none>",
              v[i].digest, size ? size : "?", shared ? shared : "?");
    }
  store_images_free (v, n);
  return 0;
}

static int
cmd_inspect (struct store_cli *cli, ohr_error_t *err)
{
  cleanup_store struct store *st = NULL;
  cleanup_free char *digest = NULL, *config = NULL;
  size_t len = 0;
  if (open_store (cli, &st, err) < 0
      || resolve_name (cli, st, cli->args[0], &digest, err) < 0
      || store_get_config (st, digest, &config, &len, err) < 0)
    return -1;
  printf ("{\"name\":\"%s\",\"digest\":\"%s\",\"config\":%.*s}\n",
          cli->args[0], digest, (int)len, config);
  return 0;
}

static int
cmd_rm (struct store_cli *cli, ohr_error_t *err)
{
  cleanup_store struct store *st = NULL;
  cleanup_free char *digest = NULL;
  if (open_store (cli, &st, err) < 0
      || resolve_name (cli, st, cli->args[0], &digest, err) < 0
      || store_remove (st, digest, err) < 0
      || catalog_forget (cli->store_dir, digest, err) < 0)
    return -1;
  cleanup_free char *cfg = catalog_config_path (cli->store_dir, digest);
  if (cfg)
    unlink (cfg);
  printf ("removed %s\n", digest);
  return 0;
}

static int
cmd_gc (struct store_cli *cli, ohr_error_t *err)
{
  cleanup_store struct store *st = NULL;
  struct store_gc_stats stats = { 0 };
  if (open_store (cli, &st, err) < 0 || store_gc (st, &stats, err) < 0)
    return -1;
  cleanup_free char *freed = human_size (stats.bytes_freed);
  printf ("removed %d objects (%s) and %d checkouts\n", stats.objects_removed,
          freed ? freed : "?", stats.checkouts_removed);
  return 0;
}

static int
cmd_result_get (struct store_cli *cli, ohr_error_t *err)
{
  return cache_cmd_get (cli->store_dir, cli->args, err);
}

static int
cmd_result_put (struct store_cli *cli, ohr_error_t *err)
{
  return cache_cmd_put (cli->store_dir, cli->args, err);
}

/* cache stats | cache gc --max-size SIZE | cache rm KEY: the result
 * cache's local store (src/cache/maint.h). */
static int
cmd_cache (struct store_cli *cli, ohr_error_t *err)
{
  const char *what = cli->args[0];
  cleanup_store struct store *st = NULL;
  if (strcmp (what, "stats") == 0 && cli->args[1] == NULL)
    {
      struct cache_stats cs;
      if (open_store (cli, &st, err) < 0
          || cache_maint_stats (st, &cs, err) < 0)
        return -1;
      cleanup_free char *size = human_size (cs.bytes);
      printf ("entries: %zu\nsize: %s\nhits: %" PRIu64 "\nmisses: %" PRIu64
              " (%" PRIu64 " stored)\ntime saved: %.1f s\n",
              cs.entries, size ? size : "?", cs.hits, cs.misses, cs.stored,
              (double)cs.saved_ns / 1e9);
      return 0;
    }
  /* gc's option may follow it: the helper's options stop at the first
   * operand */
  if (strcmp (what, "gc") == 0 && cli->args[1]
      && strncmp (cli->args[1], "--max-size", 10) == 0)
    {
      const char *v = cli->args[1][10] == '='    ? cli->args[1] + 11
                      : cli->args[1][10] == '\0' ? cli->args[2]
                                                 : NULL;
      if (v
          && (cli->args[1][10] == '=' ? cli->args[2] == NULL
                                      : cli->args[3] == NULL)
          && options_set_string (&cli->max_size, v, err) < 0)
        return -1;
      for (size_t i = 1; cli->args[i]; i++)
        free (cli->args[i]);
      cli->args[1] = NULL;
    }
  if (strcmp (what, "gc") == 0 && cli->args[1] == NULL)
    {
      uint64_t max = 0, freed = 0;
      size_t removed = 0;
      if (cli->max_size == NULL || policy_parse_size (cli->max_size, &max) < 0
          || max == UINT64_MAX)
        return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                              "cache gc: give --max-size SIZE (bytes, or "
                              "with K, M, G or T)");
      if (open_store (cli, &st, err) < 0
          || cache_maint_gc (st, max, &removed, &freed, err) < 0)
        return -1;
      cleanup_free char *f = human_size (freed);
      printf ("removed %zu results (%s)\n", removed, f ? f : "?");
      /* the memo's shards of trees no run has walked for a while */
      cleanup_free char *dir = fs_path_join (store_dir (st), CACHE_MEMO_DIR);
      cleanup_free char *legacy
          = fs_path_join (store_dir (st), CACHE_MEMO_LEGACY);
      size_t pruned = 0;
      if (dir == NULL || legacy == NULL)
        return ohr_error_nomem (err);
      if (memo_prune (dir, legacy, MEMO_UNUSED_S, &pruned, err) < 0)
        return -1;
      if (pruned)
        printf ("removed %zu memo files unused for %d days\n", pruned,
                (int)(MEMO_UNUSED_S / 86400));
      return 0;
    }
  if (strcmp (what, "rm") == 0 && cli->args[1] && cli->args[2] == NULL)
    {
      char hex[65];
      if (open_store (cli, &st, err) < 0
          || cache_maint_rm (st, cli->args[1], hex, err) < 0)
        return -1;
      printf ("removed %s (its objects go with the next gc)\n", hex);
      return 0;
    }
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                        "usage: oci-host-runner cache stats | gc --max-size "
                        "SIZE | rm KEY");
}

static const struct store_command commands[] = {
  { "pull", "pull REF: fetch REGISTRY/REPO[:TAG|@DIGEST] into the store",
    cmd_pull, 1, 1 },
  { "import", "import oci:PATH[:TAG] | oci-archive:FILE[:TAG]", cmd_pull, 1,
    1 },
  { "images", "images: list stored images with size and shared size",
    cmd_images, 0, 0 },
  { "inspect", "inspect REF: the image's digest and config as JSON",
    cmd_inspect, 1, 1 },
  { "rm", "rm REF: remove an image (objects go with the next gc)", cmd_rm, 1,
    1 },
  { "gc", "gc: drop unreferenced objects and stale checkouts", cmd_gc, 0, 0 },
  { "ensure", "ensure REF: fetch and prepare REF, print its digest",
    cmd_ensure, 1, 1 },
  { "resolve", "resolve REF: print the digest a tag points to", cmd_resolve, 1,
    1 },
  { "cache",
    "cache stats | gc --max-size SIZE | rm KEY: the build-script result "
    "cache",
    cmd_cache, 1, 3 },
  { "result-get",
    "result-get REQUEST OUT_DIR DIR: look up a build-script "
    "result (run mode)",
    cmd_result_get, 3, 3 },
  { "result-put",
    "result-put KEY OUT_DIR DIR START_NS END_NS: store one "
    "(run mode)",
    cmd_result_put, 5, 5 },
};

static int
exit_code (enum ohr_error_kind kind)
{
  return kind == OHR_ERR_USAGE   ? OHR_EXIT_USAGE
         : kind == OHR_ERR_IMAGE ? OHR_EXIT_IMAGE
                                 : OHR_EXIT_RUNTIME;
}

static void
usage (FILE *f)
{
  fprintf (f, "Usage: oci-host-runner COMMAND [--store DIR] "
              "[--insecure-registry HOST]... [ARGS]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf (f, "  %s\n", commands[i].usage);
  fprintf (f,
           "\nThe store: --store, else OCI_HOST_RUNNER_STORE_DIR, else "
           "OCI_HOST_RUNNER_CACHE_DIR,\nelse "
           "$XDG_CACHE_HOME/oci-host-runner (~/.cache/oci-host-runner).\n"
           "Plain http: loopback registries, and those of "
           "--insecure-registry\n(repeatable; it replaces "
           "OCI_HOST_RUNNER_INSECURE_REGISTRIES, comma-separated).\n"
           "A layer larger than OCI_HOST_RUNNER_MAX_LAYER_SIZE uncompressed "
           "(default 16G)\nis refused.\n"
           "Exit status: 0, 121 usage, 123 image (not found, pull failed, "
           "digest\nmismatch, layer too large), 125 other.\n");
}

/* One command: its options and operands (or --help), then the command. */
static int
run_command (const void *command, int argc, char **argv, ohr_error_t *err)
{
  const struct store_command *cmd = command;
  struct store_cli cli = { 0 };
  int r = parse_cli (argc, argv, &cli, err);
  if (r == 0 && cli.help)
    printf ("Usage: oci-host-runner %s\n", cmd->usage);
  else if (r == 0
           && (r = cli_check_args (cli.args, cmd->min_args, cmd->max_args,
                                   "oci-host-runner", cmd->usage, err))
                  == 0)
    r = cmd->fn (&cli, err);
  free (cli.store_dir);
  free (cli.max_size);
  strv_free (cli.insecure);
  strv_free (cli.args);
  return r;
}

int
main (int argc, char **argv)
{
  static const struct cli_helper helper = CLI_HELPER (
      "oci-host-runner-store", usage, commands, run_command, exit_code);
  return cli_helper_main (&helper, argc, argv);
}
