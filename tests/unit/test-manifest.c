/* test-manifest.c: manifests, indexes and image configs, from the fixtures
 * in tests/fixtures/manifests (real ones made by umoci and skopeo, the
 * image-spec's examples and its schema tests' invalid cases), and inputs
 * built here to hit the limits.  Run from the top of the tree. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

#define FIXTURES "tests/fixtures/manifests/"

struct blob
{
  char *data;
  size_t len;
};

static struct blob
load (const char *name)
{
  struct blob b = { NULL, 0 };
  char path[256];
  ohr_error_t err = NULL;
  snprintf (path, sizeof path, FIXTURES "%s", name);
  if (fs_read_file (path, MANIFEST_MAX_SIZE, &b.data, &b.len, &err) < 0)
    fail_msg ("%s (run the tests from the top of the tree)", err->msg);
  return b;
}

static void
parse_fixture (const char *name, struct oci_manifest *m)
{
  struct blob b = load (name);
  ohr_error_t err = NULL;
  if (manifest_parse (b.data, b.len, m, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  assert_null (err);
  free (b.data);
}

/* The error of parsing data, which must fail: one line, an image error. */
static char *
parse_error (const char *data, size_t len, bool config)
{
  struct oci_manifest m = { 0 };
  struct oci_image_config c = { 0 };
  ohr_error_t err = NULL;
  int r = config ? image_config_parse (data, len, &c, &err)
                 : manifest_parse (data, len, &m, &err);
  if (r >= 0)
    fail_msg ("parsed, expected an error: %.200s", data);
  assert_non_null (err);
  assert_int_equal (err->kind, OHR_ERR_IMAGE);
  if (strchr (err->msg, '\n'))
    fail_msg ("message is not one line: %s", err->msg);
  /* out is untouched on failure */
  assert_null (m.media_type);
  assert_null (c.os);
  char *msg = strdup (err->msg);
  ohr_error_free (&err);
  return msg;
}

static void
expect_error (const char *data, size_t len, bool config, const char *want)
{
  char *msg = parse_error (data, len, config);
  if (strstr (msg, want) == NULL)
    fail_msg ("message '%s' lacks '%s'", msg, want);
  free (msg);
}

static void
expect_error_str (const char *json, bool config, const char *want)
{
  expect_error (json, strlen (json), config, want);
}

/* ---- image manifests */

static void
test_oci_manifest (void **state)
{
  struct oci_manifest m;
  parse_fixture ("oci-manifest.json", &m);
  assert_int_equal (m.kind, MANIFEST_IMAGE);
  assert_string_equal (m.media_type, MT_OCI_MANIFEST);
  assert_string_equal (m.config.media_type, MT_OCI_CONFIG);
  assert_int_equal (m.config.size, 7023);
  assert_string_equal (m.config.digest,
                       "sha256:b5b2b2c507a0944348e0303114d8"
                       "d93aaaa081732b86451d9bce1f432a537bc7");
  assert_int_equal (m.n_layers, 3);
  assert_string_equal (m.layers[2].media_type, MT_OCI_LAYER_GZIP);
  assert_int_equal (m.layers[2].size, 73109);
  assert_true (digest_valid (m.layers[0].digest));
  assert_null (m.layers[0].os);
  assert_null (m.manifests);
  assert_int_equal (m.n_manifests, 0);
  manifest_clear (&m);
  assert_null (m.layers);
  manifest_clear (&m);
  manifest_clear (NULL);
}

/* Real blobs: umoci's manifest (no mediaType: inferred from "layers") and
 * skopeo's Docker schema2 conversion of it; their config digest is the
 * digest of the config fixture's bytes. */
