/* manifest.c: see manifest.h.
 *
 * Manifests come from registries and tarballs we do not trust, so before
 * yajl_tree sees a byte the input is size-capped and goes through the
 * strict syntax pass (util/jsoncheck.h): no NUL byte, no comment
 * (yajl_tree_parse allows them, JSON does not), no "\u0000" escape (yajl
 * would cut the C string there, hiding what follows from us but not from
 * other parsers) and at most JSON_MAX_DEPTH levels of nesting
 * (yajl_tree_free recurses).  After parsing, duplicate keys are refused:
 * yajl would read the first, Go's encoding/json the last, and two tools
 * must never see two different manifests in the same bytes.
 */
#define _GNU_SOURCE
#include "image/manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <yajl/yajl_tree.h>

#include "util/cleanup.h"
#include "util/clip.h"
#include "util/digest.h"
#include "util/jsoncheck.h"
#include "util/strv.h"
#include "util/yajl.h"

#define JSON_MAX_DEPTH 64
#define WHERE_BUF 64
/* Platforms listed when none matches. */
#define LIST_MAX 16

DEFINE_CLEANUP_CLEAR (manifest, struct oci_manifest, manifest_clear)
#define cleanup_manifest CLEANUP (manifest)

DEFINE_CLEANUP_CLEAR (config, struct oci_image_config, image_config_clear)
#define cleanup_config CLEANUP (config)

/* ---- errors */

/* "invalid <what>: <message>", an OHR_ERR_IMAGE. */
#define invalid(err, what, ...)                                               \
  json_invalid (err, OHR_ERR_IMAGE, what, __VA_ARGS__)

static void
field_path (char buf[WHERE_BUF], const char *where, const char *key)
{
  snprintf (buf, WHERE_BUF, "%s%s%s", where, where[0] ? "." : "", key);
}

/* ---- JSON input: the checks yajl_tree_parse does not make (see the top
 * of the file) */

static int
parse_json (const char *data, size_t len, const char *what, yajl_val *out,
            ohr_error_t *err)
{
  return json_parse_strict (data, len, MANIFEST_MAX_SIZE, JSON_MAX_DEPTH,
                            OHR_ERR_IMAGE, what, out, err);
}

/* ---- typed fields */

/* A string field.  Absent or null: *out is NULL, an error when required. */
static int
get_string (yajl_val obj, const char *key, bool required, const char *what,
            const char *where, const char **out, ohr_error_t *err)
{
  char path[WHERE_BUF];
  yajl_val v = json_get (obj, key);
  *out = NULL;
  if (v == NULL || YAJL_IS_NULL (v))
    {
      if (!required)
        return 0;
      field_path (path, where, key);
      return invalid (err, what, "'%s' is missing", path);
    }
  if (!YAJL_IS_STRING (v))
    {
      field_path (path, where, key);
      return invalid (err, what, "'%s' must be a string", path);
    }
  *out = v->u.string;
  return 0;
}

/* An object or array field; absent or null gives NULL. */
static int
get_typed (yajl_val obj, const char *key, yajl_type type, bool required,
           const char *what, const char *where, yajl_val *out,
           ohr_error_t *err)
{
  char path[WHERE_BUF];
  yajl_val v = json_get (obj, key);
  *out = NULL;
  bool object = type == yajl_t_object;
  field_path (path, where, key);
  if (v == NULL || YAJL_IS_NULL (v))
    return required ? invalid (err, what, "'%s' is missing", path) : 0;
  if (v->type != type)
    return invalid (err, what, "'%s' must be %s", path,
                    object ? "an object" : "an array");
  *out = v;
  return 0;
}

static int
dup_string (const char *s, char **out, ohr_error_t *err)
{
  if (s == NULL)
    return 0;
  *out = strdup (s);
  return *out ? 0 : ohr_error_nomem (err);
}

