/* http.h: the remote result cache over Bazel's HTTP cache protocol, on
 * libcurl: GET, PUT and HEAD of BASE/ac/HEX (action-cache entries) and
 * BASE/cas/HEX (blobs named by the sha256 of their bytes), as
 * bazel-remote, nginx with WebDAV PUT, or any server speaking it serves
 * them.
 *
 * What it promises the caller:
 *   - every request is bounded: a connect timeout and a total timeout per
 *     request (struct cache_http_options), at most one retry; and once
 *     the server was unavailable, the client (and, with a state
 *     directory, every run of the same build: down.h) skips it at once;
 *   - "unavailable" (a server down, refusing, slow, or answering 5xx, 408
 *     or 429) is told apart from "not found" and from other errors, so
 *     that the build goes on uncached;
 *   - a CAS blob read is checked against its name before it is returned;
 *   - credentials (the URL's userinfo, or a netrc file) never appear in a
 *     message: messages show the URL with its userinfo as "***".
 * Redirects are not followed (a cache has no reason to send one, and a
 * redirect could carry the credentials elsewhere).
 *
 * It may call down.h and src/util/.  The result cache reaches it through
 * cache_http_backend (backend.h) like any other store.
 */
#ifndef OHR_CACHE_HTTP_H
#define OHR_CACHE_HTTP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache/backend.h"
#include "util/buf.h"
#include "util/error.h"

/* The return value of a request that found the server unavailable (err
 * set): connection refused or reset, a timeout, a 5xx, 408 or 429.  Other
 * failures return -1. */
#define CACHE_HTTP_UNAVAILABLE (-2)

/* The error status of an unavailable answer given without a request,
 * because the server was found unavailable earlier in this build (the
 * caller warns once, at the first one, whose status is EHOSTDOWN). */
#define CACHE_HTTP_SKIPPED EALREADY

/* The variable naming a netrc file for the cache's credentials (read by
 * cache_http_options_init; the URL's own userinfo wins over it). */
#define CACHE_HTTP_NETRC_ENV "OCI_HOST_RUNNER_RESULT_CACHE_NETRC"

struct cache_http_options
{
  long connect_timeout_ms; /* default 2000 */
  long timeout_ms;         /* the whole of one request; default 10000 */
  int retries;             /* after an unavailable answer: 0 (default) or 1 */
  size_t max_body;         /* the largest GET answer taken; default 1 GiB */
  const char *netrc;       /* a netrc file, or NULL (default: the variable) */
  /* "Down once per build" (down.h): with a state directory, an
   * unavailable answer leaves a marker there, and while it holds for
   * build_id every request answers CACHE_HTTP_UNAVAILABLE at once.
   * NULL: no marker (default); build_id NULL: cache_down_build_id (). */
  const char *state_dir;
  const char *build_id;
};

/* The defaults above. */
void cache_http_options_init (struct cache_http_options *o);

struct cache_http;

/* A client for the cache at url ("http[s]://[USER:PASSWORD@]HOST[:PORT]
 * [/PREFIX]"); no request is made yet.  opt NULL: the defaults.  EINVAL
 * (OHR_ERR_USAGE) for a URL that is not one. */
int cache_http_new (const char *url, const struct cache_http_options *opt,
                    struct cache_http **out, ohr_error_t *err);

void cache_http_free (struct cache_http *c);

/* The URL for messages: the userinfo replaced by "***". */
const char *cache_http_display_url (const struct cache_http *c);

/* GET BASE/NS/HEX into *out (which it empties first): 1 found, 0 not
 * found, CACHE_HTTP_UNAVAILABLE, or -1 (EBADMSG: a CAS blob whose bytes do
 * not match hex; EACCES: the server refused our credentials...). */
int cache_http_get (struct cache_http *c, int ns, const char *hex,
                    struct buf *out, ohr_error_t *err);

/* HEAD BASE/NS/HEX: 1 there, 0 not, CACHE_HTTP_UNAVAILABLE, or -1. */
int cache_http_has (struct cache_http *c, int ns, const char *hex,
                    ohr_error_t *err);

/* PUT data as BASE/NS/HEX: 0, CACHE_HTTP_UNAVAILABLE, or -1.  A CAS blob
 * whose bytes do not match hex is refused before anything is sent. */
int cache_http_put (struct cache_http *c, int ns, const char *hex,
                    const void *data, size_t len, ohr_error_t *err);

/* The client as a backend (backend.h); self is the struct cache_http,
 * and close frees it. */
extern const struct ohr_cache_backend_ops cache_http_backend;

#endif
