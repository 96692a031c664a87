/* cmd-doctor.c: `oci-host-runner doctor [--json] [--cargo] [RUN OPTIONS]
 * [-- CARGO ARGS]`.
 *
 * Checks this environment (typically a Kubernetes pod) with the same
 * options and OCI_HOST_RUNNER_* variables run mode would use, prints one
 * line per check, and exits 0 only when a build script can run in this
 * configuration (a degraded mode counts only when it is switched on).
 * --cargo also checks that `cargo build` here calls the runner at all: a
 * configuration that leaves host.runner unread fails silently otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "doctor/doctor.h"
#include "util/cleanup.h"

extern char **environ;

static const char doctor_usage[]
    = "Usage: oci-host-runner doctor [--json] [--cargo] [RUN OPTIONS] [--\n"
      "                               CARGO ARGS]\n"
      "\n"
      "Check whether build scripts can run here, and if not, which setting\n"
      "is missing (a pod's securityContext, a node sysctl, a volume).  One\n"
      "line per check:\n"
      "  ok   CHECK: DETAIL\n"
      "  warn CHECK: DETAIL; fix: ...   (runs, with less isolation or no "
      "limits)\n"
      "  FAIL CHECK: DETAIL; fix: ...   (cannot run until fixed)\n"
      "and a verdict line listing the missing settings.\n"
      "\n"
      "RUN OPTIONS are run mode's (--runtime, --image, --store, --cache-dir,\n"
      "--state-dir, --network, --degraded, ...; see oci-host-runner --help),\n"
      "and so are the OCI_HOST_RUNNER_* variables.\n"
      "\n"
      "  --json     a JSON array of {check, status, detail, fix} instead\n"
      "  --cargo    also check that `cargo build` in this directory calls\n"
      "             the runner: builds a throwaway crate with a build script\n"
      "             under your Cargo configuration (.cargo/config.toml from\n"
      "             here up, $CARGO_HOME/config.toml, CARGO_* variables,\n"
      "             RUSTC_BOOTSTRAP) and CARGO ARGS (the -Z and --config\n"
      "             flags you give cargo), and says why not: RUSTC_BOOTSTRAP\n"
      "             missing on stable, host.runner unset, -Zhost-config or\n"
      "             -Ztarget-applies-to-host off, a key in the wrong table\n"
      "  -h, --help show this help\n"
      "\n"
      "Exit status: 0 when a build script can run in this configuration\n"
      "(with --degraded proc, when that mode works here; with --cargo, and\n"
      "cargo calls the runner), 1 when it cannot, 121 for a bad option.\n";

int
cmd_doctor (int argc, char **argv, ohr_error_t *err)
{
  bool json = false, cargo = false;
  /* --json and --cargo are ours, and with --cargo what follows "--" is
   * cargo's; everything else is run mode's */
  cleanup_free char **args = calloc ((size_t)argc + 1, sizeof *args);
  if (args == NULL)
    return ohr_error_nomem (err);
  int n = 0, n_opts = 0;
  bool dashdash = false;
  char **cargo_args = NULL;
  for (int i = 0; i < argc; i++)
    {
      if (i > 0 && !dashdash && strcmp (argv[i], "--json") == 0)
        {
          json = true;
          continue;
        }
      if (i > 0 && !dashdash && strcmp (argv[i], "--cargo") == 0)
        {
          cargo = true;
          continue;
        }
      if (strcmp (argv[i], "--") == 0 && !dashdash)
        {
          dashdash = true;
          cargo_args = argv + i + 1;
          n_opts = n;
        }
      args[n++] = argv[i];
    }
  if (cargo && cargo_args)
    {
      /* run mode's parser sees no "--" and what follows */
      n = n_opts;
      args[n] = NULL;
    }
  struct run_options o;
  if (options_parse (n, args, environ, &o, err) < 0)
    return ohr_error_wrap (err, "doctor");
  if (o.help)
    {
      options_clear (&o);
      fputs (doctor_usage, stdout);
      return 0;
    }
  if (o.command && o.command[0])
    {
      int r = ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                             "doctor: unexpected argument '%s' (see "
                             "oci-host-runner doctor --help)",
                             o.command[0]);
      options_clear (&o);
      return r;
    }
  struct doctor_facts f;
  struct doctor_report rep;
  int r = doctor_probe (&o, &f, err);
  options_clear (&o);
  if (r < 0)
    return -1;
  if (cargo && doctor_probe_cargo (cargo_args, &f.cargo, err) < 0)
    {
      doctor_facts_clear (&f);
      return -1;
    }
  r = doctor_evaluate (&f, &rep, err);
  doctor_facts_clear (&f);
  if (r < 0)
    return -1;
  if (json)
    {
      cleanup_free char *text = NULL;
      size_t len = 0;
      if (doctor_report_json (&rep, &text, &len, err) < 0)
        {
          doctor_report_clear (&rep);
          return -1;
        }
      fwrite (text, 1, len, stdout);
      if (len == 0 || text[len - 1] != '\n')
        fputc ('\n', stdout);
    }
  else
    for (size_t i = 0; i < rep.n; i++)
      {
        cleanup_free char *line = doctor_format_line (&rep.v[i]);
        if (line)
          puts (line);
      }
  fflush (stdout);
  int code = rep.can_run ? 0 : 1;
  doctor_report_clear (&rep);
  return code;
}
