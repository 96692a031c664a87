/* registry.c: see registry.h
 *
 * Every HTTP exchange is a "job" run by one loop on a curl multi handle
 * (run_jobs): at most MAX_PARALLEL transfers at once, each attempt a fresh
 * easy handle, failed attempts rescheduled with a backoff, a 401 answered
 * by authenticating (which runs a nested job against the token server)
 * and requeueing.  Bodies are checked while they stream: manifests
 * against MANIFEST_MAX_SIZE, blobs against their declared size, and both
 * hashed, so a tampered or oversized answer is cut short and never stored.
 *
 * Secrets (the "auth" of an auth file, bearer tokens) live only in the
 * auth cache and in the curl header lists; no message and no debug line
 * contains them, nor a redirect target's URL (presigned URLs carry
 * signatures): messages name hosts only.
 */
#define _GNU_SOURCE
#include "registry/registry.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/version.h"

#define MAX_PARALLEL 4
#define DEFAULT_RETRIES 4
#define DEFAULT_RETRY_BASE_MS 500
#define MAX_BACKOFF_MS 30000
#define RETRY_AFTER_CAP_MS 30000
#define ERRBODY_MAX 16384
#define TOKEN_RESPONSE_MAX (1 << 20)
#define AUTH_FILE_MAX (1 << 20)
#define DEFAULT_TOKEN_TTL 60
#define DEBUG_ENV "OCI_HOST_RUNNER_REGISTRY_DEBUG"
#define RETRY_BASE_ENV "OCI_HOST_RUNNER_RETRY_BASE_MS"
#define NO_CREDS_HINT "(set REGISTRY_AUTH_FILE or log in with skopeo login)"
#define MANIFEST_ACCEPT                                                       \
  "Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST        \
  ", " MT_DOCKER_LIST

/* One cached Authorization header for a registry and repository (the
 * scope "repository:REPO:pull"). */
struct auth_entry
{
  struct auth_entry *next;
  char *registry;
  char *repository;
  char *header; /* "Authorization: ...": a secret */
  bool bearer;
  bool with_creds;   /* obtained with credentials (not anonymously) */
  long long expires; /* monotonic ms; 0 = never */
  unsigned gen;      /* distinguishes renewals */
};

struct registry_client
{
  char **insecure_hosts;
  int max_retries;
  bool progress;
  bool debug;
  long long retry_base_ms;
  long long progress_ms;
  struct registry_stats stats;
  struct auth_entry *auth;
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

struct membuf
{
  char *data;
  size_t len, cap, max;
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

