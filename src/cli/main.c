/* main.c: the command table.  Cargo calls us with options and a build
 * script path, so anything that is not a command name is run mode. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/dispatch.h"
#include "cli/exitcodes.h"
#include "cli/options.h"
#include "util/cleanup.h"
#include "util/helper-exe.h"
#include "util/version.h"

struct command
{
  const char *name;
  int (*fn) (int argc, char **argv, ohr_error_t *err);
  const char *summary;
};

static int
cmd_help (int argc, char **argv, ohr_error_t *err)
{
  (void)argc, (void)argv, (void)err;
  fputs (options_usage, stdout);
  return 0;
}

static int
cmd_version (int argc, char **argv, ohr_error_t *err)
{
  (void)argc, (void)argv, (void)err;
  printf ("oci-host-runner %s\n", OHR_VERSION);
  return 0;
}

/* Become the helper name (helper-exe.h) with args, whose args[0] is
 * left for its path. */
static int
exec_helper (const char *name, const char *env_var, char **args,
             ohr_error_t *err)
{
  cleanup_free char *helper = NULL;
  if (helper_exe_find (name, env_var, &helper, err) < 0)
    return -1;
  args[0] = helper;
  execv (helper, args);
  return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot execute '%s'",
                          helper);
}

/* The store commands run in oci-host-runner-store, so that this binary
 * (exec'd for every build script) never loads libostree or libcurl. */
static int
cmd_store (int argc, char **argv, ohr_error_t *err)
{
  cleanup_free char **args = calloc ((size_t)argc + 2, sizeof *args);
  if (args == NULL)
    return ohr_error_nomem (err);
  memcpy (args + 1, argv, (size_t)argc * sizeof *argv);
  return exec_helper ("oci-host-runner-store", "OCI_HOST_RUNNER_STORE", args,
                      err);
}

/* Attestations run in oci-host-runner-attest (it needs libcrypto):
 * `attest verify|keygen|bundle|record ...` and `verify STATEMENT`. */
static int
cmd_attest (int argc, char **argv, ohr_error_t *err)
{
  bool attest = strcmp (argv[0], "attest") == 0;
  if (attest && argc < 2)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "usage: oci-host-runner attest "
                          "verify|keygen|bundle|record ARGS (see "
                          "oci-host-runner attest verify --help)");
  cleanup_free char **args = calloc ((size_t)argc + 2, sizeof *args);
  if (args == NULL)
    return ohr_error_nomem (err);
  /* `attest X ARGS` is the helper's X, but for `attest verify`: its
   * attest-verify (the helper's verify is the runner's `verify`) */
  int skip = attest ? 1 : 0;
  memcpy (args + 1, argv + skip, (size_t)(argc - skip) * sizeof *argv);
  if (attest && strcmp (argv[1], "verify") == 0)
    args[1] = "attest-verify";
  return exec_helper ("oci-host-runner-attest", "OCI_HOST_RUNNER_ATTEST", args,
                      err);
}

static const struct command commands[] = {
  { "attest", cmd_attest, "attestations: verify, keygen, bundle, record" },
  { "verify", cmd_attest, "re-run a build script and compare its outputs" },
  { "run", cmd_run, "run a build script (the default)" },
  { "doctor", cmd_doctor, "check that build scripts can run here" },
  { "pull", cmd_store, "fetch an image into the store" },
  { "import", cmd_store, "import an OCI layout or archive" },
  { "images", cmd_store, "list stored images" },
  { "inspect", cmd_store, "show a stored image" },
  { "rm", cmd_store, "remove a stored image" },
  { "gc", cmd_store, "drop unreferenced objects" },
  { "cache", cmd_store, "the build-script result cache: stats, gc, rm" },
  { "help", cmd_help, "show help" },
  { "version", cmd_version, "show the version" },
};

int
main (int argc, char **argv)
{
  const struct command *cmd = CLI_FIND (commands, argv[1], NULL);
  ohr_error_t err = NULL;
  int r
      = cmd ? cmd->fn (argc - 1, argv + 1, &err) : cmd_run (argc, argv, &err);
  return cli_finish ("oci-host-runner", r, &err, ohr_exit_code_for);
}
