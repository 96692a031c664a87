/* http.c: the Bazel HTTP remote cache client (see http.h).
 *
 * One easy handle per client, reset before each request, so that the
 * connection (and its TLS session) is kept between requests to the same
 * server.  Credentials are taken out of the URL once, in cache_http_new,
 * and handed to libcurl as options: the URLs it sees and that messages
 * show never hold them.  This file turns CURLcode and HTTP statuses into
 * our errors, and "unavailable" into CACHE_HTTP_UNAVAILABLE.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/down.h"
#include "cache/http.h"
#include "util/cleanup.h"
#include "util/curl.h"
#include "util/digest.h"
#include "util/version.h"

#define DEFAULT_CONNECT_MS 2000L
#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BODY ((size_t)1 << 30)

struct cache_http
{
  CURL *h;
  char *base;    /* scheme://host[:port][/prefix], no userinfo, no final / */
  char *display; /* the same with "***@" where there was userinfo */
  char *user, *password; /* secrets */
  char *netrc;
  char *marker, *build_id; /* down.h; marker NULL: none */
  bool down;               /* unavailable once: skip it from now on */
  struct cache_http_options opt;
  char errbuf[CURL_ERROR_SIZE];
};

void
cache_http_options_init (struct cache_http_options *o)
{
  const char *netrc = getenv (CACHE_HTTP_NETRC_ENV);
  *o = (struct cache_http_options){
    .connect_timeout_ms = DEFAULT_CONNECT_MS,
    .timeout_ms = DEFAULT_TIMEOUT_MS,
    .retries = 0,
    .max_body = DEFAULT_MAX_BODY,
    .netrc = netrc && *netrc ? netrc : NULL,
  };
}

static void
free_secret (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  free (s);
}

void
cache_http_free (struct cache_http *c)
{
  if (c == NULL)
    return;
  if (c->h)
    curl_easy_cleanup (c->h);
  free_secret (c->user);
  free_secret (c->password);
  free_many (c->base, c->display, c->netrc, c->marker, c->build_id);
  free (c);
}

DEFINE_CLEANUP_FREE (cache_http, struct cache_http, cache_http_free)
#define cleanup_cache_http CLEANUP (cache_http)

static void
cleanup_curlup (CURLU **u)
{
  curl_url_cleanup (*u);
}

static void
cleanup_curl_strp (char **s)
{
  curl_free (*s);
}
#define cleanup_curl_str __attribute__ ((cleanup (cleanup_curl_strp)))

const char *
cache_http_display_url (const struct cache_http *c)
{
  return c->display;
}

static int
bad_url (ohr_error_t *err, const char *shown, const char *why)
{
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                        "invalid remote cache URL '%s': %s", shown, why);
}

/* The URL u holds now, without a final slash; NULL when out of memory. */
static char *
url_text (CURLU *u)
{
  cleanup_curl_str char *s = NULL;
  if (curl_url_get (u, CURLUPART_URL, &s, 0) != CURLUE_OK)
    return NULL;
  size_t n = strlen (s);
  while (n > 0 && s[n - 1] == '/')
    n--;
  return strndup (s, n);
}

/* Take the userinfo out of u into c (decoded), and set c->base and
 * c->display. */
static int
split_url (struct cache_http *c, CURLU *u, ohr_error_t *err)
{
  cleanup_curl_str char *user = NULL, *password = NULL;
  curl_url_get (u, CURLUPART_USER, &user, CURLU_URLDECODE);
  curl_url_get (u, CURLUPART_PASSWORD, &password, CURLU_URLDECODE);
  if (user && (c->user = strdup (user)) == NULL)
    return ohr_error_nomem (err);
  if (password && (c->password = strdup (password)) == NULL)
    return ohr_error_nomem (err);
  if (user)
    explicit_bzero (user, strlen (user));
  if (password)
    explicit_bzero (password, strlen (password));
  curl_url_set (u, CURLUPART_PASSWORD, NULL, 0);
  curl_url_set (u, CURLUPART_OPTIONS, NULL, 0);
  curl_url_set (u, CURLUPART_USER, (user || password) ? "***" : NULL, 0);
  c->display = url_text (u);
  curl_url_set (u, CURLUPART_USER, NULL, 0);
  c->base = url_text (u);
  if (c->display == NULL || c->base == NULL)
    return ohr_error_nomem (err);
  return 0;
}