  struct membuf body; /* JOB_MANIFEST, JOB_TOKEN */
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
  struct membuf errbody;
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

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
free_secret (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  free (s);
}

static int
oom (ohr_error_t *err)
{
  return ohr_error_set (err, ENOMEM, OHR_ERR_INTERNAL, "out of memory");
}

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
static void
sanitize (const char *in, char *out, size_t max)
{
  size_t n = 0;
  for (; in && *in && n + 1 < max; in++)
    out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
  out[n] = '\0';
}

static bool
chars_in (const char *s, const char *allowed)
{
  for (; *s; s++)
    if (!(('a' <= *s && *s <= 'z') || ('0' <= *s && *s <= '9')
          || strchr (allowed, *s)))
      return false;
  return true;
}

/* A string node's text (v from yajl_tree_get with yajl_t_string). */
static const char *
ystr (yajl_val v)
{
  return v->u.string;
}

/* ---- names and URLs */

static bool
valid_registry (const char *s)
{
  return s && *s && strlen (s) <= 255
         && chars_in (s, ".-:[]ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static bool
valid_repository (const char *s)
{
  return s && *s && strlen (s) <= 255 && s[0] != '/'
         && s[strlen (s) - 1] != '/' && strstr (s, "//") == NULL
         && strstr (s, "..") == NULL && chars_in (s, "._-/");
}

static bool
valid_tag (const char *s)
{
  return s && *s && strlen (s) <= 128 && s[0] != '.' && s[0] != '-'
         && chars_in (s, "._-ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static int
check_names (const char *registry, const char *repository, ohr_error_t *err)
{
  char safe[128];
  if (!valid_registry (registry))
    {
      sanitize (registry, safe, sizeof safe);
      return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                            "invalid registry name '%s'", safe);
    }
  if (!valid_repository (repository))
    {
      sanitize (repository, safe, sizeof safe);
      return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                            "invalid repository name '%s' on %s", safe,
                            registry);
    }
  return 0;
}

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
static bool
allow_http (const struct registry_client *c, const char *hostport)
{
  cleanup_free char *host = host_of (hostport);
  if (host == NULL)
    return false;
  return host_is_loopback (host) || strv_contains (c->insecure_hosts, hostport)
         || strv_contains (c->insecure_hosts, host);
}

static const char *
registry_endpoint (const char *registry)
{
  if (strcmp (registry, "docker.io") == 0
      || strcmp (registry, "index.docker.io") == 0)
    return "registry-1.docker.io";
  return registry;
}

static char *
registry_url (const struct registry_client *c, const char *registry,
              const char *repository, const char *kind, const char *ref)
{
  const char *ep = registry_endpoint (registry);
  char *url = NULL;
  if (asprintf (&url, "%s://%s/v2/%s/%s/%s",
                allow_http (c, ep) ? "http" : "https", ep, repository, kind,
                ref)
      < 0)
    return NULL;
  return url;
}

/* "host[:port]" of a URL, for messages (never the path or query). */
static char *
url_hostport (const char *url)
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

/* ---- buffers */

static int
membuf_append (struct membuf *b, const char *p, size_t n)
{
  if (n > b->max - b->len)
    return -1;
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 4096;
      while (cap < b->len + n + 1)
        cap *= 2;
      char *nd = realloc (b->data, cap);
      if (nd == NULL)
        return -1;
      b->data = nd;
      b->cap = cap;
    }
  memcpy (b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static void
membuf_clear (struct membuf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- the auth cache */

static struct auth_entry *
auth_find (struct registry_client *c, const char *registry,
           const char *repository)
{
  long long t = now_ms ();
  for (struct auth_entry *e = c->auth; e; e = e->next)
    if (strcmp (e->registry, registry) == 0
        && strcmp (e->repository, repository) == 0
        && (e->expires == 0 || e->expires > t))
      return e;
  return NULL;
}

static void
auth_entry_free (struct auth_entry *e)
{
  free (e->registry);
  free (e->repository);
  free_secret (e->header);
  free (e);
}

/* Store header (taking it) for registry+repository, replacing any older
 * entry. */
static int
auth_store (struct registry_client *c, const char *registry,
            const char *repository, char *header, bool bearer, bool with_creds,
            long long expires, ohr_error_t *err)
{
  for (struct auth_entry **p = &c->auth; *p;)
    {
      struct auth_entry *e = *p;
      if (strcmp (e->registry, registry) == 0
          && strcmp (e->repository, repository) == 0)
        {
          *p = e->next;
          auth_entry_free (e);
        }
      else
        p = &e->next;
    }
  struct auth_entry *e = calloc (1, sizeof *e);
  if (e == NULL || (e->registry = strdup (registry)) == NULL
      || (e->repository = strdup (repository)) == NULL)
    {
      free_secret (header);
      if (e)
        auth_entry_free (e);
      return oom (err);
    }
  e->header = header;
  e->bearer = bearer;
  e->with_creds = with_creds;
  e->expires = expires;
  e->gen = ++c->auth_gen;
  e->next = c->auth;
  c->auth = e;
  return 0;
}

/* ---- credentials from auth files */

static bool
base64_token (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 4096)
    return false;
  for (; *s; s++)
    if (!(('A' <= *s && *s <= 'Z') || ('a' <= *s && *s <= 'z')
          || ('0' <= *s && *s <= '9') || *s == '+' || *s == '/' || *s == '='))
      return false;
  return true;
}

/* An auths key names registry: "HOST", "https://HOST", "HOST/v1/", ...
 * (Docker Hub's is "https://index.docker.io/v1/"). */
static bool
auth_key_matches (const char *key, const char *registry)
{
  if (strncmp (key, "https://", 8) == 0)
    key += 8;
  else if (strncmp (key, "http://", 7) == 0)
    key += 7;
  size_t n = strcspn (key, "/");
  const char *path = key + n;
  if (*path && strcmp (path, "/") != 0 && strcmp (path, "/v1/") != 0
      && strcmp (path, "/v2/") != 0 && strcmp (path, "/v1") != 0
      && strcmp (path, "/v2") != 0)
    return false;
  if (strlen (registry) == n && strncasecmp (key, registry, n) == 0)
    return true;
  if (strcmp (registry, "docker.io") != 0)
    return false;
  return (n == 15 && strncmp (key, "index.docker.io", n) == 0)
         || (n == 20 && strncmp (key, "registry-1.docker.io", n) == 0);
}

/* base64 "user:password" of an entry: "auth", or username + password. */
static char *
auth_entry_basic (yajl_val entry)
{
  const char *auth_path[] = { "auth", NULL };
  const char *user_path[] = { "username", NULL };
  const char *pass_path[] = { "password", NULL };
  yajl_val a = yajl_tree_get (entry, auth_path, yajl_t_string);
  if (a && base64_token (ystr (a)))
    return strdup (ystr (a));
  yajl_val u = yajl_tree_get (entry, user_path, yajl_t_string);
  yajl_val p = yajl_tree_get (entry, pass_path, yajl_t_string);
  if (u == NULL || p == NULL)
    return NULL;
  char *plain = NULL;
  if (asprintf (&plain, "%s:%s", ystr (u), ystr (p)) < 0)
    return NULL;
  size_t n = strlen (plain);
  char *out = malloc (4 * ((n + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock ((unsigned char *)out, (unsigned char *)plain, (int)n);
  free_secret (plain);
  return out;
}

static char *
auth_find_in_tree (yajl_val root, const char *registry)
{
  const char *path[] = { "auths", NULL };
  yajl_val auths = yajl_tree_get (root, path, yajl_t_object);
  if (auths == NULL)
    return NULL;
  for (size_t i = 0; i < YAJL_GET_OBJECT (auths)->len; i++)
    if (auth_key_matches (YAJL_GET_OBJECT (auths)->keys[i], registry)
        && YAJL_IS_OBJECT (YAJL_GET_OBJECT (auths)->values[i]))
      {
        char *b = auth_entry_basic (YAJL_GET_OBJECT (auths)->values[i]);
        if (b)
          return b;
      }
  return NULL;
}

/* 0 with *out NULL when path does not exist or has no entry. */
static int
auth_from_file (const char *path, const char *registry, char **out,
                ohr_error_t *err)
{
  char *data = NULL;
  size_t len = 0;
  ohr_error_t local = NULL;
  if (fs_read_file (path, AUTH_FILE_MAX, &data, &len, &local) < 0)
    {
      bool missing = local->status == ENOENT || local->status == ENOTDIR;
      ohr_error_free (&local);
      if (missing)
        return 0;
      return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                            "cannot read credentials file '%s'", path);
    }
  /* yajl's error text quotes the input: it could show a secret. */
  yajl_val root = yajl_tree_parse (data, NULL, 0);
  explicit_bzero (data, len);
  free (data);
  if (root == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "credentials file '%s' is not valid JSON", path);
  *out = auth_find_in_tree (root, registry);
  yajl_tree_free (root);
  return 0;
}

/* The Basic credentials (base64 "user:pass") for registry, or NULL. */
static int
auth_lookup (const char *registry, char **out, ohr_error_t *err)
{
  cleanup_strv char **files = NULL;
  const char *v;
  if ((v = getenv ("REGISTRY_AUTH_FILE")) && *v)
    strv_push (&files, v);
  if ((v = getenv ("XDG_RUNTIME_DIR")) && *v)
    strv_pushf (&files, "%s/containers/auth.json", v);
  if ((v = getenv ("HOME")) && *v)
    strv_pushf (&files, "%s/.docker/config.json", v);
  *out = NULL;
  for (size_t i = 0; files && files[i]; i++)
    {
      if (auth_from_file (files[i], registry, out, err) < 0)
        return -1;
      if (*out)
        return 0;
    }
  return 0;
}

/* ---- WWW-Authenticate */

struct challenge
{
  char *scheme;
  char *realm;
  char *service;
};

static void
challenge_clear (struct challenge *ch)
{
  free (ch->scheme);
  free (ch->realm);
  free (ch->service);
  memset (ch, 0, sizeof *ch);
}

static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == ',')
    p++;
  return p;
}

static char *
read_token (const char **pp)
{
  const char *p = *pp;
  size_t n = strcspn (p, " \t,=\"");
  *pp = p + n;
  return strndup (p, n);
}

static char *
read_quoted (const char **pp)
{
  const char *p = *pp + 1;
  char *out = malloc (strlen (p) + 1);
  size_t n = 0;
  if (out == NULL)
    return NULL;
  for (; *p && *p != '"'; p++)
    {
      if (*p == '\\' && p[1])
        p++;
      out[n++] = *p;
    }
  out[n] = '\0';
  *pp = *p ? p + 1 : p;
  return out;
}

static void
challenge_set (struct challenge *ch, const char *key, char *value)
{
  char **slot = NULL;
  if (strcasecmp (key, "realm") == 0)
    slot = &ch->realm;
  else if (strcasecmp (key, "service") == 0)
    slot = &ch->service;
  if (slot && *slot == NULL)
    *slot = value;
  else
    free (value);
}

/* The first challenge of a WWW-Authenticate value: scheme, then
 * key=value or key="quoted" parameters up to the next scheme. */
static int
challenge_parse (const char *s, struct challenge *ch)
{
  const char *p = skip_ws (s);
  ch->scheme = read_token (&p);
  if (ch->scheme == NULL || *ch->scheme == '\0')
    return -1;
  for (;;)
    {
      p = skip_ws (p);
      const char *start = p;
      cleanup_free char *key = read_token (&p);
      if (key == NULL || *key == '\0')
        return 0;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        return start == p ? -1 : 0; /* another challenge begins */
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      char *value = *p == '"' ? read_quoted (&p) : read_token (&p);
      if (value == NULL)
        return -1;
      challenge_set (ch, key, value);
    }
}

/* ---- response headers and bodies (curl callbacks) */

static void
response_clear (struct response *r)
{
  free (r->www_auth);
  free (r->content_type);
  free (r->docker_digest);
  free (r->retry_after);
  free (r->content_range);
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
      membuf_append (&j->errbody, p, n < room ? n : room);
      return n;
    }
  if (j->kind == JOB_BLOB)
    {
      if ((first && blob_body_begin (j) < 0) || blob_write (j, p, n) < 0)
        return 0;
    }
  else if (membuf_append (&j->body, p, n) < 0)
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
    return oom (err);
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
      struct auth_entry *e = auth_find (c, j->registry, j->repository);
      if (e && push_header (&j->headers, e->header) < 0)
        return -1;
      j->auth_gen = e ? e->gen : 0;
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
  membuf_clear (&j->errbody);
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
      return oom (err);
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
        sanitize (ystr (m), out, max);
    }
  yajl_tree_free (root);
}

/* "STATUS TEXT from HOST for repo REPO: DETAIL[: what the server said]" */
static int
fail_http_quoting (const struct job *j, const char *detail, bool quote,
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

static int
fail_http (const struct job *j, const char *detail, ohr_error_t *err)
{
  return fail_http_quoting (j, detail, true, err);
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

static void
retry_later (struct registry_client *c, struct job *j)
{
  int shift = j->failures - 1 < 16 ? j->failures - 1 : 16;
  long long delay = c->retry_base_ms << shift;
  if (delay > MAX_BACKOFF_MS)
    delay = MAX_BACKOFF_MS;
  long long ra = retry_after_ms (j->resp.retry_after);
  if (ra >= 0)
    delay = ra;
  c->stats.retries++;
  j->not_before = now_ms () + delay;
}

static bool
curl_retryable (CURLcode rc)
{
  switch (rc)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
    }
}

static int
fail_transport (const struct job *j, CURLcode rc, ohr_error_t *err)
{
  long os_errno = 0;
  char *eff = NULL;
  curl_easy_getinfo (j->h, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_getinfo (j->h, CURLINFO_EFFECTIVE_URL, &eff);
  cleanup_free char *where = eff ? url_hostport (eff) : NULL;
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
  if (!curl_retryable (rc) || j->failures > c->max_retries)
    return fail_transport (j, rc, err);
  retry_later (c, j);
  return 0;
}

static int
on_server_busy (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  char detail[256];
  j->failures++;
  if (j->failures <= c->max_retries)
    {
      retry_later (c, j);
      return 0;
    }
  snprintf (detail, sizeof detail, "%s, after %d attempts", j->what,
            j->failures);
  return fail_http (j, detail, err);
}

static int
fail_unauthorized (struct registry_client *c, const struct job *j,
                   bool with_creds, ohr_error_t *err)
{
  char detail[512];
  if (with_creds)
    snprintf (detail, sizeof detail, "the credentials for %s were rejected",
              j->registry);
  else
    snprintf (detail, sizeof detail, "no credentials for %s " NO_CREDS_HINT,
              j->registry);
  /* "authentication required" would add nothing */
  return fail_http_quoting (j, detail, false, err);
}

/* ---- authentication */

static int run_jobs (struct registry_client *c, struct job **jobs, size_t n,
                     ohr_error_t *err);
static void job_clear (struct job *j);

/* A realm we may send credentials to: https, or http on loopback. */
static int
check_realm (struct registry_client *c, const struct job *j, const char *realm,
             char **out_server, ohr_error_t *err)
{
  char *server = url_hostport (realm);
  bool https = strncasecmp (realm, "https://", 8) == 0;
  bool http = strncasecmp (realm, "http://", 7) == 0;
  if (server == NULL || !(https || (http && allow_http (c, server))))
    {
      free (server);
      return ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                            "401 Unauthorized from %s for repo %s: refusing "
                            "the token realm of its challenge (not https)",
                            j->registry, j->repository);
    }
  *out_server = server;
  return 0;
}

static char *
token_url (const char *realm, const char *service, const char *repository)
{
  char *url = NULL;
  cleanup_free char *scope = NULL;
  if (asprintf (&scope, "repository:%s:pull", repository) < 0)
    return NULL;
  char *esc_scope = curl_easy_escape (NULL, scope, 0);
  char *esc_service = service ? curl_easy_escape (NULL, service, 0) : NULL;
  const char *sep = strchr (realm, '?') ? "&" : "?";
  int r = esc_service ? asprintf (&url, "%s%sservice=%s&scope=%s", realm, sep,
                                  esc_service, esc_scope)
                      : asprintf (&url, "%s%sscope=%s", realm, sep, esc_scope);
  curl_free (esc_scope);
  curl_free (esc_service);
  return r < 0 ? NULL : url;
}

static bool
token_printable (const char *t)
{
  if (*t == '\0' || strlen (t) > 65536)
    return false;
  for (; *t; t++)
    if (*t <= 0x20 || *t >= 0x7f)
      return false;
  return true;
}

/* {"token": "..."} or {"access_token": "..."}, "expires_in" seconds. */
static int
token_parse (const struct job *j, char **out_header, long long *out_ttl,
             ohr_error_t *err)
{
  const char *tok_path[] = { "token", NULL };
  const char *acc_path[] = { "access_token", NULL };
  const char *exp_path[] = { "expires_in", NULL };
  yajl_val root
      = j->body.data ? yajl_tree_parse (j->body.data, NULL, 0) : NULL;
  yajl_val t = root ? yajl_tree_get (root, tok_path, yajl_t_string) : NULL;
  if (t == NULL || *ystr (t) == '\0')
    t = root ? yajl_tree_get (root, acc_path, yajl_t_string) : NULL;
  yajl_val e = root ? yajl_tree_get (root, exp_path, yajl_t_number) : NULL;
  int r = 0;
  if (t == NULL || !token_printable (ystr (t)))
    r = ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                       "token server %s gave no usable token for repo %s of "
                       "%s",
                       j->server, j->repository, j->registry);
  else if (asprintf (out_header, "Authorization: Bearer %s", ystr (t)) < 0)
    r = oom (err);
  *out_ttl = e && YAJL_IS_INTEGER (e) && YAJL_GET_INTEGER (e) > 0
                 ? YAJL_GET_INTEGER (e)
                 : DEFAULT_TOKEN_TTL;
  yajl_tree_free (root);
  return r;
}

static int
auth_bearer (struct registry_client *c, const struct job *j,
             const struct challenge *ch, char *creds, ohr_error_t *err)
{
  struct job t = { .c = c, .kind = JOB_TOKEN, .fd = -1 };
  t.registry = j->registry;
  t.repository = j->repository;
  t.accept = "Accept: application/json";
  t.body.max = TOKEN_RESPONSE_MAX;
  int r = -1;
  char *header = NULL;
  long long ttl = 0;
  if (ch->realm == NULL)
    r = ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                       "401 Unauthorized from %s for repo %s: its Bearer "
                       "challenge names no realm",
                       j->registry, j->repository);
  else if (check_realm (c, j, ch->realm, &t.server, err) < 0)
    r = -1;
  else if ((t.url = token_url (ch->realm, ch->service, j->repository)) == NULL
           || (t.what = strdup ("token")) == NULL
           || (creds
               && asprintf (&t.auth_header, "Authorization: Basic %s", creds)
                      < 0))
    r = oom (err);
  else
    {
      struct job *tp = &t;
      r = run_jobs (c, &tp, 1, err);
      if (r == 0)
        r = token_parse (&t, &header, &ttl, err);
    }
  job_clear (&t);
  if (r < 0)
    return -1;
  /* renew a little early: the token must not expire on the way */
  long long expires = now_ms () + (ttl > 10 ? ttl - 5 : ttl) * 1000;
  return auth_store (c, j->registry, j->repository, header, true,
                     creds != NULL, expires, err);
}

static int
auth_basic (struct registry_client *c, const struct job *j, char *creds,
            ohr_error_t *err)
{
  char *header = NULL;
  if (creds == NULL)
    return fail_unauthorized (c, j, false, err);
  if (asprintf (&header, "Authorization: Basic %s", creds) < 0)
    return oom (err);
  return auth_store (c, j->registry, j->repository, header, false, true, 0,
                     err);
}

/* Answer the challenge of j's 401: Basic credentials, or a Bearer token
 * (anonymous when there are no credentials). */
static int
authenticate (struct registry_client *c, const struct job *j, ohr_error_t *err)
{
  struct challenge ch = { 0 };
  char safe[64];
  char *creds = NULL;
  int r;
  if (j->resp.www_auth == NULL || challenge_parse (j->resp.www_auth, &ch) < 0)
    r = fail_http (j, "no usable WWW-Authenticate challenge", err);
  else if (auth_lookup (j->registry, &creds, err) < 0)
    r = -1;
  else if (strcasecmp (ch.scheme, "basic") == 0)
    r = auth_basic (c, j, creds, err);
  else if (strcasecmp (ch.scheme, "bearer") == 0)
    r = auth_bearer (c, j, &ch, creds, err);
  else
    {
      sanitize (ch.scheme, safe, sizeof safe);
      r = ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                         "401 Unauthorized from %s for repo %s: unsupported "
                         "authentication scheme '%s'",
                         j->registry, j->repository, safe);
    }
  free_secret (creds);
  challenge_clear (&ch);
  return r;
}

static int
on_unauthorized (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  if (j->kind == JOB_TOKEN)
    return fail_unauthorized (c, j, j->auth_header != NULL, err);
  struct auth_entry *e = auth_find (c, j->registry, j->repository);
  if (e && e->gen != j->auth_gen)
    return 0; /* renewed by another transfer meanwhile: try with it */
  /* What we sent was refused.  A bearer token gets one renewal (it may
   * have expired early); credentials are not tried twice. */
  if (e && (!e->bearer || j->auth_rounds >= 2))
    return fail_unauthorized (c, j, e->with_creds, err);
  j->auth_rounds++;
  return authenticate (c, j, err);
}

/* ---- completion */

static int
fsync_dir (const char *dir, ohr_error_t *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot sync '%s'",
                            dir);
  return 0;
}

