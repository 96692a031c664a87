/* dispatch.h: what the mains of the three binaries share: finding a
 * command in a table, the option loop and argument count of the helpers'
 * commands, asking for help, and how a main ends (the error on stderr,
 * the exit code).  Only the mains print errors (STYLE.md). */
#ifndef OHR_CLI_DISPATCH_H
#define OHR_CLI_DISPATCH_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

/* The entry of a command table named name, or NULL: then, when err is not
 * NULL, "unknown command 'NAME' (see --help)" (OHR_ERR_USAGE).  The
 * table's entries are structs whose first member is the name. */
const void *cli_find (const void *table, size_t n, size_t size,
                      const char *name, ohr_error_t *err);

#define CLI_FIND(table, name, err)                                            \
  ((__typeof__ (&(table)[0]))cli_find ((table),                               \
                                       sizeof (table) / sizeof *(table),      \
                                       sizeof *(table), (name), (err)))

/* A helper binary (oci-host-runner-store, oci-host-runner-attest): its
 * command table and how it runs one of its commands. */
struct cli_helper
{
  const char *name;        /* "oci-host-runner-store", in messages */
  void (*usage) (FILE *f); /* the list of commands */
  const void *commands;    /* a table for cli_find */
  size_t n_commands, command_size;
  /* the options and operands of command (argv: its name and what
   * follows), then command itself: an exit code, or -1 with *err */
  int (*run) (const void *command, int argc, char **argv, ohr_error_t *err);
  int (*exit_code) (enum ohr_error_kind kind);
};

#define CLI_HELPER(name, usage, table, run, exit_code)                        \
  {                                                                           \
    (name), (usage), (table), sizeof (table) / sizeof *(table),               \
        sizeof *(table), (run), (exit_code)                                   \
  }

/* A helper's main: the usage when no command is given or help is asked,
 * else the command argv[1] names, and cli_finish. */
int cli_helper_main (const struct cli_helper *h, int argc, char **argv);

/* Applies one option of cli_parse_options (c: getopt_long's value). */
typedef int cli_option_fn (int c, const char *arg, void *ctx,
                           ohr_error_t *err);

/* getopt_long over argv[1..] (optind is reset, so it may run again), each
 * option to apply, the operands pushed onto *args.  An unknown option or
 * a missing value is "unknown option or missing value: 'ARG'". */
int cli_parse_options (int argc, char **argv, const char *shortopts,
                       const struct option *longopts, cli_option_fn *apply,
                       void *ctx, char ***args, ohr_error_t *err);

/* min to max operands in args, else "usage: PROG USAGE". */
int cli_check_args (char *const *args, int min, int max, const char *prog,
                    const char *usage, ohr_error_t *err);

/* How a main ends: err, when set, on stderr as "PROG: message" (freed);
 * the exit code is r when r >= 0 (a command's own, such as a verdict),
 * else the one exit_code gives err's kind. */
int cli_finish (const char *prog, int r, ohr_error_t *err,
                int (*exit_code) (enum ohr_error_kind));

#endif