static void
test_real_manifests (void **state)
{
  struct oci_manifest oci, docker;
  char config_digest[DIGEST_STRING_LEN + 1];
  ohr_error_t err = NULL;
  assert_int_equal (
      digest_file (FIXTURES "umoci-config-amd64.json", config_digest, &err),
      0);
  struct blob config = load ("umoci-config-amd64.json");

  parse_fixture ("umoci-manifest-amd64.json", &oci);
  assert_int_equal (oci.kind, MANIFEST_IMAGE);
  assert_string_equal (oci.media_type, MT_OCI_MANIFEST);
  assert_string_equal (oci.config.digest, config_digest);
  assert_int_equal (oci.config.size, (int64_t)config.len);
  assert_int_equal (oci.n_layers, 1);
  assert_string_equal (oci.layers[0].media_type, MT_OCI_LAYER_GZIP);

  parse_fixture ("docker-manifest.json", &docker);
  assert_int_equal (docker.kind, MANIFEST_IMAGE);
  assert_string_equal (docker.media_type, MT_DOCKER_MANIFEST);
  assert_string_equal (docker.config.media_type, MT_DOCKER_CONFIG);
  assert_string_equal (docker.config.digest, config_digest);
  assert_int_equal (docker.n_layers, 1);
  assert_string_equal (docker.layers[0].media_type, MT_DOCKER_LAYER_GZIP);
  /* the same layer blob under either media type */
  assert_string_equal (docker.layers[0].digest, oci.layers[0].digest);
  assert_int_equal (docker.layers[0].size, oci.layers[0].size);

  manifest_clear (&oci);
  manifest_clear (&docker);
  free (config.data);
}

/* ---- indexes */

static void
test_oci_index (void **state)
{
  struct oci_manifest m;
  parse_fixture ("oci-index.json", &m);
  assert_int_equal (m.kind, MANIFEST_INDEX);
  assert_string_equal (m.media_type, MT_OCI_INDEX);
  assert_int_equal (m.n_manifests, 2);
  assert_int_equal (m.n_layers, 0);
  assert_string_equal (m.manifests[0].architecture, "ppc64le");
  assert_string_equal (m.manifests[1].os, "linux");
  assert_string_equal (m.manifests[1].architecture, "amd64");
  assert_null (m.manifests[1].variant);
  assert_null (m.manifests[1].ref_name);
  assert_int_equal (m.manifests[1].size, 7682);
  manifest_clear (&m);
}

/* An index.json of a layout: ref.name annotations, an entry without a
 * platform, an entry of an unknown media type (kept, never selected). */
static void
test_layout_index (void **state)
{
  struct oci_manifest m;
  parse_fixture ("oci-layout-index.json", &m);
  assert_int_equal (m.n_manifests, 3);
  assert_string_equal (m.manifests[0].media_type, MT_OCI_INDEX);
  assert_string_equal (m.manifests[0].ref_name, "stable-release");
  assert_null (m.manifests[0].os);
  assert_string_equal (m.manifests[1].ref_name, "v1.0");
  assert_string_equal (m.manifests[1].architecture, "ppc64le");
  assert_string_equal (m.manifests[2].media_type, "application/xml");
  assert_null (m.manifests[2].ref_name);
  manifest_clear (&m);

  /* umoci's real index.json: no mediaType, so the shape decides */
  parse_fixture ("umoci-index.json", &m);
  assert_int_equal (m.kind, MANIFEST_INDEX);
  assert_string_equal (m.media_type, MT_OCI_INDEX);
  assert_int_equal (m.n_manifests, 2);
  assert_string_equal (m.manifests[0].ref_name, "amd64");
  assert_string_equal (m.manifests[1].ref_name, "arm64");
  char d[DIGEST_STRING_LEN + 1];
  ohr_error_t err = NULL;
  assert_int_equal (
      digest_file (FIXTURES "umoci-manifest-arm64.json", d, &err), 0);
  assert_string_equal (m.manifests[1].digest, d);
  manifest_clear (&m);
}

static const struct oci_descriptor *
select_ok (const struct oci_manifest *m, const char *os, const char *arch,
           const char *variant)
{
  const struct oci_descriptor *d = NULL;
  ohr_error_t err = NULL;
  if (manifest_select_platform (m, os, arch, variant, &d, &err) < 0)
    fail_msg ("%s/%s/%s: %s", os, arch, variant ? variant : "-", err->msg);
  assert_non_null (d);
  return d;
}

static char *
select_error (const struct oci_manifest *m, const char *os, const char *arch,
              const char *variant)
{
  const struct oci_descriptor *d = NULL;
  ohr_error_t err = NULL;
  assert_true (manifest_select_platform (m, os, arch, variant, &d, &err) < 0);
  assert_null (d);
  assert_int_equal (err->kind, OHR_ERR_IMAGE);
  char *msg = strdup (err->msg);
  ohr_error_free (&err);
  return msg;
}

