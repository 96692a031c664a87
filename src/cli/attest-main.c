/* attest-main.c: oci-host-runner-attest, the helper that turns run records
 * into signed reproducibility attestations and checks them.  It links
 * libcrypto; run mode never does, and starts this helper only with
 * --attest (after the build script ran).
 *
 * Output is for people, except `record`, whose first line is the path of
 * the statement.  Errors: one line on stderr, prefixed
 * "oci-host-runner-attest: ".  Exit status: 0, 1 verification failed (a
 * bad signature, outputs that differ), 121 usage, 125 other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/attest.h"
#include "attest/record.h"
#include "cli/dispatch.h"
#include "cli/exitcodes.h"
#include "cli/options.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/helper-exe.h"
#include "util/strv.h"

#define PROG "oci-host-runner-attest"
#define EXIT_DIFFERENT 1

/* Which options a command takes. */
enum
{
  OPT_KEY = 1 << 0,
  OPT_OUT = 1 << 1,
  OPT_RUNNER = 1 << 2,
  OPT_KEEP = 1 << 3,
};

struct attest_cli
{
  char *key;
  char *out;
  char *runner;
  bool keep;
  bool help;
  unsigned given; /* OPT_* seen */
  char **args;
};

struct attest_command
{
  const char *name;
  const char *usage;
  const char *help;
  /* 0 ok, 1 verification failed (differences printed, or *err says
   * why), negative with *err on errors */
  int (*fn) (struct attest_cli *cli, ohr_error_t *err);
  int min_args, max_args;
  unsigned opts;
};

static const char *const option_names[]
    = { "--key", "--out", "--runner", "--keep" };

static int
attest_option (int c, const char *arg, void *ctx, ohr_error_t *err)
{
  struct attest_cli *cli = ctx;
  char **slot = NULL;
  switch (c)
    {
    case 'k':
      slot = &cli->key;
      cli->given |= OPT_KEY;
      break;
    case 'o':
      slot = &cli->out;
      cli->given |= OPT_OUT;
      break;
    case 'r':
      slot = &cli->runner;
      cli->given |= OPT_RUNNER;
      break;
    case 'K':
      cli->keep = true;
      cli->given |= OPT_KEEP;
      return 0;
    default:
      cli->help = true;
      return 0;
    }
  return options_set_string (slot, arg, err);
}