/* RFC 6838 type/subtype, as the OCI descriptor schema has it. */
static bool
media_type_part_valid (const char *s, size_t n)
{
  if (n == 0 || n > 127)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                   || (c >= '0' && c <= '9');
      if (!alnum && (i == 0 || !strchr ("!#$&^_.+-", c)))
        return false;
    }
  return true;
}

static bool
media_type_valid (const char *s)
{
  const char *slash = strchr (s, '/');
  return slash && media_type_part_valid (s, (size_t)(slash - s))
         && media_type_part_valid (slash + 1, strlen (slash + 1));
}

static int
get_media_type (yajl_val obj, bool required, const char *what,
                const char *where, const char **out, ohr_error_t *err)
{
  if (get_string (obj, "mediaType", required, what, where, out, err) < 0)
    return -1;
  if (*out && !media_type_valid (*out))
    {
      char path[WHERE_BUF], q[CLIP_SIZE];
      field_path (path, where, "mediaType");
      return invalid (err, what, "'%s' is not a media type: '%s'", path,
                      clip (*out, CLIP_ASCII, q));
    }
  return 0;
}

static int
get_digest (yajl_val obj, const char *key, const char *what, const char *where,
            const char **out, ohr_error_t *err)
{
  if (get_string (obj, key, true, what, where, out, err) < 0)
    return -1;
  if (!digest_valid (*out))
    {
      char path[WHERE_BUF], q[CLIP_SIZE];
      field_path (path, where, key);
      return invalid (err, what, "'%s' is not a sha256 digest: '%s'", path,
                      clip (*out, CLIP_ASCII, q));
    }
  return 0;
}

static int
get_size (yajl_val obj, const char *what, const char *where, int64_t *out,
          ohr_error_t *err)
{
  char path[WHERE_BUF];
  yajl_val v = json_get (obj, "size");
  field_path (path, where, "size");
  if (v == NULL)
    return invalid (err, what, "'%s' is missing", path);
  if (!YAJL_IS_INTEGER (v) || YAJL_GET_INTEGER (v) < 0)
    return invalid (err, what, "'%s' must be a non-negative integer", path);
  *out = YAJL_GET_INTEGER (v);
  return 0;
}

/* ---- descriptors */

/* annotations: an object of strings; returns the ref.name one (or NULL). */
static int
get_annotations (yajl_val obj, const char *what, const char *where,
                 const char **ref_name, ohr_error_t *err)
{
  yajl_val a;
  *ref_name = NULL;
  if (get_typed (obj, "annotations", yajl_t_object, false, what, where, &a,
                 err)
      < 0)
    return -1;
  for (size_t i = 0; a && i < a->u.object.len; i++)
    {
      if (!YAJL_IS_STRING (a->u.object.values[i]))
        {
          char path[WHERE_BUF], q[CLIP_SIZE];
          field_path (path, where, "annotations");
          return invalid (err, what, "'%s' value of '%s' must be a string",
                          path, clip (a->u.object.keys[i], CLIP_ASCII, q));
        }
      if (strcmp (a->u.object.keys[i], "org.opencontainers.image.ref.name")
          == 0)
        *ref_name = a->u.object.values[i]->u.string;
    }
  return 0;
}

static int
parse_platform (yajl_val obj, const char *what, const char *where,
                struct oci_descriptor *d, ohr_error_t *err)
{
  yajl_val p;
  const char *os, *arch, *variant;
  char path[WHERE_BUF];
  if (get_typed (obj, "platform", yajl_t_object, false, what, where, &p, err)
      < 0)
    return -1;
  if (p == NULL)
    return 0;
  field_path (path, where, "platform");
  if (get_string (p, "os", true, what, path, &os, err) < 0
      || get_string (p, "architecture", true, what, path, &arch, err) < 0
      || get_string (p, "variant", false, what, path, &variant, err) < 0)
    return -1;
  if (dup_string (os, &d->os, err) < 0
      || dup_string (arch, &d->architecture, err) < 0
      || dup_string (variant, &d->variant, err) < 0)
    return -1;
  return 0;
}

