/* directives.h: a build script's directives, mapped from container paths
 * back to host paths.
 *
 * With canonical paths the script sees its package at /cargo/src, OUT_DIR
 * below /cargo/target, and so on (run/view.h), and prints those paths in
 * its directives.
 * Cargo reads the script's stdout on the host, so every path it will use
 * must name the host directory instead.  This module rewrites the values
 * Cargo treats as paths or hands on, and passes every other byte through
 * unchanged.  The prefixes come from the caller (the layout's path pairs):
 * nothing here knows where /cargo is.
 *
 * Lines are parsed the way Cargo's BuildOutput::parse does:
 *  - lines end at '\n'; a line that is not valid UTF-8 is ignored by Cargo,
 *    so it passes through unchanged;
 *  - the line is trimmed of Unicode whitespace at both ends (Rust's
 *    str::trim; the trimmed bytes, a CR for example, are kept in the
 *    output), then must start with "cargo::" (new syntax) or "cargo:" (old
 *    syntax); the key runs to the first '=', the value is the rest;
 *  - in the old syntax a key Cargo does not reserve is metadata
 *    ("cargo:include=/x" is DEP_<LINKS>_INCLUDE for dependents); in the new
 *    syntax metadata is "cargo::metadata=KEY=VALUE" and an unknown key is an
 *    error in Cargo (passed through unchanged).
 *
 * What is mapped, by key:
 *  - one path, mapped when it starts with a container prefix:
 *    rerun-if-changed; rustc-link-search after an optional KIND= (native,
 *    dependency, crate, framework, all: the kinds rustc's -L strips);
 *    rustc-flags: the value of each -L ("-L path" and "-Lpath", with KIND=);
 *  - free text, every container path in it mapped (see below): the
 *    link-arg family (rustc-link-arg, -bins, -tests, -examples, -benches,
 *    -cdylib, the old rustc-cdylib-link-arg, and the ARG of
 *    rustc-link-arg-bin=BIN=ARG), the VALUE of rustc-env=VAR=VALUE,
 *    metadata values, and warning and error messages (a message that names
 *    /cargo/src/x is useless on the host; the host path helps the user);
 *  - untouched: rustc-link-lib (names, not paths), rustc-cfg and
 *    rustc-check-cfg (cfg values are the crate's own identifiers and
 *    strings: rewriting them would change what the crate compiles),
 *    rerun-if-env-changed, unknown new-syntax keys, and every line that is
 *    not a directive, even one that mentions /cargo/src: Cargo never reads
 *    it, and the script's own output must stay its own.
 *
 * A container prefix matches only at a path-component boundary:
 * "/cargo/src" matches "/cargo/src" and "/cargo/src/x", not "/cargo/source";
 * the longest matching prefix wins.  In free text a path must also begin
 * at a word boundary: at the start, after whitespace or one of :;,="'`()[]
 * {}<>|& or '@' (a linker response file), or glued to a one-letter option
 * ("-L/cargo/src", "-I/cargo/src/include"); it ends at '/', the end, or
 * one of those separators.  So "x/cargo/src" (a relative path) and
 * "file:///cargo/src" are not mapped.
 *
 * Paths in the image itself (set with directive_pathmap_set_image):
 *  - rerun-if-changed of an absolute path under no pair and no mount
 *    names a file of the image: Cargo stats it on the host, where the
 *    image's "/usr/include/x.h" is missing or another file, so the script
 *    would run again on every build.  It is mapped into the image's
 *    checkout on the host (read-only, fixed for a digest), resolved the
 *    way the container resolved it (image/rootpath.h: symlinks followed
 *    inside the image; one that leads under a mount or pair is mapped as
 *    that).  Not for the host image: its paths are the host's.
 *  - the linker's paths (rustc-link-search, -L, link args) are not:
 *    rustc and the linker run on the host and link for the host, so the
 *    host's /usr/lib is what a native build links against; putting the
 *    image's library directory first would mix the image's libc and crt
 *    link scripts into a host link.  A path only the image has fails the
 *    link loudly.
 *  - metadata (DEP_<LINKS>_<KEY>) goes to dependents' build scripts, which
 *    run in the image too, and rustc-env values and messages are free
 *    text: image paths in them stay as printed.
 *  - a path under a bind mount (the policy's "mounts", the host image's
 *    /usr) names the bind's source, for every path argument: it is a host
 *    file, and the container showed it.  A path under any other mount
 *    (tmpfs, proc) has no host counterpart and is reported as outside.
 *
 * Notes: an absolute path argument (rerun-if-changed, rustc-link-search,
 * each -L of rustc-flags, a link arg that is itself a path) that lies under
 * no container prefix, no bind and no allowed image path (/usr, /lib, ...),
 * and is not a rerun-if-changed mapped into the image, is reported, as is
 * one with a ".." component (it can climb out of the prefix it seems to
 * lie under; not one resolved inside the image, where ".." stops at the
 * root as in the container): the runner warns, or fails under a strict
 * policy.  Relative paths are the package's own business (Cargo resolves
 * rerun-if-changed against the package root) and pass without a note.
 * Free text (env values, metadata, messages) is mapped but not judged.
 *
 * Exports: the streaming filter also keeps every container path (under a
 * path pair) that a directive hands on to a later step, with its key:
 * rustc-link-search and rustc-flags -L (the linker searches there), the
 * link-arg family (the linker reads it), rustc-env values (the crate reads
 * them with env!) and metadata (dependents get DEP_<LINKS>_<KEY>).  Not
 * rerun-if-changed (Cargo only looks at its time), warnings and errors.
 * The after-run check of OUT_DIR (outreach.h) asks which files they name.
 */