static int
blob_commit (struct job *j, ohr_error_t *err)
{
  if (fsync (j->fd) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot sync '%s'",
                            j->partial_path);
  close (j->fd);
  j->fd = -1;
  if (rename (j->partial_path, j->final_path) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                            "cannot rename '%s' to '%s'", j->partial_path,
                            j->final_path);
  if (fsync_dir (j->dest_dir, err) < 0)
    return -1;
  j->done = true;
  return 0;
}

static int
blob_complete (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  char got[DIGEST_STRING_LEN + 1];
  if (j->have != j->desc->size)
    {
      unlink (j->partial_path);
      return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                            "size mismatch for blob %s from %s for repo %s: "
                            "expected %lld bytes, got %lld",
                            j->desc->digest, j->registry, j->repository,
                            (long long)j->desc->size, (long long)j->have);
    }
  digest_final (j->dg, got);
  if (strcmp (got, j->desc->digest) == 0)
    return blob_commit (j, err);
  unlink (j->partial_path);
  /* The resumed part came from an earlier attempt (or run): it may be
   * what is wrong, so the whole blob is fetched once more. */
  if (j->start_offset > 0 && !j->restarted)
    {
      j->restarted = true;
      j->have = 0;
      j->failures++;
      retry_later (c, j);
      return 0;
    }
  return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                        "digest mismatch for blob from %s for repo %s: "
                        "expected %s, got %s",
                        j->registry, j->repository, j->desc->digest, got);
}

