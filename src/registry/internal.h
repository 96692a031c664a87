/* internal.h: what the files of src/registry/ share, and nothing outside
 * it includes.
 *
 *   registry.c          the API of registry.h: the client, manifests, blobs
 *   transport.c         HTTP on libcurl: jobs, attempts, retries, the loop
 *   auth.c              answering a 401: the auth cache, Basic, Bearer tokens
 *   credentials.c       the Basic credentials of the auth files
 *   www-authenticate.c  the challenge parser (pure, its own header)
 *
 * Every HTTP exchange is a job (below) that transport.c runs; registry.c
 * makes manifest and blob jobs and says, through job->complete, what a
 * finished one must satisfy; auth.c makes the token job of a Bearer
 * challenge and runs it through the same loop.
 *
 * Secrets (the "auth" of an auth file, bearer tokens) live only in the
 * auth cache, in a job's auth_header and in curl's header lists; no
 * message and no debug line contains them, nor a redirect target's URL
 * (presigned URLs carry signatures): messages name hosts only.
 */
#ifndef OHR_REGISTRY_INTERNAL_H
#define OHR_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/registry.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/error.h"

#define MAX_PARALLEL 4
#define MAX_BACKOFF_MS 30000
#define TOKEN_RESPONSE_MAX (1 << 20)

struct auth_entry; /* auth.c */

struct registry_client
{
  char **insecure_hosts;
  int max_retries;
  bool progress;
  bool debug;
  long long retry_base_ms;
  long long progress_ms;
  struct registry_stats stats;
  struct auth_entry *auth; /* the auth cache */
  unsigned auth_gen;
};

enum job_kind
{
  JOB_MANIFEST,
  JOB_BLOB,
  JOB_TOKEN,
};

enum job_abort
{
  ABORT_NONE,
  ABORT_TOO_BIG, /* more bytes than allowed or declared */
  ABORT_RANGE,   /* a 206 for another range than asked for */
  ABORT_IO,      /* writing the .partial failed */
};

/* What the current response's headers said (reset at each status line:
 * redirects and 1xx answers come before the final one). */
struct response
{
  long status;
  bool body_started;
  char *www_auth;
  char *content_type;
  char *docker_digest;
  char *retry_after;
  char *content_range;
};

struct job
{
  struct registry_client *c;
  enum job_kind kind;
  const char *registry; /* as the caller named it */
  const char *repository;
  char *what;   /* "manifest 'v1'", "blob sha256:..." for messages */
  char *server; /* token server host, for messages (JOB_TOKEN) */
  char *url;
  const char *accept;
  char *auth_header; /* fixed Authorization header (JOB_TOKEN), a secret */
  const char *expect_digest; /* manifest by digest */
  /* After a 200 (or 206) has been received in full: check it and set
   * done, or schedule a retry; NULL: done at once. */
  int (*complete) (struct job *j, ohr_error_t *err);

  struct buf body; /* JOB_MANIFEST, JOB_TOKEN */
  char digest[DIGEST_STRING_LEN + 1];
  char *media_type; /* JOB_MANIFEST */

  const struct oci_descriptor *desc; /* JOB_BLOB */
  const char *dest_dir;
  char *partial_path;
  char *final_path;
  int fd;
  struct digest_ctx *dg;
  int64_t have;         /* bytes in the .partial, all hashed into dg */
  int64_t start_offset; /* where this attempt started */
  bool restarted;

  /* the current attempt */
  CURL *h;
  struct curl_slist *headers;
  struct response resp;
  struct buf errbody;
  enum job_abort abort;
  int abort_errno;
  unsigned auth_gen; /* of the cached header sent; 0: none */
  char errbuf[CURL_ERROR_SIZE];

  /* scheduling */
  int failures;
  int auth_rounds;
  long long not_before;
  bool active;
  bool done;
};

/* ---- small helpers */

static inline long long
registry_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void
registry_free_secret (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  free (s);
}

/* ---- transport.c */

/* libcurl's global set-up, once per process. */
int registry_transport_init (ohr_error_t *err);

/* Keep printable ASCII of untrusted text for a message, at most max. */
void registry_sanitize (const char *in, char *out, size_t max);

/* Plain http only for loopback and hosts the user named insecure. */
bool registry_allow_http (const struct registry_client *c,
                          const char *hostport);

/* The host serving a registry's API (Docker Hub's is not docker.io). */
const char *registry_endpoint (const char *registry);

/* SCHEME://ENDPOINT/v2/REPOSITORY/KIND/REF; NULL on ENOMEM. */
char *registry_url (const struct registry_client *c, const char *registry,
                    const char *repository, const char *kind, const char *ref);

/* "host[:port]" of a URL, for messages (never the path or query). */
char *registry_url_hostport (const char *url);

/* Run jobs to completion, MAX_PARALLEL at a time; on the first error the
 * others are stopped (their .partial files stay, for a later resume). */
int registry_run_jobs (struct registry_client *c, struct job **jobs, size_t n,
                       ohr_error_t *err);

/* Count a failure's retry and set when j may start again (backoff, or
 * the server's Retry-After). */
void registry_retry_later (struct registry_client *c, struct job *j);

/* "STATUS TEXT from HOST for repo REPO: DETAIL[: what the server said]";
 * the server's words only when quote. */
int registry_fail_http (const struct job *j, const char *detail, bool quote,
                        ohr_error_t *err);

/* The progress line of blob jobs (on a terminal, when asked for). */
void registry_progress_show (struct registry_client *c, struct job **jobs,
                             size_t n, bool final);

/* Free what j holds and reset it (fd -1). */
void registry_job_clear (struct job *j);

/* ---- auth.c */

/* The cached Authorization header for j's registry and repository (a
 * secret, owned by the cache), or NULL; *out_gen tells renewals apart. */
const char *registry_auth_header (struct registry_client *c,
                                  const struct job *j, unsigned *out_gen);

/* j got a 401: authenticate (or see that another transfer has) so that
 * j can be tried again, or fail. */
int registry_auth_unauthorized (struct registry_client *c, struct job *j,
                                ohr_error_t *err);

void registry_auth_free_all (struct registry_client *c);

/* ---- credentials.c */

/* The Basic credentials (base64 "user:password", a secret) for registry
 * from $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json or
 * ~/.docker/config.json, the first that has them; *out NULL when none
 * does. */
int registry_credentials_lookup (const char *registry, char **out,
                                 ohr_error_t *err);

#endif