#ifndef OHR_DIRECTIVES_H
#define OHR_DIRECTIVES_H

#include <stdbool.h>
#include <stddef.h>

#include "run/mounts.h"
#include "util/error.h"

/* A line longer than this (without its '\n') is passed through unmapped,
 * in chunks as it arrives, so memory stays bounded whatever the script
 * prints; a line that may be a directive gets a DIRECTIVE_NOTE_TOO_LONG.
 * The fuzz target builds with a small value, to reach that path. */
#ifndef DIRECTIVE_LINE_MAX
#define DIRECTIVE_LINE_MAX (1024 * 1024)
#endif

/* At most this many notes are kept (the rest are only counted), and a
 * note's path is cut to DIRECTIVE_NOTE_PATH_MAX bytes: a script printing
 * the same bad path forever must not grow the runner. */
#define DIRECTIVE_NOTES_MAX 256
#define DIRECTIVE_NOTE_PATH_MAX 4096

/* A container directory and the host directory it shows. */
struct directive_map
{
  const char *container_prefix; /* absolute, e.g. "/cargo/src" */
  const char *host_prefix;      /* absolute host path */
};

enum directive_note_kind
{
  DIRECTIVE_NOTE_OUTSIDE,  /* absolute, under no container or allowed path */
  DIRECTIVE_NOTE_DOTDOT,   /* absolute with a ".." component */
  DIRECTIVE_NOTE_TOO_LONG, /* a possible directive over DIRECTIVE_LINE_MAX,
                              passed unmapped and unchecked */
};

struct directive_note
{
  enum directive_note_kind kind;
  char *key;  /* "rustc-link-search", ...; "" if the line was cut first */
  char *path; /* as the script printed it (container view), cut at a NUL
                 or DIRECTIVE_NOTE_PATH_MAX; "" for TOO_LONG */
};

struct directive_notes
{
  struct directive_note *v;
  size_t n;
  size_t dropped; /* notes beyond DIRECTIVE_NOTES_MAX */
};

void directive_notes_clear (struct directive_notes *notes);

/* At most this many exports are kept; beyond, or when a possible
 * directive was too long to read, incomplete is set: whoever asks must
 * then assume any path was named. */
#define DIRECTIVE_EXPORTS_MAX 4096

struct directive_export
{
  char *key;  /* "rustc-link-search", "include" (metadata, in both
                 syntaxes), ... */
  char *path; /* the container path as printed, cut at a separator */
};

