/* outreach.h: which files of OUT_DIR a later step reads, for the check on
 * container paths in generated text (canonical paths).
 *
 * A container path (OUT_DIR's container path, /cargo/src/y) in an OUT_DIR file
 * is a wrong build only when something after the run reads that file on the
 * host, where the path names nothing, or names another file.  Build-system
 * leftovers (autoconf's config.status, config.log and Makefiles, CMake's
 * cache, depfiles) record the container's paths too, and nobody reads them
 * again.  A file is read later when:
 *
 *  - it is Rust (*.rs): rustc compiles it through include!, or a
 *    generated module names it;
 *  - a directive names it, or a directory above it (directives.h's
 *    exports), by key:
 *     - rustc-link-search, rustc-flags -L and the link-arg family: the
 *       file itself, and the files directly in a named directory (the
 *       linker searches there: a text "libfoo.so" is a linker script);
 *     - rustc-env: the file, or everything under the directory (the crate
 *       reads it with env! and include_str!, include_dir!...);
 *     - metadata (DEP_<LINKS>_<KEY> for dependents' build scripts): the
 *       file; under a directory, everything when KEY says "include"; else
 *       what an installed prefix gives dependents: headers anywhere below
 *       it (.h, .hpp, .inc, ...), everything under its include/, lib/,
 *       lib32/, lib64/, bin/ (foo-config scripts), cmake/, share/pkgconfig/
 *       and share/cmake/, and .pc, .cmake and .la files directly in it.
 *       So "cargo:root=OUT_DIR" with autoconf's build tree in
 *       OUT_DIR/build exports OUT_DIR/lib, not OUT_DIR/build/config.status;
 *  - it is named by a file already read (a generated .rs, an included
 *    file), or by the package's own Rust sources when one of them says
 *    OUT_DIR (include_str!(concat!(env!("OUT_DIR"), "/x.txt"))): "named"
 *    means its name, or the name of a directory above it, is the last
 *    component of a string literal ("x.txt", "/x.txt", "/assets/").  Names
 *    are matched without their directory, so any file of that name counts:
 *    a false refusal rather than a missed reader.  The build script's own
 *    sources (build.rs, build/ at the package root) do not count: it ran
 *    already.  Nested packages, target/ and hidden directories are
 *    skipped.
 *
 * A symlink kept in OUT_DIR (one that stays inside) that is read by any
 * of these rules, or lies on the way to a path a directive names, makes
 * its target read: the file, or everything under the directory.
 *
 * When the exports are incomplete (over DIRECTIVE_EXPORTS_MAX, a line too
 * long to read, no directive filter), every file counts as read. */
#ifndef OHR_OUTREACH_H
#define OHR_OUTREACH_H

#include <stdbool.h>

#include "run/directives.h"
#include "run/outcheck.h"
#include "util/error.h"

struct outreach_input
{
  const char *out_dir;       /* the host's OUT_DIR */
  const char *out_container; /* where the script saw it */
  const char *source_dir;    /* the package root, or NULL: no sources */
  /* what the directives handed on (container paths); NULL: unknown */
  const struct directive_exports *exports;
};

/* hits: findings about files of OUT_DIR (outcheck_out_dir's prefixes);
 * files: every regular file of it.  Leaves in hits the findings about
 * files a later step reads, each with its why ("generated Rust", "named
 * by cargo:include", ...), in their order, and moves the others to
 * leftovers. */
int outreach_split (const struct outreach_input *in,
                    const struct outcheck_report *files,
                    struct outcheck_report *hits,
                    struct outcheck_report *leftovers, ohr_error_t *err);

#endif
