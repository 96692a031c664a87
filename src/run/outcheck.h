/* outcheck.h: what a build script left behind, checked after the run.
 *
 *  - generated text files in OUT_DIR that embed container paths
 *    (OUT_DIR's container path in an include!): the host's rustc cannot
 *    open them; which of them a later step reads is outreach.h's question;
 *  - symlinks in OUT_DIR that point outside it (absolute, escaping with
 *    "..", or resolving outside through a chain of links): a later step
 *    (rustc, a dependent's build script) would follow them into the host;
 *  - setuid/setgid bits and file capabilities, which would make a host
 *    binary of the user (or root) out of whatever the script wrote;
 *  - files written into the source overlay (the scratch upper layer over
 *    the package source).
 * Object files and archives are binary and not scanned: debug info
 * carrying canonical paths is what -fdebug-prefix-map does on purpose.
 * The first three are one walk over OUT_DIR, the last one over the upper
 * layer, both on the one tree walker (util/walk.h).
 */
#ifndef OHR_OUTCHECK_H
#define OHR_OUTCHECK_H

#include <stddef.h>

#include "util/error.h"

struct outcheck_finding
{
  char *path; /* relative to the scanned directory */
  int line;   /* 1-based, 0 when not about a line */
  char *what; /* the prefix found, the link target, or "written"/"deleted" */
  int error;  /* setid: the errno that kept it from being cleared, else 0 */
  char *why;  /* prefixes: who reads the file (outreach.h), or NULL */
};

struct outcheck_report
{
  struct outcheck_finding *v;
  size_t n;
};

/* What one pass over OUT_DIR found (and did). */
struct outcheck_out_dir
{
  struct outcheck_report setid;    /* "setuid/setgid" or "file
                                      capabilities": cleared, unless the
                                      finding's error says why not */
  struct outcheck_report links;    /* the link target: removed */
  struct outcheck_report prefixes; /* the prefix, its line */
  struct outcheck_report files;    /* with prefixes: every regular file
                                      ("" in what) and every symlink kept
                                      (its target), for outreach.h */
};

/* One walk over OUT_DIR after a run, whatever became of the script:
 *  - clears setuid/setgid bits and file capabilities of everything (a
 *    setuid file a build script left would be one of the user, or of
 *    root, on the host);
 *  - removes symlinks whose target is absolute or climbs out of dir, or
 *    that resolve outside it through a chain of links;
 *  - with prefixes (NULL: not looked for), finds text files whose content
 *    names one of them at a path boundary (pathmatch.h), the first
 *    occurrence per file, and lists every regular file and kept link.
 * Everything is done relative to the walker's directory fds (walk.h). */
int outcheck_out_dir (const char *dir, char *const *prefixes,
                      struct outcheck_out_dir *out, ohr_error_t *err);

/* The same walk after a run as root (idshift.h): each entry of the
 * container's id range, and dir itself, is given back to owner, right
 * after its setid bits are cleared. */
struct idshift_owner;
int outcheck_out_dir_give_back (const char *dir, char *const *prefixes,
                                const struct idshift_owner *owner,
                                struct outcheck_out_dir *out,
                                ohr_error_t *err);

void outcheck_out_dir_clear (struct outcheck_out_dir *r);

/* Entries of an overlay upper directory: files written ("written") and
 * whiteouts ("deleted"); directories only when new and empty. */
int outcheck_overlay_changes (const char *upper, struct outcheck_report *out,
                              ohr_error_t *err);

void outcheck_report_clear (struct outcheck_report *r);

/* Read a text file met in a walk (name relative to dirfd, not through a
 * symlink) as the scan does: 1 and a fresh *out when it is text (not
 * empty, no NUL in its first 8 KiB, at most 16 MiB), else 0. */
int outcheck_read_text_at (int dirfd, const char *name, const char *what,
                           char **out, size_t *out_len);

/* Append a finding (copies path and what). */
int outcheck_report_add (struct outcheck_report *r, const char *path, int line,
                         const char *what, ohr_error_t *err);

/* "a, b, c and N more" for messages; a fresh string. */
char *outcheck_summary (const struct outcheck_report *r, size_t max);

#endif
