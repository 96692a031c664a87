/* semver.h: semantic versions and Cargo version requirements.
 *
 * The policy matches rules against CARGO_PKG_VERSION with the requirement
 * syntax users already write in Cargo.toml, so it must mean exactly what
 * Cargo (the semver crate, 1.x) means:
 *
 *   version      MAJOR.MINOR.PATCH[-PRE][+BUILD], no leading zeros in the
 *                numbers or in numeric PRE identifiers; BUILD never affects
 *                ordering or matching
 *   requirement  comparators separated by ',' (all must match), each
 *                [OP]MAJOR[.MINOR[.PATCH[-PRE]]] with OP one of
 *                ^ ~ = > >= < <=; no OP means ^ ("1.2" is "^1.2");
 *                MINOR and PATCH may be a wildcard (*, x, X): "1.*",
 *                "1.2.*"; "*" alone matches every release
 *
 * A pre-release version (1.3.0-alpha.3) matches only if every comparator
 * matches and at least one comparator names the same MAJOR.MINOR.PATCH
 * with a pre-release: ">=1.2.0" does not match 1.3.0-alpha.3, but
 * ">=1.3.0-alpha.1" does.  So a rule never silently applies to unstable
 * releases it did not name.
 */
#ifndef OHR_SEMVER_H
#define OHR_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct semver
{
  uint64_t major;
  uint64_t minor;
  uint64_t patch;
  char *pre;   /* pre-release identifiers ("alpha.1"), or NULL */
  char *build; /* build metadata, or NULL */
};

/* Parse a whole version (no surrounding spaces, no leading 'v'). */
int semver_parse (const char *text, struct semver *out, ohr_error_t *err);
void semver_clear (struct semver *v);

/* Precedence as in SemVer 2.0: < 0, 0 or > 0.  Build metadata is ignored,
 * so 1.0.0+a and 1.0.0+b compare equal. */
int semver_compare (const struct semver *a, const struct semver *b);

/* A parsed requirement (at most 32 comparators, as Cargo). */
struct semver_req;

int semver_req_parse (const char *text, struct semver_req **out,
                      ohr_error_t *err);
bool semver_req_matches (const struct semver_req *req, const struct semver *v);
void semver_req_free (struct semver_req *req);

static inline void
cleanup_semver_reqp (struct semver_req **r)
{
  semver_req_free (*r);
}
#define cleanup_semver_req __attribute__ ((cleanup (cleanup_semver_reqp)))

/* Parse both and match: 1 when version satisfies req, 0 when it does not,
 * negative with *err when either does not parse. */
int semver_matches (const char *req, const char *version, ohr_error_t *err);

#endif