static char *manifest_media_type (const struct job *j);

static int
manifest_complete (struct job *j, ohr_error_t *err)
{
  if (j->body.data == NULL && membuf_append (&j->body, "", 0) < 0)
    return oom (err);
  digest_sha256 (j->body.data, j->body.len, j->digest);
  if (j->expect_digest && strcmp (j->digest, j->expect_digest) != 0)
    return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                          "digest mismatch for manifest from %s for repo %s: "
                          "expected %s, got %s",
                          j->registry, j->repository, j->expect_digest,
                          j->digest);
  const char *hd = j->resp.docker_digest;
  if (hd && strncmp (hd, "sha256:", 7) == 0 && strcmp (hd, j->digest) != 0)
    {
      char safe[DIGEST_STRING_LEN + 8];
      sanitize (hd, safe, sizeof safe);
      return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                            "digest mismatch for %s from %s for repo %s: "
                            "Docker-Content-Digest says %s, got %s",
                            j->what, j->registry, j->repository, safe,
                            j->digest);
    }
  j->media_type = manifest_media_type (j);
  if (j->media_type == NULL)
    return oom (err);
  j->done = true;
  return 0;
}

static int
on_success (struct registry_client *c, struct job *j, ohr_error_t *err)
{
  if (j->kind == JOB_BLOB)
    return blob_complete (c, j, err);
  if (j->kind == JOB_MANIFEST)
    return manifest_complete (j, err);
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
    return on_unauthorized (c, j, err);
  if (s == 429 || s >= 500)
    return on_server_busy (c, j, err);
  if (status_is_payload (j))
    {
      /* an empty 206 never reached on_body's checks */
      if (!j->resp.body_started && j->kind == JOB_BLOB && s == 206
          && blob_body_begin (j) < 0)
        return on_abort (c, j, err);
      return on_success (c, j, err);
    }
  return fail_http (j, NULL, err);
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

static void
progress_show (struct registry_client *c, struct job **jobs, size_t n,
               bool final)
{
  if (!c->progress || n == 0 || jobs[0]->kind != JOB_BLOB)
    return;
  long long t = now_ms ();
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
  long long t = now_ms ();
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
  long long t = now_ms (), next = t + 1000;
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
static int
run_jobs (struct registry_client *c, struct job **jobs, size_t n,
          ohr_error_t *err)
{
  CURLM *m = curl_multi_init ();
  if (m == NULL)
    return oom (err);
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
      progress_show (c, jobs, n, false);
      if (r == 0 && left > 0)
        curl_multi_poll (m, NULL, 0, poll_timeout (jobs, n), NULL);
    }
  abort_active (m, jobs, n);
  curl_multi_cleanup (m);
  return r;
}

static void
job_clear (struct job *j)
{
  attempt_cleanup (j);
  free (j->what);
  free (j->media_type);
  free (j->server);
  free (j->url);
  free_secret (j->auth_header);
  membuf_clear (&j->body);
  free (j->partial_path);
  free (j->final_path);
  memset (j, 0, sizeof *j);
  j->fd = -1;
}

/* ---- the client */

static long long
retry_base_from_env (void)
{
  const char *v = getenv (RETRY_BASE_ENV);
  char *end = NULL;
  if (v == NULL || *v == '\0')
    return DEFAULT_RETRY_BASE_MS;
  long long ms = strtoll (v, &end, 10);
  return (*end || ms < 0 || ms > MAX_BACKOFF_MS) ? DEFAULT_RETRY_BASE_MS : ms;
}

int
registry_client_new (const struct registry_options *opts,
                     struct registry_client **out, ohr_error_t *err)
{
  static bool curl_ready;
  if (!curl_ready)
    {
      if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                              "cannot initialize libcurl");
      curl_ready = true;
    }
  struct registry_client *c = calloc (1, sizeof *c);
  if (c == NULL)
    return oom (err);
  for (size_t i = 0; opts && opts->insecure_hosts && opts->insecure_hosts[i];
       i++)
    if (strv_push (&c->insecure_hosts, opts->insecure_hosts[i]) < 0)
      {
        registry_client_free (c);
        return oom (err);
      }
  c->max_retries
      = opts && opts->max_retries > 0 ? opts->max_retries : DEFAULT_RETRIES;
  c->progress = opts && opts->progress;
  const char *dbg = getenv (DEBUG_ENV);
  c->debug = dbg && *dbg && strcmp (dbg, "0") != 0;
  c->retry_base_ms = retry_base_from_env ();
  *out = c;
  return 0;
}