int
cache_http_new (const char *url, const struct cache_http_options *opt,
                struct cache_http **out, ohr_error_t *err)
{
  cleanup_cache_http struct cache_http *c = calloc (1, sizeof *c);
  if (c == NULL)
    return ohr_error_nomem (err);
  if (opt)
    c->opt = *opt;
  else
    cache_http_options_init (&c->opt);
  if (c->opt.retries < 0 || c->opt.retries > 1)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "remote cache retries must be 0 or 1, not %d",
                          c->opt.retries);
  if (c->opt.connect_timeout_ms <= 0 || c->opt.timeout_ms <= 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "remote cache timeouts must be positive");

  CURLU *u __attribute__ ((cleanup (cleanup_curlup))) = curl_url ();
  if (u == NULL)
    return ohr_error_nomem (err);
  /* Until the userinfo is out, messages show only the scheme's part. */
  const char *shown = strncmp (url, "https://", 8) == 0  ? "https://..."
                      : strncmp (url, "http://", 7) == 0 ? "http://..."
                                                         : url;
  if (strchr (url, '@') && strcmp (shown, url) == 0)
    shown = "...";
  if (curl_url_set (u, CURLUPART_URL, url, 0) != CURLUE_OK)
    return bad_url (err, shown, "not a URL");
  cleanup_curl_str char *scheme = NULL, *query = NULL, *fragment = NULL;
  if (curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
      || (strcmp (scheme, "http") != 0 && strcmp (scheme, "https") != 0))
    return bad_url (err, shown, "the scheme must be http or https");
  if (split_url (c, u, err) < 0)
    return -1;
  if (curl_url_get (u, CURLUPART_QUERY, &query, 0) == CURLUE_OK
      || curl_url_get (u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
    return bad_url (err, c->display, "no query or fragment is allowed");
  if (c->opt.netrc && (c->netrc = strdup (c->opt.netrc)) == NULL)
    return ohr_error_nomem (err);
  c->opt.netrc = c->netrc;
  if (c->opt.state_dir)
    {
      c->marker = cache_down_path (c->opt.state_dir, c->display);
      c->build_id = c->opt.build_id ? strdup (c->opt.build_id)
                                    : cache_down_build_id ();
      if (c->marker == NULL || c->build_id == NULL)
        return ohr_error_nomem (err);
    }
  c->opt.state_dir = c->opt.build_id = NULL; /* not ours to keep */

  if (curl_init_once (err) < 0)
    return -1;
  c->h = curl_easy_init ();
  if (c->h == NULL)
    return ohr_error_nomem (err);
  *out = steal_pointer (&c);
  return 0;
}

/* ---- one request */

enum method
{
  M_GET,
  M_HEAD,
  M_PUT,
};

static const char *const method_names[] = { "GET", "HEAD", "PUT" };
static const char *const ns_names[] = { "ac", "cas" };

struct request
{
  enum method m;
  int ns;
  const char *hex;
  struct buf *body; /* GET; NULL: answers are dropped */
  const char *data; /* PUT */
  size_t len, sent;
  bool too_big;
};

static size_t
on_body (char *p, size_t size, size_t n, void *userdata)
{
  struct request *r = userdata;
  if (r->body == NULL) /* not a GET: an error page, a 201's text */
    return size * n;
  if (buf_add (r->body, p, size * n) < 0)
    {
      r->too_big = true;
      return 0;
    }
  return size * n;
}

static size_t
on_read (char *p, size_t size, size_t n, void *userdata)
{
  struct request *r = userdata;
  size_t k = size * n;
  if (k > r->len - r->sent)
    k = r->len - r->sent;
  memcpy (p, r->data + r->sent, k);
  r->sent += k;
  return k;
}

static bool
matches (const void *data, size_t len, const char *hex)
{
  char d[DIGEST_STRING_LEN + 1];
  digest_sha256 (data, len, d);
  return strcmp (d + 7, hex) == 0;
}

/* "GET cas/0123456789ab" for messages */
static void
what_of (const struct request *r, char *out, size_t max)
{
  snprintf (out, max, "%s %s/%.12s", method_names[r->m], ns_names[r->ns],
            r->hex);
}

static int
check_args (const struct cache_http *c, int ns, const char *hex,
            ohr_error_t *err)
{
  if (ns != OHR_NS_AC && ns != OHR_NS_CAS)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "remote cache: no namespace %d", ns);
  if (!digest_hex_valid (hex))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "remote cache '%s': '%.80s' is not a sha256 in "
                          "lowercase hex",
                          c->display, hex ? hex : "(null)");
  return 0;
}

/* The server is unavailable: what libcurl calls transient, and a server
 * whose answer is not HTTP at all. */
