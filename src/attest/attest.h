/* attest.h: src/attest/, reproducibility attestations of build-script
 * runs: the interface of the attest helper (oci-host-runner-attest).
 *
 * The folder owns, from a run record (record.h, the one file run mode
 * links): in-toto Statements v1 with a SLSA Provenance v1 predicate
 * (statement.c, their inputs: tree.c, probe.c), canonical JSON
 * (canonical.c), reading statements back (parse.c), ed25519 keys and DSSE
 * envelopes (keys.c, dsse.c), checks against the files on disk and their
 * differences (diff.c), JSON-lines bundles (bundle.c) and re-runs of a
 * build script to see whether it reproduces (rerun.c).  internal.h is
 * shared by these files only; keys.h and dsse.h (DSSE of any payload
 * type) also by the result cache's entry signatures (src/cache/sign.c).
 *
 * It may call src/util/ (trees only through the one walker, walk.h),
 * src/image/ref.h, src/run/envfilter.h and src/run/context.h (a re-run
 * pins the image, filters the environment and finds the dependencies'
 * OUT_DIRs as run mode would), and runs the runner as a program.  It uses
 * libcrypto: only the attest helper links these files, never run mode.
 *
 * The statement (all JSON here: keys sorted, compact, integers only, so
 * two statements of the same inputs differ only in
 * predicate.runDetails.metadata):
 *
 *   subject               every regular file of OUT_DIR as "out/<path>",
 *                         and "directives" (the captured stdout), each
 *                         {"name", "digest": {"sha256": HEX}}, by name
 *   buildType             ATTEST_BUILD_TYPE
 *   externalParameters    package {name, version}, features, profile,
 *                         target, args (null values are left out)
 *   internalParameters    runnerVersion, runtime {name, version: first
 *                         line of `RUNTIME --version`}, policyDigest (the
 *                         record's, or the digest of its "policy" file),
 *                         paths, network
 *   resolvedDependencies  "image" (uri: the reference, digest: the
 *                         manifest digest), "build-script" (the
 *                         executable), "source" (attest_tree_list of the
 *                         package root), "toolchain" (attest_toolchain_list,
 *                         annotations.rustc: the release line), and
 *                         "dependency-out-dir:<pkg>-<hash>/out" for each
 *                         dependency's OUT_DIR its DEP_* variables name
 *                         (attest_tree_digest of it), by name
 *   runDetails            builder.id ATTEST_BUILDER_PREFIX<version>;
 *                         metadata {invocationId: the container id,
 *                         startedOn, finishedOn}
 *
 * Files, in the record's directory DIR: the statement
 * DIR/<package>-<version>-<id>.intoto.json, the envelope
 * DIR/<package>-<version>-<id>.dsse.json, and the record they come from is
 * DIR/<invocationId>.run.json (found by that convention).
 */
#ifndef OHR_ATTEST_H
#define OHR_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "attest/record.h"
#include "util/digest.h"
#include "util/error.h"

#define ATTEST_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define ATTEST_PREDICATE_TYPE "https://slsa.dev/provenance/v1"
#define ATTEST_BUILD_TYPE "https://oci-host-runner.dev/build-script/v1"
#define ATTEST_BUILDER_PREFIX "https://oci-host-runner.dev/runner/"
#define ATTEST_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define ATTEST_KEY_ENV "OCI_HOST_RUNNER_ATTEST_KEY"
/* statements and envelopes read back: at most this many bytes */
#define ATTEST_MAX_SIZE (64 * 1024 * 1024)

/* ---- digests of files and trees */

struct attest_file
{
  char *name;
  char digest[DIGEST_STRING_LEN + 1]; /* "sha256:HEX" */
};

struct attest_files
{
  struct attest_file *v;
  size_t n;
};

/* Every regular file below dir (symlinks are not followed), named
 * prefix + relative path, sorted by name. */
int attest_tree_files (const char *dir, const char *prefix,
                       struct attest_files *out, ohr_error_t *err);

void attest_files_clear (struct attest_files *f);

