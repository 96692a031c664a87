/* envfilter.h: which environment variables reach a build script.
 *
 * Owns the allowlist: the variables Cargo defines for build scripts
 * (OUT_DIR, CARGO_*, DEP_*, ...), the build-tool conventions build scripts
 * read (CC, CFLAGS, PKG_CONFIG_*, ...), and the user's explicit additions.
 * Everything else is dropped, so tokens, SSH_AUTH_SOCK, proxies and cloud
 * credentials never enter the container.  A name that looks like a secret
 * is dropped even when a pattern allows it, unless the user named it.
 */
#ifndef OHR_ENVFILTER_H
#define OHR_ENVFILTER_H

#include <stdbool.h>

#include "util/error.h"

/* true when the variable NAME is passed by default. */
bool envfilter_allowed (const char *name);

/* true when NAME looks like it carries a secret (TOKEN, PASSWORD, ...). */
bool envfilter_looks_secret (const char *name);

/* Build the container environment from envp.
 * extra: user additions, each "NAME" (pass the host value if set) or
 * "NAME=VALUE" (set).  The result is sorted by name, so the generated spec
 * does not depend on the order of the host environment.  A variable that
 * would reach the script with a name or value that is not UTF-8 (the spec
 * is JSON) is an error (OHR_ERR_USAGE) naming the variable, never its
 * value. */
int envfilter_build (char *const *envp, char *const *extra, char ***out,
                     ohr_error_t *err);

/* Set or replace NAME=VALUE in an env vector built by envfilter_build. */
int envfilter_set (char ***env, const char *name, const char *value,
                   ohr_error_t *err);

/* Sort an env vector by name (a spec must not depend on host env order). */
void envfilter_sort (char **env);

/* The value of NAME in env, or NULL. */
const char *envfilter_get (char *const *env, const char *name);

#endif