/* A multi-arch index whose amd64 and arm64 entries are the real umoci
 * manifests (digest and size of the fixture files). */
static void
test_select_multiarch (void **state)
{
  struct oci_manifest m;
  parse_fixture ("multiarch-index.json", &m);
  assert_int_equal (m.n_manifests, 5);

  const struct oci_descriptor *d = select_ok (&m, "linux", "amd64", NULL);
  char want[DIGEST_STRING_LEN + 1];
  ohr_error_t err = NULL;
  assert_int_equal (
      digest_file (FIXTURES "umoci-manifest-amd64.json", want, &err), 0);
  assert_string_equal (d->digest, want);
  struct blob b = load ("umoci-manifest-amd64.json");
  assert_int_equal (d->size, (int64_t)b.len);
  free (b.data);

  /* arm64 without a variant is v8 */
  assert_ptr_equal (select_ok (&m, "linux", "arm64", "v8"), &m.manifests[1]);
  assert_ptr_equal (select_ok (&m, "linux", "arm64", NULL), &m.manifests[1]);
  assert_ptr_equal (select_ok (&m, "linux", "arm", "v7"), &m.manifests[2]);
  assert_ptr_equal (select_ok (&m, "linux", "arm", NULL), &m.manifests[2]);

  /* riscv64's entry is a nested index, the unknown/unknown one an
   * attestation: neither is offered */
  char *msg = select_error (&m, "linux", "riscv64", NULL);
  assert_string_equal (msg, "no image for linux/riscv64 in the index (it "
                            "offers linux/amd64, linux/arm64, linux/arm/v7)");
  free (msg);
  msg = select_error (&m, "linux", "arm", "v6");
  assert_non_null (strstr (msg, "no image for linux/arm/v6"));
  free (msg);
  msg = select_error (&m, "linux", "arm64", "v9");
  assert_non_null (strstr (msg, "linux/arm64/v9"));
  free (msg);
  msg = select_error (&m, "windows", "amd64", NULL);
  assert_non_null (strstr (msg, "windows/amd64"));
  free (msg);
  manifest_clear (&m);
}

static void
test_select_docker_list (void **state)
{
  struct oci_manifest m;
  parse_fixture ("docker-manifest-list.json", &m);
  assert_int_equal (m.kind, MANIFEST_INDEX);
  assert_string_equal (m.media_type, MT_DOCKER_LIST);
  assert_int_equal (m.n_manifests, 6);
  assert_ptr_equal (select_ok (&m, "linux", "amd64", NULL), &m.manifests[1]);
  assert_ptr_equal (select_ok (&m, "linux", "arm", "v6"), &m.manifests[2]);
  assert_ptr_equal (select_ok (&m, "linux", "arm", "v7"), &m.manifests[3]);
  /* "v8" in the list matches a request without variant, and the reverse */
  assert_ptr_equal (select_ok (&m, "linux", "arm64", NULL), &m.manifests[4]);
  assert_ptr_equal (select_ok (&m, "windows", "amd64", NULL), &m.manifests[5]);
  char *msg = select_error (&m, "linux", "s390x", NULL);
  assert_non_null (strstr (msg,
                           "linux/ppc64le, linux/amd64, linux/arm/v6, "
                           "linux/arm/v7, linux/arm64/v8, windows/amd64"));
  free (msg);
  manifest_clear (&m);

  /* an index without platforms */
  parse_fixture ("oci-layout-index.json", &m);
  msg = select_error (&m, "linux", "amd64", NULL);
  assert_non_null (strstr (msg, "it offers linux/ppc64le"));
  free (msg);
  manifest_clear (&m);
}