void
registry_client_free (struct registry_client *c)
{
  if (c == NULL)
    return;
  while (c->auth)
    {
      struct auth_entry *e = c->auth;
      c->auth = e->next;
      auth_entry_free (e);
    }
  strv_free (c->insecure_hosts);
  free (c);
}

const struct registry_stats *
registry_client_stats (const struct registry_client *c)
{
  return &c->stats;
}

/* ---- manifests */

static bool
known_manifest_type (const char *t)
{
  return strcmp (t, MT_OCI_MANIFEST) == 0 || strcmp (t, MT_OCI_INDEX) == 0
         || strcmp (t, MT_DOCKER_MANIFEST) == 0
         || strcmp (t, MT_DOCKER_LIST) == 0;
}

/* The Content-Type without parameters; when it is not a manifest type,
 * the document's own "mediaType"; else "". */
static char *
manifest_media_type (const struct job *j)
{
  const char *ct = j->resp.content_type ? j->resp.content_type : "";
  cleanup_free char *t = strndup (ct, strcspn (ct, "; \t"));
  if (t && known_manifest_type (t))
    return steal_pointer (&t);
  const char *path[] = { "mediaType", NULL };
  yajl_val root = yajl_tree_parse (j->body.data, NULL, 0);
  yajl_val mt = root ? yajl_tree_get (root, path, yajl_t_string) : NULL;
  char *out = strdup (mt ? ystr (mt) : (t ? t : ""));
  yajl_tree_free (root);
  return out;
}