static bool
curl_unavailable (CURLcode rc)
{
  return curl_code_transient (rc) || rc == CURLE_WEIRD_SERVER_REPLY
         || rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool
status_unavailable (long s)
{
  return s >= 500 || s == 408 || s == 429;
}

static int
setup (struct cache_http *c, struct request *r, const char *url,
       struct curl_slist **headers, ohr_error_t *err)
{
  CURL *h = c->h;
  curl_easy_reset (h);
  c->errbuf[0] = '\0';
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT_MS, c->opt.connect_timeout_ms);
  curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "oci-host-runner/" OHR_VERSION);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, c->errbuf);
  if (c->user)
    {
      curl_easy_setopt (h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
      curl_easy_setopt (h, CURLOPT_USERNAME, c->user);
      curl_easy_setopt (h, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
  else if (c->netrc)
    {
      curl_easy_setopt (h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
      curl_easy_setopt (h, CURLOPT_NETRC_FILE, c->netrc);
    }
  /* every answer's body goes to on_body, never to stdout */
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, r);
  switch (r->m)
    {
    case M_GET:
      break;
    case M_HEAD:
      curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
      break;
    case M_PUT:
      /* bazel-remote needs the length up front; "Expect:" saves the
       * round trip of 100-continue. */
      if ((*headers = curl_slist_append (
               NULL, "Content-Type: application/octet-stream"))
              == NULL
          || curl_slist_append (*headers, "Expect:") == NULL)
        return ohr_error_nomem (err);
      curl_easy_setopt (h, CURLOPT_HTTPHEADER, *headers);
      curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt (h, CURLOPT_READDATA, r);
      curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
      break;
    }
  return 0;
}

/* Why a transfer failed, in our words (never curl's URL). */
static const char *
transport_reason (struct cache_http *c, CURLcode rc, char *tmp, size_t max)
{
  long os_errno = 0;
  curl_easy_getinfo (c->h, CURLINFO_OS_ERRNO, &os_errno);
  switch (rc)
    {
    case CURLE_COULDNT_CONNECT:
      snprintf (tmp, max, "cannot connect: %s",
                os_errno ? strerror ((int)os_errno) : "refused");
      return tmp;
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot resolve the host";
    case CURLE_OPERATION_TIMEDOUT:
      snprintf (tmp, max,
                "no answer within the bound (connect %ld ms, total %ld ms)",
                c->opt.connect_timeout_ms, c->opt.timeout_ms);
      return tmp;
    case CURLE_GOT_NOTHING:
      return "the server closed the connection without an answer";
    default:
      snprintf (tmp, max, "%s",
                c->errbuf[0] ? c->errbuf : curl_easy_strerror (rc));
      return tmp;
    }
}

static int
attempt (struct cache_http *c, struct request *r, const char *url,
         ohr_error_t *err)
{
  char what[64], tmp[CURL_ERROR_SIZE + 64];
  what_of (r, what, sizeof what);
  if (r->m == M_GET)
    buf_clear (r->body);
  r->sent = 0;
  r->too_big = false;
  struct curl_slist *headers = NULL;
  int ret = setup (c, r, url, &headers, err);
  CURLcode rc = ret < 0 ? CURLE_OK : curl_easy_perform (c->h);
  long s = 0;
  curl_easy_getinfo (c->h, CURLINFO_RESPONSE_CODE, &s);
  curl_slist_free_all (headers);
  if (ret < 0)
    return ret;

  if (r->too_big)
    return ohr_error_set (err, EFBIG, OHR_ERR_INTERNAL,
                          "remote cache '%s': %s: larger than %zu bytes",
                          c->display, what, c->opt.max_body);
  if (rc != CURLE_OK)
    {
      const char *why = transport_reason (c, rc, tmp, sizeof tmp);
      if (curl_unavailable (rc))
        {
          ohr_error_set (err, EHOSTDOWN, OHR_ERR_INTERNAL,
                         "remote cache '%s' unavailable: %s: %s", c->display,
                         what, why);
          return CACHE_HTTP_UNAVAILABLE;
        }
      return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                            "remote cache '%s': %s: %s", c->display, what,
                            why);
    }
  if (status_unavailable (s))
    {
      ohr_error_set (err, EHOSTDOWN, OHR_ERR_INTERNAL,
                     "remote cache '%s' unavailable: %s: HTTP %ld", c->display,
                     what, s);
      return CACHE_HTTP_UNAVAILABLE;
    }
  if (s == 404 && r->m != M_PUT)
    return 0;
  if (s == 401 || s == 403)
    return ohr_error_set (err, EACCES, OHR_ERR_INTERNAL,
                          "remote cache '%s': %s: HTTP %ld: check the "
                          "credentials (the URL's user:password@, or $%s)",
                          c->display, what, s, CACHE_HTTP_NETRC_ENV);
  if (r->m == M_PUT ? (s < 200 || s > 299) : s != 200)
    return ohr_error_set (err, EPROTO, OHR_ERR_INTERNAL,
                          "remote cache '%s': %s: unexpected HTTP %ld",
                          c->display, what, s);
  return r->m == M_PUT ? 0 : 1;
}

/* Skip a server found unavailable before, in this client or (the
 * marker) by another run of the same build. */
static int
skip_if_down (struct cache_http *c, const struct request *r, ohr_error_t *err)
{
  char what[64];
  if (!c->down && c->marker
      && cache_down_is_marked (c->marker, c->build_id, time (NULL)))
    c->down = true;
  if (!c->down)
    return 0;
  what_of (r, what, sizeof what);
  ohr_error_set (err, CACHE_HTTP_SKIPPED, OHR_ERR_INTERNAL,
                 "remote cache '%s' unavailable: %s: skipped, it was "
                 "unavailable earlier in this build",
                 c->display, what);
  return CACHE_HTTP_UNAVAILABLE;
}

static int
request (struct cache_http *c, struct request *r, ohr_error_t *err)
{
  if (check_args (c, r->ns, r->hex, err) < 0)
    return -1;
  int ret = skip_if_down (c, r, err);
  if (ret < 0)
    return ret;
  cleanup_free char *url = NULL;
  if (asprintf (&url, "%s/%s/%s", c->base, ns_names[r->ns], r->hex) < 0)
    return ohr_error_nomem (err);
  ret = attempt (c, r, url, err);
  for (int i = 0; ret == CACHE_HTTP_UNAVAILABLE && i < c->opt.retries; i++)
    {
      ohr_error_free (err);
      ret = attempt (c, r, url, err);
    }
  if (ret == CACHE_HTTP_UNAVAILABLE)
    {
      c->down = true;
      /* without the marker the next run tries again: a timeout, no more */
      ohr_error_t merr = NULL;
      if (c->marker
          && cache_down_mark (c->marker, c->build_id, time (NULL), &merr) < 0)
        ohr_error_free (&merr);
    }
  return ret;
}

int
cache_http_get (struct cache_http *c, int ns, const char *hex, struct buf *out,
                ohr_error_t *err)
{
  struct buf body = { .max = c->opt.max_body };
  struct request r = { .m = M_GET, .ns = ns, .hex = hex, .body = &body };
  int ret = request (c, &r, err);
  if (ret == 1 && ns == OHR_NS_CAS && !matches (body.data, body.len, hex))
    {
      char what[64];
      what_of (&r, what, sizeof what);
      buf_clear (&body);
      return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                            "remote cache '%s': %s: the blob's bytes do not "
                            "match its digest: refused",
                            c->display, what);
    }
  if (ret == 1)
    {
      buf_clear (out);
      out->data = steal_pointer (&body.data);
      out->len = body.len;
      out->cap = body.cap;
      return 1;
    }
  buf_clear (&body);
  return ret;
}

