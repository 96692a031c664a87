/* test-imageref.c: image reference grammar, Docker Hub normalization,
 * layout references and error messages. */
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

#include "image/ref.h"
#include "util/error.h"

#define D                                                                     \
  "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

struct good
{
  const char *text;
  enum imageref_kind kind;
  const char *registry;
  const char *repository;
  const char *tag;
  const char *digest;
  const char *path;
  const char *canonical;
};

static const struct good goods[] = {
  { "host", IMAGEREF_HOST, NULL, NULL, NULL, NULL, NULL, "host" },
  /* Docker Hub */
  { "debian", IMAGEREF_REGISTRY, "docker.io", "library/debian", NULL, NULL,
    NULL, "docker.io/library/debian:latest" },
  { "debian:12", IMAGEREF_REGISTRY, "docker.io", "library/debian", "12", NULL,
    NULL, "docker.io/library/debian:12" },
  { "user/x", IMAGEREF_REGISTRY, "docker.io", "user/x", NULL, NULL, NULL,
    "docker.io/user/x:latest" },
  { "docker.io/debian", IMAGEREF_REGISTRY, "docker.io", "library/debian", NULL,
    NULL, NULL, "docker.io/library/debian:latest" },
  { "index.docker.io/library/debian:bookworm-slim", IMAGEREF_REGISTRY,
    "docker.io", "library/debian", "bookworm-slim", NULL, NULL,
    "docker.io/library/debian:bookworm-slim" },
  { "rust@" D, IMAGEREF_REGISTRY, "docker.io", "library/rust", NULL, D, NULL,
    "docker.io/library/rust@" D },
  /* "host" is the embedded image only when alone */
  { "host:latest", IMAGEREF_REGISTRY, "docker.io", "library/host", "latest",
    NULL, NULL, "docker.io/library/host:latest" },
  /* no '/': a Hub repository with a tag, not a registry */
  { "localhost:5000", IMAGEREF_REGISTRY, "docker.io", "library/localhost",
    "5000", NULL, NULL, "docker.io/library/localhost:5000" },
  /* registries */
  { "127.0.0.1:5000/x", IMAGEREF_REGISTRY, "127.0.0.1:5000", "x", NULL, NULL,
    NULL, "127.0.0.1:5000/x:latest" },
  { "localhost/x/y:t", IMAGEREF_REGISTRY, "localhost", "x/y", "t", NULL, NULL,
    "localhost/x/y:t" },
  { "localhost:5000/a/b@" D, IMAGEREF_REGISTRY, "localhost:5000", "a/b", NULL,
    D, NULL, "localhost:5000/a/b@" D },
  { "quay.io/org/img:v1.2_3@" D, IMAGEREF_REGISTRY, "quay.io", "org/img",
    "v1.2_3", D, NULL, "quay.io/org/img:v1.2_3@" D },
  { "[::1]:5000/x:1", IMAGEREF_REGISTRY, "[::1]:5000", "x", "1", NULL, NULL,
    "[::1]:5000/x:1" },
  { "[2001:db8::1]/x", IMAGEREF_REGISTRY, "[2001:db8::1]", "x", NULL, NULL,
    NULL, "[2001:db8::1]/x:latest" },
  /* an uppercase first component can only be a host */
  { "Registry.Example.COM/x", IMAGEREF_REGISTRY, "Registry.Example.COM", "x",
    NULL, NULL, NULL, "Registry.Example.COM/x:latest" },
  { "MyHost/x", IMAGEREF_REGISTRY, "MyHost", "x", NULL, NULL, NULL,
    "MyHost/x:latest" },
  { "my-registry.local:443/a.b/c__d/e--f/g_h-i", IMAGEREF_REGISTRY,
    "my-registry.local:443", "a.b/c__d/e--f/g_h-i", NULL, NULL, NULL,
    "my-registry.local:443/a.b/c__d/e--f/g_h-i:latest" },
  { "ghcr.io/a/b/c/d/e:_", IMAGEREF_REGISTRY, "ghcr.io", "a/b/c/d/e", "_",
    NULL, NULL, "ghcr.io/a/b/c/d/e:_" },
  /* layouts */
  { "oci:/srv/img", IMAGEREF_OCI_LAYOUT, NULL, NULL, NULL, NULL, "/srv/img",
    "oci:/srv/img" },
  { "oci:/srv/img:v1", IMAGEREF_OCI_LAYOUT, NULL, NULL, "v1", NULL, "/srv/img",
    "oci:/srv/img:v1" },
  { "oci:./rel/dir:latest", IMAGEREF_OCI_LAYOUT, NULL, NULL, "latest", NULL,
    "./rel/dir", "oci:./rel/dir:latest" },
  { "oci:/srv/a:b/img:latest", IMAGEREF_OCI_LAYOUT, NULL, NULL, "latest", NULL,
    "/srv/a:b/img", "oci:/srv/a:b/img:latest" },
  { "oci:/srv/img@" D, IMAGEREF_OCI_LAYOUT, NULL, NULL, NULL, D, "/srv/img",
    "oci:/srv/img@" D },
  { "oci:/srv/x@y/img", IMAGEREF_OCI_LAYOUT, NULL, NULL, NULL, NULL,
    "/srv/x@y/img", "oci:/srv/x@y/img" },
  { "oci-archive:/tmp/img.tar:1.0", IMAGEREF_OCI_ARCHIVE, NULL, NULL, "1.0",
    NULL, "/tmp/img.tar", "oci-archive:/tmp/img.tar:1.0" },
  { "oci-archive:img.tar@" D, IMAGEREF_OCI_ARCHIVE, NULL, NULL, NULL, D,
    "img.tar", "oci-archive:img.tar@" D },
};

