/* credentials.c: the Basic credentials of the auth files that podman,
 * skopeo and docker write (see internal.h).  They are secrets: read
 * buffers are wiped, and no message quotes the files' contents. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#include "registry/internal.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define AUTH_FILE_MAX (1 << 20)

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
  if (a && base64_token (a->u.string))
    return strdup (a->u.string);
  yajl_val u = yajl_tree_get (entry, user_path, yajl_t_string);
  yajl_val p = yajl_tree_get (entry, pass_path, yajl_t_string);
  if (u == NULL || p == NULL)
    return NULL;
  char *plain = NULL;
  if (asprintf (&plain, "%s:%s", u->u.string, p->u.string) < 0)
    return NULL;
  char *out = base64_encode (plain, strlen (plain));
  registry_free_secret (plain);
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

int
registry_credentials_lookup (const char *registry, char **out,
                             ohr_error_t *err)
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
