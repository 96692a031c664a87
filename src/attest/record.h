/* runrecord.h: the run record, what one build-script run was given, as the
 * runner saw it.  With --attest DIR the runner writes DIR/<id>.run.json
 * and the captured directive stream DIR/<id>.directives after each run,
 * then starts `oci-host-runner-attest record DIR/<id>.run.json`, which
 * turns them into an in-toto statement (attest.h).
 *
 * This module is yajl only (no libcrypto, libcurl or libostree), so the
 * runner links it without loading anything more per build script.
 *
 * The file (JSON, keys sorted, no insignificant whitespace, at most
 * RUNRECORD_MAX_SIZE bytes):
 *
 *   { "version": 1, "id": "<container id>",
 *     "package": {"name": ..., "version": ...},
 *     "features": [sorted, CARGO_FEATURE_* lowercased, '_' -> '-'],
 *     "profile", "target", "host", "opt_level", "debug": Cargo's PROFILE,
 *         TARGET, HOST, OPT_LEVEL, DEBUG (strings, as Cargo set them),
 *     "args": [script arguments],
 *     "script", "out_dir", "manifest_dir", "cwd": absolute host paths,
 *     "toolchains": [absolute toolchain roots], "rustc": "/path/rustc",
 *     "image": {"ref": "...", "digest": "sha256:..." or null},
 *     "runtime": {"name": "runc", "path": "/usr/sbin/runc"},
 *     "runner_version": "0.1.0", "policy_digest": "sha256:..." or null,
 *     "policy": "<id>.policy.json" or null,
 *     "paths": "canonical"|"identity", "network": "none"|"host",
 *     "env": ["NAME=VALUE", ...],
 *     "directives": "<id>.directives",
 *     "exit_status": 0,
 *     "started": "2024-05-01T12:00:00.123Z", "finished": "...",
 *     "result_cache": {"key": "<64 hex>", "statement": "<id>.reused.json"} }
 *
 * "result_cache" is there only for a result-cache hit (docs/cache.md): the
 * script did not run, OUT_DIR and the directive stream were restored from
 * the result of key, and "statement" names, beside the record, a copy of
 * the statement of the run that stored it (the hit's statement names it by
 * digest).  "started" and "finished" are then the hit's.
 *
 * "policy" names a copy of the exact policy bytes the runner parsed,
 * beside the record, for when the runner did not digest them itself (run
 * mode does not link libcrypto); the attest helper digests it then.
 *
 * package.name, package.version, profile, target, host, opt_level, debug,
 * rustc, image.digest, policy_digest and policy may be null (a runner called
 * by hand has no Cargo around it); everything else is required.  Reading is
 * strict: an unknown or duplicate key, a wrong type, a relative path, an
 * id or directives name that is not a plain file name, or a malformed
 * timestamp is an error naming the field.
 */
#ifndef OHR_RUNRECORD_H
#define OHR_RUNRECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cli/options.h"
#include "util/error.h"

#define RUNRECORD_VERSION 1
#define RUNRECORD_MAX_SIZE (1024 * 1024)
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL */
#define RUNRECORD_TIME_SIZE 25

struct runrecord
{
  char *id; /* container id: [A-Za-z0-9][A-Za-z0-9._-]*, at most 128 */
  char *package_name;    /* CARGO_PKG_NAME, or NULL */
  char *package_version; /* CARGO_PKG_VERSION, or NULL */
  char **features;       /* sorted; NULL when none */
  char *profile;         /* PROFILE, or NULL */
  char *target;          /* TARGET, or NULL */
  char *host;            /* HOST, or NULL */
  char *opt_level;       /* OPT_LEVEL, or NULL */
  char *debug;           /* DEBUG, or NULL */
  char **args;           /* the script's arguments; NULL when none */
  char *script;          /* absolute host paths */
  char *out_dir;
  char *manifest_dir;
  char *cwd;
  char **toolchains;  /* toolchain roots mounted; NULL when none */
  char *rustc;        /* the real rustc (rustup proxy resolved), or NULL */
  char *image_ref;    /* as the user gave it */
  char *image_digest; /* manifest digest, NULL for "host" */
  char *runtime_name; /* "runc", "crun" */
  char *runtime_path;
  char *runner_version;
  char *policy_digest; /* sha256:..., or NULL */
  char *policy; /* file name of the policy bytes, beside the record, or NULL */
  enum paths_mode paths;
  enum network_mode network;
  char **env;       /* NAME=VALUE the runner passed (host side, filtered) */
  char *directives; /* file name of the directive stream, beside the record */
  int exit_status;
  char *started; /* RFC 3339, UTC, milliseconds */
  char *finished;
  char *cache_key;       /* a result-cache hit: its key (64 hex), or NULL */
  char *cache_statement; /* and the reused statement's file name */
};

/* "<id>.reused.json": the reused run's statement beside a hit's record
 * (not "*.intoto.json": `attest bundle` takes those as this DIR's own). */
char *runrecord_reused_name (const char *id);

/* Fill package_name, package_version, features, profile, target, host,
 * opt_level, debug and rustc from a build script's environment (Cargo's
 * variables; the filtered env the runner passes has them all).  Fields
 * already set are replaced.  rustc is $RUSTC as given: when it is a
 * rustup proxy, set it to the real binary afterwards. */
int runrecord_set_cargo (struct runrecord *rr, char *const *env,
                         ohr_error_t *err);

/* The sorted feature list of env's CARGO_FEATURE_* ("FOO_BAR" ->
 * "foo-bar"); *out is NULL when there is none. */
int runrecord_features (char *const *env, char ***out, ohr_error_t *err);

/* ts as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). */
void runrecord_format_time (const struct timespec *ts,
                            char out[RUNRECORD_TIME_SIZE]);

/* true for a container id usable as a file name component. */
bool runrecord_valid_id (const char *id);

/* DIR/<id>.run.json and "<id>.directives": the names the runner uses. */
char *runrecord_path (const char *dir, const char *id);
char *runrecord_directives_name (const char *id);

/* The record as JSON (keys sorted, compact, a final newline). */
int runrecord_to_json (const struct runrecord *rr, char **out, size_t *out_len,
                       ohr_error_t *err);

/* Write it to path atomically and durably (temp, fsync, rename), 0644. */
int runrecord_write (const struct runrecord *rr, const char *path,
                     ohr_error_t *err);

/* Parse (origin names the data in errors) or read a record. */
int runrecord_parse (const char *data, size_t len, const char *origin,
                     struct runrecord *out, ohr_error_t *err);
int runrecord_read (const char *path, struct runrecord *out, ohr_error_t *err);

void runrecord_clear (struct runrecord *rr);

/* The defensive JSON reading this module uses, shared with the attest
 * helper: json_parse_strict (util/jsoncheck.h) at most 64 levels deep,
 * errors "invalid WHAT: ..." (OHR_ERR_INTERNAL).  *out is a yajl_val to
 * free with yajl_tree_free. */
struct yajl_val_s;
int runrecord_json_parse (const char *data, size_t len, size_t max,
                          const char *what, struct yajl_val_s **out,
                          ohr_error_t *err);

#endif
