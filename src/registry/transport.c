/* transport.c: HTTP on libcurl for the registry client (see internal.h).
 *
 * One loop on a curl multi handle (registry_run_jobs) runs every job: at
 * most MAX_PARALLEL transfers at once, each attempt a fresh easy handle,
 * failed attempts rescheduled with a backoff, a 401 handed to auth.c
 * (which may run a token job through this same loop) and the job
 * requeued.  Bodies are checked while they stream: manifests and tokens
 * against their size cap, blobs against their declared size, written to
 * a .partial that a later attempt resumes with Range, and hashed; what
 * the finished body must satisfy is the job's own complete().  This file
 * turns CURLcode and HTTP statuses into our errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/curl.h"
#include "util/digest.h"
#include "util/strv.h"
#include "util/version.h"

#define ERRBODY_MAX 16384
#define RETRY_AFTER_CAP_MS 30000

int
registry_transport_init (ohr_error_t *err)
{
  return curl_init_once (err);
}

/* ---- statuses and messages */

static const char *
status_text (long s)
{
  switch (s)
    {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
    }
}

static int
status_errno (long s)
{
  if (s == 401 || s == 403)
    return EACCES;
  if (s == 404)
    return ENOENT;
  return EPROTO;
}

/* Keep printable ASCII of untrusted text for a message, at most max. */
void
registry_sanitize (const char *in, char *out, size_t max)
{
  size_t n = 0;
  for (; in && *in && n + 1 < max; in++)
    out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
  out[n] = '\0';
}

/* ---- hosts and URLs */

/* "host" of "host:port" or "[v6]:port"; NULL on allocation failure. */
static char *
host_of (const char *hostport)
{
  if (hostport[0] == '[')
    {
      const char *e = strchr (hostport, ']');
      return e ? strndup (hostport + 1, (size_t)(e - hostport - 1))
               : strdup (hostport);
    }
  const char *colon = strchr (hostport, ':');
  return colon ? strndup (hostport, (size_t)(colon - hostport))
               : strdup (hostport);
}