struct directive_exports
{
  struct directive_export *v;
  size_t n;
  bool incomplete;
};

void directive_exports_clear (struct directive_exports *x);

/* Why a note was made, for the runner's warning: "lies outside ...". */
const char *directive_note_reason (enum directive_note_kind kind);

/* ---- one line at a time */

/* The prefixes, normalized (no trailing '/', no "." or "//").  Container
 * prefixes must be absolute, not "/" (that would claim every path) and
 * without "..".  allowed: absolute prefixes of image paths that are valid
 * on the host as they are (/usr, /lib); "/" allows every path. */
struct directive_pathmap;

int directive_pathmap_new (const struct directive_map *maps, size_t n_maps,
                           const char *const *allowed, size_t n_allowed,
                           struct directive_pathmap **out, ohr_error_t *err);
void directive_pathmap_free (struct directive_pathmap *pm);

/* What else the container shows, for path arguments under no pair:
 * mounts, the container's mount table (a bind names its source on the
 * host; any other mount nothing); image_root, the host directory of the
 * image's own files (the store's checkout), or NULL when the image's
 * paths are the host's.  Opens image_root (O_PATH, O_CLOEXEC) until _free.
 * Once per map. */
int directive_pathmap_set_image (struct directive_pathmap *pm,
                                 const char *image_root,
                                 const struct mount_table *mounts,
                                 ohr_error_t *err);

/* Map one line (len bytes without its '\n'; NUL bytes allowed).  Returns 1
 * and a fresh *out (NUL-terminated, *out_len bytes) when the line changed,
 * 0 when it passes as it is (*out untouched), negative on failure.  Notes
 * are appended to *notes. */
int directive_map_line (const struct directive_pathmap *pm, const char *line,
                        size_t len, char **out, size_t *out_len,
                        struct directive_notes *notes, ohr_error_t *err);

/* ---- streaming: the script's stdout on its way to Cargo */

/* Receives the output; returns >= 0, or negative and sets *err. */
typedef int (*directive_write_fn) (void *ctx, const void *buf, size_t len,
                                   ohr_error_t *err);

struct directive_filter;

/* A filter writing to write_fn(ctx, ...).  maps and allowed are copied. */
struct directive_filter *
directive_filter_new (const struct directive_map *maps, size_t n_maps,
                      const char *const *allowed, size_t n_allowed,
                      directive_write_fn write_fn, void *ctx,
                      ohr_error_t *err);

/* directive_pathmap_set_image for the filter's map; before the first feed. */
int directive_filter_set_image (struct directive_filter *f,
                                const char *image_root,
                                const struct mount_table *mounts,
                                ohr_error_t *err);

/* Pass len bytes.  Every line completed by them is written before this
 * returns (Cargo shows warnings as they come); the start of an unfinished
 * line is kept until its '\n' arrives.  The output is the same however the
 * input is cut into calls.  After a failure only _free is allowed. */
int directive_filter_feed (struct directive_filter *f, const void *buf,
                           size_t len, ohr_error_t *err);

/* End of input: a last line without '\n' is mapped and written as it is
 * (no '\n' added). */
int directive_filter_finish (struct directive_filter *f, ohr_error_t *err);

/* Notes so far; valid until the next feed, finish or free. */
const struct directive_notes *
directive_filter_notes (const struct directive_filter *f);

/* Exports so far (see above); valid until the next feed, finish or free. */
const struct directive_exports *
directive_filter_exports (const struct directive_filter *f);

void directive_filter_free (struct directive_filter *f);

static inline void
cleanup_directive_filterp (struct directive_filter **f)
{
  directive_filter_free (*f);
}
#define cleanup_directive_filter                                              \
  __attribute__ ((cleanup (cleanup_directive_filterp)))

static inline void
cleanup_directive_pathmapp (struct directive_pathmap **pm)
{
  directive_pathmap_free (*pm);
}
#define cleanup_directive_pathmap                                             \
  __attribute__ ((cleanup (cleanup_directive_pathmapp)))

#endif
