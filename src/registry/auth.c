/* auth.c: answering a registry's 401 (see internal.h).
 *
 * The challenge (www-authenticate.c) names the scheme.  Basic sends the
 * credentials of the auth files (credentials.c); Bearer gets a token from
 * the challenge's realm, with those credentials or anonymously, through a
 * token job in the same transfer loop.  The resulting Authorization
 * header is cached per registry and repository (the scope
 * "repository:REPO:pull"), bearer tokens until a little before they
 * expire, and every job for that repository sends it.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#include "registry/internal.h"
#include "registry/www-authenticate.h"
#include "util/cleanup.h"

#define DEFAULT_TOKEN_TTL 60
#define NO_CREDS_HINT "(set REGISTRY_AUTH_FILE or log in with skopeo login)"

/* One cached Authorization header for a registry and repository. */
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

/* ---- the auth cache */

static struct auth_entry *
auth_find (struct registry_client *c, const char *registry,
           const char *repository)
{
  long long t = registry_now_ms ();
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
  registry_free_secret (e->header);
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
      registry_free_secret (header);
      if (e)
        auth_entry_free (e);
      return ohr_error_nomem (err);
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

const char *
registry_auth_header (struct registry_client *c, const struct job *j,
                      unsigned *out_gen)
{
  struct auth_entry *e = auth_find (c, j->registry, j->repository);
  *out_gen = e ? e->gen : 0;
  return e ? e->header : NULL;
}

void
registry_auth_free_all (struct registry_client *c)
{
  while (c->auth)
    {
      struct auth_entry *e = c->auth;
      c->auth = e->next;
      auth_entry_free (e);
    }
}

/* ---- failures */

static int
fail_unauthorized (const struct job *j, bool with_creds, ohr_error_t *err)
{
  char detail[512];
  if (with_creds)
    snprintf (detail, sizeof detail, "the credentials for %s were rejected",
              j->registry);
  else
    snprintf (detail, sizeof detail, "no credentials for %s " NO_CREDS_HINT,
              j->registry);
  /* "authentication required" would add nothing */
  return registry_fail_http (j, detail, false, err);
}

/* ---- Bearer: a token from the realm */

/* A realm we may send credentials to: https, or http on loopback. */
static int
check_realm (struct registry_client *c, const struct job *j, const char *realm,
             char **out_server, ohr_error_t *err)
{
  char *server = registry_url_hostport (realm);
  bool https = strncasecmp (realm, "https://", 8) == 0;
  bool http = strncasecmp (realm, "http://", 7) == 0;
  if (server == NULL || !(https || (http && registry_allow_http (c, server))))
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
  if (t == NULL || *t->u.string == '\0')
    t = root ? yajl_tree_get (root, acc_path, yajl_t_string) : NULL;
  yajl_val e = root ? yajl_tree_get (root, exp_path, yajl_t_number) : NULL;
  int r = 0;
  if (t == NULL || !token_printable (t->u.string))
    r = ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                       "token server %s gave no usable token for repo %s of "
                       "%s",
                       j->server, j->repository, j->registry);
  else if (asprintf (out_header, "Authorization: Bearer %s", t->u.string) < 0)
    r = ohr_error_nomem (err);
  *out_ttl = e && YAJL_IS_INTEGER (e) && YAJL_GET_INTEGER (e) > 0
                 ? YAJL_GET_INTEGER (e)
                 : DEFAULT_TOKEN_TTL;
  yajl_tree_free (root);
  return r;
}

static int
auth_bearer (struct registry_client *c, const struct job *j,
             const struct www_authenticate *ch, char *creds, ohr_error_t *err)
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
    r = ohr_error_nomem (err);
  else
    {
      struct job *tp = &t;
      r = registry_run_jobs (c, &tp, 1, err);
      if (r == 0)
        r = token_parse (&t, &header, &ttl, err);
    }
  registry_job_clear (&t);
  if (r < 0)
    return -1;
  /* renew a little early: the token must not expire on the way */
  long long expires = registry_now_ms () + (ttl > 10 ? ttl - 5 : ttl) * 1000;
  return auth_store (c, j->registry, j->repository, header, true,
                     creds != NULL, expires, err);
}

/* ---- Basic */

static int
auth_basic (struct registry_client *c, const struct job *j, char *creds,
            ohr_error_t *err)
{
  char *header = NULL;
  if (creds == NULL)
    return fail_unauthorized (j, false, err);
  if (asprintf (&header, "Authorization: Basic %s", creds) < 0)
    return ohr_error_nomem (err);
  return auth_store (c, j->registry, j->repository, header, false, true, 0,
                     err);
}

/* Answer the challenge of j's 401: Basic credentials, or a Bearer token
 * (anonymous when there are no credentials). */
static int
authenticate (struct registry_client *c, const struct job *j, ohr_error_t *err)
{
  struct www_authenticate ch = { 0 };
  ohr_error_t parse_err = NULL;
  char safe[64];
  char *creds = NULL;
  int r;
  if (j->resp.www_auth == NULL
      || www_authenticate_parse (j->resp.www_auth, &ch, &parse_err) < 0)
    {
      ohr_error_free (&parse_err);
      r = registry_fail_http (j, "no usable WWW-Authenticate challenge", true,
                              err);
    }
  else if (registry_credentials_lookup (j->registry, &creds, err) < 0)
    r = -1;
  else if (strcasecmp (ch.scheme, "basic") == 0)
    r = auth_basic (c, j, creds, err);
  else if (strcasecmp (ch.scheme, "bearer") == 0)
    r = auth_bearer (c, j, &ch, creds, err);
  else
    {
      registry_sanitize (ch.scheme, safe, sizeof safe);
      r = ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                         "401 Unauthorized from %s for repo %s: unsupported "
                         "authentication scheme '%s'",
                         j->registry, j->repository, safe);
    }
  registry_free_secret (creds);
  www_authenticate_clear (&ch);
  return r;
}

int
registry_auth_unauthorized (struct registry_client *c, struct job *j,
                            ohr_error_t *err)
{
  if (j->kind == JOB_TOKEN)
    return fail_unauthorized (j, j->auth_header != NULL, err);
  struct auth_entry *e = auth_find (c, j->registry, j->repository);
  if (e && e->gen != j->auth_gen)
    return 0; /* renewed by another transfer meanwhile: try with it */
  /* What we sent was refused.  A bearer token gets one renewal (it may
   * have expired early); credentials are not tried twice. */
  if (e && (!e->bearer || j->auth_rounds >= 2))
    return fail_unauthorized (j, e->with_creds, err);
  j->auth_rounds++;
  return authenticate (c, j, err);
}
