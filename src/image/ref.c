/* imageref.c: see imageref.h.
 *
 * Registry references follow the grammar of distribution/reference:
 *
 *   reference      := name [ ":" tag ] [ "@" digest ]
 *   name           := [ domain "/" ] path-component ( "/" path-component )*
 *   domain         := host [ ":" port ]
 *   host           := domain-component ( "." domain-component )*
 *                     | "[" IPv6 "]"
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator      := "." | "_" | "__" | "-"+
 *   tag            := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest         := "sha256:" [0-9a-f]{64}  (the only algorithm we accept)
 *
 * The first component names a registry when it contains '.' or ':', is
 * "localhost", or has an uppercase letter (Docker's rule: a repository
 * cannot, so "Host/x" means a host); otherwise the reference is Docker
 * Hub's: "debian" is docker.io/library/debian, "user/x" docker.io/user/x,
 * and index.docker.io is spelled docker.io.  The 255-character limit on
 * names applies to the normalized name (docker.io/library/x), as
 * registries see it.  Only the exact text "host" is the embedded image
 * ("host:1" is docker.io/library/host:1).  The canonical form of a
 * registry reference without tag or digest says ":latest", what a pull
 * fetches, so that both spellings name one image; ->tag stays NULL.
 *
 * A path may hold ':', so a layout reference (oci:, oci-archive:) is not
 * split on its first ':'; the rule is, in this order:
 *   1. the text after the last '@', when it has a ':' and no '/', is a
 *      digest and must be a valid sha256 one; PATH is what precedes it and
 *      may then not contain ':' (a tag and a digest cannot both be given);
 *   2. otherwise the text after the last ':', if any, must be a valid tag
 *      and PATH is what precedes it.  So a PATH may contain ':' only when
 *      the reference ends with ":TAG" ("oci:/srv/a:b/img:latest").
 * A PATH containing "@x:y" at its end or a final component "a:b" without a
 * tag cannot be written: use a symlink.
 */
#define _GNU_SOURCE
#include "image/ref.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/digest.h"

/* A name longer than this is refused by registries (distribution spec). */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
/* Anything longer is not an image reference; keeps messages bounded. */
#define REF_MAX_LEN 4096

static const char docker_hub[] = "docker.io";

DEFINE_CLEANUP_CLEAR (imageref, struct imageref, imageref_clear)
#define cleanup_imageref CLEANUP (imageref)

static int usage (ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
usage (ohr_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = ohr_error_vset (err, 0, OHR_ERR_USAGE, fmt, ap);
  va_end (ap);
  return r;
}

static char *
concat (const char *a, const char *b)
{
  char *s = NULL;
  return asprintf (&s, "%s%s", a, b) < 0 ? NULL : s;
}

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return is_lower_alnum (c) || (c >= 'A' && c <= 'Z');
}

static bool
is_word (char c)
{
  return is_alnum (c) || c == '_';
}

