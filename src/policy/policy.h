/* policy.h: the per-package execution policy: what each build script may
 * do beyond the deny-everything defaults.
 *
 * Trust.  The policy only ever widens what a build script gets, so it must
 * come from the user and never from what is being built: the runner reads
 * it only from the path the user names (an option or variable the user
 * sets) or from the default locations below, never from the package
 * source, CARGO_MANIFEST_DIR, the target directory or anything a crate
 * ships.  policy_load refuses a file that someone else could edit (not
 * owned by the user or root, or writable by group or others), as ssh does
 * with its configuration.  This module only parses and resolves; applying
 * the result is the runner's job.
 *
 * Default locations (policy_default_path), first existing wins:
 *   $XDG_CONFIG_HOME/oci-host-runner/policy.json
 *     ($XDG_CONFIG_HOME unset, empty or relative: $HOME/.config)
 *   /etc/oci-host-runner/policy.json
 * With neither, policy_default gives the built-in policy.
 *
 * The file (JSON, at most 1 MiB; C and C++ comments are allowed):
 *
 *   {
 *     "version": 1,
 *     "strict": false,
 *     "defaults": { "network": "none", "memory": "2G", "pids": 1024,
 *                   "timeout": "15m", "source-writes": "none",
 *                   "paths": "identity" },
 *     "packages": [
 *       { "package": "openssl-sys", "mounts": ["/usr/lib/ssl"],
 *         "env": ["OPENSSL_DIR"] },
 *       { "package": "foo", "version": ">=1.2, <2", "network": "host" },
 *       { "package": "bar",
 *         "mounts": [ { "source": "/opt/bar/include",
 *                       "destination": "/usr/include/bar" } ],
 *         "memory": 8589934592, "timeout": 3600 }
 *     ]
 *   }
 *
 * Top level: "version" (required, 1), "strict", "defaults", "packages".
 * Every other key, anywhere, is an error naming its JSON path
 * ("packages[1].netwrok"), and so is a key given twice, a value of the
 * wrong type or an out-of-range limit: a typo must never quietly leave a
 * script with more, or less, than the user wrote.
 *
 *   strict         true or false (false): directives that name paths
 *                  outside the trees mounted into the container are errors
 *                  instead of warnings
 *   defaults       settings for every package, over the built-in ones
 *   packages       rules, each "package" (the exact Cargo package name,
 *                  CARGO_PKG_NAME), an optional "version" (a Cargo version
 *                  requirement matched against CARGO_PKG_VERSION, see
 *                  semver.h), optionally what the package's source must
 *                  be, and settings:
 *     source       "registry" (the default: crates.io or another
 *                  registry, also through a directory source or vendor/),
 *                  "git", "path" (workspace members, path dependencies,
 *                  [patch] paths) or "any".  A rule never applies to a
 *                  package of another source: a git or path crate named
 *                  openssl-sys does not get the registry openssl-sys
 *                  rule's mounts
 *     git          a repository URL: only git crates from it (Cargo.lock's
 *                  "git+URL", before its "?" or "#"); implies "source":
 *                  "git"
 *     checksum     64 hex digits: only the registry crate whose Cargo.lock
 *                  checksum this is
 *
 * Settings (in "defaults" and in rules):
 *
 *   network        "none" (only lo) or "host"
 *   mounts         extra host paths, always read-only: "/abs/path" (same
 *                  path inside) or {"source": "/abs", "destination":
 *                  "/abs"} ("destination" defaults to "source")
 *   env            extra variables: "NAME" (pass the host's value, if set)
 *                  or "NAME=VALUE"; NAME is letters, digits and '_', and
 *                  '-' or '.' after the first character
 *                  (CFLAGS_x86_64-unknown-linux-gnu)
 *   workspace-read paths relative to the workspace root that a path
 *                  package's build script may read although the runner
 *                  hides them by design (".git", "target", ".env"...:
 *                  docs/policy.md lists them): [".git"]
 *   source-writes  "none" (the source is read-only: writes fail) or
 *                  "overlay" (writes go to a scratch overlay, never to the
 *                  source, and the runner reports them)
 *   paths          "identity" (paths inside are the paths outside) or
 *                  "canonical" (fixed /cargo/... paths)
 *   memory         bytes, as an integer or a string with a K, M, G or T
 *                  suffix (powers of 1024): 8589934592, "512M", "2G";
 *                  at least 16M
 *   pids           an integer, 1 to 4194304 (the kernel's PID_MAX_LIMIT)
 *   timeout        seconds, as an integer or a string with an s, m or h
 *                  suffix: 900, "30s", "10m", "1h"
 *   nofile         open files per process (RLIMIT_NOFILE), 64 to 1048576
 *   tmpfs          the size of each of /tmp, HOME and the source
 *                  overlay's scratch layer, as memory; at least 1M
 *   seccomp        "default" (the runner's seccomp profile, run/seccomp.h)
 *                  or "unconfined" (no seccomp filter at all)
 *   syscalls       calls the profile denies or restricts that this
 *                  package may make: ["keyctl", "personality"]; a name
 *                  the profile does not restrict is an error (checked by
 *                  seccomp_check_policy, which knows the profile)
 *
 * Resolution (policy_resolve): the built-in defaults, then the file's
 * "defaults", then every rule that matches, in file order.  Scalars
 * (network, source-writes, paths, memory, pids, timeout, nofile, tmpfs,
 * seccomp) are overridden by each later layer that names them; mounts,
 * env, workspace-read and syscalls accumulate, a later mount with the same
 * destination or a later variable with the same NAME replacing the earlier
 * one.  A rule with a "version" never matches when the version is unknown
 * (NULL): a widening is not applied on a guess.
 *
 * Built-in defaults (policy_default), chosen for build scripts that
 * compile C and C++: network none, no mounts, no extra env, source-writes
 * none, paths canonical (path-independent runs), memory 4G
 * (one optimizing C++ compile can take 1-2 GiB and the cc crate runs
 * several at once; the limit is there to stop runaways, not to squeeze),
 * pids 4096 (make -j with compilers, assemblers and linkers stays in the
 * hundreds; a fork bomb does not), timeout 30 minutes (the slowest common
 * scripts, bundled OpenSSL or LLVM pieces, take minutes; a hung script
 * should not hold a CI runner for hours), nofile 65536 (the soft limit
 * stays what Cargo has, as natively; a linker that raises it to the hard
 * limit gets 65536, more than any build opens), tmpfs 1G (compilers'
 * temporary files; it is memory), seccomp default, strict false (directives
 * naming system paths are common and mostly harmless: strict is opt-in).
 */