/* An index entry (in_index) keeps its platform and ref.name annotation. */
static int
parse_descriptor (yajl_val v, const char *where, bool in_index,
                  struct oci_descriptor *d, ohr_error_t *err)
{
  static const char what[] = "manifest";
  const char *mt, *digest, *ref_name;
  if (!YAJL_IS_OBJECT (v))
    return invalid (err, what, "'%s' must be an object", where);
  if (get_media_type (v, true, what, where, &mt, err) < 0
      || get_digest (v, "digest", what, where, &digest, err) < 0
      || get_size (v, what, where, &d->size, err) < 0
      || get_annotations (v, what, where, &ref_name, err) < 0)
    return -1;
  if (dup_string (mt, &d->media_type, err) < 0
      || dup_string (digest, &d->digest, err) < 0)
    return -1;
  if (!in_index)
    return 0;
  if (dup_string (ref_name, &d->ref_name, err) < 0)
    return -1;
  return parse_platform (v, what, where, d, err);
}

static int
parse_descriptors (yajl_val root, const char *key, bool in_index,
                   struct oci_descriptor **out, size_t *out_n,
                   ohr_error_t *err)
{
  yajl_val a;
  if (get_typed (root, key, yajl_t_array, true, "manifest", "", &a, err) < 0)
    return -1;
  size_t n = a->u.array.len;
  *out = calloc (n ? n : 1, sizeof **out);
  if (*out == NULL)
    return ohr_error_nomem (err);
  *out_n = n;
  for (size_t i = 0; i < n; i++)
    {
      char where[WHERE_BUF];
      snprintf (where, sizeof where, "%s[%zu]", key, i);
      if (parse_descriptor (a->u.array.values[i], where, in_index, &(*out)[i],
                            err)
          < 0)
        return -1;
    }
  return 0;
}

/* ---- manifests */

static int
check_schema_version (yajl_val root, const char *what, ohr_error_t *err)
{
  yajl_val v = json_get (root, "schemaVersion");
  if (v == NULL)
    return 0;
  if (!YAJL_IS_INTEGER (v))
    return invalid (err, what, "'schemaVersion' must be an integer");
  if (YAJL_GET_INTEGER (v) != 2)
    return invalid (err, what, "unsupported schemaVersion %lld (only 2%s)",
                    YAJL_GET_INTEGER (v),
                    YAJL_GET_INTEGER (v) == 1 ? "; Docker schema 1 is obsolete"
                                              : "");
  return 0;
}

static int
kind_from_media_type (const char *mt, enum manifest_kind *kind,
                      ohr_error_t *err)
{
  if (strcmp (mt, MT_OCI_MANIFEST) == 0
      || strcmp (mt, MT_DOCKER_MANIFEST) == 0)
    *kind = MANIFEST_IMAGE;
  else if (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0)
    *kind = MANIFEST_INDEX;
  else
    {
      char q[CLIP_SIZE];
      return ohr_error_set (err, 0, OHR_ERR_IMAGE,
                            "unsupported manifest media type '%s'",
                            clip (mt, CLIP_ASCII, q));
    }
  return 0;
}

/* The kind, from mediaType or, when it is absent, from the shape. */
static int
manifest_kind (yajl_val root, enum manifest_kind *kind, const char **mt,
               ohr_error_t *err)
{
  static const char what[] = "manifest";
  if (get_string (root, "mediaType", false, what, "", mt, err) < 0)
    return -1;
  if (*mt)
    return kind_from_media_type (*mt, kind, err);
  bool has_manifests = json_get (root, "manifests") != NULL;
  bool has_layers = json_get (root, "layers") != NULL;
  if (has_manifests && has_layers)
    return invalid (err, what,
                    "no 'mediaType' and both 'manifests' and 'layers'");
  if (!has_manifests && !has_layers)
    return invalid (err, what,
                    "no 'mediaType' and neither 'manifests' nor 'layers'");
  *kind = has_manifests ? MANIFEST_INDEX : MANIFEST_IMAGE;
  *mt = has_manifests ? MT_OCI_INDEX : MT_OCI_MANIFEST;
  return 0;
}