static void
test_select_misuse (void **state)
{
  struct oci_manifest m;
  const struct oci_descriptor *d = NULL;
  ohr_error_t err = NULL;
  parse_fixture ("oci-manifest.json", &m);
  assert_true (manifest_select_platform (&m, "linux", "amd64", NULL, &d, &err)
               < 0);
  assert_int_equal (err->kind, OHR_ERR_INTERNAL);
  ohr_error_free (&err);
  manifest_clear (&m);

  const char *empty = "{\"schemaVersion\":2,\"manifests\":[]}";
  assert_int_equal (manifest_parse (empty, strlen (empty), &m, &err), 0);
  char *msg = select_error (&m, "linux", "amd64", NULL);
  assert_non_null (strstr (msg, "it offers no image with a platform"));
  free (msg);
  manifest_clear (&m);
}

/* The list of offered platforms is bounded and its untrusted text made
 * printable. */
static void
test_select_error_bounded (void **state)
{
  char *json = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&json, &size);
  fputs ("{\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[", f);
  for (int i = 0; i < 100; i++)
    fprintf (f,
             "%s{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,"
             "\"digest\":\"sha256:%064d\",\"platform\":{\"os\":\"li\\nnux\","
             "\"architecture\":\"a%d\"}}",
             i ? "," : "", i, i);
  fputs ("]}", f);
  fclose (f);
  struct oci_manifest m;
  ohr_error_t err = NULL;
  assert_int_equal (manifest_parse (json, size, &m, &err), 0);
  assert_string_equal (m.manifests[0].os, "li\nnux");
  char *msg = select_error (&m, "linux", "amd64", NULL);
  assert_null (strchr (msg, '\n'));
  assert_non_null (strstr (msg, "li?nux/a0"));
  assert_non_null (strstr (msg, "li?nux/a15, ...)"));
  assert_null (strstr (msg, "a16"));
  free (msg);
  manifest_clear (&m);
  free (json);
}

static void
test_host_platform (void **state)
{
  const char *os = NULL, *arch = NULL, *variant = "x";
  manifest_host_platform (&os, &arch, &variant);
  assert_string_equal (os, "linux");
  assert_non_null (arch);
#if defined(__x86_64__)
  assert_string_equal (arch, "amd64");
  assert_null (variant);
#elif defined(__aarch64__)
  assert_string_equal (arch, "arm64");
  assert_string_equal (variant, "v8");
#endif
  /* any argument may be NULL */
  manifest_host_platform (NULL, NULL, NULL);
  manifest_host_platform (NULL, &arch, NULL);
}

/* ---- invalid manifests */

struct bad
{
  const char *file;
  const char *message;
};

static const struct bad bad_files[] = {
  { "config-media-type.json",
    "invalid manifest: 'config.mediaType' is not a media type: 'invalid'" },
  { "layer-size-string.json",
    "invalid manifest: 'layers[0].size' must be a non-negative integer" },
  { "layer-negative-size.json",
    "'layers[0].size' must be a non-negative integer" },
  { "digest-algorithm.json",
    "'config.digest' is not a sha256 digest: 'sha256+b64:c86f" },
  { "layer-digest-uppercase.json",
    "'layers[0].digest' is not a sha256 digest" },
  { "index-missing-digest.json", "'manifests[0].digest' is missing" },
  { "index-platform-no-arch.json",
    "'manifests[0].platform.architecture' is missing" },
  { "index-empty-media-type.json",
    "'manifests[0].mediaType' is not a media type: ''" },
  { "docker-schema1.json",
    "unsupported schemaVersion 1 (only 2; Docker schema 1 is obsolete)" },
  { "artifact-media-type.json", "unsupported manifest media type "
                                "'application/vnd.oci.artifact.manifest.v1+"
                                "json'" },
  { "duplicate-key.json", "invalid manifest: duplicate key 'digest'" },
  { "comment.json", "invalid manifest: comments are not JSON" },
  { "nul-escape.json", "string with a \\u0000 escape" },
  { "no-media-type-ambiguous.json",
    "no 'mediaType' and both 'manifests' and 'layers'" },
  { "trailing-garbage.json", "invalid manifest: parse error: trailing "
                             "garbage" },
};

static void
test_invalid_fixtures (void **state)
{
  for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++)
    {
      char path[256];
      snprintf (path, sizeof path, "invalid/%s", bad_files[i].file);
      struct blob b = load (path);
      char *msg = parse_error (b.data, b.len, false);
      if (strstr (msg, bad_files[i].message) == NULL)
        fail_msg ("%s: message '%s' lacks '%s'", bad_files[i].file, msg,
                  bad_files[i].message);
      free (msg);
      free (b.data);
    }
}

