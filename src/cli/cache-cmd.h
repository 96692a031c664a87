/* cache-cmd.h: the result cache's commands of the store helper
 * (oci-host-runner-store), which alone links libcrypto and libostree:
 *
 *   result-get REQUEST OUT_DIR DIR   key the run REQUEST describes (a file
 *       run mode wrote, cache/key.h); on a hit restore OUT_DIR, write
 *       DIR/hit-stdout and DIR/hit-stderr and print "hit KEY WALL_NS",
 *       else print "miss KEY"
 *   result-put KEY OUT_DIR DIR START_NS END_NS   store the run's result
 *       (OUT_DIR, DIR/run-stdout, DIR/run-stderr); prints "stored KEY"
 *
 * Their output is for run mode to read (src/cli/run-cache.c). */
#ifndef OHR_CLI_CACHE_CMD_H
#define OHR_CLI_CACHE_CMD_H

#include "util/error.h"

int cache_cmd_get (const char *store_dir, char *const *args, ohr_error_t *err);
int cache_cmd_put (const char *store_dir, char *const *args, ohr_error_t *err);

#endif