/* The canonical list of a source tree: for each regular file and symlink,
 * sorted by relative path (bytes), "MODE sha256:HEX PATH" and a NUL byte.
 * MODE is git's: 100755 when the owner may execute, else 100644; 120000
 * for a symlink, whose digest is that of its target text.  Directories
 * are not listed (empty ones do not count).  Not descended into: the
 * top-level "target" and ".git", and skip_dir (absolute; may be NULL). */
int attest_tree_list (const char *root, const char *skip_dir, char **out,
                      size_t *out_len, ohr_error_t *err);

/* The sha256 of the canonical list of the whole tree at root, as above
 * but with nothing skipped: the digest of a dependency's OUT_DIR. */
int attest_tree_digest (const char *root, char out[DIGEST_STRING_LEN + 1],
                        ohr_error_t *err);

/* The "source" digest: attest_tree_list of manifest_dir, skipping the
 * Cargo target directory holding out_dir when it is inside the source
 * (the nearest ancestor of out_dir with a CACHEDIR.TAG, else
 * OUT_DIR/../../../..). */
int attest_source_digest (const char *manifest_dir, const char *out_dir,
                          char out[DIGEST_STRING_LEN + 1], ohr_error_t *err);

/* The "toolchain" digest, cheaper than hashing a whole toolchain (~1 GB):
 * the sha256 of the list
 *   "<rustc, relative to the toolchain root> sha256:HEX" NUL
 *   "lib/librustc_driver-*.so sha256:HEX" NUL   (each, sorted)
 *   "rustc -vV sha256:HEX" NUL                 (of its output)
 * The root is the entry of toolchains holding rustc, else the directory
 * above rustc's bin/ (seen through symlinks; a rustup proxy is asked for
 * its sysroot).  *out_release: the first line of `rustc -vV`. */
int attest_toolchain_digest (const char *rustc, char *const *toolchains,
                             char out[DIGEST_STRING_LEN + 1],
                             char **out_release, ohr_error_t *err);

/* ---- statements */

/* What a statement records besides the run record. */
struct attest_inputs
{
  struct attest_files subjects; /* sorted by name */
  char *runtime_version;        /* first line of `RUNTIME --version` */
  char script[DIGEST_STRING_LEN + 1];
  char source[DIGEST_STRING_LEN + 1];
  char toolchain[DIGEST_STRING_LEN + 1]; /* "" when the record has no rustc */
  char *rustc_release;
  /* the dependencies' OUT_DIRs its DEP_* variables name, by name
   * ("dependency-out-dir:<pkg>-<hash>/out", below the build directory)
   * with the digest of each tree (attest_tree_digest) */
  struct attest_files dep_out_dirs;
  /* the record's policy_digest, else the digest of its "policy" file, else
   * "" (left out) */
  char policy_digest[DIGEST_STRING_LEN + 1];
  /* a result-cache hit: the digest of the reused run's statement, checked
   * to name the outputs as restored; "" for a run */
  char reused[DIGEST_STRING_LEN + 1];
};

/* Compute them (digests, `--version` probes); record_dir holds the record
 * and its directives file. */
int attest_collect (const struct runrecord *rr, const char *record_dir,
                    struct attest_inputs *out, ohr_error_t *err);

void attest_inputs_clear (struct attest_inputs *in);

/* The statement as canonical JSON (no final newline). */
int attest_statement (const struct runrecord *rr,
                      const struct attest_inputs *in, char **out,
                      size_t *out_len, ohr_error_t *err);

/* "<package>-<version>-<id><suffix>", characters outside [A-Za-z0-9._+-]
 * replaced by '_' ("unknown" for a missing name or version). */
char *attest_file_name (const struct runrecord *rr, const char *suffix);

/* The `record` command: read the run record at run_path, write the
 * statement (and, with key_path, the envelope) beside it, atomically and
 * durably.  A record whose script failed is refused.  out_* may be NULL. */
int attest_record (const char *run_path, const char *key_path,
                   char **out_statement, char **out_envelope,
                   ohr_error_t *err);

