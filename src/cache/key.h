/* key.h: the action key of a build-script run (issue 13, part 1).
 *
 * Run mode describes the run as a request (cache_request_*, no digests:
 * run mode loads no libcrypto): a REAPI Command (the script's container
 * path and arguments, the environment exactly as the script sees it but
 * for run-time plumbing, OUT_DIR as the output directory, the working
 * directory, platform properties: the image digest, the policy in effect,
 * the runner's version and the key format) and the inputs mounted into
 * the container (host path and container path: the package source with
 * what its workspace view hides seen as empty, the build script, the
 * toolchains, the policy's mounts, the OUT_DIRs the DEP_* variables
 * name).  The store helper turns it into the key (cache_key_compute):
 * the inputs become one Merkle tree at their container paths (the input
 * root), and the key is the sha256 of the encoded REAPI Action naming the
 * Command's and the input root's digests.  Nothing of where the checkout
 * lives enters it: with canonical paths every container path is fixed.
 *
 * What is left out, and why:
 *   - the jobserver in CARGO_MAKEFLAGS, MAKEFLAGS and MFLAGS
 *     (--jobserver-auth=, --jobserver-fds=, -j): fd numbers and fifo paths
 *     of this build, plumbing only;
 *   - NUM_JOBS: how many jobs the script may run at once.  Build scripts
 *     use it for parallelism (cc, cmake), which must not change what they
 *     produce; keying on it would make every machine with another core
 *     count miss.  A script whose output depends on it is not hermetic
 *     and would be wrong to cache anyway;
 *   - a toolchain's share/doc and share/man (tens of thousands of HTML
 *     files that no compiler reads: the toolchain's identity is its
 *     binaries, libraries and the rest of its tree);
 *   - a rustup toolchain's bytes as rustup installed them: its manifests
 *     stand for them (toolchain-id.h), and its node in the input root is
 *     the digest of that identity, not of a Directory message (format 2);
 *   - the image's files: its manifest digest stands for them (for `host`,
 *     a fingerprint of the host's installed software: cache_host_fingerprint).
 */
#ifndef OHR_CACHE_KEY_H
#define OHR_CACHE_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/memo.h"
#include "cache/reapi.h"
#include "util/buf.h"
#include "util/error.h"

/* The version of what the key covers and how: a change to this module
 * that changes keys bumps it. */
#define CACHE_KEY_FORMAT "2"

struct cache_input
{
  char *container; /* absolute path inside the container */
  char *host;      /* what is mounted there */
  char **skip;     /* paths relative to host left out of the key */
  char **empty;    /* relative paths the container sees empty (masked) */
  /* a toolchain: a rustup toolchain enters the key by its identity
   * (toolchain-id.h), anything else file by file */
  bool toolchain;
};

struct cache_request
{
  struct reapi_command command;
  struct cache_input *inputs;
  size_t n_inputs;
  /* the image is the host's own software: key on its fingerprint */
  bool host_fingerprint;
};

/* Run mode: fill a request.  Each adds owned copies. */
int cache_request_add_env (struct cache_request *r, const char *entry,
                           ohr_error_t *err);
int cache_request_add_platform (struct cache_request *r, const char *name,
                                const char *value, ohr_error_t *err);
int cache_request_add_input (struct cache_request *r, const char *container,
                             const char *host, struct cache_input **out,
                             ohr_error_t *err);

/* The request as bytes (a protobuf message of our own) and back: run mode
 * hands it to the store helper in a file. */
int cache_request_encode (struct cache_request *r, struct buf *out,
                          ohr_error_t *err);
int cache_request_decode (const void *data, size_t len,
                          struct cache_request *out, ohr_error_t *err);
void cache_request_clear (struct cache_request *r);

/* The value a variable has in the key: NULL to leave it out (NUM_JOBS),
 * the jobserver's words taken out of make flags; else value itself.  A
 * fresh string in *out (NULL: left out). */
int cache_key_env_value (const char *name, const char *value, char **out,
                         ohr_error_t *err);

struct cache_key
{
  char hex[65]; /* sha256 of the encoded Action: the key */
  struct reapi_digest action_digest, command_digest, input_root;
  struct buf action, command; /* the encoded messages */
};

/* The key of a request; memo (may be NULL) spares hashing unchanged
 * files.  The request's Command gets the host fingerprint when asked. */
int cache_key_compute (struct cache_request *r, struct memo *memo,
                       struct cache_key *out, ohr_error_t *err);

void cache_key_clear (struct cache_key *k);

/* The key of the encoded request in the file request_path, with the memo
 * kept in STORE/results-memo.d (memo.h; a memo not saved costs time, never
 * correctness).  The store helper and the lookup helper both use it. */
int cache_key_of_file (const char *store_dir, const char *request_path,
                       struct cache_key *out, ohr_error_t *err);

/* The same for a request in memory (run mode's own lookup). */
int cache_key_of_request (const char *store_dir, struct cache_request *req,
                          struct cache_key *out, ohr_error_t *err);

/* sha256 hex of the host's installed software, for the `host` image:
 * the package databases (dpkg's status, rpm's), the dynamic linker's
 * cache (ldconfig rewrites it when a library comes or goes), os-release,
 * and the trees of /usr/local (bin, sbin, lib, lib64, include, share/
 * pkgconfig), so that installing, upgrading or removing a package or a
 * library by hand changes it. */
int cache_host_fingerprint (struct memo *memo, char out[65], ohr_error_t *err);

#endif