static int
manifest_job_init (struct registry_client *c, struct job *j,
                   const char *registry, const char *repository,
                   const char *reference, ohr_error_t *err)
{
  char safe[160];
  bool by_digest = strchr (reference, ':') != NULL;
  sanitize (reference, safe, sizeof safe);
  if (by_digest ? !digest_valid (reference) : !valid_tag (reference))
    return ohr_error_set (
        err, EINVAL, OHR_ERR_IMAGE, "invalid %s '%s' for %s/%s",
        by_digest ? "digest" : "tag", safe, registry, repository);
  j->c = c;
  j->kind = JOB_MANIFEST;
  j->registry = registry;
  j->repository = repository;
  j->accept = MANIFEST_ACCEPT;
  j->body.max = MANIFEST_MAX_SIZE;
  j->expect_digest = by_digest ? reference : NULL;
  j->url = registry_url (c, registry, repository, "manifests", reference);
  if (j->url == NULL || asprintf (&j->what, "manifest '%s'", reference) < 0)
    return oom (err);
  return 0;
}

int
registry_get_manifest (struct registry_client *c, const char *registry,
                       const char *repository, const char *reference,
                       char **out_data, size_t *out_len, char **out_media_type,
                       char **out_digest, ohr_error_t *err)
{
  struct job j = { .fd = -1 };
  struct job *jp = &j;
  int r = check_names (registry, repository, err);
  if (r == 0)
    r = manifest_job_init (c, &j, registry, repository, reference, err);
  if (r == 0)
    r = run_jobs (c, &jp, 1, err);
  if (r == 0)
    {
      char *digest = strdup (j.digest);
      if (digest == NULL)
        r = oom (err);
      else
        {
          *out_digest = digest;
          *out_media_type = steal_pointer (&j.media_type);
          *out_len = j.body.len;
          *out_data = steal_pointer (&j.body.data);
        }
    }
  job_clear (&j);
  return r;
}