/* What a statement says, as read back. */
struct attest_statement
{
  char *invocation_id;
  char *package_name; /* NULL when not recorded */
  char *package_version;
  struct attest_files subjects;
  struct attest_files deps; /* resolvedDependencies with a sha256 */
};

/* Parse and check a statement (types, names, digests); subject names are
 * "directives" or "out/<relative path>" without "." or ".." parts. */
int attest_statement_parse (const char *data, size_t len, const char *origin,
                            struct attest_statement *out, ohr_error_t *err);

void attest_statement_clear (struct attest_statement *st);

/* Any JSON object text re-emitted canonically (keys sorted, compact);
 * floats are refused. */
int attest_canonical_json (const char *data, size_t len, char **out,
                           size_t *out_len, ohr_error_t *err);

/* ---- keys and DSSE envelopes */

/* An ed25519 key pair: PREFIX.key (PKCS#8 PEM, 0600) and PREFIX.pub (PEM
 * SubjectPublicKeyInfo); neither may exist.  *out_keyid as below. */
int attest_keygen (const char *prefix, char **out_keyid, ohr_error_t *err);

/* The key id written in envelopes: lowercase hex sha256 of the public
 * key's DER SubjectPublicKeyInfo.  path: a private or public PEM key. */
int attest_key_id (const char *path, char **out, ohr_error_t *err);

/* DSSE's pre-authentication encoding:
 * "DSSEv1 <len(type)> <type> <len(payload)> <payload>". */
char *attest_dsse_pae (const char *type, const char *payload, size_t len,
                       size_t *out_len);

/* A signed envelope (canonical JSON) of payload, with the private key at
 * key_path (an ed25519 PEM). */
int attest_dsse_sign (const char *payload, size_t len, const char *key_path,
                      char **out, size_t *out_len, ohr_error_t *err);

/* Open an envelope: decode its payload and check that one of its
 * signatures verifies with the public key at pub_path.  Returns 0 when
 * the check could be made: *out_valid says whether it passed, and when
 * not, *out_reason why (the envelope malformed, the payload type, no
 * signature by that key...).  -1 for errors such as an unreadable key.
 * The payload is returned even when the signature is bad. */
int attest_dsse_open (const char *envelope, size_t len, const char *pub_path,
                      char **out_payload, size_t *out_len, bool *out_valid,
                      char **out_reason, ohr_error_t *err);

/* Read FILE: a DSSE envelope or a plain statement.  *out_payload is the
 * statement; *out_envelope tells which it was.  No signature check. */
int attest_load (const char *path, char **out_payload, size_t *out_len,
                 bool *out_envelope, ohr_error_t *err);

/* ---- checks and differences */

enum attest_diff_kind
{
  ATTEST_DIFF_CHANGED,
  ATTEST_DIFF_MISSING, /* recorded, not there now */
  ATTEST_DIFF_EXTRA,   /* there now, not recorded */
  ATTEST_DIFF_STATUS,  /* the re-run's exit status differs */
};

enum
{
  ATTEST_HINT_PATH = 1 << 0,      /* an OUT_DIR path is embedded */
  ATTEST_HINT_TIMESTAMP = 1 << 1, /* a date or epoch near now */
  ATTEST_HINT_ORDER = 1 << 2,     /* the same lines in another order */
};

#define ATTEST_LINE_MAX 200

struct attest_diff
{
  enum attest_diff_kind kind;
  char *name;
  long line;      /* first differing line (1-based); 0: not text or unknown */
  char *old_line; /* truncated to ATTEST_LINE_MAX bytes; NULL past the end */
  char *new_line;
  unsigned hints;
  const char *note;           /* static: why no line is shown, ... */
  int old_status, new_status; /* ATTEST_DIFF_STATUS */
};

struct attest_diffs
{
  struct attest_diff *v;
  size_t n;
};

void attest_diffs_clear (struct attest_diffs *d);

/* Compare two contents; fills line, old_line, new_line and hints of d.
 * old_paths and new_paths: NULL-terminated paths whose appearance in the
 * old, respectively new, content hints at an embedded path.  now: the
 * time near which numbers look like timestamps. */
