/* pathmatch.h: finding a known path inside text only where it stands as a
 * whole path, for the two places that look for one: view.c maps host
 * paths in Cargo's environment values to where the container sees them,
 * outcheck.c looks for container paths in generated files.  Both need the
 * same boundaries:
 *
 *   before: the start of the text, or a byte that is neither a name byte
 *           nor '/' ("x/cargo/src" and "//cargo/src" hold no /cargo/src);
 *   after:  anything but a name byte: the end, a separator, or '/'
 *           (/cargo/src/x.rs is below /cargo/src, /cargo/source is not).
 *
 * Name bytes are those of the paths Cargo makes: clip_name_char's,
 * [A-Za-z0-9._-]. */
#ifndef OHR_RUN_PATHMATCH_H
#define OHR_RUN_PATHMATCH_H

#include <stdbool.h>

#include "util/clip.h"

/* May a path start at p, in text that starts at start? */
static inline bool
path_may_start (const char *start, const char *p)
{
  return p == start || !(clip_name_char (p[-1]) || p[-1] == '/');
}

/* May a path end before the byte c? */
static inline bool
path_may_end (char c)
{
  return !clip_name_char (c);
}

#endif