static int
parse_image_manifest (yajl_val root, struct oci_manifest *m, ohr_error_t *err)
{
  yajl_val config;
  if (get_typed (root, "config", yajl_t_object, true, "manifest", "", &config,
                 err)
      < 0)
    return -1;
  if (parse_descriptor (config, "config", false, &m->config, err) < 0)
    return -1;
  return parse_descriptors (root, "layers", false, &m->layers, &m->n_layers,
                            err);
}

int
manifest_parse (const char *data, size_t len, struct oci_manifest *out,
                ohr_error_t *err)
{
  cleanup_yajl_val yajl_val root = NULL;
  cleanup_manifest struct oci_manifest m = { 0 };
  const char *mt;
  if (parse_json (data, len, "manifest", &root, err) < 0
      || check_schema_version (root, "manifest", err) < 0
      || manifest_kind (root, &m.kind, &mt, err) < 0
      || dup_string (mt, &m.media_type, err) < 0)
    return -1;
  int r = m.kind == MANIFEST_IMAGE
              ? parse_image_manifest (root, &m, err)
              : parse_descriptors (root, "manifests", true, &m.manifests,
                                   &m.n_manifests, err);
  if (r < 0)
    return r;
  *out = m;
  memset (&m, 0, sizeof m);
  return 0;
}

static void
descriptor_clear (struct oci_descriptor *d)
{
  free_many (d->media_type, d->digest, d->os, d->architecture, d->variant,
             d->ref_name);
  memset (d, 0, sizeof *d);
}

void
manifest_clear (struct oci_manifest *m)
{
  if (m == NULL)
    return;
  descriptor_clear (&m->config);
  for (size_t i = 0; m->layers && i < m->n_layers; i++)
    descriptor_clear (&m->layers[i]);
  for (size_t i = 0; m->manifests && i < m->n_manifests; i++)
    descriptor_clear (&m->manifests[i]);
  free_many (m->media_type, m->layers, m->manifests);
  memset (m, 0, sizeof *m);
}

/* ---- platforms */

struct arch_name
{
  const char *machine; /* uname -m */
  const char *arch;    /* GOARCH, as OCI spells it */
  const char *variant;
};

static const struct arch_name uname_arches[] = {
  { "x86_64", "amd64", NULL },    { "amd64", "amd64", NULL },
  { "i386", "386", NULL },        { "i486", "386", NULL },
  { "i586", "386", NULL },        { "i686", "386", NULL },
  { "aarch64", "arm64", "v8" },   { "arm64", "arm64", "v8" },
  { "armv8l", "arm", "v8" },      { "armv7l", "arm", "v7" },
  { "armv7", "arm", "v7" },       { "armv6l", "arm", "v6" },
  { "armv5tel", "arm", "v5" },    { "ppc64le", "ppc64le", NULL },
  { "ppc64", "ppc64", NULL },     { "s390x", "s390x", NULL },
  { "riscv64", "riscv64", NULL }, { "loongarch64", "loong64", NULL },
  { "mips64", "mips64", NULL },   { "mips", "mips", NULL },
};

/* This binary's architecture: what the host toolchain (and so a build
 * script) is built for, even on a wider kernel (arm on an arm64 kernel). */
static bool
compiled_arch (const char **arch, const char **variant)
{
  *variant = NULL;
#if defined(__x86_64__)
  *arch = "amd64";
#elif defined(__i386__)
  *arch = "386";
#elif defined(__aarch64__)
  *arch = "arm64";
  *variant = "v8";
#elif defined(__arm__) && defined(__ARM_ARCH)
  *arch = "arm";
  *variant = __ARM_ARCH >= 7 ? "v7" : __ARM_ARCH == 6 ? "v6" : "v5";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  *arch = "ppc64le";
#elif defined(__powerpc64__)
  *arch = "ppc64";
#elif defined(__s390x__)
  *arch = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  *arch = "riscv64";
#elif defined(__loongarch64)
  *arch = "loong64";
#else
  *arch = NULL;
#endif
  return *arch != NULL;
}