/* tag := [\w][\w.-]{0,127} */
static bool
tag_valid (const char *s, size_t n)
{
  if (n == 0 || n > TAG_MAX_LEN || !is_word (s[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_word (s[i]) && s[i] != '.' && s[i] != '-')
      return false;
  return true;
}

/* Length of the separator starting at s: ".", "_", "__" or "-"+; 0 if none.
 */
static size_t
separator_len (const char *s, size_t n)
{
  if (n == 0)
    return 0;
  if (s[0] == '.')
    return 1;
  if (s[0] == '_')
    return n >= 2 && s[1] == '_' ? 2 : 1;
  size_t i = 0;
  while (i < n && s[i] == '-')
    i++;
  return i;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)* */
static bool
path_component_valid (const char *s, size_t n)
{
  size_t i = 0;
  for (;;)
    {
      size_t start = i;
      while (i < n && is_lower_alnum (s[i]))
        i++;
      if (i == start)
        return false;
      if (i == n)
        return true;
      size_t sep = separator_len (s + i, n - i);
      if (sep == 0)
        return false;
      i += sep;
    }
}

/* Each sep-separated part of s[0..n) passes part_valid. */
static bool
parts_valid (const char *s, size_t n, char sep,
             bool (*part_valid) (const char *, size_t))
{
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == sep)
      {
        if (!part_valid (s + start, i - start))
          return false;
        start = i + 1;
      }
  return true;
}

static bool
repository_valid (const char *s, size_t n)
{
  return parts_valid (s, n, '/', path_component_valid);
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool
domain_component_valid (const char *s, size_t n)
{
  if (n == 0 || !is_alnum (s[0]) || !is_alnum (s[n - 1]))
    return false;
  for (size_t i = 1; i + 1 < n; i++)
    if (!is_alnum (s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool
hostname_valid (const char *s, size_t n)
{
  return parts_valid (s, n, '.', domain_component_valid);
}

/* "[" [0-9a-fA-F:]+ "]", with at least two ':' as any IPv6 address has. */
static bool
ipv6_valid (const char *s, size_t n)
{
  if (n < 4 || s[0] != '[' || s[n - 1] != ']')
    return false;
  int colons = 0;
  for (size_t i = 1; i + 1 < n; i++)
    {
      if (s[i] == ':')
        colons++;
      else if (!isxdigit ((unsigned char)s[i]))
        return false;
    }
  return colons >= 2;
}

/* port := [0-9]+, read as 1..65535 */
static bool
port_valid (const char *s, size_t n)
{
  if (n == 0 || n > 5)
    return false;
  long v = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return false;
      v = v * 10 + (s[i] - '0');
    }
  return v >= 1 && v <= 65535;
}

static bool
domain_valid (const char *s, size_t n)
{
  size_t host_len = n;
  if (s[0] == '[')
    {
      const char *close = memchr (s, ']', n);
      if (close == NULL)
        return false;
      host_len = (size_t)(close - s) + 1;
      if (!ipv6_valid (s, host_len))
        return false;
    }
  else
    {
      const char *colon = memchr (s, ':', n);
      if (colon)
        host_len = (size_t)(colon - s);
      if (!hostname_valid (s, host_len))
        return false;
    }
  if (host_len == n)
    return true;
  return s[host_len] == ':' && port_valid (s + host_len + 1, n - host_len - 1);
}

static bool
looks_like_domain (const char *s, size_t n)
{
  if (n == 9 && memcmp (s, "localhost", 9) == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '.' || s[i] == ':' || (s[i] >= 'A' && s[i] <= 'Z'))
      return true;
  return false;
}

/* Check a digest the user wrote (the part after '@'). */
static int
check_digest (const char *d, const char *text, ohr_error_t *err)
{
  if (digest_valid (d))
    return 0;
  const char *colon = strchr (d, ':');
  if (colon && (colon - d != 6 || strncmp (d, "sha256", 6) != 0))
    return usage (err,
                  "unsupported digest algorithm '%.*s' in image reference "
                  "'%s' (only sha256)",
                  (int)(colon - d), d, text);
  return usage (err,
                "invalid digest '%s' in image reference '%s' (expected "
                "sha256: and 64 lowercase hex digits)",
                d, text);
}

static int
check_text (const char *text, ohr_error_t *err)
{
  if (text == NULL || text[0] == '\0')
    return usage (err, "empty image reference");
  size_t n = strnlen (text, REF_MAX_LEN + 1);
  if (n > REF_MAX_LEN)
    return usage (err, "image reference longer than %d characters",
                  REF_MAX_LEN);
  /* Refused before anything echoes the text: messages stay one line. */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
      return usage (err,
                    "image reference contains a control character at "
                    "offset %zu",
                    i);
  return 0;
}

/* Split "NAME[:TAG][@DIGEST]" (no domain, or after it) off into out. */
static int
split_tag_digest (const char *text, const char *rest, char **out_name,
                  struct imageref *r, ohr_error_t *err)
{
  const char *at = strchr (rest, '@');
  size_t name_end = at ? (size_t)(at - rest) : strlen (rest);
  if (at)
    {
      if (check_digest (at + 1, text, err) < 0)
        return -1;
      r->digest = strdup (at + 1);
      if (r->digest == NULL)
        return ohr_error_nomem (err);
    }
  const char *slash = memrchr (rest, '/', name_end);
  const char *from = slash ? slash + 1 : rest;
  const char *colon = memchr (from, ':', name_end - (size_t)(from - rest));
  if (colon)
    {
      size_t tag_len = name_end - (size_t)(colon + 1 - rest);
      if (!tag_valid (colon + 1, tag_len))
        return usage (err, "invalid tag '%.*s' in image reference '%s'",
                      (int)tag_len, colon + 1, text);
      r->tag = strndup (colon + 1, tag_len);
      if (r->tag == NULL)
        return ohr_error_nomem (err);
      name_end = (size_t)(colon - rest);
    }
  *out_name = strndup (rest, name_end);
  return *out_name ? 0 : ohr_error_nomem (err);
}

static int
set_domain (const char *text, const char *domain, size_t n, struct imageref *r,
            ohr_error_t *err)
{
  if (!domain_valid (domain, n))
    return usage (err, "invalid registry '%.*s' in image reference '%s'",
                  (int)n, domain, text);
  if (n == 15 && memcmp (domain, "index.docker.io", 15) == 0)
    r->registry = strdup (docker_hub);
  else
    r->registry = strndup (domain, n);
  return r->registry ? 0 : ohr_error_nomem (err);
}

static int
set_repository (const char *text, const char *name, struct imageref *r,
                ohr_error_t *err)
{
  size_t n = strlen (name);
  if (n == 0)
    return usage (err, "missing repository in image reference '%s'", text);
  if (!repository_valid (name, n))
    {
      for (size_t i = 0; i < n; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
          return usage (err,
                        "repository '%s' in image reference '%s' must be "
                        "lowercase",
                        name, text);
      return usage (err, "invalid repository '%s' in image reference '%s'",
                    name, text);
    }
  bool hub_official
      = strcmp (r->registry, docker_hub) == 0 && strchr (name, '/') == NULL;
  if (hub_official)
    r->repository = concat ("library/", name);
  else
    r->repository = strdup (name);
  return r->repository ? 0 : ohr_error_nomem (err);
}

static int
parse_registry (const char *text, struct imageref *r, ohr_error_t *err)
{
  const char *rest = text;
  size_t name_part = strcspn (text, "@");
  const char *slash = memchr (text, '/', name_part);
  if (slash && looks_like_domain (text, (size_t)(slash - text)))
    {
      if (set_domain (text, text, (size_t)(slash - text), r, err) < 0)
        return -1;
      rest = slash + 1;
    }
  else if ((r->registry = strdup (docker_hub)) == NULL)
    return ohr_error_nomem (err);

  cleanup_free char *name = NULL;
  if (split_tag_digest (text, rest, &name, r, err) < 0)
    return -1;
  if (set_repository (text, name, r, err) < 0)
    return -1;
  /* Measured normalized, as registries see it: docker.io/library/x. */
  if (strlen (r->registry) + 1 + strlen (r->repository) > NAME_MAX_LEN)
    return usage (err,
                  "image name in '%s' is longer than %d characters "
                  "(registry and repository together)",
                  text, NAME_MAX_LEN);
  r->kind = IMAGEREF_REGISTRY;
  return 0;
}

/* The digest of a layout reference: the text after the last '@' when it has
 * a ':' and no '/' (see the rule at the top). */
static const char *
layout_digest_at (const char *spec)
{
  const char *at = strrchr (spec, '@');
  if (at && strchr (at + 1, ':') && !strchr (at + 1, '/'))
    return at;
  return NULL;
}

static int
parse_layout (const char *text, size_t prefix_len, struct imageref *r,
              ohr_error_t *err)
{
  const char *spec = text + prefix_len;
  size_t path_len = strlen (spec);
  const char *at = layout_digest_at (spec);
  const char *colon = strrchr (spec, ':');
  if (at)
    {
      if (check_digest (at + 1, text, err) < 0)
        return -1;
      path_len = (size_t)(at - spec);
      if (memchr (spec, ':', path_len))
        return usage (err,
                      "image reference '%s' gives a tag and a digest: give "
                      "one (a path containing ':' needs a tag)",
                      text);
      if ((r->digest = strdup (at + 1)) == NULL)
        return ohr_error_nomem (err);
    }
  else if (colon)
    {
      path_len = (size_t)(colon - spec);
      if (!tag_valid (colon + 1, strlen (colon + 1)))
        return usage (err,
                      "invalid tag '%s' in image reference '%s' (a path "
                      "containing ':' must end with ':TAG')",
                      colon + 1, text);
      if ((r->tag = strdup (colon + 1)) == NULL)
        return ohr_error_nomem (err);
    }
  if (path_len == 0)
    return usage (err, "missing path in image reference '%s'", text);
  if ((r->path = strndup (spec, path_len)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

static char *
make_canonical (const struct imageref *r)
{
  char *s = NULL;
  const char *tag_sep = r->tag ? ":" : "";
  const char *tag = r->tag ? r->tag : "";
  const char *dig_sep = r->digest ? "@" : "";
  const char *dig = r->digest ? r->digest : "";
  int n = -1;
  switch (r->kind)
    {
    case IMAGEREF_HOST:
      return strdup ("host");
    case IMAGEREF_REGISTRY:
      /* What a pull would fetch: no tag and no digest means "latest". */
      if (r->tag == NULL && r->digest == NULL)
        {
          tag_sep = ":";
          tag = "latest";
        }
      n = asprintf (&s, "%s/%s%s%s%s%s", r->registry, r->repository, tag_sep,
                    tag, dig_sep, dig);
      break;
    case IMAGEREF_OCI_LAYOUT:
    case IMAGEREF_OCI_ARCHIVE:
      n = asprintf (&s, "%s:%s%s%s%s%s",
                    r->kind == IMAGEREF_OCI_LAYOUT ? "oci" : "oci-archive",
                    r->path, tag_sep, tag, dig_sep, dig);
      break;
    }
  return n < 0 ? NULL : s;
}

static bool
has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

int
imageref_parse (const char *text, struct imageref *out, ohr_error_t *err)
{
  if (check_text (text, err) < 0)
    return -1;
  cleanup_imageref struct imageref r = { 0 };
  int ret = 0;
  if (strcmp (text, "host") == 0)
    r.kind = IMAGEREF_HOST;
  else if (has_prefix (text, "oci:"))
    {
      r.kind = IMAGEREF_OCI_LAYOUT;
      ret = parse_layout (text, strlen ("oci:"), &r, err);
    }
  else if (has_prefix (text, "oci-archive:"))
    {
      r.kind = IMAGEREF_OCI_ARCHIVE;
      ret = parse_layout (text, strlen ("oci-archive:"), &r, err);
    }
  else
    ret = parse_registry (text, &r, err);
  if (ret < 0)
    return ret;
  if ((r.canonical = make_canonical (&r)) == NULL)
    return ohr_error_nomem (err);
  *out = r;
  memset (&r, 0, sizeof r);
  return 0;
}

bool
imageref_is_pinned (const struct imageref *ref)
{
  return ref != NULL && ref->kind != IMAGEREF_HOST && ref->digest != NULL;
}

void
imageref_clear (struct imageref *ref)
{
  if (ref == NULL)
    return;
  free_many (ref->registry, ref->repository, ref->tag, ref->digest, ref->path,
             ref->canonical);
  memset (ref, 0, sizeof *ref);
}
