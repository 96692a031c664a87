/* dispatch.c: see dispatch.h */
#define _GNU_SOURCE
#include "cli/dispatch.h"

#include <errno.h>
#include <string.h>

#include "cli/exitcodes.h"
#include "util/strv.h"

const void *
cli_find (const void *table, size_t n, size_t size, const char *name,
          ohr_error_t *err)
{
  for (size_t i = 0; name && i < n; i++)
    {
      const void *entry = (const char *)table + i * size;
      if (strcmp (*(const char *const *)entry, name) == 0)
        return entry;
    }
  if (err)
    ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                   "unknown command '%s' (see --help)", name ? name : "");
  return NULL;
}

/* argv[1] is missing or asks for help (--help, -h, help): usage goes to
 * stderr (missing) or stdout (asked), and *out_code is the exit code. */
static bool
help_asked (int argc, char **argv, void (*usage) (FILE *), int *out_code)
{
  if (argc >= 2 && strcmp (argv[1], "--help") != 0
      && strcmp (argv[1], "-h") != 0 && strcmp (argv[1], "help") != 0)
    return false;
  usage (argc < 2 ? stderr : stdout);
  *out_code = argc < 2 ? OHR_EXIT_USAGE : 0;
  return true;
}

int
cli_parse_options (int argc, char **argv, const char *shortopts,
                   const struct option *longopts, cli_option_fn *apply,
                   void *ctx, char ***args, ohr_error_t *err)
{
  optind = 0;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, shortopts, longopts, NULL)) != -1)
    {
      if (c == '?' || c == ':')
        return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                              "unknown option or missing value: '%s'",
                              argv[optind - 1]);
      if (apply (c, optarg, ctx, err) < 0)
        return -1;
    }
  for (int i = optind; i < argc; i++)
    if (strv_push (args, argv[i]) < 0)
      return ohr_error_nomem (err);
  return 0;
}

int
cli_check_args (char *const *args, int min, int max, const char *prog,
                const char *usage, ohr_error_t *err)
{
  size_t n = strv_len (args);
  if (n < (size_t)min || n > (size_t)max)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "usage: %s %s", prog,
                          usage);
  return 0;
}

int
cli_finish (const char *prog, int r, ohr_error_t *err,
            int (*exit_code) (enum ohr_error_kind))
{
  if (*err)
    fprintf (stderr, "%s: %s\n", prog, (*err)->msg);
  else if (r < 0)
    fprintf (stderr, "%s: unknown error\n", prog);
  int code = r >= 0 ? r : *err ? exit_code ((*err)->kind) : OHR_EXIT_RUNTIME;
  ohr_error_free (err);
  return code;
}

int
cli_helper_main (const struct cli_helper *h, int argc, char **argv)
{
  int code;
  if (help_asked (argc, argv, h->usage, &code))
    return code;
  ohr_error_t err = NULL;
  const void *command
      = cli_find (h->commands, h->n_commands, h->command_size, argv[1], &err);
  int r = command ? h->run (command, argc - 1, argv + 1, &err) : -1;
  return cli_finish (h->name, r, &err, h->exit_code);
}

int
ohr_exit_code_for (enum ohr_error_kind kind)
{
  switch (kind)
    {
    case OHR_ERR_USAGE:
      return OHR_EXIT_USAGE;
    case OHR_ERR_CONTEXT:
      return OHR_EXIT_CONTEXT;
    case OHR_ERR_IMAGE:
      return OHR_EXIT_IMAGE;
    case OHR_ERR_POLICY:
      return OHR_EXIT_POLICY;
    case OHR_ERR_NOEXEC:
      return OHR_EXIT_NOEXEC;
    case OHR_ERR_NOTFOUND:
      return OHR_EXIT_NOTFOUND;
    case OHR_ERR_RUNTIME:
    case OHR_ERR_INTERNAL:
    default:
      return OHR_EXIT_RUNTIME;
    }
}