#ifndef OHR_POLICY_H
#define OHR_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/options.h"
#include "policy/semver.h"
#include "util/digest.h"
#include "util/error.h"

#define POLICY_MAX_SIZE (1024 * 1024)
#define POLICY_FILE_VERSION 1

/* The built-in defaults (see above). */
#define POLICY_DEFAULT_MEMORY (4ULL << 30)
#define POLICY_DEFAULT_PIDS 4096
#define POLICY_DEFAULT_TIMEOUT (30 * 60)
#define POLICY_DEFAULT_NOFILE 65536
#define POLICY_DEFAULT_TMPFS (1ULL << 30)

enum policy_seccomp
{
  POLICY_SECCOMP_DEFAULT,    /* the runner's profile (run/seccomp.h) */
  POLICY_SECCOMP_UNCONFINED, /* no filter */
};

enum policy_source_writes
{
  POLICY_SOURCE_WRITES_NONE,    /* the source is read-only */
  POLICY_SOURCE_WRITES_OVERLAY, /* writes land in a scratch overlay */
};

/* Which fields of a struct policy_settings a layer names. */
enum
{
  POLICY_SET_NETWORK = 1 << 0,
  POLICY_SET_SOURCE_WRITES = 1 << 1,
  POLICY_SET_PATHS = 1 << 2,
  POLICY_SET_MEMORY = 1 << 3,
  POLICY_SET_PIDS = 1 << 4,
  POLICY_SET_TIMEOUT = 1 << 5,
  POLICY_SET_NOFILE = 1 << 6,
  POLICY_SET_TMPFS = 1 << 7,
  POLICY_SET_SECCOMP = 1 << 8,
  POLICY_SET_ALL = (1 << 9) - 1,
};

/* A read-only bind of a host path; both absolute and normalized. */
struct policy_mount
{
  char *source;
  char *destination;
};

/* One layer (the defaults, a rule) or the resolved result (set is then
 * POLICY_SET_ALL).  Empty lists are NULL (mounts with n_mounts 0). */
struct policy_settings
{
  unsigned set; /* POLICY_SET_* of the scalars this layer names */
  enum network_mode network;
  enum policy_source_writes source_writes;
  enum paths_mode paths;
  uint64_t memory;  /* bytes */
  uint64_t pids;    /* maximum number of processes and threads */
  uint64_t timeout; /* seconds */
  uint64_t nofile;  /* RLIMIT_NOFILE */
  uint64_t tmpfs;   /* bytes of each of /tmp, HOME, the source scratch */
  struct policy_mount *mounts;
  size_t n_mounts;
  char **env; /* NAME or NAME=VALUE, NULL-terminated, NULL when empty */
  char **workspace_read; /* paths relative to the workspace root that stay
                            visible, NULL when empty */
  enum policy_seccomp seccomp;
  /* calls the seccomp profile may let through, NULL-terminated, NULL when
   * empty; in a layer as written, resolved without repeats */
  char **syscalls;
};

/* Where a package comes from, as far as rules care (see "source"). */
enum policy_source
{
  POLICY_SOURCE_REGISTRY, /* a registry, or a directory source / vendor/
                             copy standing for one */
  POLICY_SOURCE_GIT,
  POLICY_SOURCE_PATH,
  POLICY_SOURCE_ANY, /* rules only */
};

