/* sweep.h: run mode's start-up sweep of runs whose runner died.
 *
 * A runner killed by SIGKILL (or by a crash) cleans nothing up: its
 * container dies by the lifeline (src/init/ohr-init.c), but the bundle
 * and the source overlay's upper stay in the state directory, the
 * runtime's state stays when the runtime died too, and OUT_DIR is not
 * neutralised.  Each run therefore reads the state directory's bundles/
 * once (one readdir; bundle ids name their runner's pid and start time,
 * run/bundle.h) and, for each entry whose runner is gone: deletes the
 * container through its runtime (`delete --force`), does to OUT_DIR what
 * the after-run checks would have (setid bits cleared, links out of it
 * removed: outcheck_out_dir), and removes the bundle.  Each runner holds
 * an flock on its bundle directory while it lives; the sweep takes it
 * (without waiting) before it touches anything, so a live runner's entry
 * is never swept, even one in another PID namespace whose pid looks dead
 * from here, and two concurrent sweeps never sweep the same entry.  Bundles
 * kept with
 * --keep-bundle (marked) stay.
 */
#ifndef OHR_CLI_SWEEP_H
#define OHR_CLI_SWEEP_H

#include "runtime/hostinfo.h"
#include "runtime/runtime.h"

/* Sweep state_dir.  current: the runtime this run uses (reused when a
 * dead run used the same one).  Never fails: what it did, and what it
 * could not do, is appended to *notes, one line each, for main to print. */
void sweep_stale_runs (const char *state_dir, const struct runtime *current,
                       const struct hostinfo *host, char ***notes);

#endif
