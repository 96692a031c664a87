/* down.h: "down once per build".  A build runs many build scripts, each
 * in its own runner process; when the remote cache is down, slow or
 * answering 5xx, each would pay the client's timeout again.  So the first
 * run that finds it unavailable leaves a marker, and the later runs of
 * the same build skip the server at once.
 *
 * The marker is a small file in the runner's state directory (a tmpfs,
 * /dev/shm/oci-host-runner-UID by default: gone at reboot), named after
 * the cache's URL (a digest of it, with its userinfo hidden, so no secret
 * lands in a name), holding the build it was written by and when.
 *
 * "The same build" is Cargo's process, our parent: its pid and start time
 * (a reused pid is another process).  Another cargo invocation, even a
 * concurrent one, tries the server again.  The marker also expires after
 * CACHE_DOWN_LIFETIME seconds, so that a long build finds a server that
 * came back: a server that stays down costs one bounded timeout per
 * lifetime.  When our parent cannot be named, the build id is "" and only
 * the lifetime applies.
 *
 * Every failure to read or write a marker is treated as no marker: it can
 * cost a timeout, never a build.  May call src/util/. */
#ifndef OHR_CACHE_DOWN_H
#define OHR_CACHE_DOWN_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "util/error.h"

#define CACHE_DOWN_LIFETIME 600 /* seconds */

/* This run's build id: "PPID-STARTTIME" of the parent process, or "" when
 * it cannot be read; NULL when out of memory. */
char *cache_down_build_id (void);

/* The same for a build whose process is pid (the store helper, whose
 * parent is the runner, is given the runner's parent). */
char *cache_down_build_id_of (pid_t pid);

/* The marker's path for the cache at url in state_dir; NULL when out of
 * memory. */
char *cache_down_path (const char *state_dir, const char *url);

/* Whether the marker at path says the cache is down for build_id at time
 * now. */
bool cache_down_is_marked (const char *path, const char *build_id, time_t now);

/* Write the marker at path for build_id at time now (atomically, the
 * directory made as needed). */
int cache_down_mark (const char *path, const char *build_id, time_t now,
                     ohr_error_t *err);

#endif
