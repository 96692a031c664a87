/* main.c: the command table.  Cargo calls us with options and a build
 * script path, so anything that is not a command name is run mode. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exitcodes.h"
#include "cli/options.h"
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

/* The store commands run in oci-host-runner-store, so that this binary
 * (exec'd for every build script) never loads libostree or libcurl. */
static int
cmd_store (int argc, char **argv, ohr_error_t *err)
{
  char *helper = NULL;
  if (helper_exe_find ("oci-host-runner-store", "OCI_HOST_RUNNER_STORE",
                       &helper, err)
      < 0)
    return -1;
  char **args = calloc ((size_t)argc + 2, sizeof *args);
  if (args == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "exec");
  args[0] = helper;
  for (int i = 0; i < argc; i++)
    args[i + 1] = argv[i];
  execv (helper, args);
  int e = errno;
  free (args);
  return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot execute '%s'",
                          helper);
}

/* Attestations run in oci-host-runner-attest (it needs libcrypto):
 * `attest verify|keygen|bundle|record ...` and `verify STATEMENT`. */
static int
cmd_attest (int argc, char **argv, ohr_error_t *err)
{
  char *helper = NULL;
  if (helper_exe_find ("oci-host-runner-attest", "OCI_HOST_RUNNER_ATTEST",
                       &helper, err)
      < 0)
    return -1;
  char **args = calloc ((size_t)argc + 2, sizeof *args);
  if (args == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "exec");
  args[0] = helper;
  int n = 1;
  if (strcmp (argv[0], "attest") == 0)
    {
      if (argc < 2)
        return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                              "usage: oci-host-runner attest "
                              "verify|keygen|bundle|record ARGS (see "
                              "oci-host-runner attest verify --help)");
      args[n++] = strcmp (argv[1], "verify") == 0 ? "attest-verify" : argv[1];
      for (int i = 2; i < argc; i++)
        args[n++] = argv[i];
    }
  else
    for (int i = 0; i < argc; i++)
      args[n++] = argv[i];
  execv (helper, args);
  int e = errno;
  free (args);
  return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot execute '%s'",
                          helper);
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
  { "help", cmd_help, "show help" },
  { "version", cmd_version, "show the version" },
};

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

int
main (int argc, char **argv)
{
  const struct command *cmd = NULL;
  if (argc > 1)
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
      if (strcmp (argv[1], commands[i].name) == 0)
        cmd = &commands[i];
  ohr_error_t err = NULL;
  int r
      = cmd ? cmd->fn (argc - 1, argv + 1, &err) : cmd_run (argc, argv, &err);
  if (r >= 0)
    return r;
  fprintf (stderr, "oci-host-runner: %s\n", err ? err->msg : "unknown error");
  int code = err ? ohr_exit_code_for (err->kind) : OHR_EXIT_RUNTIME;
  ohr_error_free (&err);
  return code;
}