#define DG                                                                    \
  "\"sha256:"                                                                 \
  "c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b\""
#define CONFIG                                                                \
  "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"size\":1,\"digest\":" DG \
  "}"

static void
test_invalid_inline (void **state)
{
  expect_error_str ("", false, "invalid manifest: parse error");
  expect_error_str ("   ", false, "invalid manifest: parse error");
  expect_error_str ("[]", false, "invalid manifest: not a JSON object");
  expect_error_str ("\"x\"", false, "not a JSON object");
  expect_error_str ("{", false, "premature EOF");
  expect_error_str ("{\"schemaVersion\":2}", false,
                    "neither 'manifests' nor 'layers'");
  expect_error_str ("{\"schemaVersion\":\"2\",\"layers\":[]}", false,
                    "'schemaVersion' must be an integer");
  expect_error_str ("{\"schemaVersion\":3,\"layers\":[]}", false,
                    "unsupported schemaVersion 3 (only 2)");
  expect_error_str ("{\"mediaType\":7,\"layers\":[]}", false,
                    "'mediaType' must be a string");
  expect_error_str ("{\"layers\":[]}", false, "'config' is missing");
  expect_error_str ("{\"config\":[],\"layers\":[]}", false,
                    "'config' must be an object");
  expect_error_str ("{" CONFIG ",\"layers\":{}}", false,
                    "'layers' must be an array");
  expect_error_str ("{" CONFIG ",\"layers\":[7]}", false,
                    "'layers[0]' must be an object");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"mediaType\":\"a/b\","
                    "\"digest\":" DG "}]}",
                    false, "'layers[0].size' is missing");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"mediaType\":\"a/b\","
                    "\"digest\":" DG ",\"size\":1.5}]}",
                    false, "'layers[0].size' must be a non-negative integer");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"mediaType\":\"a/b\","
                    "\"digest\":" DG ",\"size\":99999999999999999999}]}",
                    false, "'layers[0].size' must be a non-negative integer");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"digest\":" DG ",\"size\":1}]}",
                    false, "'layers[0].mediaType' is missing");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"mediaType\":\"a/b\","
                    "\"digest\":null,\"size\":1}]}",
                    false, "'layers[0].digest' is missing");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"mediaType\":\"a/b\","
                    "\"digest\":" DG ",\"size\":1,\"annotations\":[]}]}",
                    false, "'layers[0].annotations' must be an object");
  expect_error_str ("{" CONFIG ",\"layers\":[{\"mediaType\":\"a/b\","
                    "\"digest\":" DG ",\"size\":1,\"annotations\":"
                    "{\"k\":1}}]}",
                    false,
                    "'layers[0].annotations' value of 'k' must be a string");
  expect_error_str ("{\"manifests\":[{\"mediaType\":\"a/b\",\"digest\":" DG
                    ",\"size\":1,\"platform\":\"linux\"}]}",
                    false, "'manifests[0].platform' must be an object");
  expect_error_str ("{\"manifests\":[{\"mediaType\":\"a/b\",\"digest\":" DG
                    ",\"size\":1,\"platform\":{\"os\":\"linux\","
                    "\"architecture\":\"arm\",\"variant\":7}}]}",
                    false, "'manifests[0].platform.variant' must be a string");
  /* the media type decides, whatever the shape */
  expect_error_str ("{\"mediaType\":\"" MT_DOCKER_LIST "\",\"layers\":[]}",
                    false, "'manifests' is missing");
  expect_error_str ("{\"mediaType\":\"application/json\",\"layers\":[]}",
                    false,
                    "unsupported manifest media type 'application/json'");
  /* a NUL byte inside the given length */
  expect_error ("{\"layers\":[]}\0", 14, false, "contains a NUL byte");
  /* duplicate keys anywhere, even in fields we ignore */
  expect_error_str ("{" CONFIG ",\"layers\":[],\"x\":{\"a\":1,\"a\":2}}",
                    false, "duplicate key 'a'");
}