int attest_diff_contents (const char *old, size_t old_len, const char *new,
                          size_t new_len, const char *const *old_paths,
                          const char *const *new_paths, time_t now,
                          struct attest_diff *d, ohr_error_t *err);

/* Compare two directive streams the way the statement digests them: only
 * their directive lines ("cargo:..."; the rest is the script's chatter),
 * both in the form the script printed them (container paths when the runs
 * had canonical paths, as the runner's --attest records them), with
 * old_out in old and new_out in new (each run's OUT_DIR as its script saw
 * it; NULL: none) read as one placeholder.  Returns 1 when they are the
 * same, 0 when not (d filled as attest_diff_contents does; line numbers
 * count the directive lines), -1 on error. */
int attest_diff_directives (const char *old, size_t old_len, const char *new,
                            size_t new_len, const char *old_out,
                            const char *new_out, time_t now,
                            struct attest_diff *d, ohr_error_t *err);

/* Check a statement's subjects against the files now on disk: OUT_DIR of
 * its run record and the directives file (record_dir holds both the
 * record and the directives).  Differences go to *out (empty: all match);
 * files in OUT_DIR that are not subjects are EXTRA. */
int attest_check_subjects (const struct attest_statement *st,
                           const struct runrecord *rr, const char *record_dir,
                           struct attest_diffs *out, ohr_error_t *err);

/* The run record of a statement file: DIR/<invocationId>.run.json. */
char *attest_record_path (const char *statement_path,
                          const struct attest_statement *st);

/* ---- bundles */

/* Every statement of dir (its envelope instead when there is one) as one
 * canonical JSON per line, sorted by package name, version, then the line
 * itself; written atomically to out_path.  *out_n: the line count. */
int attest_bundle (const char *dir, const char *out_path, size_t *out_n,
                   ohr_error_t *err);

/* ---- re-runs */

struct attest_rerun_options
{
  const char *runner; /* oci-host-runner to run the script with */
  bool keep;          /* keep the temporary tree */
};

struct attest_rerun
{
  char *tmp;     /* the temporary tree (removed unless keep) */
  char *out_dir; /* the fresh OUT_DIR in it */
  int status;    /* the re-run's exit status */
  struct attest_diffs diffs;
  char **notes;      /* inputs that changed since the statement, ... */
  size_t n_compared; /* subjects compared */
};

/* Re-run the build script of a statement (or envelope) with the inputs of
 * its run record into a fresh OUT_DIR, the recorded path below the
 * temporary tree (<tmp>/tree/<recorded OUT_DIR>: the container's OUT_DIR,
 * whatever parts of the host's it is made of, is the recorded one),
 * through the runner, and compare the outputs and the directive stream
 * with the statement.  The runner gets --attest <tmp>/attest and keeps
 * the re-run's stream there as the script printed it, the form the
 * statement recorded, so the two are compared in the same form
 * (attest_diff_directives); a re-run that fails keeps none (MISSING).
 * The dependencies' OUT_DIRs the recorded DEP_* variables name are copied
 * to their recorded paths below <tmp>/tree (the re-run's build
 * directory), as they are now, and those variables name the copies; one
 * that is not as the statement recorded it is a note.
 * Returns 0 when it could compare (out->diffs empty: reproducible).
 *
 * The runner gets: --image (a registry reference by tag pinned by the
 * recorded digest), --runtime (runc or crun, nothing else: the runner
 * would exec a path), --paths, --network as recorded, cwd as recorded,
 * and the recorded environment: the variables its allowlist passes in its
 * own environment, every other one (and anything that would steer the
 * runner process itself: LD_*, OCI_HOST_RUNNER_*, ...) only for the
 * script, as --env NAME=VALUE.  Of our environment it gets PATH, HOME,
 * XDG_*, TMPDIR, RUSTUP_HOME... and OCI_HOST_RUNNER_* settings (state,
 * cache, store, policy), never the image, runtime, paths, network,
 * attest directory or signing key. */
int attest_rerun (const char *statement_path,
                  const struct attest_rerun_options *opts,
                  struct attest_rerun *out, ohr_error_t *err);

void attest_rerun_clear (struct attest_rerun *r);

#endif