/* The package a run is for. */
struct policy_package
{
  const char *name;    /* CARGO_PKG_NAME */
  const char *version; /* CARGO_PKG_VERSION, or NULL when unknown */
  enum policy_source source;
  const char *source_id; /* Cargo.lock's "source" ("git+URL#rev"), or NULL */
  const char *checksum;  /* Cargo.lock's "checksum", or NULL */
};

struct policy_rule
{
  char *package;
  char *version;             /* the requirement as written, or NULL */
  struct semver_req *req;    /* parsed, or NULL: any version */
  enum policy_source source; /* POLICY_SOURCE_REGISTRY unless it says */
  char *git;                 /* "git": the repository URL, or NULL */
  char *checksum;            /* "checksum": 64 hex digits, or NULL */
  struct policy_settings settings;
  char *json; /* the rule on one line, keys as written */
};

struct policy
{
  char *path; /* the file it came from, NULL when built in or from memory */
  char digest[DIGEST_STRING_LEN + 1]; /* filled by policy_digest() */
  char *data;                         /* the exact bytes parsed */
  size_t len;
  bool strict;
  struct policy_settings defaults; /* built-in, then the file's */
  struct policy_rule *rules;
  size_t n_rules;
};

/* A rule that applied: its index in "packages" and its one-line JSON. */
struct policy_match
{
  size_t index;
  char *json;
};

struct policy_effective
{
  bool strict;
  struct policy_settings settings;
  struct policy_match *matches; /* in file order */
  size_t n_matches;
  /* rules naming the package whose source, git URL or checksum do not
   * match it: the runner says so, since the user may have meant them */
  struct policy_match *passed;
  size_t n_passed;
};

/* The built-in policy as a file: policy_default is what loading it gives,
 * and its digest is the digest of these bytes. */
extern const char policy_builtin_json[];

/* The built-in policy; cannot fail (nothing to allocate). */
void policy_default (struct policy *out);

/* Read, check and parse the user's policy file.  Errors name the file and
 * the JSON path of the offending value ("packages[1].netwrok"). */
int policy_load (const char *path, struct policy *out, ohr_error_t *err);

/* Parse a policy from memory; origin names it in errors. */
int policy_load_data (const char *data, size_t len, const char *origin,
                      struct policy *out, ohr_error_t *err);

void policy_clear (struct policy *p);

/* "sha256:<hex>" of the bytes the policy was parsed from (for the built-in
 * policy, of policy_builtin_json), for attestations.  Computed from the
 * same buffer that was parsed, so it cannot describe another file. */
const char *policy_digest (struct policy *p);

/* The settings for one package.  name is CARGO_PKG_NAME, matched
 * exactly; version is CARGO_PKG_VERSION, or NULL when unknown; an invalid
 * version is an error.  out does not point into p. */
int policy_resolve (const struct policy *p, const char *name,
                    const char *version, struct policy_effective *out,
                    ohr_error_t *err);

/* The same for a package whose source is known (policy_resolve is this
 * for a registry crate without a checksum). */
int policy_resolve_package (const struct policy *p,
                            const struct policy_package *pkg,
                            struct policy_effective *out, ohr_error_t *err);

/* "registry", "git", "path" or "any". */
const char *policy_source_name (enum policy_source s);

void policy_effective_clear (struct policy_effective *e);

/* The one-line rule a user would add to allow something, for error
 * messages: policy_rule_suggestion ("foo", "source-writes", "overlay") is
 * {"package":"foo","source-writes":"overlay"}; "mounts" and "env" values
 * become one-element lists, a decimal "pids" value a number.  NULL for an
 * unknown field or when out of memory. */
char *policy_rule_suggestion (const char *name, const char *field,
                              const char *value);

/* The same for a package from source: "source": "git" or "path" follows
 * "package" unless source is POLICY_SOURCE_REGISTRY. */
char *policy_rule_suggestion_for (const char *name, enum policy_source source,
                                  const char *field, const char *value);

/* {"package":NAME,"mounts":[{"source":S,"destination":D}]}, or the
 * plain "mounts":[S] form when both are the same; NULL out of memory. */
char *policy_mount_suggestion (const char *name, enum policy_source from,
                               const char *source, const char *destination);

/* The spellings of "memory" ("123", "512M", "2g": bytes, K, M, G, T in
 * powers of 1024, either case) and "timeout" ("90", "30s", "10m", "1h":
 * seconds), for tests and for options that want the same syntax.  0, or
 * -1 when s is no such spelling; a value beyond 64 bits saturates at
 * UINT64_MAX, which every maximum refuses. */
int policy_parse_size (const char *s, uint64_t *out);
int policy_parse_duration (const char *s, uint64_t *out);

/* The first existing default location (see above), or NULL. */
char *policy_default_path (void);

/* The same search with explicit inputs (for tests): xdg_config_home and
 * home may be NULL, sysconf_dir is "/etc" in policy_default_path. */
char *policy_find_default (const char *xdg_config_home, const char *home,
                           const char *sysconf_dir);

#endif