/* untrusted text in messages: printable and bounded */
static void
test_untrusted_text_quoted (void **state)
{
  const char *json = "{\"mediaType\":\"a\\nb\\u00e9c"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
  char *msg = parse_error (json, strlen (json), false);
  assert_non_null (strstr (msg, "'a?b??c"));
  assert_non_null (strstr (msg, "x...'"));
  assert_true (strlen (msg) < 150);
  free (msg);
}

/* ---- limits */

static void
test_size_limit (void **state)
{
  /* over the cap: refused before parsing (the bytes are not even JSON) */
  size_t len = MANIFEST_MAX_SIZE + 1;
  char *big = malloc (len);
  assert_non_null (big);
  memset (big, '[', len);
  expect_error (big, len, false,
                "4194305 bytes, more than the limit of "
                "4194304");
  expect_error (big, len, true, "invalid image config: 4194305 bytes");

  /* exactly at the cap: parsed */
  const char *json = "{\"schemaVersion\":2,\"manifests\":[]}";
  memset (big, ' ', MANIFEST_MAX_SIZE);
  memcpy (big, json, strlen (json));
  struct oci_manifest m;
  ohr_error_t err = NULL;
  assert_int_equal (manifest_parse (big, MANIFEST_MAX_SIZE, &m, &err), 0);
  assert_int_equal (m.n_manifests, 0);
  manifest_clear (&m);
  free (big);
}

static char *
nested (int depth)
{
  char *s = malloc ((size_t)depth * 6 + 16);
  assert_non_null (s);
  char *p = s;
  for (int i = 0; i < depth; i++)
    p = stpcpy (p, "{\"a\":");
  p = stpcpy (p, "1");
  for (int i = 0; i < depth; i++)
    *p++ = '}';
  *p = '\0';
  return s;
}

static void
test_depth_limit (void **state)
{
  /* 64 levels parse (and then lack a config), 65 do not */
  char *ok = nested (64);
  expect_error_str (ok, false, "neither 'manifests' nor 'layers'");
  char *deep = nested (65);
  expect_error_str (deep, false, "nested deeper than 64 levels");
  /* brackets inside strings do not count */
  char *s = NULL;
  assert_true (
      asprintf (&s, "{\"x\":\"%0200d[[[[{{{{\\\"[[[\",\"layers\":[]}", 0)
      >= 0);
  expect_error_str (s, false, "'config' is missing");
  free (ok);
  free (deep);
  free (s);
}

/* ---- image configs */