/* Fallback for an architecture the table above does not know at compile
 * time: uname's name, mapped when we know it.  Not thread-safe. */
static void
uname_arch (const char **arch, const char **variant)
{
  static struct utsname u;
  *variant = NULL;
  if (uname (&u) < 0)
    {
      *arch = "unknown";
      return;
    }
  *arch = u.machine;
  for (size_t i = 0; i < sizeof uname_arches / sizeof *uname_arches; i++)
    if (strcmp (u.machine, uname_arches[i].machine) == 0)
      {
        *arch = uname_arches[i].arch;
        *variant = uname_arches[i].variant;
        return;
      }
}

void
manifest_host_platform (const char **os, const char **arch,
                        const char **variant)
{
  const char *a, *v;
  if (!compiled_arch (&a, &v))
    uname_arch (&a, &v);
  if (os)
    *os = "linux";
  if (arch)
    *arch = a;
  if (variant)
    *variant = v;
}

static bool
is_image_manifest (const struct oci_descriptor *d)
{
  return d->media_type
         && (strcmp (d->media_type, MT_OCI_MANIFEST) == 0
             || strcmp (d->media_type, MT_DOCKER_MANIFEST) == 0);
}

/* arm64 images are v8 unless they say otherwise. */
static const char *
effective_variant (const char *arch, const char *variant)
{
  if (variant == NULL && strcmp (arch, "arm64") == 0)
    return "v8";
  return variant;
}

static bool
str_eq (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static bool
platform_matches (const struct oci_descriptor *d, const char *os,
                  const char *arch, const char *variant)
{
  if (!is_image_manifest (d) || d->os == NULL || d->architecture == NULL)
    return false;
  if (strcmp (d->os, os) != 0 || strcmp (d->architecture, arch) != 0)
    return false;
  return variant == NULL
         || str_eq (effective_variant (arch, d->variant),
                    effective_variant (arch, variant));
}

/* "linux/amd64, linux/arm64/v8", or NULL on allocation failure. */
static char *
offered_platforms (const struct oci_manifest *index)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&buf, &size);
  if (f == NULL)
    return NULL;
  size_t listed = 0;
  for (size_t i = 0; i < index->n_manifests; i++)
    {
      const struct oci_descriptor *d = &index->manifests[i];
      /* unknown/unknown: buildx's attestations, not images */
      if (!is_image_manifest (d) || d->os == NULL || d->architecture == NULL
          || strcmp (d->os, "unknown") == 0)
        continue;
      if (listed++ == LIST_MAX)
        {
          fputs (", ...", f);
          break;
        }
      char q1[CLIP_SIZE], q2[CLIP_SIZE], q3[CLIP_SIZE];
      fprintf (f, "%s%s/%s%s%s", listed > 1 ? ", " : "",
               clip (d->os, CLIP_ASCII, q1),
               clip (d->architecture, CLIP_ASCII, q2), d->variant ? "/" : "",
               d->variant ? clip (d->variant, CLIP_ASCII, q3) : "");
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return NULL;
    }
  return buf;
}

int
manifest_select_platform (const struct oci_manifest *index, const char *os,
                          const char *arch, const char *variant,
                          const struct oci_descriptor **out, ohr_error_t *err)
{
  if (index == NULL || index->kind != MANIFEST_INDEX || os == NULL
      || arch == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "select platform: not an index");
  for (size_t i = 0; i < index->n_manifests; i++)
    if (platform_matches (&index->manifests[i], os, arch, variant))
      {
        *out = &index->manifests[i];
        return 0;
      }
  cleanup_free char *offered = offered_platforms (index);
  if (offered == NULL)
    return ohr_error_nomem (err);
  return ohr_error_set (err, 0, OHR_ERR_IMAGE,
                        "no image for %s/%s%s%s in the index (it offers %s)",
                        os, arch, variant ? "/" : "", variant ? variant : "",
                        offered[0] ? offered : "no image with a platform");
}

/* ---- image config */