/* ---- blobs */

static int
check_descriptor (const struct oci_descriptor *d, ohr_error_t *err)
{
  char safe[96];
  if (!digest_valid (d->digest))
    {
      sanitize (d->digest, safe, sizeof safe);
      return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                            "invalid blob digest '%s'", safe);
    }
  if (d->size < 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "invalid size %lld for blob %s", (long long)d->size,
                          d->digest);
  return 0;
}

/* A blob already in dest_dir with the right size is not fetched again
 * (the store verifies what it imports); a file of another size there is
 * damaged and replaced. */
static bool
blob_present (const char *path, int64_t size)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return false;
  if (S_ISREG (st.st_mode) && st.st_size == size)
    return true;
  unlink (path);
  return false;
}

static bool
duplicate_of_earlier (const struct oci_descriptor *blobs, size_t i)
{
  for (size_t k = 0; k < i; k++)
    if (strcmp (blobs[k].digest, blobs[i].digest) == 0)
      return true;
  return false;
}

static int
blob_job_init (struct registry_client *c, struct job *j, const char *registry,
               const char *repository, const struct oci_descriptor *d,
               const char *dest_dir, ohr_error_t *err)
{
  j->c = c;
  j->kind = JOB_BLOB;
  j->registry = registry;
  j->repository = repository;
  j->desc = d;
  j->dest_dir = dest_dir;
  j->url = registry_url (c, registry, repository, "blobs", d->digest);
  if (j->url == NULL || asprintf (&j->what, "blob %s", d->digest) < 0
      || asprintf (&j->final_path, "%s/%s", dest_dir, d->digest + 7) < 0
      || asprintf (&j->partial_path, "%s/%s.partial", dest_dir, d->digest + 7)
             < 0)
    return oom (err);
  return 0;
}