static const struct option attest_options[]
    = { { "key", required_argument, NULL, 'k' },
        { "out", required_argument, NULL, 'o' },
        { "runner", required_argument, NULL, 'r' },
        { "keep", no_argument, NULL, 'K' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };

/* ---- output of differences */

static void
print_line (const char *label, long line, const char *text)
{
  printf ("  line %ld, %s %s\n", line, label, text ? text : "(end of file)");
}

static void
print_diffs (const struct attest_diffs *d)
{
  for (size_t i = 0; i < d->n; i++)
    {
      const struct attest_diff *x = &d->v[i];
      switch (x->kind)
        {
        case ATTEST_DIFF_MISSING:
          printf ("missing: %s\n", x->name);
          if (x->note)
            printf ("  (%s)\n", x->note);
          continue;
        case ATTEST_DIFF_EXTRA:
          printf ("extra: %s\n", x->name);
          continue;
        case ATTEST_DIFF_STATUS:
          printf ("exit status: recorded %d, now %d\n", x->old_status,
                  x->new_status);
          continue;
        case ATTEST_DIFF_CHANGED:
          printf ("changed: %s\n", x->name);
          break;
        }
      if (x->line > 0)
        {
          print_line ("recorded:", x->line, x->old_line);
          print_line ("now:     ", x->line, x->new_line);
        }
      if (x->note)
        printf ("  (%s)\n", x->note);
      if (x->hints & ATTEST_HINT_PATH)
        printf ("  hint: absolute path: the output embeds its OUT_DIR path, "
                "which differs between builds (write paths relative to "
                "OUT_DIR, or run with --paths canonical)\n");
      if (x->hints & ATTEST_HINT_TIMESTAMP)
        printf ("  hint: timestamp: the output embeds the time of the build "
                "(leave it out, or use SOURCE_DATE_EPOCH)\n");
      if (x->hints & ATTEST_HINT_ORDER)
        printf ("  hint: random order: the same lines in another order "
                "(sort them: hash map iteration order changes between "
                "runs)\n");
    }
}

/* ---- commands */

static int
cmd_record (struct attest_cli *cli, ohr_error_t *err)
{
  const char *key = cli->key;
  const char *env = getenv (ATTEST_KEY_ENV);
  if (key == NULL && env && *env)
    key = env;
  cleanup_free char *statement = NULL, *envelope = NULL;
  if (attest_record (cli->args[0], key, &statement, &envelope, err) < 0)
    return -1;
  printf ("%s\n", statement);
  if (envelope)
    printf ("%s\n", envelope);
  return 0;
}

static int
cmd_keygen (struct attest_cli *cli, ohr_error_t *err)
{
  const char *prefix = cli->out ? cli->out : PROG;
  cleanup_free char *keyid = NULL;
  if (attest_keygen (prefix, &keyid, err) < 0)
    return -1;
  printf ("private key: %s.key (keep it secret)\npublic key: %s.pub\n"
          "keyid: %s\n",
          prefix, prefix, keyid);
  return 0;
}

static int
cmd_attest_verify (struct attest_cli *cli, ohr_error_t *err)
{
  const char *file = cli->args[0];
  cleanup_free char *data = NULL, *payload = NULL, *reason = NULL;
  size_t len = 0, plen = 0;
  bool envelope = false, valid = false;
  if (attest_load (file, &payload, &plen, &envelope, err) < 0)
    return -1;
  if (envelope && cli->key == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "'%s' is a signed envelope: give --key PUB.pem",
                          file);
  if (!envelope && cli->key)
    {
      ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                     "'%s' is not signed (a statement, not a DSSE envelope)",
                     file);
      return EXIT_DIFFERENT;
    }
  if (envelope)
    {
      free (steal_pointer (&payload));
      if (fs_read_file (file, ATTEST_MAX_SIZE, &data, &len, err) < 0
          || attest_dsse_open (data, len, cli->key, &payload, &plen, &valid,
                               &reason, err)
                 < 0)
        return -1;
      if (!valid)
        {
          ohr_error_set (err, EPERM, OHR_ERR_INTERNAL,
                         "'%s': signature verification failed: %s", file,
                         reason ? reason : "bad signature");
          return EXIT_DIFFERENT;
        }
    }
  struct attest_statement st = { 0 };
  if (attest_statement_parse (payload, plen, file, &st, err) < 0)
    return -1;
  cleanup_free char *record_path = attest_record_path (file, &st);
  cleanup_free char *record_dir = NULL;
  struct runrecord rr = { 0 };
  struct attest_diffs d = { 0 };
  int r = record_path ? 0 : ohr_error_nomem (err);
  if (r == 0)
    r = runrecord_read (record_path, &rr, err);
  if (r == 0)
    {
      record_dir = strdup (record_path);
      *strrchr (record_dir, '/') = '\0';
      r = attest_check_subjects (&st, &rr, record_dir, &d, err);
    }
  if (r == 0)
    {
      print_diffs (&d);
      if (d.n == 0)
        printf ("OK: %s%zu subjects match\n",
                envelope ? "signature verified, " : "", st.subjects.n);
      else
        printf ("FAILED: %zu differences\n", d.n);
      r = d.n ? EXIT_DIFFERENT : 0;
    }
  attest_diffs_clear (&d);
  runrecord_clear (&rr);
  attest_statement_clear (&st);
  return r;
}

static int
cmd_bundle (struct attest_cli *cli, ohr_error_t *err)
{
  cleanup_free char *path
      = cli->out ? strdup (cli->out)
                 : fs_path_join (cli->args[0], "bundle.intoto.jsonl");
  size_t n = 0;
  if (path == NULL)
    return ohr_error_nomem (err);
  if (attest_bundle (cli->args[0], path, &n, err) < 0)
    return -1;
  printf ("%s (%zu statements)\n", path, n);
  return 0;
}

/* oci-host-runner beside this binary (build tree), or in ../../bin from
 * libexec/oci-host-runner/ (installed). */
static char *
default_runner (ohr_error_t *err)
{
  cleanup_free char *self = NULL;
  if (helper_exe_self_dir (&self, err) < 0)
    return NULL;
  static const char *const rel[]
      = { "oci-host-runner", "../../bin/oci-host-runner" };
  for (size_t i = 0; i < 2; i++)
    {
      char *p = fs_path_join (self, rel[i]);
      if (p && access (p, X_OK) == 0)
        return p;
      free (p);
    }
  ohr_error_set (err, ENOENT, OHR_ERR_USAGE,
                 "no oci-host-runner beside '%s': give --runner PATH", self);
  return NULL;
}

static int
cmd_verify (struct attest_cli *cli, ohr_error_t *err)
{
  cleanup_free char *runner
      = cli->runner ? strdup (cli->runner) : default_runner (err);
  if (runner == NULL)
    return -1;
  struct attest_rerun_options o = { .runner = runner, .keep = cli->keep };
  struct attest_rerun r = { 0 };
  if (attest_rerun (cli->args[0], &o, &r, err) < 0)
    return -1;
  for (size_t i = 0; r.notes && r.notes[i]; i++)
    printf ("note: %s\n", r.notes[i]);
  if (cli->keep)
    printf ("kept: %s\n", r.tmp);
  print_diffs (&r.diffs);
  if (r.diffs.n == 0)
    printf ("reproducible: %zu outputs match\n", r.n_compared);
  else
    printf ("not reproducible: %zu differences in %zu outputs\n", r.diffs.n,
            r.n_compared);
  int rc = r.diffs.n ? EXIT_DIFFERENT : 0;
  attest_rerun_clear (&r);
  return rc;
}