static bool
host_is_loopback (const char *host)
{
  struct in_addr a4;
  struct in6_addr a6;
  if (strcasecmp (host, "localhost") == 0)
    return true;
  if (inet_pton (AF_INET, host, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return false;
}

/* Plain http only for loopback and hosts the user named insecure. */
bool
registry_allow_http (const struct registry_client *c, const char *hostport)
{
  cleanup_free char *host = host_of (hostport);
  if (host == NULL)
    return false;
  return host_is_loopback (host) || strv_contains (c->insecure_hosts, hostport)
         || strv_contains (c->insecure_hosts, host);
}

const char *
registry_endpoint (const char *registry)
{
  if (strcmp (registry, "docker.io") == 0
      || strcmp (registry, "index.docker.io") == 0)
    return "registry-1.docker.io";
  return registry;
}

char *
registry_url (const struct registry_client *c, const char *registry,
              const char *repository, const char *kind, const char *ref)
{
  const char *ep = registry_endpoint (registry);
  char *url = NULL;
  if (asprintf (&url, "%s://%s/v2/%s/%s/%s",
                registry_allow_http (c, ep) ? "http" : "https", ep, repository,
                kind, ref)
      < 0)
    return NULL;
  return url;
}

/* "host[:port]" of a URL, for messages (never the path or query). */
char *
registry_url_hostport (const char *url)
{
  CURLU *u = curl_url ();
  char *host = NULL, *port = NULL, *out = NULL;
  if (u && curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    {
      if (curl_url_get (u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        {
          if (asprintf (&out, "%s:%s", host, port) < 0)
            out = NULL;
        }
      else
        out = strdup (host);
    }
  curl_free (host);
  curl_free (port);
  curl_url_cleanup (u);
  return out;
}

/* ---- response headers and bodies (curl callbacks) */

static void
response_clear (struct response *r)
{
  free_many (r->www_auth, r->content_type, r->docker_digest, r->retry_after,
             r->content_range);
  memset (r, 0, sizeof *r);
}

static char **
header_slot (struct response *r, const char *name, size_t n)
{
  static const struct
  {
    const char *name;
    size_t off;
  } slots[] = {
    { "www-authenticate", offsetof (struct response, www_auth) },
    { "content-type", offsetof (struct response, content_type) },
    { "docker-content-digest", offsetof (struct response, docker_digest) },
    { "retry-after", offsetof (struct response, retry_after) },
    { "content-range", offsetof (struct response, content_range) },
  };
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (strlen (slots[i].name) == n
        && strncasecmp (name, slots[i].name, n) == 0)
      return (char **)((char *)r + slots[i].off);
  return NULL;
}

static size_t
on_header (char *buf, size_t size, size_t nitems, void *userdata)
{
  struct job *j = userdata;
  size_t n = size * nitems, len = n;
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  if (len > 5 && strncmp (buf, "HTTP/", 5) == 0)
    {
      response_clear (&j->resp);
      const char *sp = memchr (buf, ' ', len);
      j->resp.status = sp ? strtol (sp + 1, NULL, 10) : 0;
      return n;
    }
  const char *colon = memchr (buf, ':', len);
  if (colon == NULL)
    return n;
  char **slot = header_slot (&j->resp, buf, (size_t)(colon - buf));
  if (slot == NULL)
    return n;
  const char *v = colon + 1, *end = buf + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  free (*slot);
  *slot = strndup (v, (size_t)(end - v));
  return n;
}

static bool
status_is_payload (const struct job *j)
{
  return j->resp.status == 200
         || (j->kind == JOB_BLOB && j->resp.status == 206);
}

/* A server that ignored our Range sends the whole blob: start over. */
static int
blob_truncate (struct job *j)
{
  if (ftruncate (j->fd, 0) < 0)
    {
      j->abort = ABORT_IO;
      j->abort_errno = errno;
      return -1;
    }
  digest_free (j->dg);
  j->dg = digest_new ();
  if (j->dg == NULL)
    {
      j->abort = ABORT_IO;
      j->abort_errno = ENOMEM;
      return -1;
    }
  j->have = 0;
  j->start_offset = 0;
  return 0;
}

static int
blob_body_begin (struct job *j)
{
  if (j->resp.status == 200)
    return j->have > 0 ? blob_truncate (j) : 0;
  const char *cr = j->resp.content_range;
  long long start = -1;
  if (cr && strncasecmp (cr, "bytes ", 6) == 0)
    start = strtoll (cr + 6, NULL, 10);
  if (start != j->have)
    {
      j->abort = ABORT_RANGE;
      return -1;
    }
  if (start > 0)
    j->c->stats.resumed++;
  return 0;
}

static int
blob_write (struct job *j, const char *p, size_t n)
{
  if ((int64_t)n > j->desc->size - j->have)
    {
      j->abort = ABORT_TOO_BIG;
      return -1;
    }
  for (size_t off = 0; off < n;)
    {
      ssize_t w = pwrite (j->fd, p + off, n - off, (off_t)(j->have + off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        {
          j->abort = ABORT_IO;
          j->abort_errno = errno;
          return -1;
        }
      off += (size_t)w;
    }
  digest_update (j->dg, p, n);
  j->have += (int64_t)n;
  return 0;
}

static size_t
on_body (char *p, size_t size, size_t nmemb, void *userdata)
{
  struct job *j = userdata;
  size_t n = size * nmemb;
  bool first = !j->resp.body_started;
  j->resp.body_started = true;
  if (!status_is_payload (j))
    {
      /* error bodies: the start is enough for a message */
      size_t room = ERRBODY_MAX - j->errbody.len;
      buf_add (&j->errbody, p, n < room ? n : room);
      return n;
    }
  if (j->kind == JOB_BLOB)
    {
      if ((first && blob_body_begin (j) < 0) || blob_write (j, p, n) < 0)
        return 0;
    }
  else if (buf_add (&j->body, p, n) < 0)
    {
      j->abort = ABORT_TOO_BIG;
      return 0;
    }
  j->c->stats.bytes += (long long)n;
  return n;
}

/* Debugging aid: curl's trace with every Authorization value redacted. */
static int
on_debug (CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
  static const char *const prefix[] = { [CURLINFO_TEXT] = "* ",
                                        [CURLINFO_HEADER_IN] = "< ",
                                        [CURLINFO_HEADER_OUT] = "> " };
  if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN
      && type != CURLINFO_HEADER_OUT)
    return 0;
  for (const char *p = data, *end = data + size; p < end;)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
      if (n > 0 && p[n - 1] == '\r')
        n--;
      if (n >= 14 && strncasecmp (p, "authorization:", 14) == 0)
        fprintf (stderr, "registry: %sAuthorization: <redacted>\n",
                 prefix[type]);
      else if (n > 0)
        fprintf (stderr, "registry: %s%.*s\n", prefix[type], (int)n, p);
      p = nl ? nl + 1 : end;
    }
  return 0;
}

/* ---- one attempt */

static int
blob_rehash (struct job *j, ohr_error_t *err)
{
  char buf[65536];
  for (int64_t off = 0; off < j->have;)
    {
      size_t want = j->have - off < (int64_t)sizeof buf
                        ? (size_t)(j->have - off)
                        : sizeof buf;
      ssize_t r = pread (j->fd, buf, want, (off_t)off);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return ohr_error_errno (err, r < 0 ? errno : EIO, OHR_ERR_IMAGE,
                                "cannot read '%s'", j->partial_path);
      digest_update (j->dg, buf, (size_t)r);
      off += r;
    }
  return 0;
}

/* Open the .partial left by an earlier attempt (or create it): its bytes
 * are hashed again and the download resumes after them. */
static int
blob_open_partial (struct job *j, ohr_error_t *err)
{
  struct stat st;
  j->fd = open (j->partial_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0644);
  if (j->fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot open '%s'",
                            j->partial_path);
  if (fstat (j->fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot stat '%s'",
                            j->partial_path);
  j->have = st.st_size;
  /* a complete .partial was not verified (or was refused): start over
   * rather than ask for an empty range */
  if (j->have >= j->desc->size)
    {
      if (ftruncate (j->fd, 0) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                "cannot truncate '%s'", j->partial_path);
      j->have = 0;
    }
  j->start_offset = j->have;
  j->dg = digest_new ();
  if (j->dg == NULL)
    return ohr_error_nomem (err);
  return blob_rehash (j, err);
}

static int
push_header (struct curl_slist **l, const char *h)
{
  struct curl_slist *n = curl_slist_append (*l, h);
  if (n == NULL)
    return -1;
  *l = n;
  return 0;
}

static int
build_headers (struct registry_client *c, struct job *j)
{
  char range[64];
  j->auth_gen = 0;
  if (j->accept && push_header (&j->headers, j->accept) < 0)
    return -1;
  if (j->auth_header)
    {
      if (push_header (&j->headers, j->auth_header) < 0)
        return -1;
    }
  else
    {
      const char *cached = registry_auth_header (c, j, &j->auth_gen);
      if (cached && push_header (&j->headers, cached) < 0)
        return -1;
    }
  if (j->kind == JOB_BLOB && j->have > 0)
    {
      snprintf (range, sizeof range, "Range: bytes=%lld-", (long long)j->have);
      if (push_header (&j->headers, range) < 0)
        return -1;
    }
  return 0;
}

static void
setup_easy (struct registry_client *c, struct job *j)
{
  CURL *h = j->h;
  bool http = strncmp (j->url, "http://", 7) == 0;
  curl_easy_setopt (h, CURLOPT_URL, j->url);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* no downgrade to http through a redirect from https */
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR,
                    http ? "http,https" : "https");
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 10L);
  /* libcurl then sends no Authorization header (ours is a custom one)
   * to another host or port than the first: blob storage behind a
   * redirect never sees the registry's credentials. */
  curl_easy_setopt (h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "oci-host-runner/" OHR_VERSION);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, j->errbuf);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, j);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, j);
  curl_easy_setopt (h, CURLOPT_PRIVATE, j);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, j->headers);
  if (c->debug)
    {
      curl_easy_setopt (h, CURLOPT_DEBUGFUNCTION, on_debug);
      curl_easy_setopt (h, CURLOPT_VERBOSE, 1L);
    }
}