int
cache_http_has (struct cache_http *c, int ns, const char *hex,
                ohr_error_t *err)
{
  struct request r = { .m = M_HEAD, .ns = ns, .hex = hex };
  return request (c, &r, err);
}

int
cache_http_put (struct cache_http *c, int ns, const char *hex,
                const void *data, size_t len, ohr_error_t *err)
{
  struct request r
      = { .m = M_PUT, .ns = ns, .hex = hex, .data = data, .len = len };
  if (check_args (c, ns, hex, err) < 0)
    return -1;
  if (ns == OHR_NS_CAS && !matches (data, len, hex))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "remote cache '%s': PUT cas/%.12s: the bytes do "
                          "not match the digest",
                          c->display, hex);
  return request (c, &r, err);
}

/* ---- as a backend (backend.h): our errors become strings */

static int
to_backend (int ret, ohr_error_t *e, char **err)
{
  if (ret >= 0)
    return ret;
  *err = strdup (*e && (*e)->msg ? (*e)->msg : "out of memory");
  ohr_error_free (e);
  return -1;
}

static int
backend_get (void *self, int ns, const char hex[65], struct buf *out,
             char **err)
{
  ohr_error_t e = NULL;
  return to_backend (cache_http_get (self, ns, hex, out, &e), &e, err);
}

static int
backend_put (void *self, int ns, const char hex[65], const void *data,
             size_t len, char **err)
{
  ohr_error_t e = NULL;
  return to_backend (cache_http_put (self, ns, hex, data, len, &e), &e, err);
}

static int
backend_has (void *self, int ns, const char hex[65], char **err)
{
  ohr_error_t e = NULL;
  return to_backend (cache_http_has (self, ns, hex, &e), &e, err);
}

static void
backend_close (void *self)
{
  cache_http_free (self);
}

const struct ohr_cache_backend_ops cache_http_backend = {
  .name = "http",
  .get = backend_get,
  .put = backend_put,
  .has = backend_has,
  .close = backend_close,
};