static int
parse_env (yajl_val config, char ***out, ohr_error_t *err)
{
  static const char what[] = "image config";
  yajl_val env;
  if (get_typed (config, "Env", yajl_t_array, false, what, "config", &env, err)
      < 0)
    return -1;
  for (size_t i = 0; env && i < env->u.array.len; i++)
    {
      yajl_val e = env->u.array.values[i];
      if (!YAJL_IS_STRING (e))
        return invalid (err, what, "'config.Env[%zu]' must be a string", i);
      const char *eq = strchr (e->u.string, '=');
      if (eq == NULL || eq == e->u.string)
        {
          char q[CLIP_SIZE];
          return invalid (err, what,
                          "'config.Env[%zu]' is not NAME=VALUE: '%s'", i,
                          clip (e->u.string, CLIP_ASCII, q));
        }
      if (strv_push (out, e->u.string) < 0)
        return ohr_error_nomem (err);
    }
  return 0;
}

static int
parse_container_config (yajl_val root, struct oci_image_config *c,
                        ohr_error_t *err)
{
  static const char what[] = "image config";
  yajl_val config;
  const char *workdir;
  if (get_typed (root, "config", yajl_t_object, false, what, "", &config, err)
      < 0)
    return -1;
  if (config == NULL)
    return 0;
  if (parse_env (config, &c->env, err) < 0
      || get_string (config, "WorkingDir", false, what, "config", &workdir,
                     err)
             < 0)
    return -1;
  /* Docker writes "" for "not set". */
  if (workdir && workdir[0] == '\0')
    workdir = NULL;
  return dup_string (workdir, &c->workdir, err);
}

static int
parse_rootfs (yajl_val root, struct oci_image_config *c, ohr_error_t *err)
{
  static const char what[] = "image config";
  yajl_val rootfs, ids;
  const char *type;
  if (get_typed (root, "rootfs", yajl_t_object, true, what, "", &rootfs, err)
          < 0
      || get_string (rootfs, "type", true, what, "rootfs", &type, err) < 0)
    return -1;
  if (strcmp (type, "layers") != 0)
    {
      char q[CLIP_SIZE];
      return invalid (err, what, "'rootfs.type' must be 'layers', not '%s'",
                      clip (type, CLIP_ASCII, q));
    }
  if (get_typed (rootfs, "diff_ids", yajl_t_array, true, what, "rootfs", &ids,
                 err)
      < 0)
    return -1;
  if ((c->diff_ids = calloc (1, sizeof (char *))) == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; i < ids->u.array.len; i++)
    {
      yajl_val d = ids->u.array.values[i];
      if (!YAJL_IS_STRING (d) || !digest_valid (d->u.string))
        return invalid (err, what,
                        "'rootfs.diff_ids[%zu]' is not a sha256 digest", i);
      if (strv_push (&c->diff_ids, d->u.string) < 0)
        return ohr_error_nomem (err);
    }
  return 0;
}

int
image_config_parse (const char *data, size_t len, struct oci_image_config *out,
                    ohr_error_t *err)
{
  static const char what[] = "image config";
  cleanup_yajl_val yajl_val root = NULL;
  cleanup_config struct oci_image_config c = { 0 };
  const char *os, *arch;
  if (parse_json (data, len, what, &root, err) < 0
      || get_string (root, "os", true, what, "", &os, err) < 0
      || get_string (root, "architecture", true, what, "", &arch, err) < 0
      || dup_string (os, &c.os, err) < 0
      || dup_string (arch, &c.architecture, err) < 0
      || parse_container_config (root, &c, err) < 0
      || parse_rootfs (root, &c, err) < 0)
    return -1;
  *out = c;
  memset (&c, 0, sizeof c);
  return 0;
}

void
image_config_clear (struct oci_image_config *c)
{
  if (c == NULL)
    return;
  free_many (c->os, c->architecture, c->workdir);
  strv_free (c->env);
  strv_free (c->diff_ids);
  memset (c, 0, sizeof *c);
}