static void
attempt_cleanup (struct job *j)
{
  if (j->h)
    curl_easy_cleanup (j->h);
  j->h = NULL;
  curl_slist_free_all (j->headers);
  j->headers = NULL;
  response_clear (&j->resp);
  buf_clear (&j->errbody);
  if (j->fd >= 0)
    close (j->fd);
  j->fd = -1;
  digest_free (j->dg);
  j->dg = NULL;
  j->abort = ABORT_NONE;
  j->active = false;
}

static int
start_attempt (struct registry_client *c, CURLM *m, struct job *j,
               ohr_error_t *err)
{
  if (j->kind == JOB_BLOB && blob_open_partial (j, err) < 0)
    {
      attempt_cleanup (j);
      return -1;
    }
  j->errbuf[0] = '\0';
  j->errbody.max = ERRBODY_MAX;
  j->body.len = 0;
  j->h = curl_easy_init ();
  if (j->h == NULL || build_headers (c, j) < 0)
    {
      attempt_cleanup (j);
      return ohr_error_nomem (err);
    }
  setup_easy (c, j);
  if (curl_multi_add_handle (m, j->h) != CURLM_OK)
    {
      attempt_cleanup (j);
      return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                            "cannot start a transfer");
    }
  j->active = true;
  c->stats.requests++;
  return 0;
}

