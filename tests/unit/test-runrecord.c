/* test-runrecord.c: the run record: round trip, sorted keys, Cargo's
 * variables, and what the strict reader refuses. */
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
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "attest/record.h"
#include "util/fs.h"
#include "util/strv.h"

static char **
vec (const char *a, const char *b, const char *c)
{
  char **v = NULL;
  const char *s[] = { a, b, c };
  for (int i = 0; i < 3; i++)
    if (s[i])
      assert_int_equal (strv_push (&v, s[i]), 0);
  return v;
}

/* Every field set, the nullable ones as given. */
static void
fill (struct runrecord *rr, bool nulls)
{
  *rr = (struct runrecord){ 0 };
  rr->id = strdup ("ohr-42-0123456789ab");
  if (!nulls)
    {
      rr->package_name = strdup ("libz-sys");
      rr->package_version = strdup ("1.1.20");
      rr->profile = strdup ("debug");
      rr->target = strdup ("x86_64-unknown-linux-gnu");
      rr->host = strdup ("x86_64-unknown-linux-gnu");
      rr->opt_level = strdup ("0");
      rr->debug = strdup ("true");
      rr->rustc = strdup ("/opt/rust/bin/rustc");
      rr->image_digest = strdup (
          "sha256:"
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
      rr->policy = strdup ("ohr-42-0123456789ab.policy.json");
      rr->policy_digest = strdup (
          "sha256:"
          "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
    }
  rr->features = vec ("default", "libc", "static");
  rr->args = vec ("--flag", "a \"quoted\"\n arg", NULL);
  rr->script = strdup ("/t/target/debug/build/libz-sys-1/build-script-build");
  rr->out_dir = strdup ("/t/target/debug/build/libz-sys-2/out");
  rr->manifest_dir = strdup ("/src/libz-sys");
  rr->cwd = strdup ("/src/libz-sys");
  rr->toolchains = vec ("/opt/rust", NULL, NULL);
  rr->image_ref = strdup ("registry.example/x:1");
  rr->runtime_name = strdup ("runc");
  rr->runtime_path = strdup ("/usr/sbin/runc");
  rr->runner_version = strdup ("0.1.0");
  rr->paths = PATHS_CANONICAL;
  rr->network = NETWORK_HOST;
  rr->env = vec ("CARGO_PKG_NAME=libz-sys", "OUT_DIR=/t/out", "X=a=b");
  rr->directives = strdup ("ohr-42-0123456789ab.directives");
  rr->exit_status = 3;
  rr->started = strdup ("2024-05-01T12:00:00.123Z");
  rr->finished = strdup ("2024-05-01T12:00:01.456Z");
}

static void
same_str (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    assert_ptr_equal (a, b);
  else
    assert_string_equal (a, b);
}

static void
same_strv (char *const *a, char *const *b)
{
  assert_int_equal (strv_len (a), strv_len (b));
  for (size_t i = 0; a && a[i]; i++)
    assert_string_equal (a[i], b[i]);
}

static void
same_record (const struct runrecord *a, const struct runrecord *b)
{
  same_str (a->id, b->id);
  same_str (a->package_name, b->package_name);
  same_str (a->package_version, b->package_version);
  same_strv (a->features, b->features);
  same_str (a->profile, b->profile);
  same_str (a->target, b->target);
  same_str (a->host, b->host);
  same_str (a->opt_level, b->opt_level);
  same_str (a->debug, b->debug);
  same_strv (a->args, b->args);
  same_str (a->script, b->script);
  same_str (a->out_dir, b->out_dir);
  same_str (a->manifest_dir, b->manifest_dir);
  same_str (a->cwd, b->cwd);
  same_strv (a->toolchains, b->toolchains);
  same_str (a->rustc, b->rustc);
  same_str (a->image_ref, b->image_ref);
  same_str (a->image_digest, b->image_digest);
  same_str (a->runtime_name, b->runtime_name);
  same_str (a->runtime_path, b->runtime_path);
  same_str (a->runner_version, b->runner_version);
  same_str (a->policy_digest, b->policy_digest);
  same_str (a->policy, b->policy);
  assert_int_equal (a->paths, b->paths);
  assert_int_equal (a->network, b->network);
  same_strv (a->env, b->env);
  same_str (a->directives, b->directives);
  assert_int_equal (a->exit_status, b->exit_status);
  same_str (a->started, b->started);
  same_str (a->finished, b->finished);
  same_str (a->cache_key, b->cache_key);
  same_str (a->cache_statement, b->cache_statement);
}

static void
keys_sorted (yajl_val v)
{
  if (YAJL_IS_ARRAY (v))
    for (size_t i = 0; i < v->u.array.len; i++)
      keys_sorted (v->u.array.values[i]);
  if (!YAJL_IS_OBJECT (v))
    return;
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      if (i > 0)
        assert_true (strcmp (v->u.object.keys[i - 1], v->u.object.keys[i])
                     < 0);
      keys_sorted (v->u.object.values[i]);
    }
}

static void
test_round_trip (void **state)
{
  (void)state;
  for (int nulls = 0; nulls < 2; nulls++)
    {
      struct runrecord rr, back = { 0 };
      fill (&rr, nulls);
      char *json = NULL;
      size_t len = 0;
      assert_int_equal (runrecord_to_json (&rr, &json, &len, NULL), 0);
      assert_int_equal (strlen (json), len);
      assert_int_equal (json[len - 1], '\n');
      /* sorted keys at every level, nothing but the final newline */
      yajl_val root = yajl_tree_parse (json, NULL, 0);
      assert_non_null (root);
      keys_sorted (root);
      yajl_tree_free (root);
      assert_null (memchr (json, '\n', len - 1));
      assert_int_equal (runrecord_parse (json, len, "test", &back, NULL), 0);
      same_record (&rr, &back);
      /* and through a file, byte for byte the same again */
      char dir[] = "/tmp/ohr-runrecord-XXXXXX";
      assert_non_null (mkdtemp (dir));
      char *path = runrecord_path (dir, rr.id);
      assert_int_equal (runrecord_write (&back, path, NULL), 0);
      char *again = NULL;
      size_t again_len = 0;
      assert_int_equal (fs_read_file (path, 1 << 20, &again, &again_len, NULL),
                        0);
      assert_int_equal (again_len, len);
      assert_memory_equal (again, json, len);
      runrecord_clear (&back);
      assert_int_equal (runrecord_read (path, &back, NULL), 0);
      same_record (&rr, &back);
      fs_rm_rf (dir, NULL);
      free (again);
      free (path);
      free (json);
      runrecord_clear (&back);
      runrecord_clear (&rr);
    }
}

static void
test_cargo_env (void **state)
{
  (void)state;
  char *env[] = { "CARGO_PKG_NAME=foo",
                  "CARGO_PKG_VERSION=0.2.0",
                  "CARGO_FEATURE_STD=1",
                  "CARGO_FEATURE_FOO_BAR=1",
                  "CARGO_FEATURE_ALLOC=1",
                  "CARGO_FEATURE_=1",
                  "PROFILE=release",
                  "TARGET=aarch64-unknown-linux-gnu",
                  "HOST=x86_64-unknown-linux-gnu",
                  "OPT_LEVEL=3",
                  "DEBUG=false",
                  "RUSTC=/r/bin/rustc",
                  "CARGO_FEATURES_NOT=1",
                  NULL };
  struct runrecord rr = { 0 };
  rr.profile = strdup ("replaced");
  assert_int_equal (runrecord_set_cargo (&rr, env, NULL), 0);
  assert_string_equal (rr.package_name, "foo");
  assert_string_equal (rr.package_version, "0.2.0");
  assert_string_equal (rr.profile, "release");
  assert_string_equal (rr.target, "aarch64-unknown-linux-gnu");
  assert_string_equal (rr.host, "x86_64-unknown-linux-gnu");
  assert_string_equal (rr.opt_level, "3");
  assert_string_equal (rr.debug, "false");
  assert_string_equal (rr.rustc, "/r/bin/rustc");
  assert_int_equal (strv_len (rr.features), 3);
  assert_string_equal (rr.features[0], "alloc");
  assert_string_equal (rr.features[1], "foo-bar");
  assert_string_equal (rr.features[2], "std");
  runrecord_clear (&rr);

  char *none[] = { "PATH=/bin", NULL };
  char **f = (char **)1;
  assert_int_equal (runrecord_features (none, &f, NULL), 0);
  assert_null (f);

  struct timespec ts = { .tv_sec = 1714564800, .tv_nsec = 987654321 };
  char buf[RUNRECORD_TIME_SIZE];
  runrecord_format_time (&ts, buf);
  assert_string_equal (buf, "2024-05-01T12:00:00.987Z");

  assert_true (runrecord_valid_id ("ohr-1-abc.2_x"));
  assert_false (runrecord_valid_id (""));
  assert_false (runrecord_valid_id (".."));
  assert_false (runrecord_valid_id ("a/b"));
  assert_false (runrecord_valid_id ("-x"));
}

/* The record of fill() with one substitution applied to its JSON. */
static int
parse_edited (const char *from, const char *to, char **msg)
{
  struct runrecord rr, back = { 0 };
  fill (&rr, false);
  char *json = NULL;
  size_t len = 0;
  assert_int_equal (runrecord_to_json (&rr, &json, &len, NULL), 0);
  runrecord_clear (&rr);
  char *at = strstr (json, from);
  assert_non_null (at);
  char *edited = NULL;
  assert_true (asprintf (&edited, "%.*s%s%s", (int)(at - json), json, to,
                         at + strlen (from))
               > 0);
  ohr_error_t err = NULL;
  int r = runrecord_parse (edited, strlen (edited), "x.run.json", &back, &err);
  if (r < 0)
    {
      assert_non_null (err);
      *msg = strdup (err->msg);
      ohr_error_free (&err);
    }
  runrecord_clear (&back);
  free (edited);
  free (json);
  return r;
}

static void
refused (const char *from, const char *to, const char *why)
{
  char *msg = NULL;
  assert_true (parse_edited (from, to, &msg) < 0);
  if (strstr (msg, why) == NULL)
    fail_msg ("'%s' -> '%s': message '%s' lacks '%s'", from, to, msg, why);
  free (msg);
}

static void
test_strict (void **state)
{
  (void)state;
  char *msg = NULL;
  assert_int_equal (parse_edited ("\"version\":1", "\"version\":1", &msg), 0);
  refused ("\"version\":1", "\"version\":2", "version 2 is not supported");
  refused ("\"version\":1", "\"version\":1,\"extra\":0",
           "unknown key 'extra'");
  refused ("\"version\":1", "\"version\":1,\"version\":1", "duplicate key");
  refused ("\"name\":\"runc\"", "\"name\":\"runc\",\"x\":1",
           "unknown key 'runtime.x'");
  refused ("\"cwd\":\"/src/libz-sys\"", "\"cwd\":\"src\"",
           "'cwd' must be an absolute path");
  refused ("\"id\":\"ohr-42-0123456789ab\"", "\"id\":\"../x\"",
           "'id' must be a plain file name");
  refused ("\"directives\":\"ohr-42-0123456789ab.directives\"",
           "\"directives\":\"/etc/passwd\"",
           "'directives' must be a plain file name");
  refused ("\"started\":\"2024-05-01T12:00:00.123Z\"",
           "\"started\":\"2024-05-01 12:00\"", "'started' and 'finished'");
  refused ("\"exit_status\":3", "\"exit_status\":\"3\"", "exit_status");
  refused ("\"exit_status\":3", "\"exit_status\":256", "exit_status");
  refused ("\"paths\":\"canonical\"", "\"paths\":\"other\"",
           "'paths' must be");
  refused ("\"features\":[", "\"features\":[1,", "'features[0]' must be");
  refused ("\"env\":[", "\"env\":[\"NOEQUALS\",", "'env[0]' must be NAME");
  refused ("\"digest\":\"sha256:0123", "\"digest\":\"md5:0123",
           "'image.digest' must be");
  refused ("\"script\":", "\"s\":1,\"script\":", "unknown key 's'");
  refused ("\"policy\":\"ohr-42-0123456789ab.policy.json\"",
           "\"policy\":\"../p.json\"", "'policy' must be a plain file name");
  refused ("{", "/* c */{", "comments");
  refused ("\"host\":\"x86_64", "\"host\":\"\\u0000x86_64", "\\u0000");

  struct runrecord rr = { 0 };
  ohr_error_t err = NULL;
  assert_true (runrecord_parse ("[1]", 3, "a", &rr, &err) < 0);
  assert_non_null (strstr (err->msg, "not a JSON object"));
  ohr_error_free (&err);
  size_t big = RUNRECORD_MAX_SIZE + 1;
  char *huge = malloc (big);
  memset (huge, ' ', big);
  assert_true (runrecord_parse (huge, big, "big", &rr, &err) < 0);
  assert_non_null (strstr (err->msg, "more than the limit"));
  ohr_error_free (&err);
  free (huge);

  /* the writer refuses what the reader would */
  struct runrecord w;
  fill (&w, false);
  free (w.cwd);
  w.cwd = NULL;
  char *json = NULL;
  assert_true (runrecord_to_json (&w, &json, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "'cwd' is not set"));
  ohr_error_free (&err);
  runrecord_clear (&w);
}

#define KEY64                                                                 \
  "abababababababababababababababababababababababababababababababab"

/* A result-cache hit's record: "result_cache" written (keys sorted) and
 * read back; a run's record has none.  Bad keys, names and extra fields
 * are refused, and the writer refuses a key without its statement. */
static void
test_cache_hit (void **state)
{
  (void)state;
  struct runrecord rr, back = { 0 };
  fill (&rr, false);
  char *json = NULL;
  size_t len = 0;
  assert_int_equal (runrecord_to_json (&rr, &json, &len, NULL), 0);
  assert_null (strstr (json, "result_cache"));
  free (json);
  rr.cache_key = strdup (KEY64);
  rr.cache_statement = runrecord_reused_name (rr.id);
  assert_string_equal (rr.cache_statement, "ohr-42-0123456789ab.reused.json");
  assert_int_equal (runrecord_to_json (&rr, &json, &len, NULL), 0);
  assert_non_null (
      strstr (json, "\"result_cache\":{\"key\":\"" KEY64
                    "\",\"statement\":\"ohr-42-0123456789ab.reused.json\"}"));
  yajl_val root = yajl_tree_parse (json, NULL, 0);
  assert_non_null (root);
  keys_sorted (root);
  yajl_tree_free (root);
  assert_int_equal (runrecord_parse (json, len, "hit", &back, NULL), 0);
  same_record (&rr, &back);
  runrecord_clear (&back);

  static const struct
  {
    const char *from, *to, *why;
  } bad[] = {
    { KEY64, "0123", "'result_cache.key' must be 64" },
    { KEY64,
      "ABababababababababababababababababababababababababababababababab",
      "'result_cache.key' must be 64" },
    { "\"statement\":\"ohr", "\"statement\":\"../ohr",
      "'result_cache.statement' must be a plain file name" },
    { "\"statement\":\"ohr", "\"x\":1,\"statement\":\"ohr",
      "unknown key 'result_cache.x'" },
    { "\"result_cache\":{\"key\":\"" KEY64
      "\",\"statement\":\"ohr-42-0123456789ab.reused.json\"}",
      "\"result_cache\":3", "'result_cache' must be an object" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      char *at = strstr (json, bad[i].from);
      assert_non_null (at);
      char *edited = NULL;
      assert_true (asprintf (&edited, "%.*s%s%s", (int)(at - json), json,
                             bad[i].to, at + strlen (bad[i].from))
                   > 0);
      ohr_error_t err = NULL;
      assert_true (
          runrecord_parse (edited, strlen (edited), "hit", &back, &err) < 0);
      if (strstr (err->msg, bad[i].why) == NULL)
        fail_msg ("case %zu: message '%s' lacks '%s'", i, err->msg,
                  bad[i].why);
      ohr_error_free (&err);
      free (edited);
    }
  free (json);

  free (rr.cache_statement);
  rr.cache_statement = NULL;
  ohr_error_t err = NULL;
  assert_true (runrecord_to_json (&rr, &json, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "reused statement"));
  ohr_error_free (&err);
  runrecord_clear (&rr);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_cargo_env),
    cmocka_unit_test (test_strict),
    cmocka_unit_test (test_cache_hit),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