/* jobs for the blobs not yet in dest_dir; *out_n of them. */
static int
blob_jobs (struct registry_client *c, const char *registry,
           const char *repository, const struct oci_descriptor *blobs,
           size_t n, const char *dest_dir, struct job *jobs, struct job **ptrs,
           size_t *out_n, ohr_error_t *err)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (check_descriptor (&blobs[i], err) < 0)
        return -1;
      if (duplicate_of_earlier (blobs, i))
        continue;
      jobs[k].fd = -1;
      if (blob_job_init (c, &jobs[k], registry, repository, &blobs[i],
                         dest_dir, err)
          < 0)
        return -1;
      ptrs[k] = &jobs[k];
      if (blob_present (jobs[k].final_path, blobs[i].size))
        job_clear (&jobs[k]);
      else
        k++;
    }
  *out_n = k;
  return 0;
}

int
registry_fetch_blobs (struct registry_client *c, const char *registry,
                      const char *repository,
                      const struct oci_descriptor *blobs, size_t n,
                      const char *dest_dir, ohr_error_t *err)
{
  if (check_names (registry, repository, err) < 0)
    return -1;
  if (n == 0)
    return 0;
  if (fs_mkdir_p (dest_dir, 0755, err) < 0)
    return -1;
  struct job *jobs = calloc (n, sizeof *jobs);
  struct job **ptrs = calloc (n, sizeof *ptrs);
  size_t k = 0;
  int r = (jobs && ptrs) ? 0 : oom (err);
  for (size_t i = 0; jobs && i < n; i++)
    jobs[i].fd = -1;
  if (r == 0)
    r = blob_jobs (c, registry, repository, blobs, n, dest_dir, jobs, ptrs, &k,
                   err);
  if (r == 0 && k > 0)
    {
      r = run_jobs (c, ptrs, k, err);
      progress_show (c, ptrs, k, true);
    }
  for (size_t i = 0; jobs && i < n; i++)
    job_clear (&jobs[i]);
  free (jobs);
  free (ptrs);
  return r;
}