/* ---- what an attempt's outcome means */

static const char *
job_from (const struct job *j)
{
  return j->server ? j->server : j->registry;
}

static const char *
job_from_prefix (const struct job *j)
{
  return j->kind == JOB_TOKEN ? "token server " : "";
}

/* "the registry's own words" from an error body {"errors":[...]}. */
static void
registry_says (const struct job *j, char *out, size_t max)
{
  out[0] = '\0';
  if (j->errbody.data == NULL)
    return;
  yajl_val root = yajl_tree_parse (j->errbody.data, NULL, 0);
  const char *errors_path[] = { "errors", NULL };
  const char *msg_path[] = { "message", NULL };
  yajl_val errs
      = root ? yajl_tree_get (root, errors_path, yajl_t_array) : NULL;
  if (errs && YAJL_GET_ARRAY (errs)->len > 0)
    {
      yajl_val m = yajl_tree_get (YAJL_GET_ARRAY (errs)->values[0], msg_path,
                                  yajl_t_string);
      if (m)
        registry_sanitize (m->u.string, out, max);
    }
  yajl_tree_free (root);
}

/* "STATUS TEXT from HOST for repo REPO: DETAIL[: what the server said]" */
int
registry_fail_http (const struct job *j, const char *detail, bool quote,
                    ohr_error_t *err)
{
  char says[160] = "";
  long s = j->resp.status;
  if (quote)
    registry_says (j, says, sizeof says);
  return ohr_error_set (err, status_errno (s), OHR_ERR_IMAGE,
                        "%ld%s%s from %s%s for repo %s: %s%s%s", s,
                        *status_text (s) ? " " : "", status_text (s),
                        job_from_prefix (j), job_from (j), j->repository,
                        detail ? detail : j->what, *says ? ": " : "", says);
}

static long long
retry_after_ms (const char *v)
{
  if (v == NULL || *v == '\0')
    return -1;
  char *end = NULL;
  long long ms;
  long long secs = strtoll (v, &end, 10);
  if (*end == '\0')
    ms = secs * 1000;
  else
    {
      time_t t = curl_getdate (v, NULL);
      if (t < 0)
        return -1;
      ms = ((long long)t - (long long)time (NULL)) * 1000;
    }
  if (ms < 0)
    ms = 0;
  return ms > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : ms;
}

void
registry_retry_later (struct registry_client *c, struct job *j)
{
  int shift = j->failures - 1 < 16 ? j->failures - 1 : 16;
  long long delay = c->retry_base_ms << shift;
  if (delay > MAX_BACKOFF_MS)
    delay = MAX_BACKOFF_MS;
  long long ra = retry_after_ms (j->resp.retry_after);
  if (ra >= 0)
    delay = ra;
  c->stats.retries++;
  j->not_before = registry_now_ms () + delay;
}

