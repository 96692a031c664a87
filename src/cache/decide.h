/* decide.h: whether a run's result may be cached (issue 13, part 2): one
 * pure function of the facts run mode gathers, so that tests name every
 * case.  A run is cacheable only when everything it can observe is in
 * its key and nothing it did escapes its result: network none, canonical
 * paths, no source-write overlay (its writes are discarded, a replay
 * could not reproduce what the script saw afterwards), an empty OUT_DIR
 * at start (Cargo does not clear OUT_DIR: a run over earlier files is
 * another action), no OCI hooks (they may change the container), not the
 * degraded /proc (the host's processes are visible), and an image the key
 * can name: pinned images always, the host image only when the user asked
 * with --result-cache local.  Whether the run then succeeds (exit 0, no
 * refused writes) is decided after it. */
#ifndef OHR_CACHE_DECIDE_H
#define OHR_CACHE_DECIDE_H

#include <stdbool.h>

#include "cli/options.h"

struct cache_facts
{
  enum result_cache_mode mode;
  bool network_none;
  bool canonical_paths;
  bool source_overlay; /* the policy lets source writes land in an overlay */
  bool out_dir_empty;
  bool pinned_image; /* the image has a manifest digest */
  bool hooks;        /* OCI hooks were selected for the container */
  bool degraded_proc;
  bool build_dir; /* OUT_DIR has Cargo's shape (<target>/<profile>/build) */
};

/* NULL when the run may be cached, else why not (for `-v`:
 * "result-cache: off (<reason>)"). */
const char *cache_refusal (const struct cache_facts *f);

/* Whether the directory path holds no entry (false when it cannot be
 * read). */
bool cache_dir_is_empty (const char *path);

/* Remove what the directory path holds (a restore that went wrong), never
 * following a link out of it; best effort. */
void cache_dir_empty_out (const char *path);

#endif