static void
parse_config (const char *name, struct oci_image_config *c)
{
  struct blob b = load (name);
  ohr_error_t err = NULL;
  if (image_config_parse (b.data, b.len, c, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  free (b.data);
}

static void
test_config (void **state)
{
  struct oci_image_config c;
  parse_config ("oci-config.json", &c);
  assert_string_equal (c.os, "linux");
  assert_string_equal (c.architecture, "amd64");
  assert_int_equal (strv_len (c.env), 3);
  assert_string_equal (c.env[1], "FOO=oci_is_a");
  assert_string_equal (c.workdir, "/home/alice");
  assert_int_equal (strv_len (c.diff_ids), 2);
  assert_string_equal (c.diff_ids[1], "sha256:5f70bf18a086007016e948b04aed3b"
                                      "82103a36bea41755b6cddfaf10ace3c6ef");
  image_config_clear (&c);
  assert_null (c.env);
  image_config_clear (NULL);

  parse_config ("umoci-config-amd64.json", &c);
  assert_string_equal (c.env[1], "LANG=C.UTF-8");
  assert_string_equal (c.workdir, "/work");
  assert_int_equal (strv_len (c.diff_ids), 1);
  image_config_clear (&c);

  parse_config ("umoci-config-arm64.json", &c);
  assert_string_equal (c.architecture, "arm64");
  assert_null (c.workdir);
  image_config_clear (&c);

  /* Docker writes null and "" for unset fields */
  parse_config ("docker-config.json", &c);
  assert_string_equal (c.architecture, "arm");
  assert_null (c.env);
  assert_null (c.workdir);
  assert_int_equal (strv_len (c.diff_ids), 1);
  image_config_clear (&c);
}

#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"

static void
test_config_minimal (void **state)
{
  const char *json
      = "{\"os\":\"linux\",\"architecture\":\"amd64\"," ROOTFS "}";
  struct oci_image_config c;
  ohr_error_t err = NULL;
  assert_int_equal (image_config_parse (json, strlen (json), &c, &err), 0);
  assert_null (c.env);
  assert_null (c.workdir);
  /* an empty list, not NULL */
  assert_non_null (c.diff_ids);
  assert_null (c.diff_ids[0]);
  image_config_clear (&c);
}

static void
test_config_invalid (void **state)
{
#define OSARCH "\"os\":\"linux\",\"architecture\":\"amd64\""
  expect_error_str ("{\"architecture\":\"amd64\"," ROOTFS "}", true,
                    "invalid image config: 'os' is missing");
  expect_error_str ("{\"os\":\"linux\"," ROOTFS "}", true,
                    "'architecture' is missing");
  expect_error_str ("{\"os\":1,\"architecture\":\"amd64\"," ROOTFS "}", true,
                    "'os' must be a string");
  expect_error_str ("{" OSARCH "}", true, "'rootfs' is missing");
  expect_error_str ("{" OSARCH ",\"rootfs\":{\"diff_ids\":[]}}", true,
                    "'rootfs.type' is missing");
  expect_error_str ("{" OSARCH ",\"rootfs\":{\"type\":\"x\",\"diff_ids\":[]}}",
                    true, "'rootfs.type' must be 'layers', not 'x'");
  expect_error_str ("{" OSARCH ",\"rootfs\":{\"type\":\"layers\"}}", true,
                    "'rootfs.diff_ids' is missing");
  expect_error_str ("{" OSARCH ",\"rootfs\":{\"type\":\"layers\","
                    "\"diff_ids\":[\"sha256:abc\"]}}",
                    true, "'rootfs.diff_ids[0]' is not a sha256 digest");
  expect_error_str ("{" OSARCH ",\"rootfs\":{\"type\":\"layers\","
                    "\"diff_ids\":[" DG ",5]}}",
                    true, "'rootfs.diff_ids[1]' is not a sha256 digest");
  expect_error_str ("{" OSARCH ",\"config\":[]," ROOTFS "}", true,
                    "'config' must be an object");
  expect_error_str ("{" OSARCH ",\"config\":{\"Env\":\"A=1\"}," ROOTFS "}",
                    true, "'config.Env' must be an array");
  expect_error_str ("{" OSARCH ",\"config\":{\"Env\":[\"A=1\",2]}," ROOTFS "}",
                    true, "'config.Env[1]' must be a string");
  expect_error_str ("{" OSARCH ",\"config\":{\"Env\":[\"NOEQUALS\"]}," ROOTFS
                    "}",
                    true, "'config.Env[0]' is not NAME=VALUE: 'NOEQUALS'");
  expect_error_str ("{" OSARCH ",\"config\":{\"Env\":[\"=x\"]}," ROOTFS "}",
                    true, "'config.Env[0]' is not NAME=VALUE");
  expect_error_str ("{" OSARCH ",\"config\":{\"WorkingDir\":[]}," ROOTFS "}",
                    true, "'config.WorkingDir' must be a string");
  expect_error_str ("[]", true, "invalid image config: not a JSON object");
#undef OSARCH
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_oci_manifest),
    cmocka_unit_test (test_real_manifests),
    cmocka_unit_test (test_oci_index),
    cmocka_unit_test (test_layout_index),
    cmocka_unit_test (test_select_multiarch),
    cmocka_unit_test (test_select_docker_list),
    cmocka_unit_test (test_select_misuse),
    cmocka_unit_test (test_select_error_bounded),
    cmocka_unit_test (test_host_platform),
    cmocka_unit_test (test_invalid_fixtures),
    cmocka_unit_test (test_invalid_inline),
    cmocka_unit_test (test_untrusted_text_quoted),
    cmocka_unit_test (test_size_limit),
    cmocka_unit_test (test_depth_limit),
    cmocka_unit_test (test_config),
    cmocka_unit_test (test_config_minimal),
    cmocka_unit_test (test_config_invalid),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