static int
fail_transport (const struct job *j, CURLcode rc, ohr_error_t *err)
{
  long os_errno = 0;
  char *eff = NULL;
  curl_easy_getinfo (j->h, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_getinfo (j->h, CURLINFO_EFFECTIVE_URL, &eff);
  cleanup_free char *where = eff ? registry_url_hostport (eff) : NULL;
  const char *why = j->errbuf[0] ? j->errbuf : curl_easy_strerror (rc);
  if (rc == CURLE_COULDNT_CONNECT && os_errno)
    why = strerror ((int)os_errno);
  const char *host = where ? where : job_from (j);
  int n = j->failures;
  const char *pl = n == 1 ? "" : "s";
  if (rc == CURLE_COULDNT_RESOLVE_HOST)
    return ohr_error_set (err, EHOSTUNREACH, OHR_ERR_IMAGE,
                          "cannot resolve %s%s after %d attempt%s for repo %s",
                          job_from_prefix (j), host, n, pl, j->repository);
  if (strcmp (host, registry_endpoint (j->registry)) == 0)
    host = j->registry;
  if (rc == CURLE_COULDNT_CONNECT)
    return ohr_error_set (
        err, os_errno ? (int)os_errno : ECONNREFUSED, OHR_ERR_IMAGE,
        "cannot connect to %s%s (%s) after %d attempt%s "
        "for repo %s",
        job_from_prefix (j), host, why, n, pl, j->repository);
  return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                        "transfer from %s%s failed (%s) after %d attempt%s "
                        "for repo %s, %s",
                        job_from_prefix (j), host, why, n, pl, j->repository,
                        j->what);
}

static int
on_transport_error (struct registry_client *c, struct job *j, CURLcode rc,
                    ohr_error_t *err)
{
  j->failures++;
  if (!curl_code_transient (rc) || j->failures > c->max_retries)
    return fail_transport (j, rc, err);
  registry_retry_later (c, j);
  return 0;
}

static int
on_server_busy (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  char detail[256];
  j->failures++;
  if (j->failures <= c->max_retries)
    {
      registry_retry_later (c, j);
      return 0;
    }
  snprintf (detail, sizeof detail, "%s, after %d attempts", j->what,
            j->failures);
  return registry_fail_http (j, detail, true, err);
}

static int
on_success (struct job *j, ohr_error_t *err)
{
  if (j->complete)
    return j->complete (j, err);
  j->done = true;
  return 0;
}

static int
on_abort (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  switch (j->abort)
    {
    case ABORT_RANGE:
      /* an answer for another range: start over from byte 0 */
      unlink (j->partial_path);
      j->have = 0;
      return on_server_busy (c, j, err);
    case ABORT_IO:
      return ohr_error_errno (err, j->abort_errno, OHR_ERR_IMAGE,
                              "cannot write '%s'", j->partial_path);
    case ABORT_TOO_BIG:
    case ABORT_NONE:
    default:
      break;
    }
  if (j->kind != JOB_BLOB)
    return ohr_error_set (err, EFBIG, OHR_ERR_IMAGE,
                          "%s from %s%s for repo %s is larger than %zu bytes",
                          j->what, job_from_prefix (j), job_from (j),
                          j->repository, j->body.max);
  unlink (j->partial_path);
  return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                        "size mismatch for blob %s from %s for repo %s: more "
                        "than the expected %lld bytes",
                        j->desc->digest, j->registry, j->repository,
                        (long long)j->desc->size);
}

static int
on_response (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  long s = j->resp.status;
  if (s == 401)
    return registry_auth_unauthorized (c, j, err);
  if (s == 429 || s >= 500)
    return on_server_busy (c, j, err);
  if (status_is_payload (j))
    {
      /* an empty 206 never reached on_body's checks */
      if (!j->resp.body_started && j->kind == JOB_BLOB && s == 206
          && blob_body_begin (j) < 0)
        return on_abort (c, j, err);
      return on_success (j, err);
    }
  return registry_fail_http (j, NULL, true, err);
}

static int
finish_attempt (struct registry_client *c, struct job *j, CURLcode rc,
                ohr_error_t *err)
{
  int r;
  if (j->abort != ABORT_NONE)
    r = on_abort (c, j, err);
  else if (rc != CURLE_OK)
    r = on_transport_error (c, j, rc, err);
  else
    r = on_response (c, j, err);
  attempt_cleanup (j);
  return r;
}

/* ---- the transfer loop */

