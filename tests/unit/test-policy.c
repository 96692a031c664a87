/* test-policy.c: the policy file (tests/fixtures/policy/), its errors,
 * resolution and the default locations.  Fixtures are copied into a temp
 * directory with mode 0644 before loading, because policy_load refuses
 * files others can write and a checkout's modes depend on the umask. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

#include "tmpdir.h"

/* make runs the tests from the top of the tree */
#define FIXTURES "tests/fixtures/policy"

static char *
read_fixture (const char *name, size_t *len)
{
  char *path = NULL, *data = NULL;
  ohr_error_t err = NULL;
  assert_true (asprintf (&path, "%s/%s", FIXTURES, name) > 0);
  if (fs_read_file (path, 1 << 20, &data, len, &err) < 0)
    fail_msg ("%s (run from the top of the tree)", err->msg);
  free (path);
  return data;
}

/* Write data as tmp/name, mode 0644, and return its path. */
static char *
write_tmp (const char *name, const char *data, size_t len)
{
  char *path = NULL;
  ohr_error_t err = NULL;
  assert_true (asprintf (&path, "%s/%s", tmp, name) > 0);
  unlink (path);
  if (fs_write_new (path, data, len, 0644, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (chmod (path, 0644), 0);
  return path;
}

static char *
copy_fixture (const char *name)
{
  size_t len = 0;
  char *data = read_fixture (name, &len);
  char *path = write_tmp (name, data, len);
  free (data);
  return path;
}

static void
load_fixture (const char *name, struct policy *p)
{
  char *path = copy_fixture (name);
  ohr_error_t err = NULL;
  if (policy_load (path, p, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  assert_string_equal (p->path, path);
  free (path);
}

/* Load a fixture that must fail; the message must hold each fragment. */
static void
load_fails (const char *name, const char *f1, const char *f2)
{
  char *path = copy_fixture (name);
  struct policy p;
  ohr_error_t err = NULL;
  if (policy_load (path, &p, &err) == 0)
    {
      policy_clear (&p);
      fail_msg ("%s should not load", name);
    }
  assert_non_null (err);
  if (strstr (err->msg, path) == NULL)
    fail_msg ("%s: message '%s' does not name the file", name, err->msg);
  if (strstr (err->msg, f1) == NULL || (f2 && strstr (err->msg, f2) == NULL))
    fail_msg ("%s: message '%s' lacks '%s'%s%s", name, err->msg, f1,
              f2 ? " or " : "", f2 ? f2 : "");
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  ohr_error_free (&err);
  free (path);
}

static void
resolve (const struct policy *p, const char *name, const char *version,
         struct policy_effective *e)
{
  ohr_error_t err = NULL;
  if (policy_resolve (p, name, version, e, &err) < 0)
    fail_msg ("%s %s: %s", name, version ? version : "(null)", err->msg);
}

/* ---- built-in defaults */

static void
test_builtin_defaults (void **state)
{
  struct policy p;
  policy_default (&p);
  const struct policy_settings *d = &p.defaults;
  assert_int_equal (d->set, POLICY_SET_ALL);
  assert_int_equal (d->network, NETWORK_NONE);
  assert_int_equal (d->source_writes, POLICY_SOURCE_WRITES_NONE);
  assert_int_equal (d->paths, PATHS_CANONICAL);
  assert_int_equal (d->memory, 4ULL << 30);
  assert_int_equal (d->pids, 4096);
  assert_int_equal (d->timeout, 1800);
  assert_int_equal (d->n_mounts, 0);
  assert_null (d->env);
  assert_false (p.strict);
  assert_null (p.path);
  assert_int_equal (p.n_rules, 0);
  assert_true (digest_valid (policy_digest (&p)));

  /* what loading the built-in text gives, digest included */
  struct policy q;
  ohr_error_t err = NULL;
  if (policy_load_data (policy_builtin_json, strlen (policy_builtin_json),
                        "built-in", &q, &err)
      < 0)
    fail_msg ("%s", err->msg);
  assert_memory_equal (&q.defaults, &p.defaults, sizeof q.defaults);
  assert_int_equal (q.strict, p.strict);
  assert_int_equal (q.n_rules, 0);
  assert_string_equal (policy_digest (&q), policy_digest (&p));

  struct policy_effective e;
  resolve (&p, "anything", "1.0.0", &e);
  assert_int_equal (e.settings.network, NETWORK_NONE);
  assert_int_equal (e.n_matches, 0);
  policy_effective_clear (&e);
  policy_clear (&q);
  policy_clear (&p);
}

/* ---- the example of policy.h */

static void
test_example (void **state)
{
  struct policy p;
  load_fixture ("example.json", &p);
  assert_false (p.strict);
  assert_int_equal (p.defaults.memory, 2ULL << 30);
  assert_int_equal (p.defaults.pids, 1024);
  assert_int_equal (p.defaults.timeout, 900);
  assert_int_equal (p.defaults.paths, PATHS_CANONICAL);
  assert_int_equal (p.n_rules, 3);

  const struct policy_rule *r = &p.rules[0];
  assert_string_equal (r->package, "openssl-sys");
  assert_null (r->version);
  assert_null (r->req);
  assert_int_equal (r->settings.set, 0);
  assert_int_equal (r->settings.n_mounts, 1);
  assert_string_equal (r->settings.mounts[0].source, "/usr/lib/ssl");
  assert_string_equal (r->settings.mounts[0].destination, "/usr/lib/ssl");
  assert_string_equal (r->settings.env[0], "OPENSSL_DIR");
  assert_string_equal (r->json,
                       "{\"package\":\"openssl-sys\",\"mounts\":["
                       "\"/usr/lib/ssl\"],\"env\":[\"OPENSSL_DIR\"]}");

  r = &p.rules[1];
  assert_string_equal (r->version, ">=1.2, <2");
  assert_non_null (r->req);
  assert_int_equal (r->settings.set, POLICY_SET_NETWORK);
  assert_int_equal (r->settings.network, NETWORK_HOST);
  assert_string_equal (
      r->json,
      "{\"package\":\"foo\",\"version\":\">=1.2, <2\",\"network\":\"host\"}");

  r = &p.rules[2];
  assert_string_equal (r->settings.mounts[0].source, "/opt/bar/include");
  assert_string_equal (r->settings.mounts[0].destination, "/usr/include/bar");
  assert_int_equal (r->settings.memory, 8ULL << 30);
  assert_int_equal (r->settings.timeout, 3600);
  assert_int_equal (r->settings.source_writes, POLICY_SOURCE_WRITES_OVERLAY);
  assert_int_equal (r->settings.set, POLICY_SET_MEMORY | POLICY_SET_TIMEOUT
                                         | POLICY_SET_SOURCE_WRITES);

  struct policy_effective e;
  resolve (&p, "foo", "1.5.0", &e);
  assert_int_equal (e.settings.network, NETWORK_HOST);
  assert_int_equal (e.n_matches, 1);
  assert_int_equal (e.matches[0].index, 1);
  assert_string_equal (e.matches[0].json, p.rules[1].json);
  policy_effective_clear (&e);
  resolve (&p, "foo", "2.0.0", &e);
  assert_int_equal (e.settings.network, NETWORK_NONE);
  assert_int_equal (e.n_matches, 0);
  policy_effective_clear (&e);
  policy_clear (&p);
}

static void
test_comments_and_minimal (void **state)
{
  struct policy p;
  load_fixture ("comments.json", &p);
  assert_int_equal (p.n_rules, 1);
  /* the one-line rendering drops the comments */
  assert_string_equal (p.rules[0].json, "{\"package\":\"openssl-sys\","
                                        "\"mounts\":[\"/usr/lib/ssl\"]}");
  policy_clear (&p);

  load_fixture ("minimal.json", &p);
  struct policy d;
  policy_default (&d);
  assert_memory_equal (&p.defaults, &d.defaults, sizeof d.defaults);
  assert_string_not_equal (policy_digest (&p), policy_digest (&d));
  policy_clear (&p);
  policy_clear (&d);
}

/* ---- errors: each names the file, the JSON path and what is wrong */

static void
test_schema_errors (void **state)
{
  static const struct
  {
    const char *file, *f1, *f2;
  } cases[] = {
    { "unknown-key", "packages[1].netwrok: unknown key \"netwrok\"",
      "did you mean \"network\"?" },
    { "unknown-top", "stict: unknown key \"stict\": did you mean \"strict\"?",
      NULL },
    { "unknown-far", "defaults.capabilities: unknown key \"capabilities\"",
      "known keys are network, mounts, env, workspace-read, source-writes, "
      "paths, memory, "
      "pids, timeout" },
    { "mount-key", "packages[0].mounts[0].dest: unknown key \"dest\"",
      "did you mean \"destination\"?" },
    { "pids-type", "defaults.pids: expected a number, found a string", NULL },
    { "pids-range", "packages[0].pids: pids \"0\" is below the minimum of 1",
      NULL },
    { "memory-suffix", "defaults.memory: invalid size \"2X\"",
      "K, M, G or T suffix" },
    { "memory-small", "defaults.memory: size \"512\" is below the minimum",
      "without a suffix is bytes" },
    { "memory-float", "defaults.memory: invalid size \"1.5\"", NULL },
    { "timeout", "packages[0].timeout: invalid duration \"10 min\"",
      "s, m or h suffix" },
    { "timeout-zero", "defaults.timeout: duration \"0s\" is below", NULL },
    { "network", "defaults.network: invalid value \"bridge\"",
      "use \"none\" or \"host\"" },
    { "source-writes",
      "defaults.source-writes: expected a string, found a boolean", NULL },
    { "paths", "defaults.paths: invalid value \"mapped\"",
      "\"identity\" or \"canonical\"" },
    { "mount-relative",
      "packages[0].mounts[0]: \"usr/lib\" is not an absolute path", NULL },
    { "mount-dotdot",
      "packages[0].mounts[1].source: \"/usr/../etc\" contains '..'", NULL },
    { "mount-type",
      "packages[0].mounts[0]: expected a path or an object, found a number",
      NULL },
    { "mount-no-source", "packages[0].mounts[0]: missing \"source\"", NULL },
    { "env-name", "packages[0].env[1]: invalid variable \"BAD NAME=1\"",
      NULL },
    { "env-type", "defaults.env: expected a list, found a string", NULL },
    { "version-req",
      "packages[0].version: invalid version requirement '>=1.x.2'", NULL },
    { "package-name", "packages[0].package: invalid package name \"../evil\"",
      NULL },
    { "no-package", "packages[0]: missing \"package\"", NULL },
    { "no-version", "missing \"version\": add \"version\": 1", NULL },
    { "format-version",
      "version: unsupported version 2: this runner reads version 1", NULL },
    { "duplicate", "defaults.pids: duplicate key \"pids\"", NULL },
    { "strict", "strict: expected true or false, found a string", NULL },
    { "packages-type", "packages: expected a list, found an object", NULL },
    { "rule-type", "packages[0]: expected an object, found a string", NULL },
    { "top-array", "expected an object, found a list", NULL },
    /* yajl's column is approximate: within the offending token */
    { "syntax", "line 4, column ",
      "parse error: after key and value, inside map, I expect ',' or '}'" },
    { "empty", "line 1, column 1: parse error", NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char *name = NULL;
      assert_true (asprintf (&name, "error-%s.json", cases[i].file) > 0);
      load_fails (name, cases[i].f1, cases[i].f2);
      free (name);
    }
}

/* Inputs that are not worth a fixture file each. */
static void
data_fails_n (const char *data, size_t len, const char *fragment)
{
  struct policy p;
  ohr_error_t err = NULL;
  if (policy_load_data (data, len, "mem", &p, &err) == 0)
    {
      policy_clear (&p);
      fail_msg ("'%.*s' should not load", (int)len, data);
    }
  if (strstr (err->msg, fragment) == NULL)
    fail_msg ("message '%s' lacks '%s'", err->msg, fragment);
  assert_true (strncmp (err->msg, "policy 'mem': ", 14) == 0);
  ohr_error_free (&err);
}

static void
data_fails (const char *data, const char *fragment)
{
  data_fails_n (data, strlen (data), fragment);
}

static void
test_document_errors (void **state)
{
  /* yajl_tree_free recurses: deep nesting is refused before the tree */
  size_t n = 100000;
  char *deep = malloc (2 * n);
  assert_non_null (deep);
  memset (deep, '[', n);
  memset (deep + n, ']', n);
  data_fails_n (deep, 2 * n, "line 1, column 17: nested too deeply");
  free (deep);

  data_fails_n ("{\"version\":1}\0", 14, "line 1, column 14: NUL byte");
  data_fails ("{\"version\":1,\"defaults\":{\"network\":\"host\\u0000x\"}}",
              "\\u0000 in a string");
  data_fails ("{\"version\":1} {}", "parse error: trailing garbage");
  data_fails ("{\"version\":1,\n\"strict\":tru}",
              "line 2, column 13: lexical error: invalid string");
  data_fails ("{\"version\":1,\"defaults\":{\"network\":null}}",
              "defaults.network: expected a string, found null");
  data_fails ("{\"version\":1,\"stict\":1}", "did you mean \"strict\"");
  data_fails ("{\"version\":1,\"defaults\":{\"network\":\"a\\nb\"}}",
              "invalid value \"a?b\"");
  data_fails ("{\"version\":1.0}", "unsupported version 1.0");
  data_fails ("{\"version\":1,\"defaults\":{\"memory\":\"99999999999T\"}}",
              "size \"99999999999T\" is above the maximum");
  data_fails ("{\"version\":1,\"defaults\":{\"pids\":4194305}}",
              "above the maximum of 4194304");
  data_fails ("{\"version\":1,\"defaults\":{\"timeout\":-5}}",
              "invalid duration \"-5\"");
}

/* A long key or value is cut short in messages. */
/* "workspace-read": plain relative paths, accumulated over the layers
 * without repeats; anything else is refused with its JSON path. */
static void
test_workspace_read (void **state)
{
  static const char doc[]
      = "{\"version\":1,\"defaults\":{\"workspace-read\":[\".env\"]},"
        "\"packages\":[{\"package\":\"vers\",\"workspace-read\":[\".git\","
        "\".env\"]},{\"package\":\"vers\",\"workspace-read\":"
        "[\"docs/x.md\",\".git\"]},{\"package\":\"other\","
        "\"workspace-read\":[\"target\"]}]}";
  struct policy p;
  ohr_error_t err = NULL;
  if (policy_load_data (doc, strlen (doc), "mem", &p, &err) < 0)
    fail_msg ("%s", err->msg);
  struct policy_effective e;
  assert_int_equal (policy_resolve (&p, "vers", "0.1.0", &e, &err), 0);
  char **wr = e.settings.workspace_read;
  assert_non_null (wr);
  assert_string_equal (wr[0], ".env");
  assert_string_equal (wr[1], ".git");
  assert_string_equal (wr[2], "docs/x.md");
  assert_null (wr[3]);
  policy_effective_clear (&e);
  assert_int_equal (policy_resolve (&p, "nobody", NULL, &e, &err), 0);
  assert_string_equal (e.settings.workspace_read[0], ".env");
  assert_null (e.settings.workspace_read[1]);
  policy_effective_clear (&e);
  policy_clear (&p);

  static const char *const bad[]
      = { "../x", "/etc", "", "a//b", "./x", "a/../b", "a/", "." };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      char *d = NULL;
      assert_true (asprintf (&d,
                             "{\"version\":1,\"packages\":[{\"package\":"
                             "\"x\",\"workspace-read\":[\"%s\"]}]}",
                             bad[i])
                   > 0);
      data_fails (d, "packages[0].workspace-read[0]: ");
      free (d);
    }
  data_fails ("{\"version\":1,\"defaults\":{\"workspace-read\":\".git\"}}",
              "defaults.workspace-read: expected a list");
}

static void
test_long_values_clipped (void **state)
{
  char z[201], want[90];
  memset (z, 'z', 200);
  z[200] = '\0';
  memset (want, 'z', 80);
  strcpy (want + 80, "...");
  char *doc = NULL;
  assert_true (asprintf (&doc, "{\"version\":1,\"%s\":1}", z) > 0);
  struct policy p;
  ohr_error_t err = NULL;
  assert_true (policy_load_data (doc, strlen (doc), "mem", &p, &err) < 0);
  assert_non_null (strstr (err->msg, want));
  z[81] = '\0';
  assert_null (strstr (err->msg, z));
  assert_true (strlen (err->msg) < 300);
  ohr_error_free (&err);
  free (doc);
}

static void
test_file_checks (void **state)
{
  struct policy p;
  ohr_error_t err = NULL;
  char *path = copy_fixture ("minimal.json");

  assert_int_equal (chmod (path, 0664), 0);
  assert_true (policy_load (path, &p, &err) < 0);
  assert_non_null (strstr (err->msg, "is writable by others: run 'chmod"));
  ohr_error_free (&err);
  assert_int_equal (chmod (path, 0602), 0);
  assert_true (policy_load (path, &p, &err) < 0);
  ohr_error_free (&err);
  assert_int_equal (chmod (path, 0600), 0);
  assert_int_equal (policy_load (path, &p, &err), 0);
  policy_clear (&p);

  assert_true (policy_load (tmp, &p, &err) < 0);
  assert_non_null (strstr (err->msg, "is not a regular file"));
  ohr_error_free (&err);
  free (path);
  assert_true (asprintf (&path, "%s/fifo.json", tmp) > 0);
  assert_int_equal (mkfifo (path, 0600), 0);
  assert_true (policy_load (path, &p, &err) < 0); /* and does not block */
  assert_non_null (strstr (err->msg, "is not a regular file"));
  ohr_error_free (&err);

  free (path);
  assert_true (asprintf (&path, "%s/missing.json", tmp) > 0);
  assert_true (policy_load (path, &p, &err) < 0);
  assert_int_equal (err->status, ENOENT);
  assert_non_null (strstr (err->msg, "cannot open policy"));
  ohr_error_free (&err);
  free (path);

  /* exactly 1 MiB loads; one byte more does not */
  size_t max = POLICY_MAX_SIZE;
  char *big = malloc (max + 1);
  assert_non_null (big);
  memset (big, ' ', max + 1);
  memcpy (big, "{\"version\":1}", 13);
  path = write_tmp ("big.json", big, max);
  assert_int_equal (policy_load (path, &p, &err), 0);
  policy_clear (&p);
  free (path);
  path = write_tmp ("bigger.json", big, max + 1);
  assert_true (policy_load (path, &p, &err) < 0);
  assert_int_equal (err->status, EFBIG);
  assert_non_null (strstr (err->msg, "larger than 1048576 bytes"));
  ohr_error_free (&err);
  free (path);
  free (big);
}

/* ---- resolution */

static bool
has_mount (const struct policy_effective *e, const char *src, const char *dst)
{
  for (size_t i = 0; i < e->settings.n_mounts; i++)
    if (strcmp (e->settings.mounts[i].source, src) == 0
        && strcmp (e->settings.mounts[i].destination, dst) == 0)
      return true;
  return false;
}

static void
assert_matches (const struct policy_effective *e, const size_t *want, size_t n)
{
  assert_int_equal (e->n_matches, n);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (e->matches[i].index, want[i]);
}

static void
test_resolution_order (void **state)
{
  struct policy p;
  struct policy_effective e;
  load_fixture ("resolve.json", &p);

  /* rules 0, 2 and 5; rule 5 sets network back to none, last wins */
  resolve (&p, "foo", "1.2.5", &e);
  assert_matches (&e, (size_t[]){ 0, 2, 5 }, 3);
  assert_true (e.strict);
  assert_int_equal (e.settings.network, NETWORK_NONE);
  assert_int_equal (e.settings.pids, 200);
  assert_int_equal (e.settings.memory, 1ULL << 30);
  assert_int_equal (e.settings.timeout, POLICY_DEFAULT_TIMEOUT);
  assert_int_equal (e.settings.paths, PATHS_CANONICAL);
  assert_int_equal (e.settings.source_writes, POLICY_SOURCE_WRITES_NONE);
  assert_int_equal (e.settings.set, POLICY_SET_ALL);
  assert_string_equal (e.matches[1].json,
                       "{\"package\":\"foo\",\"version\":\"^1.2\","
                       "\"pids\":200,\"mounts\":[\"/usr/lib/foo\"],"
                       "\"env\":[\"A=2\"]}");
  policy_effective_clear (&e);

  /* 0.9.0: rule 3 (<1) instead of rule 2 */
  resolve (&p, "foo", "0.9.0", &e);
  assert_matches (&e, (size_t[]){ 0, 3, 5 }, 3);
  assert_int_equal (e.settings.pids, 100);
  assert_int_equal (e.settings.timeout, 3600);
  policy_effective_clear (&e);

  /* a pre-release matches only the rule naming pre-releases of 1.3.0 */
  resolve (&p, "foo", "1.3.0-rc.2", &e);
  assert_matches (&e, (size_t[]){ 0, 4, 5 }, 3);
  assert_int_equal (e.settings.source_writes, POLICY_SOURCE_WRITES_OVERLAY);
  policy_effective_clear (&e);
  resolve (&p, "foo", "1.3.1", &e);
  assert_matches (&e, (size_t[]){ 0, 2, 4, 5 }, 4);
  policy_effective_clear (&e);

  /* unknown version: rules with a requirement never apply */
  resolve (&p, "foo", NULL, &e);
  assert_matches (&e, (size_t[]){ 0, 5 }, 2);
  policy_effective_clear (&e);

  /* names are exact: no '-'/'_' folding, no prefixes */
  resolve (&p, "Foo", "1.2.5", &e);
  assert_int_equal (e.n_matches, 0);
  policy_effective_clear (&e);
  resolve (&p, "foo-sys", "1.2.5", &e);
  assert_int_equal (e.n_matches, 0);
  policy_effective_clear (&e);

  resolve (&p, "other", "0.1.0", &e);
  assert_matches (&e, (size_t[]){ 1 }, 1);
  assert_int_equal (e.settings.network, NETWORK_HOST);
  assert_int_equal (e.settings.memory, 8ULL << 30);
  policy_effective_clear (&e);
  policy_clear (&p);
}

static void
test_accumulation (void **state)
{
  struct policy p;
  struct policy_effective e;
  load_fixture ("resolve.json", &p);

  resolve (&p, "foo", "1.3.1", &e);
  /* defaults' mount, rule 2's, then rule 4 replaces /usr/lib/foo's
   * source in place and adds /etc/foo */
  assert_int_equal (e.settings.n_mounts, 3);
  assert_string_equal (e.settings.mounts[0].destination, "/opt/common");
  assert_string_equal (e.settings.mounts[1].destination, "/usr/lib/foo");
  assert_string_equal (e.settings.mounts[1].source, "/srv/foo-1.3");
  assert_string_equal (e.settings.mounts[2].destination, "/etc/foo");
  assert_true (has_mount (&e, "/etc/foo", "/etc/foo"));
  /* A=1 from rule 0 replaced by rule 2's A=2, in place */
  assert_int_equal (strv_len (e.settings.env), 3);
  assert_string_equal (e.settings.env[0], "DEFAULT_VAR");
  assert_string_equal (e.settings.env[1], "A=2");
  assert_string_equal (e.settings.env[2], "B");
  policy_effective_clear (&e);

  resolve (&p, "foo", "0.1.0", &e);
  assert_int_equal (e.settings.n_mounts, 1);
  assert_true (has_mount (&e, "/opt/common", "/opt/common"));
  assert_true (strv_contains (e.settings.env, "A=1"));
  policy_effective_clear (&e);

  /* the policy itself is untouched by resolving */
  assert_int_equal (p.rules[2].settings.n_mounts, 1);
  assert_string_equal (p.rules[2].settings.mounts[0].source, "/usr/lib/foo");
  assert_int_equal (p.defaults.n_mounts, 1);
  policy_clear (&p);
}

static void
test_resolve_bad_version (void **state)
{
  struct policy p;
  struct policy_effective e;
  ohr_error_t err = NULL;
  policy_default (&p);
  assert_true (policy_resolve (&p, "foo", "1.2", &e, &err) < 0);
  assert_non_null (strstr (err->msg, "package 'foo': invalid version '1.2'"));
  ohr_error_free (&err);
  policy_clear (&p);
}

/* ---- sizes, durations */

static void
test_sizes (void **state)
{
  static const struct
  {
    const char *text;
    uint64_t want;
  } ok[] = {
    { "0", 0 },
    { "123", 123 },
    { "1K", 1024 },
    { "1k", 1024 },
    { "512M", 512ULL << 20 },
    { "512m", 512ULL << 20 },
    { "2G", 2ULL << 30 },
    { "1T", 1ULL << 40 },
    { "18446744073709551615", UINT64_MAX },
    { "99999999999T", UINT64_MAX }, /* saturates */
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      uint64_t v = 1;
      if (policy_parse_size (ok[i].text, &v) < 0)
        fail_msg ("size '%s' should parse", ok[i].text);
      assert_int_equal (v, ok[i].want);
    }
  static const char *const bad[] = {
    "",    "G",    "-1", "+1", " 1",   "1 ", "1.5G",
    "1GB", "1GiB", "1E", "1P", "0x10", "2X", "18446744073709551616",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      uint64_t v = 7;
      if (policy_parse_size (bad[i], &v) == 0)
        fail_msg ("size '%s' should not parse", bad[i]);
      assert_int_equal (v, 7); /* untouched on failure */
    }
}

static void
test_durations (void **state)
{
  static const struct
  {
    const char *text;
    uint64_t want;
  } ok[] = {
    { "0", 0 },     { "90", 90 },      { "30s", 30 },      { "10m", 600 },
    { "1h", 3600 }, { "36h", 129600 }, { "1000m", 60000 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      uint64_t v = 1;
      if (policy_parse_duration (ok[i].text, &v) < 0)
        fail_msg ("duration '%s' should parse", ok[i].text);
      assert_int_equal (v, ok[i].want);
    }
  static const char *const bad[] = {
    "", "s", "1d", "1H", "1ms", "1h30m", "1.5h", "-1", " 1", "10 min",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      uint64_t v = 7;
      if (policy_parse_duration (bad[i], &v) == 0)
        fail_msg ("duration '%s' should not parse", bad[i]);
      assert_int_equal (v, 7);
    }

  /* the file accepts both spellings, as numbers and as strings */
  struct policy p;
  ohr_error_t err = NULL;
  const char *doc
      = "{\"version\":1,\"defaults\":{\"timeout\":\"90\","
        "\"memory\":\"16M\",\"pids\":1},\"packages\":[{\"package\":"
        "\"a\",\"memory\":9223372036854775807,\"timeout\":"
        "2147483647}]}";
  if (policy_load_data (doc, strlen (doc), "mem", &p, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (p.defaults.timeout, 90);
  assert_int_equal (p.defaults.memory, 16ULL << 20);
  assert_int_equal (p.defaults.pids, 1);
  assert_int_equal (p.rules[0].settings.memory, INT64_MAX);
  assert_int_equal (p.rules[0].settings.timeout, INT32_MAX);
  policy_clear (&p);
}

/* ---- digest */

static void
test_digest (void **state)
{
  struct policy a, b;
  ohr_error_t err = NULL;
  load_fixture ("example.json", &a);
  load_fixture ("example.json", &b);
  assert_string_equal (policy_digest (&a), policy_digest (&b));
  /* the digest of the file's bytes, as sha256sum would print it */
  char want[DIGEST_STRING_LEN + 1];
  if (digest_file (a.path, want, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_string_equal (policy_digest (&a), want);
  policy_clear (&a);
  policy_clear (&b);

  /* the same policy spelt differently is another file: another digest */
  const char *x = "{\"version\":1}", *y = "{ \"version\": 1 }";
  assert_int_equal (policy_load_data (x, strlen (x), "x", &a, &err), 0);
  assert_int_equal (policy_load_data (y, strlen (y), "y", &b, &err), 0);
  assert_string_equal (
      policy_digest (&a),
      "sha256:"
      "2430f1a2ad2982d0067885488a4c89e21ad1d7c83b115ba8f1b20acc88dfaea8");
  assert_string_not_equal (policy_digest (&a), policy_digest (&b));
  policy_clear (&a);
  policy_clear (&b);
}

/* ---- suggestions */

static void
suggests (const char *name, const char *field, const char *value,
          const char *want)
{
  char *got = policy_rule_suggestion (name, field, value);
  if (want == NULL)
    {
      if (got)
        fail_msg ("%s/%s: expected NULL, got %s", name,
                  field ? field : "(null)", got);
      return;
    }
  if (got == NULL)
    fail_msg ("%s/%s: NULL", name, field ? field : "(null)");
  assert_string_equal (got, want);
  free (got);
}

/* Rules match the package's source: registry unless they say, a git URL,
 * a checksum; a rule naming the package that does not apply is reported
 * as passed over. */
static void
test_source_matching (void **state)
{
  static const char doc[]
      = "{\"version\":1,\"packages\":["
        /* 0: registry by default */
        "{\"package\":\"openssl-sys\",\"mounts\":[\"/usr/lib/ssl\"]},"
        /* 1: path crates only */
        "{\"package\":\"openssl-sys\",\"source\":\"path\",\"env\":[\"P=1\"]},"
        /* 2: one git repository (implies source git) */
        "{\"package\":\"openssl-sys\",\"git\":\"https://example.com/o.git\","
        "\"network\":\"host\"},"
        /* 3: one registry checksum */
        "{\"package\":\"openssl-sys\",\"checksum\":\"sha256:"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"pids\":77},"
        /* 4: any source */
        "{\"package\":\"openssl-sys\",\"source\":\"any\",\"timeout\":\"5m\"}"
        "]}";
  struct policy p;
  ohr_error_t err = NULL;
  if (policy_load_data (doc, strlen (doc), "mem", &p, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (p.rules[0].source, POLICY_SOURCE_REGISTRY);
  assert_int_equal (p.rules[2].source, POLICY_SOURCE_GIT);
  static const char sum[]
      = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static const struct
  {
    struct policy_package pkg;
    const char *matched, *passed; /* rule indexes */
  } cases[] = {
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_REGISTRY,
        "registry+https://github.com/rust-lang/crates.io-index", sum },
      "034",
      "12" },
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_REGISTRY, NULL, "bbbb" },
      "04",
      "123" },
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_PATH, NULL, NULL },
      "14",
      "023" },
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_GIT,
        "git+https://example.com/o.git?branch=x#0123", NULL },
      "24",
      "013" },
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_GIT,
        "git+https://example.com/o.git#0123", NULL },
      "24",
      "013" },
    /* a longer URL with the same start is another repository */
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_GIT,
        "git+https://example.com/o.git2#0123", NULL },
      "4",
      "0123" },
    { { "openssl-sys", "0.9.0", POLICY_SOURCE_GIT,
        "git+https://evil.example/o.git#0123", sum },
      "4",
      "0123" },
    { { "other", "1.0.0", POLICY_SOURCE_PATH, NULL, NULL }, "", "" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct policy_effective e;
      assert_int_equal (policy_resolve_package (&p, &cases[i].pkg, &e, &err),
                        0);
      char got[8] = "", passed[8] = "";
      for (size_t k = 0; k < e.n_matches; k++)
        got[k] = (char)('0' + e.matches[k].index);
      for (size_t k = 0; k < e.n_passed; k++)
        passed[k] = (char)('0' + e.passed[k].index);
      if (strcmp (got, cases[i].matched) || strcmp (passed, cases[i].passed))
        fail_msg ("case %zu: matched %s passed %s, want %s and %s", i, got,
                  passed, cases[i].matched, cases[i].passed);
      /* the registry rule's mount reaches only the registry crate */
      bool mount = e.settings.n_mounts > 0;
      assert_int_equal (mount, strchr (cases[i].matched, '0') != NULL);
      policy_effective_clear (&e);
    }
  /* policy_resolve is a registry crate's resolution */
  struct policy_effective e;
  assert_int_equal (policy_resolve (&p, "openssl-sys", "0.9.0", &e, &err), 0);
  assert_int_equal (e.n_matches, 2);
  assert_int_equal (e.settings.n_mounts, 1);
  policy_effective_clear (&e);
  policy_clear (&p);

  data_fails ("{\"version\":1,\"packages\":[{\"package\":\"a\","
              "\"source\":\"crates\"}]}",
              "packages[0].source: invalid value \"crates\"");
  data_fails ("{\"version\":1,\"packages\":[{\"package\":\"a\","
              "\"source\":\"path\",\"git\":\"https://x/y\"}]}",
              "\"git\" names a git repository, but \"source\" is \"path\"");
  data_fails ("{\"version\":1,\"packages\":[{\"package\":\"a\","
              "\"git\":\"https://x/y#abc\"}]}",
              "packages[0].git: ");
  data_fails ("{\"version\":1,\"packages\":[{\"package\":\"a\","
              "\"checksum\":\"abc\"}]}",
              "packages[0].checksum: \"abc\" is not a checksum");
  data_fails (
      "{\"version\":1,\"packages\":[{\"package\":\"a\","
      "\"source\":\"git\",\"checksum\":\""
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
      "\"checksum\" is a registry crate's");
  data_fails ("{\"version\":1,\"defaults\":{\"source\":\"path\"}}",
              "defaults.source: unknown key");
  /* suggestions name the source of a non-registry package */
  char *r = policy_rule_suggestion_for ("vers", POLICY_SOURCE_PATH,
                                        "workspace-read", ".git");
  assert_string_equal (r, "{\"package\":\"vers\",\"source\":\"path\","
                          "\"workspace-read\":[\".git\"]}");
  free (r);
  r = policy_rule_suggestion_for ("g", POLICY_SOURCE_GIT, "timeout", "1h");
  assert_string_equal (
      r, "{\"package\":\"g\",\"source\":\"git\",\"timeout\":\"1h\"}");
  free (r);
}