static void
assert_str_or_null (const char *got, const char *want, const char *field,
                    const char *text)
{
  if (want == NULL && got == NULL)
    return;
  if (want == NULL || got == NULL || strcmp (got, want) != 0)
    fail_msg ("'%s': %s is '%s', expected '%s'", text, field,
              got ? got : "(null)", want ? want : "(null)");
}

static void
test_valid (void **state)
{
  for (size_t i = 0; i < sizeof goods / sizeof *goods; i++)
    {
      const struct good *g = &goods[i];
      struct imageref r;
      ohr_error_t err = NULL;
      if (imageref_parse (g->text, &r, &err) < 0)
        fail_msg ("'%s': %s", g->text, err->msg);
      assert_null (err);
      if (r.kind != g->kind)
        fail_msg ("'%s': kind %d, expected %d", g->text, r.kind, g->kind);
      assert_str_or_null (r.registry, g->registry, "registry", g->text);
      assert_str_or_null (r.repository, g->repository, "repository", g->text);
      assert_str_or_null (r.tag, g->tag, "tag", g->text);
      assert_str_or_null (r.digest, g->digest, "digest", g->text);
      assert_str_or_null (r.path, g->path, "path", g->text);
      assert_str_or_null (r.canonical, g->canonical, "canonical", g->text);
      assert_int_equal (imageref_is_pinned (&r), g->digest != NULL);
      imageref_clear (&r);
      assert_null (r.canonical);
    }
}

/* The canonical form parses back to itself. */
static void
test_canonical_round_trip (void **state)
{
  for (size_t i = 0; i < sizeof goods / sizeof *goods; i++)
    {
      struct imageref a, b;
      ohr_error_t err = NULL;
      assert_int_equal (imageref_parse (goods[i].text, &a, &err), 0);
      if (imageref_parse (a.canonical, &b, &err) < 0)
        fail_msg ("'%s': %s", a.canonical, err->msg);
      assert_string_equal (a.canonical, b.canonical);
      assert_int_equal (a.kind, b.kind);
      imageref_clear (&a);
      imageref_clear (&b);
    }
}

struct bad
{
  const char *text;
  const char *message; /* a substring of the error message */
};