static const struct attest_command commands[] = {
  { "record", "record RUN.json [--key PRIV.pem]",
    "Write the in-toto statement of a run record beside it\n"
    "(<package>-<version>-<id>.intoto.json) and print its path.  With a\n"
    "key (--key, or $" ATTEST_KEY_ENV ") also a signed DSSE envelope\n"
    "(<...>.dsse.json), whose path follows.\n",
    cmd_record, 1, 1, OPT_KEY },
  { "keygen", "keygen [--out PREFIX]",
    "Make an ed25519 key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and\n"
    "PREFIX.pub (PEM).  PREFIX defaults to " PROG " in the current\n"
    "directory; existing files are never overwritten.\n",
    cmd_keygen, 0, 0, OPT_OUT },
  { "attest-verify", "attest-verify FILE [--key PUB.pem]",
    "Check a DSSE envelope's signature with PUB.pem (required for an\n"
    "envelope), then every subject of the statement against the files on\n"
    "disk: OUT_DIR of the run record beside it and the directive stream.\n"
    "Prints OK, or the files that are changed, missing or extra; exit 1\n"
    "then, and on a bad signature.\n",
    cmd_attest_verify, 1, 1, OPT_KEY },
  { "bundle", "bundle DIR [--out FILE]",
    "Every statement of DIR (its DSSE envelope instead, when there is one)\n"
    "as one JSON per line, sorted by package name and version, into FILE\n"
    "(default DIR/bundle.intoto.jsonl).\n",
    cmd_bundle, 1, 1, OPT_OUT },
  { "verify", "verify STATEMENT [--runner PATH] [--keep]",
    "Re-run the build script of STATEMENT (or of its envelope) with the\n"
    "inputs of its run record into a fresh OUT_DIR, through the runner\n"
    "(default: oci-host-runner beside this program), and compare the\n"
    "outputs and the directive stream with the statement.  Exit 0 when\n"
    "they are identical, 1 with the differences and hints otherwise.\n"
    "Directive streams are compared as the scripts printed them (the\n"
    "re-run's is kept by the runner's --attest), their cargo: lines only.\n"
    "The dependencies' OUT_DIRs its DEP_* variables name are copied into\n"
    "the temporary tree as they are now; a note says when one is not as\n"
    "the statement recorded it.\n"
    "--keep keeps the temporary tree and prints its path.\n",
    cmd_verify, 1, 1, OPT_RUNNER | OPT_KEEP },
};

#define N_COMMANDS (sizeof commands / sizeof *commands)

static void
usage (FILE *f)
{
  fprintf (f, "Usage: " PROG " COMMAND [OPTIONS] [ARGS]\n\nCommands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf (f, "  %s\n", commands[i].usage);
  fprintf (f, "\nEach command has --help.  Exit status: 0, 1 verification "
              "failed (bad signature,\noutputs that differ), 121 usage, 125 "
              "other.\n");
}

static int
check_options (const struct attest_command *cmd, const struct attest_cli *cli,
               ohr_error_t *err)
{
  for (size_t i = 0; i < 4; i++)
    if ((cli->given & (1u << i)) && !(cmd->opts & (1u << i)))
      return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                            "'%s' does not take %s (see %s --help)", cmd->name,
                            option_names[i], cmd->name);
  return cli_check_args (cli->args, cmd->min_args, cmd->max_args, PROG,
                         cmd->usage, err);
}

static int
exit_code (enum ohr_error_kind kind)
{
  return kind == OHR_ERR_USAGE ? OHR_EXIT_USAGE : OHR_EXIT_RUNTIME;
}

/* One command: its options and operands (or --help), then the command;
 * stdout carries the result, so it must have got out. */
static int
run_command (const void *command, int argc, char **argv, ohr_error_t *err)
{
  const struct attest_command *cmd = command;
  struct attest_cli cli = { 0 };
  int r = cli_parse_options (argc, argv, "h", attest_options, attest_option,
                             &cli, &cli.args, err);
  if (r == 0 && cli.help)
    printf ("Usage: " PROG " %s\n\n%s", cmd->usage, cmd->help);
  else if (r == 0 && (r = check_options (cmd, &cli, err)) == 0)
    r = cmd->fn (&cli, err);
  free (cli.key);
  free (cli.out);
  free (cli.runner);
  strv_free (cli.args);
  if (fflush (stdout) != 0 && r >= 0)
    r = ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot write output");
  return r;
}

int
main (int argc, char **argv)
{
  static const struct cli_helper helper
      = CLI_HELPER (PROG, usage, commands, run_command, exit_code);
  return cli_helper_main (&helper, argc, argv);
}