static void
test_mount_suggestion (void **state)
{
  char *r = policy_mount_suggestion ("lone", POLICY_SOURCE_REGISTRY,
                                     "/w/input.txt", "/cargo/x");
  assert_string_equal (r, "{\"package\":\"lone\",\"mounts\":[{\"source\":"
                          "\"/w/input.txt\",\"destination\":\"/cargo/x\"}]}");
  char *doc = NULL;
  assert_true (asprintf (&doc, "{\"version\":1,\"packages\":[%s]}", r) > 0);
  struct policy p;
  ohr_error_t err = NULL;
  if (policy_load_data (doc, strlen (doc), "mem", &p, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_string_equal (p.rules[0].settings.mounts[0].destination, "/cargo/x");
  policy_clear (&p);
  free (doc);
  free (r);
  r = policy_mount_suggestion ("lone", POLICY_SOURCE_PATH, "/w/in", "/w/in");
  assert_string_equal (
      r, "{\"package\":\"lone\",\"source\":\"path\",\"mounts\":[\"/w/in\"]}");
  free (r);
}

static void
test_suggestion (void **state)
{
  suggests ("foo", "source-writes", "overlay",
            "{\"package\":\"foo\",\"source-writes\":\"overlay\"}");
  suggests ("foo", "network", "host",
            "{\"package\":\"foo\",\"network\":\"host\"}");
  suggests ("openssl-sys", "mounts", "/usr/lib/ssl",
            "{\"package\":\"openssl-sys\",\"mounts\":[\"/usr/lib/ssl\"]}");
  suggests ("openssl-sys", "env", "OPENSSL_DIR",
            "{\"package\":\"openssl-sys\",\"env\":[\"OPENSSL_DIR\"]}");
  suggests ("foo", "pids", "8192", "{\"package\":\"foo\",\"pids\":8192}");
  suggests ("foo", "memory", "8G", "{\"package\":\"foo\",\"memory\":\"8G\"}");
  suggests ("foo", "timeout", "1h",
            "{\"package\":\"foo\",\"timeout\":\"1h\"}");
  suggests ("foo", "env", "X=\"a\\b\"",
            "{\"package\":\"foo\",\"env\":[\"X=\\\"a\\\\b\\\"\"]}");
  suggests ("vers", "workspace-read", ".git",
            "{\"package\":\"vers\",\"workspace-read\":[\".git\"]}");
  suggests ("foo", "package", "bar", NULL);
  suggests ("foo", "capabilities", "all", NULL);
  suggests ("foo", NULL, "x", NULL);

  /* a suggestion is a rule the loader accepts, with the same meaning */
  char *rule = policy_rule_suggestion ("foo", "mounts", "/usr/lib/ssl");
  char *doc = NULL;
  assert_true (asprintf (&doc, "{\"version\":1,\"packages\":[%s]}", rule) > 0);
  struct policy p;
  ohr_error_t err = NULL;
  if (policy_load_data (doc, strlen (doc), "mem", &p, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_string_equal (p.rules[0].json, rule);
  policy_clear (&p);
  free (doc);
  free (rule);
}

/* ---- default locations */

static void
touch (const char *dir, const char *sub)
{
  char *d = fs_path_join (dir, sub);
  char *f = fs_path_join (d, "oci-host-runner/policy.json");
  ohr_error_t err = NULL;
  char *parent = fs_path_join (d, "oci-host-runner");
  assert_int_equal (fs_mkdir_p (parent, 0755, &err), 0);
  assert_int_equal (fs_write_atomic (f, "{}", 2, 0644, false, &err), 0);
  free (parent);
  free (f);
  free (d);
}

static void
expect_path (char *got, const char *dir, const char *rest)
{
  if (rest == NULL)
    {
      if (got)
        fail_msg ("expected NULL, got %s", got);
      return;
    }
  char *want = NULL;
  assert_true (asprintf (&want, "%s/%s", dir, rest) > 0);
  if (got == NULL)
    fail_msg ("expected %s, got NULL", want);
  assert_string_equal (got, want);
  free (want);
  free (got);
}

static void
test_default_path (void **state)
{
  char *xdg = fs_path_join (tmp, "xdg");
  char *etc = fs_path_join (tmp, "etc");
  const char *file = "oci-host-runner/policy.json";

  expect_path (policy_find_default (xdg, tmp, etc), tmp, NULL);
  touch (tmp, "etc");
  expect_path (policy_find_default (xdg, tmp, etc), etc, file);
  touch (tmp, ".config");
  /* $XDG_CONFIG_HOME set: ~/.config is not looked at */
  expect_path (policy_find_default (xdg, tmp, etc), etc, file);
  /* unset, empty or relative: ~/.config */
  expect_path (policy_find_default (NULL, tmp, etc), tmp,
               ".config/oci-host-runner/policy.json");
  expect_path (policy_find_default ("", tmp, etc), tmp,
               ".config/oci-host-runner/policy.json");
  expect_path (policy_find_default ("xdg", tmp, etc), tmp,
               ".config/oci-host-runner/policy.json");
  touch (tmp, "xdg");
  expect_path (policy_find_default (xdg, tmp, etc), xdg, file);
  expect_path (policy_find_default (NULL, NULL, NULL), NULL, NULL);

  /* what is there counts, even a dangling symlink: it fails loudly */
  char *link = fs_path_join (xdg, file);
  unlink (link);
  assert_int_equal (symlink ("/nonexistent/policy.json", link), 0);
  expect_path (policy_find_default (xdg, tmp, etc), xdg, file);

  /* policy_default_path reads the environment */
  char *saved_xdg = getenv ("XDG_CONFIG_HOME");
  saved_xdg = saved_xdg ? strdup (saved_xdg) : NULL;
  setenv ("XDG_CONFIG_HOME", xdg, 1);
  expect_path (policy_default_path (), xdg, file);
  if (saved_xdg)
    setenv ("XDG_CONFIG_HOME", saved_xdg, 1);
  else
    unsetenv ("XDG_CONFIG_HOME");
  free (saved_xdg);
  free (link);
  free (xdg);
  free (etc);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_builtin_defaults),
    cmocka_unit_test_setup_teardown (test_example, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_comments_and_minimal, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_schema_errors, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test (test_document_errors),
    cmocka_unit_test (test_long_values_clipped),
    cmocka_unit_test_setup_teardown (test_file_checks, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_resolution_order, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_accumulation, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test (test_resolve_bad_version),
    cmocka_unit_test (test_sizes),
    cmocka_unit_test (test_durations),
    cmocka_unit_test_setup_teardown (test_digest, setup_tmp, teardown_tmp),
    cmocka_unit_test (test_suggestion),
    cmocka_unit_test (test_workspace_read),
    cmocka_unit_test (test_mount_suggestion),
    cmocka_unit_test (test_source_matching),
    cmocka_unit_test_setup_teardown (test_default_path, setup_tmp,
                                     teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