void
registry_progress_show (struct registry_client *c, struct job **jobs, size_t n,
                        bool final)
{
  if (!c->progress || n == 0 || jobs[0]->kind != JOB_BLOB)
    return;
  long long t = registry_now_ms ();
  if (!final && t - c->progress_ms < 200)
    return;
  c->progress_ms = t;
  size_t done = 0;
  long long have = 0, total = 0;
  for (size_t i = 0; i < n; i++)
    {
      total += jobs[i]->desc->size;
      have += jobs[i]->done ? jobs[i]->desc->size : jobs[i]->have;
      done += jobs[i]->done;
    }
  fprintf (stderr, "\rfetching blobs: %zu/%zu, %.1f/%.1f MiB%s", done, n,
           have / 1048576.0, total / 1048576.0, final ? "\n" : "");
  fflush (stderr);
}

static int
start_ready (struct registry_client *c, CURLM *m, struct job **jobs, size_t n,
             ohr_error_t *err)
{
  size_t active = 0;
  long long t = registry_now_ms ();
  for (size_t i = 0; i < n; i++)
    active += jobs[i]->active;
  for (size_t i = 0; i < n && active < MAX_PARALLEL; i++)
    {
      struct job *j = jobs[i];
      if (j->done || j->active || j->not_before > t)
        continue;
      if (start_attempt (c, m, j, err) < 0)
        return -1;
      active++;
    }
  return 0;
}

static int
collect_done (struct registry_client *c, CURLM *m, size_t *left,
              ohr_error_t *err)
{
  CURLMsg *msg;
  int queued;
  while ((msg = curl_multi_info_read (m, &queued)))
    {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL *h = msg->easy_handle;
      CURLcode rc = msg->data.result;
      struct job *j = NULL;
      curl_easy_getinfo (h, CURLINFO_PRIVATE, (char **)&j);
      curl_multi_remove_handle (m, h);
      if (finish_attempt (c, j, rc, err) < 0)
        return -1;
      if (j->done)
        (*left)--;
    }
  return 0;
}

/* How long to wait for network activity: until the next job may start
 * when a slot is free, else until curl has something (at most 1 s). */
static int
poll_timeout (struct job **jobs, size_t n)
{
  long long t = registry_now_ms (), next = t + 1000;
  size_t active = 0;
  for (size_t i = 0; i < n; i++)
    active += jobs[i]->active;
  for (size_t i = 0; i < n && active < MAX_PARALLEL; i++)
    if (!jobs[i]->done && !jobs[i]->active && jobs[i]->not_before < next)
      next = jobs[i]->not_before;
  return next <= t ? 0 : (int)(next - t);
}

static void
abort_active (CURLM *m, struct job **jobs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (jobs[i]->active)
      {
        curl_multi_remove_handle (m, jobs[i]->h);
        attempt_cleanup (jobs[i]);
      }
}

/* Run jobs to completion, MAX_PARALLEL at a time; on the first error the
 * others are stopped (their .partial files stay, for a later resume). */
int
registry_run_jobs (struct registry_client *c, struct job **jobs, size_t n,
                   ohr_error_t *err)
{
  CURLM *m = curl_multi_init ();
  if (m == NULL)
    return ohr_error_nomem (err);
  curl_multi_setopt (m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)MAX_PARALLEL);
  size_t left = 0;
  for (size_t i = 0; i < n; i++)
    left += !jobs[i]->done;
  int r = 0;
  while (left > 0 && r == 0)
    {
      int running = 0;
      if ((r = start_ready (c, m, jobs, n, err)) < 0)
        break;
      if (curl_multi_perform (m, &running) != CURLM_OK)
        r = ohr_error_set (err, EIO, OHR_ERR_INTERNAL, "curl multi failed");
      else
        r = collect_done (c, m, &left, err);
      registry_progress_show (c, jobs, n, false);
      if (r == 0 && left > 0)
        curl_multi_poll (m, NULL, 0, poll_timeout (jobs, n), NULL);
    }
  abort_active (m, jobs, n);
  curl_multi_cleanup (m);
  return r;
}

void
registry_job_clear (struct job *j)
{
  attempt_cleanup (j);
  free_many (j->what, j->media_type, j->server, j->url, j->partial_path,
             j->final_path);
  registry_free_secret (j->auth_header);
  buf_clear (&j->body);
  memset (j, 0, sizeof *j);
  j->fd = -1;
}