static const struct bad bads[] = {
  { "", "empty image reference" },
  { "Debian", "repository 'Debian' in image reference 'Debian' must be "
              "lowercase" },
  { "debian:", "invalid tag '' in image reference 'debian:'" },
  { "debian:-x", "invalid tag '-x'" },
  { "debian:a+b", "invalid tag 'a+b'" },
  { "debian@sha256:abc", "invalid digest 'sha256:abc'" },
  { "debian@sha512:" D, "unsupported digest algorithm 'sha512'" },
  { "debian@", "invalid digest ''" },
  { "debian@" D "@" D, "invalid digest" },
  { "a//b", "invalid repository 'a//b'" },
  { "a/b/", "invalid repository 'a/b/'" },
  { "a..b", "invalid repository 'a..b'" },
  { "a___b", "invalid repository" },
  { "a-_b", "invalid repository" },
  { "-a", "invalid repository '-a'" },
  { "a-", "invalid repository" },
  { "/a", "invalid repository '/a'" },
  { "deb ian", "invalid repository 'deb ian'" },
  { "example.com/Foo", "repository 'Foo' in image reference "
                       "'example.com/Foo' must be lowercase" },
  { "example.com/", "missing repository in image reference 'example.com/'" },
  { "example.com/:tag", "missing repository" },
  { "local_host:5000/x", "invalid registry 'local_host:5000'" },
  { "host:99999/x", "invalid registry 'host:99999'" },
  { "host:0/x", "invalid registry 'host:0'" },
  { "host:/x", "invalid registry 'host:'" },
  { "-bad.com/x", "invalid registry '-bad.com'" },
  { "bad-.com/x", "invalid registry 'bad-.com'" },
  { "a..com/x", "invalid registry 'a..com'" },
  { "[::1/x", "invalid registry '[::1'" },
  { "[zz::1]/x", "invalid registry '[zz::1]'" },
  { "[::1]x/y", "invalid registry '[::1]x'" },
  { "docker://debian", "invalid registry 'docker:'" },
  { "debian\n", "control character at offset 6" },
  { "oci:", "missing path in image reference 'oci:'" },
  { "oci::tag", "missing path" },
  { "oci:/a:b/c", "invalid tag 'b/c' in image reference 'oci:/a:b/c' (a "
                  "path containing ':' must end with ':TAG')" },
  { "oci:/srv/img:v1@" D, "gives a tag and a digest" },
  { "oci:/srv/img@sha256:zzz", "invalid digest 'sha256:zzz'" },
  { "oci:/srv/img@sha1:abc", "unsupported digest algorithm 'sha1'" },
  { "oci-archive:/x.tar:", "invalid tag ''" },
  { "oci-archive:", "missing path" },
};

static void
check_bad (const char *text, const char *message)
{
  struct imageref r = { 0 };
  ohr_error_t err = NULL;
  if (imageref_parse (text, &r, &err) >= 0)
    fail_msg ("'%s' parsed, expected an error", text);
  assert_non_null (err);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  if (strstr (err->msg, message) == NULL)
    fail_msg ("'%s': message '%s' lacks '%s'", text, err->msg, message);
  if (strchr (err->msg, '\n'))
    fail_msg ("'%s': message is not one line", text);
  /* out is untouched on failure */
  assert_null (r.canonical);
  ohr_error_free (&err);
}

static void
test_invalid (void **state)
{
  for (size_t i = 0; i < sizeof bads / sizeof *bads; i++)
    check_bad (bads[i].text, bads[i].message);
  ohr_error_t err = NULL;
  struct imageref r;
  assert_true (imageref_parse (NULL, &r, &err) < 0);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  ohr_error_free (&err);
}

static char *
repeat (char c, size_t n, const char *prefix, const char *suffix)
{
  char *s = NULL;
  char *body = malloc (n + 1);
  assert_non_null (body);
  memset (body, c, n);
  body[n] = '\0';
  assert_true (asprintf (&s, "%s%s%s", prefix, body, suffix) >= 0);
  free (body);
  return s;
}

static void
test_limits (void **state)
{
  struct imageref r;
  ohr_error_t err = NULL;

  /* a 128-character tag is the longest */
  char *tag128 = repeat ('t', 128, "debian:", "");
  assert_int_equal (imageref_parse (tag128, &r, &err), 0);
  assert_int_equal (strlen (r.tag), 128);
  imageref_clear (&r);
  char *tag129 = repeat ('t', 129, "debian:", "");
  check_bad (tag129, "invalid tag");

  /* names: 255 characters, registry included */
  char *name255 = repeat ('a', 255 - 8, "r.io:80/", ":tag");
  assert_int_equal (imageref_parse (name255, &r, &err), 0);
  imageref_clear (&r);
  char *name256 = repeat ('a', 256 - 8, "r.io:80/", "");
  check_bad (name256, "longer than 255 characters");

  /* normalized: docker.io/library/ counts */
  char *hub = repeat ('a', 255 - 18, "", "");
  assert_int_equal (imageref_parse (hub, &r, &err), 0);
  imageref_clear (&r);
  char *hub_long = repeat ('a', 256 - 18, "", "");
  check_bad (hub_long, "longer than 255 characters");

  char *huge = repeat ('a', 5000, "", "");
  check_bad (huge, "longer than 4096 characters");

  free (tag128);
  free (tag129);
  free (name255);
  free (name256);
  free (hub);
  free (hub_long);
  free (huge);
}

static void
test_pinned_and_clear (void **state)
{
  struct imageref r = { 0 };
  assert_false (imageref_is_pinned (NULL));
  assert_false (imageref_is_pinned (&r));
  imageref_clear (NULL);
  imageref_clear (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_valid),
    cmocka_unit_test (test_canonical_round_trip),
    cmocka_unit_test (test_invalid),
    cmocka_unit_test (test_limits),
    cmocka_unit_test (test_pinned_and_clear),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
