/* test-attest.c: statements (determinism, canonical form), DSSE signing
 * and tampering, the source tree digest, bundles, subject checks and the
 * hints verify gives. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "attest/attest.h"
#include "attest/internal.h"
#include "attest/record.h"
#include "run/view.h"
#include "util/fs.h"
#include "util/strv.h"

/* a canonical OUT_DIR as the container sees it (run/view.h) */
#define CANON_OUT "/cargo/target/debug/build/mix-0123456789abcdef/out"

static char *
make_dir (void)
{
  char tmpl[] = "/tmp/ohr-attest-XXXXXX";
  char *dir = strdup (mkdtemp (tmpl));
  assert_non_null (dir);
  return dir;
}

static char *
join (const char *a, const char *b)
{
  char *p = fs_path_join (a, b);
  assert_non_null (p);
  return p;
}

/* Write rel under dir (parents made), mode as given. */
static void
put (const char *dir, const char *rel, const char *data, mode_t mode)
{
  char *p = join (dir, rel);
  char *slash = strrchr (p, '/');
  *slash = '\0';
  assert_int_equal (fs_mkdir_p (p, 0755, NULL), 0);
  *slash = '/';
  assert_int_equal (
      fs_write_atomic (p, data, strlen (data), mode, false, NULL), 0);
  free (p);
}

static char *
slurp (const char *path, size_t *len)
{
  char *data = NULL;
  assert_int_equal (fs_read_file (path, 1 << 24, &data, len, NULL), 0);
  return data;
}

/* A run record of a run in dir: OUT_DIR with files, a directive stream,
 * a script; the runtime is /bin/echo (its --version is a line). */
static void
make_run (const char *dir, const char *id, const char *stamp,
          struct runrecord *rr)
{
  char *out = join (dir, "target/debug/build/p-1/out");
  put (out, "gen.rs", "pub const X: u32 = 1;\n", 0644);
  put (out, "sub/deep/data.bin", "\x01\x02", 0644);
  put (out, "a.txt", "a\n", 0600);
  char *src = join (dir, "src");
  put (src, "build.rs", "fn main() {}\n", 0644);
  put (dir, "script", "#!/bin/sh\n", 0755);
  *rr = (struct runrecord){ 0 };
  rr->id = strdup (id);
  rr->package_name = strdup ("p");
  rr->package_version = strdup ("1.0.0");
  assert_int_equal (strv_push (&rr->features, "std"), 0);
  rr->profile = strdup ("debug");
  assert_int_equal (strv_push (&rr->args, "--x"), 0);
  rr->script = join (dir, "script");
  rr->out_dir = out;
  rr->manifest_dir = src;
  rr->cwd = strdup (src);
  rr->image_ref = strdup ("host");
  rr->runtime_name = strdup ("runc");
  rr->runtime_path = strdup ("/bin/echo");
  rr->runner_version = strdup ("0.1.0");
  rr->directives = runrecord_directives_name (id);
  rr->started = strdup (stamp);
  rr->finished = strdup (stamp);
  char *d = join (dir, rr->directives);
  assert_int_equal (
      fs_write_atomic (d, "cargo:rustc-cfg=x\n", 18, 0644, false, NULL), 0);
  free (d);
}

static char *
statement_of (const struct runrecord *rr, const char *dir)
{
  struct attest_inputs in = { 0 };
  ohr_error_t err = NULL;
  if (attest_collect (rr, dir, &in, &err) < 0)
    fail_msg ("collect: %s", err->msg);
  char *json = NULL;
  size_t len = 0;
  assert_int_equal (attest_statement (rr, &in, &json, &len, NULL), 0);
  assert_int_equal (strlen (json), len);
  attest_inputs_clear (&in);
  return json;
}

/* The statement without its "metadata":{...} (which holds no object). */
static char *
without_metadata (const char *json)
{
  const char *m = strstr (json, "\"metadata\":{");
  assert_non_null (m);
  const char *end = strchr (m, '}');
  assert_non_null (end);
  char *s = NULL;
  assert_true (asprintf (&s, "%.*s%s", (int)(m - json), json, end + 1) > 0);
  return s;
}

static void
test_statement_determinism (void **state)
{
  (void)state;
  char *dir = make_dir ();
  struct runrecord a, b;
  make_run (dir, "ohr-1-aaaa", "2024-05-01T12:00:00.000Z", &a);
  make_run (dir, "ohr-2-bbbb", "2024-05-02T08:30:00.500Z", &b);
  char *sa = statement_of (&a, dir);
  char *sb = statement_of (&b, dir);
  assert_string_not_equal (sa, sb);
  char *ma = without_metadata (sa), *mb = without_metadata (sb);
  assert_string_equal (ma, mb);

  /* canonical already: re-emitting changes nothing */
  char *canon = NULL;
  assert_int_equal (
      attest_canonical_json (sa, strlen (sa), &canon, NULL, NULL), 0);
  assert_string_equal (canon, sa);
  assert_null (strchr (sa, '\n'));

  /* the subjects: sorted, "out/" files and the directive stream */
  struct attest_statement st = { 0 };
  assert_int_equal (attest_statement_parse (sa, strlen (sa), "a", &st, NULL),
                    0);
  assert_string_equal (st.invocation_id, "ohr-1-aaaa");
  assert_string_equal (st.package_name, "p");
  assert_int_equal (st.subjects.n, 4);
  assert_string_equal (st.subjects.v[0].name, "directives");
  assert_string_equal (st.subjects.v[1].name, "out/a.txt");
  assert_string_equal (st.subjects.v[2].name, "out/gen.rs");
  assert_string_equal (st.subjects.v[3].name, "out/sub/deep/data.bin");
  char d[DIGEST_STRING_LEN + 1];
  digest_sha256 ("a\n", 2, d);
  assert_string_equal (st.subjects.v[1].digest, d);
  assert_non_null (strstr (sa, "\"buildType\":\"" ATTEST_BUILD_TYPE "\""));
  assert_non_null (strstr (sa, "\"id\":\"" ATTEST_BUILDER_PREFIX "0.1.0\""));
  assert_int_equal (st.deps.n, 2); /* build-script, source (no digest: host) */

  /* a changed output changes more than the metadata */
  put (a.out_dir, "gen.rs", "pub const X: u32 = 2;\n", 0644);
  char *sc = statement_of (&a, dir);
  char *mc = without_metadata (sc);
  assert_string_not_equal (mc, ma);

  /* the policy: the record's digest, else its policy file's */
  assert_null (strstr (sa, "policyDigest"));
  a.policy = strdup ("ohr-1-aaaa.policy.json");
  char *ppath = join (dir, a.policy);
  assert_int_equal (
      fs_write_atomic (ppath, "{\"version\":1}", 13, 0644, false, NULL), 0);
  char *sp = statement_of (&a, dir);
  char pd[DIGEST_STRING_LEN + 1], *want = NULL;
  digest_sha256 ("{\"version\":1}", 13, pd);
  assert_true (asprintf (&want, "\"policyDigest\":\"%s\"", pd) > 0);
  assert_non_null (strstr (sp, want));
  free (want), free (sp), free (ppath);
  a.policy_digest = strdup (
      "sha256:"
      "1111111111111111111111111111111111111111111111111111111111111111");
  sp = statement_of (&a, dir);
  assert_non_null (strstr (sp, "\"policyDigest\":\"sha256:1111"));
  free (sp);

  char *name = attest_file_name (&a, ".intoto.json");
  assert_string_equal (name, "p-1.0.0-ohr-1-aaaa.intoto.json");
  free (name);

  attest_statement_clear (&st);
  free (sa), free (sb), free (sc), free (ma), free (mb), free (mc);
  free (canon);
  runrecord_clear (&a);
  runrecord_clear (&b);
  fs_rm_rf (dir, NULL);
  free (dir);
}

/* A result-cache hit's statement: "resultCache" says it is a hit, gives
 * the key and the sha256 of the reused run's statement (also a resolved
 * dependency); the reused statement must name the outputs as they are. */
static void
test_statement_hit (void **state)
{
  (void)state;
  static const char key[]
      = "abababababababababababababababababababababababababababababababab";
  char *dir = make_dir ();
  struct runrecord a, b;
  make_run (dir, "ohr-1-aaaa", "2024-05-01T12:00:00.000Z", &a);
  char *sa = statement_of (&a, dir);
  assert_null (strstr (sa, "resultCache"));
  assert_null (strstr (sa, "result-cache-statement"));
  make_run (dir, "ohr-2-bbbb", "2024-05-02T08:30:00.500Z", &b);
  b.cache_key = strdup (key);
  b.cache_statement = runrecord_reused_name (b.id);
  char *reused = join (dir, b.cache_statement);
  assert_int_equal (
      fs_write_atomic (reused, sa, strlen (sa), 0644, false, NULL), 0);
  char *sb = statement_of (&b, dir);
  char d[DIGEST_STRING_LEN + 1], *want = NULL;
  digest_sha256 (sa, strlen (sa), d);
  assert_true (asprintf (&want,
                         "\"resultCache\":{\"hit\":true,\"key\":\"%s\","
                         "\"statement\":{\"sha256\":\"%s\"}}",
                         key, d + 7)
               > 0);
  if (strstr (sb, want) == NULL)
    fail_msg ("no '%s' in %s", want, sb);
  free (want);
  assert_true (asprintf (&want,
                         "{\"digest\":{\"sha256\":\"%s\"},"
                         "\"name\":\"result-cache-statement\"}",
                         d + 7)
               > 0);
  if (strstr (sb, want) == NULL)
    fail_msg ("no '%s' in %s", want, sb);
  free (want);
  /* the same subjects as the reused run's */
  struct attest_statement st_a = { 0 }, st_b = { 0 };
  assert_int_equal (attest_statement_parse (sa, strlen (sa), "a", &st_a, NULL),
                    0);
  assert_int_equal (attest_statement_parse (sb, strlen (sb), "b", &st_b, NULL),
                    0);
  assert_int_equal (st_a.subjects.n, st_b.subjects.n);
  for (size_t i = 0; i < st_a.subjects.n; i++)
    assert_string_equal (st_a.subjects.v[i].digest, st_b.subjects.v[i].digest);

  /* outputs that are not the reused statement's: no statement */
  put (b.out_dir, "gen.rs", "pub const X: u32 = 9;\n", 0644);
  struct attest_inputs in = { 0 };
  ohr_error_t err = NULL;
  assert_true (attest_collect (&b, dir, &in, &err) < 0);
  if (strstr (err->msg, "does not name the outputs as restored (changed: "
                        "out/gen.rs)")
      == NULL)
    fail_msg ("message: %s", err->msg);
  ohr_error_free (&err);
  attest_inputs_clear (&in);
  /* a reused statement that is not one */
  put (b.out_dir, "gen.rs", "pub const X: u32 = 1;\n", 0644);
  assert_int_equal (fs_write_atomic (reused, "{}", 2, 0644, false, NULL), 0);
  assert_true (attest_collect (&b, dir, &in, &err) < 0);
  assert_non_null (strstr (err->msg, "result cache"));
  ohr_error_free (&err);
  attest_inputs_clear (&in);

  attest_statement_clear (&st_a);
  attest_statement_clear (&st_b);
  free (sa), free (sb), free (reused);
  runrecord_clear (&a);
  runrecord_clear (&b);
  fs_rm_rf (dir, NULL);
  free (dir);
}

/* A run that read a dependency's OUT_DIR (a DEP_* variable names it):
 * the statement names it, below the build directory, with the digest of
 * its whole tree; a re-run copies it and points DEP_* at the copy. */
static void
test_dep_out_dirs (void **state)
{
  (void)state;
  char *dir = make_dir ();
  struct runrecord a;
  make_run (dir, "ohr-1-aaaa", "2024-05-01T12:00:00.000Z", &a);
  char *build = join (dir, "target/debug/build");
  char *dep = join (build, "depsys-4dc6/out");
  put (dep, "include/depsys.h", "#define DEPSYS 1\n", 0644);
  /* a top-level target/ of an OUT_DIR counts (a source tree's does not) */
  put (dep, "target/x", "1", 0644);
  char *link = join (dep, "include/alias.h");
  assert_int_equal (symlink ("depsys.h", link), 0);
  char *dep_env = NULL;
  assert_true (asprintf (&dep_env, "DEP_DEPSYS_INCLUDE=%s/include", dep) > 0);
  assert_int_equal (strv_push (&a.env, dep_env), 0);
  assert_int_equal (strv_push (&a.env, "DEP_Z_ROOT=/usr"), 0);

  char d[DIGEST_STRING_LEN + 1], *want = NULL;
  assert_int_equal (attest_tree_digest (dep, d, NULL), 0);
  char *sa = statement_of (&a, dir);
  assert_true (asprintf (&want,
                         "{\"digest\":{\"sha256\":\"%s\"},"
                         "\"name\":\"" ATTEST_DEP_OUT_DIR "depsys-4dc6/out\"}",
                         d + 7)
               > 0);
  if (strstr (sa, want) == NULL)
    fail_msg ("no '%s' in %s", want, sa);
  free (want);
  struct attest_statement st = { 0 };
  assert_int_equal (attest_statement_parse (sa, strlen (sa), "a", &st, NULL),
                    0);
  /* build-script, source, the dependency's OUT_DIR: /usr is no input */
  assert_int_equal (st.deps.n, 3);
  attest_statement_clear (&st);

  /* a byte of it, or of its target/, changes the digest, not the
   * subjects */
  char *ma = without_metadata (sa);
  put (dep, "target/x", "2", 0644);
  char d2[DIGEST_STRING_LEN + 1];
  assert_int_equal (attest_tree_digest (dep, d2, NULL), 0);
  assert_string_not_equal (d, d2);
  put (dep, "include/depsys.h", "#define DEPSYS 2\n", 0644);
  char *sb = statement_of (&a, dir);
  char *mb = without_metadata (sb);
  assert_string_not_equal (ma, mb);
  assert_null (strstr (sb, d + 7));
  struct attest_diffs diffs = { 0 };
  assert_int_equal (attest_statement_parse (sa, strlen (sa), "a", &st, NULL),
                    0);
  assert_int_equal (attest_check_subjects (&st, &a, dir, &diffs, NULL), 0);
  assert_int_equal (diffs.n, 0);
  attest_statement_clear (&st);

  /* the re-run's copy: the same tree at the same path below tree */
  char *tree = join (dir, "rerun/tree");
  char *build_dir = NULL, **dirs = NULL;
  assert_int_equal (attest_dep_dirs (&a, &build_dir, &dirs, NULL), 0);
  assert_string_equal (build_dir, build);
  assert_non_null (dirs[0]);
  assert_string_equal (dirs[0], dep);
  assert_null (dirs[1]);
  assert_int_equal (attest_dep_copy (dirs, tree, NULL), 0);
  char *copy = NULL, dc[DIGEST_STRING_LEN + 1], dn[DIGEST_STRING_LEN + 1];
  assert_true (asprintf (&copy, "%s%s", tree, dep) > 0);
  assert_int_equal (attest_tree_digest (copy, dc, NULL), 0);
  assert_int_equal (attest_tree_digest (dep, dn, NULL), 0);
  assert_string_equal (dc, dn);

  /* its DEP_* values name the copy; nothing else moves */
  char *moved = NULL, *expect = NULL;
  assert_int_equal (attest_dep_rewrite (dep_env, build, tree, &moved), 1);
  assert_true (asprintf (&expect, "DEP_DEPSYS_INCLUDE=%s%s/include", tree, dep)
               > 0);
  assert_string_equal (moved, expect);
  free (moved), free (expect);
  moved = NULL;
  assert_int_equal (
      attest_dep_rewrite ("DEP_Z_ROOT=/usr", build, tree, &moved), 0);
  assert_int_equal (attest_dep_rewrite ("DEP_R_INC=rel", build, tree, &moved),
                    0);
  assert_int_equal (attest_dep_rewrite (dep_env, NULL, tree, &moved), 0);
  char *not_dep = NULL;
  assert_true (asprintf (&not_dep, "FOO=%s/include", dep) > 0);
  assert_int_equal (attest_dep_rewrite (not_dep, build, tree, &moved), 0);
  assert_null (moved);

  free (not_dep), free (copy), free (tree), free (build_dir);
  strv_free (dirs);
  free (sa), free (sb), free (ma), free (mb), free (dep_env), free (link);
  free (dep), free (build);
  runrecord_clear (&a);
  fs_rm_rf (dir, NULL);
  free (dir);
}

static void
test_statement_reader (void **state)
{
  (void)state;
  static const char head[]
      = "{\"_type\":\"" ATTEST_STATEMENT_TYPE
        "\",\"predicateType\":\"" ATTEST_PREDICATE_TYPE
        "\",\"predicate\":{\"buildDefinition\":{\"buildType\":"
        "\"" ATTEST_BUILD_TYPE
        "\"},\"runDetails\":{\"metadata\":{\"invocationId\":\"ohr-1\"}}},"
        "\"subject\":[{\"name\":\"%s\",\"digest\":{\"sha256\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}"
        "}"
        "]}";
  const char *ok[] = { "directives", "out/a", "out/a/b.rs", "out/..x" };
  const char *bad[] = { "out/../etc/passwd", "out/",   "out//a", "out/./a",
                        "/etc/passwd",       "out/a/", "other" };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      char *s = NULL;
      assert_true (asprintf (&s, head, ok[i]) > 0);
      struct attest_statement st = { 0 };
      assert_int_equal (attest_statement_parse (s, strlen (s), "t", &st, NULL),
                        0);
      attest_statement_clear (&st);
      free (s);
    }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      char *s = NULL;
      assert_true (asprintf (&s, head, bad[i]) > 0);
      struct attest_statement st = { 0 };
      ohr_error_t err = NULL;
      assert_true (attest_statement_parse (s, strlen (s), "t", &st, &err) < 0);
      assert_non_null (strstr (err->msg, "is not allowed"));
      ohr_error_free (&err);
      free (s);
    }
  char *floaty = NULL;
  ohr_error_t err = NULL;
  assert_true (attest_canonical_json ("{\"a\":1.5}", 9, &floaty, NULL, &err)
               < 0);
  ohr_error_free (&err);
}

/* The envelope with its payload text altered at one position. */
static char *
flip_payload (const char *env)
{
  char *s = strdup (env);
  char *p = strstr (s, "\"payload\":\"");
  assert_non_null (p);
  p += strlen ("\"payload\":\"") + 20;
  *p = *p == 'A' ? 'B' : 'A';
  return s;
}

static void
test_dsse (void **state)
{
  (void)state;
  size_t n = 0;
  char *pae = attest_dsse_pae (ATTEST_PAYLOAD_TYPE, "hello", 5, &n);
  assert_string_equal (pae, "DSSEv1 28 application/vnd.in-toto+json 5 hello");
  assert_int_equal (n, strlen (pae));
  free (pae);

  char *dir = make_dir ();
  char *k1 = join (dir, "one"), *k2 = join (dir, "two");
  char *id1 = NULL, *id2 = NULL;
  assert_int_equal (attest_keygen (k1, &id1, NULL), 0);
  assert_int_equal (attest_keygen (k2, &id2, NULL), 0);
  assert_string_not_equal (id1, id2);
  assert_int_equal (strlen (id1), 64);
  char *priv1 = NULL, *pub1 = NULL, *pub2 = NULL;
  assert_true (asprintf (&priv1, "%s.key", k1) > 0);
  assert_true (asprintf (&pub1, "%s.pub", k1) > 0);
  assert_true (asprintf (&pub2, "%s.pub", k2) > 0);
  struct stat st;
  assert_int_equal (stat (priv1, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  size_t klen = 0;
  char *ktext = slurp (priv1, &klen);
  assert_non_null (strstr (ktext, "BEGIN PRIVATE KEY"));
  free (ktext);
  /* never overwritten */
  ohr_error_t err = NULL;
  assert_true (attest_keygen (k1, NULL, &err) < 0);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  ohr_error_free (&err);
  char *kid = NULL;
  assert_int_equal (attest_key_id (pub1, &kid, NULL), 0);
  assert_string_equal (kid, id1);
  free (kid);
  assert_int_equal (attest_key_id (priv1, &kid, NULL), 0);
  assert_string_equal (kid, id1);
  free (kid);

  static const char payload[] = "{\"_type\":\"x\",\"n\":1}";
  char *env = NULL;
  size_t env_len = 0;
  assert_int_equal (attest_dsse_sign (payload, sizeof payload - 1, priv1, &env,
                                      &env_len, NULL),
                    0);
  assert_non_null (strstr (env, id1));
  char *out = NULL, *why = NULL;
  size_t out_len = 0;
  bool valid = false;
  assert_int_equal (attest_dsse_open (env, env_len, pub1, &out, &out_len,
                                      &valid, &why, NULL),
                    0);
  assert_true (valid);
  assert_null (why);
  assert_int_equal (out_len, sizeof payload - 1);
  assert_memory_equal (out, payload, out_len);
  free (out);

  /* a flipped byte of the payload */
  char *tampered = flip_payload (env);
  assert_int_equal (attest_dsse_open (tampered, strlen (tampered), pub1, &out,
                                      &out_len, &valid, &why, NULL),
                    0);
  assert_false (valid);
  assert_non_null (why);
  free (out), free (why), free (tampered);
  out = why = NULL;

  /* another key */
  assert_int_equal (attest_dsse_open (env, env_len, pub2, &out, &out_len,
                                      &valid, &why, NULL),
                    0);
  assert_false (valid);
  assert_non_null (strstr (why, "no signature verifies"));
  free (out), free (why);
  out = why = NULL;

  /* not an envelope at all */
  assert_int_equal (attest_dsse_open ("{\"a\":1}", 7, pub1, &out, &out_len,
                                      &valid, &why, NULL),
                    0);
  assert_false (valid);
  assert_null (out);
  free (why);

  free (env);
  free (id1), free (id2), free (priv1), free (pub1), free (pub2);
  free (k1), free (k2);
  fs_rm_rf (dir, NULL);
  free (dir);
}

static void
source_digest (const char *src, const char *out_dir,
               char d[DIGEST_STRING_LEN + 1])
{
  ohr_error_t err = NULL;
  if (attest_source_digest (src, out_dir, d, &err) < 0)
    fail_msg ("source digest: %s", err->msg);
}

static void
test_source_digest (void **state)
{
  (void)state;
  char *src = make_dir ();
  put (src, "Cargo.toml", "[package]\nname = \"p\"\n", 0644);
  put (src, "build.rs", "fn main() {}\n", 0644);
  put (src, "src/lib.rs", "\n", 0644);
  put (src, "target/debug/junk", "1", 0644);
  put (src, ".git/index", "1", 0644);
  put (src, "out-tree/CACHEDIR.TAG",
       "Signature: 8a477f597d28d172789f06886806bc55", 0644);
  put (src, "out-tree/debug/build/p-1/out/x", "1", 0644);
  char *out_dir = join (src, "out-tree/debug/build/p-1/out");
  char *link = join (src, "link");
  assert_int_equal (symlink ("src/lib.rs", link), 0);

  char base[DIGEST_STRING_LEN + 1], d[DIGEST_STRING_LEN + 1];
  source_digest (src, out_dir, base);

  /* the list itself: sorted, git modes, links by target */
  char *list = NULL;
  size_t len = 0;
  assert_int_equal (attest_tree_list (src, NULL, &list, &len, NULL), 0);
  char lib[DIGEST_STRING_LEN + 1], target[DIGEST_STRING_LEN + 1];
  digest_sha256 ("\n", 1, lib);
  digest_sha256 ("src/lib.rs", 10, target);
  char *expect_link = NULL, *expect_lib = NULL;
  assert_true (asprintf (&expect_link, "120000 %s link", target) > 0);
  assert_true (asprintf (&expect_lib, "100644 %s src/lib.rs", lib) > 0);
  assert_non_null (memmem (list, len, expect_link, strlen (expect_link) + 1));
  /* sorted by bytes: "Cargo.toml" first */
  assert_int_equal (
      strncmp (list + 7 + DIGEST_STRING_LEN + 1, "Cargo.toml", 10), 0);
  assert_non_null (memmem (list, len, expect_lib, strlen (expect_lib) + 1));
  assert_null (memmem (list, len, "target/", 7));
  assert_null (memmem (list, len, ".git", 4));
  free (list), free (expect_link), free (expect_lib);

  /* target/, .git and the target directory holding OUT_DIR do not count */
  put (src, "target/debug/junk", "2", 0644);
  put (src, "target/new", "x", 0644);
  put (src, ".git/index", "2", 0644);
  put (src, "out-tree/debug/build/p-1/out/x", "2", 0644);
  source_digest (src, out_dir, d);
  assert_string_equal (d, base);

  /* without CACHEDIR.TAG, Cargo's shape of OUT_DIR finds it */
  char *tag = join (src, "out-tree/CACHEDIR.TAG");
  unlink (tag);
  char *tagless = NULL;
  source_digest (src, out_dir, d);
  tagless = strdup (d);
  put (src, "out-tree/debug/build/p-1/out/x", "3", 0644);
  source_digest (src, out_dir, d);
  assert_string_equal (d, tagless);
  put (src, "out-tree/CACHEDIR.TAG",
       "Signature: 8a477f597d28d172789f06886806bc55", 0644);

  /* a mode change (executable bit) counts */
  char *build = join (src, "build.rs");
  assert_int_equal (chmod (build, 0755), 0);
  source_digest (src, out_dir, d);
  assert_string_not_equal (d, base);
  assert_int_equal (chmod (build, 0644), 0);
  source_digest (src, out_dir, d);
  assert_string_equal (d, base);
  /* group/other bits do not (umasks differ between checkouts) */
  assert_int_equal (chmod (build, 0664), 0);
  source_digest (src, out_dir, d);
  assert_string_equal (d, base);

  /* content counts, and so do new files and link targets */
  put (src, "build.rs", "fn main() { }\n", 0644);
  source_digest (src, out_dir, d);
  assert_string_not_equal (d, base);
  put (src, "build.rs", "fn main() {}\n", 0644);
  source_digest (src, out_dir, d);
  assert_string_equal (d, base);
  unlink (link);
  assert_int_equal (symlink ("Cargo.toml", link), 0);
  source_digest (src, out_dir, d);
  assert_string_not_equal (d, base);

  free (tagless), free (tag), free (build), free (link), free (out_dir);
  fs_rm_rf (src, NULL);
  free (src);
}

/* A statement of package name/version written into dir by record(). */
static void
write_statement (const char *dir, const char *name, const char *version,
                 const char *id, const char *key)
{
  char *work = join (dir, id);
  struct runrecord rr;
  make_run (work, id, "2024-05-01T12:00:00.000Z", &rr);
  free (rr.package_name), free (rr.package_version);
  rr.package_name = strdup (name);
  rr.package_version = strdup (version);
  char *run = runrecord_path (work, id);
  assert_int_equal (runrecord_write (&rr, run, NULL), 0);
  char *st = NULL, *env = NULL;
  ohr_error_t err = NULL;
  if (attest_record (run, key, &st, &env, &err) < 0)
    fail_msg ("record: %s", err->msg);
  /* the bundle directory holds only the statements */
  char *to = join (dir, strrchr (st, '/') + 1);
  assert_int_equal (rename (st, to), 0);
  free (to);
  if (env)
    {
      to = join (dir, strrchr (env, '/') + 1);
      assert_int_equal (rename (env, to), 0);
      free (to);
    }
  free (st), free (env), free (run);
  runrecord_clear (&rr);
  free (work);
}

static void
test_bundle (void **state)
{
  (void)state;
  char *dir = make_dir ();
  char *prefix = join (dir, "key");
  assert_int_equal (attest_keygen (prefix, NULL, NULL), 0);
  char *key = NULL;
  assert_true (asprintf (&key, "%s.key", prefix) > 0);
  char *sts = join (dir, "statements");
  assert_int_equal (fs_mkdir_p (sts, 0755, NULL), 0);
  write_statement (sts, "zeta", "0.1.0", "ohr-1", NULL);
  write_statement (sts, "alpha", "2.0.0", "ohr-2", key);
  write_statement (sts, "alpha", "1.0.0", "ohr-3", NULL);
  write_statement (sts, "mid", "1.0.0", "ohr-4", NULL);

  char *out = join (dir, "b.jsonl");
  size_t n = 0;
  ohr_error_t err = NULL;
  if (attest_bundle (sts, out, &n, &err) < 0)
    fail_msg ("bundle: %s", err->msg);
  assert_int_equal (n, 4);
  size_t len = 0;
  char *text = slurp (out, &len);
  assert_int_equal (text[len - 1], '\n');
  char *lines[5] = { 0 };
  size_t k = 0;
  for (char *save = NULL, *l = strtok_r (text, "\n", &save); l;
       l = strtok_r (NULL, "\n", &save))
    {
      assert_true (k < 4);
      lines[k++] = l;
    }
  assert_int_equal (k, 4);
  /* alpha 1.0.0, alpha 2.0.0 (its envelope), mid, zeta */
  assert_non_null (strstr (lines[0], "\"invocationId\":\"ohr-3\""));
  assert_non_null (strstr (lines[1], "\"payloadType\""));
  assert_non_null (strstr (lines[2], "\"invocationId\":\"ohr-4\""));
  assert_non_null (strstr (lines[3], "\"invocationId\":\"ohr-1\""));
  for (size_t i = 0; i < k; i++)
    {
      char *c = NULL;
      assert_int_equal (
          attest_canonical_json (lines[i], strlen (lines[i]), &c, NULL, NULL),
          0);
      assert_string_equal (c, lines[i]);
      free (c);
    }
  /* the same again, byte for byte; and the default name */
  char *text2 = NULL;
  assert_int_equal (attest_bundle (sts, NULL, &n, NULL), 0);
  char *def = join (sts, "bundle.intoto.jsonl");
  size_t len2 = 0;
  text2 = slurp (def, &len2);
  free (text);
  text = slurp (out, &len);
  assert_int_equal (len, len2);
  assert_memory_equal (text, text2, len);

  free (text), free (text2), free (def), free (out), free (sts), free (key);
  free (prefix);
  fs_rm_rf (dir, NULL);
  free (dir);
}

static void
test_check_subjects (void **state)
{
  (void)state;
  char *dir = make_dir ();
  struct runrecord rr;
  make_run (dir, "ohr-9", "2024-05-01T12:00:00.000Z", &rr);
  char *json = statement_of (&rr, dir);
  struct attest_statement st = { 0 };
  assert_int_equal (
      attest_statement_parse (json, strlen (json), "s", &st, NULL), 0);
  struct attest_diffs d = { 0 };
  assert_int_equal (attest_check_subjects (&st, &rr, dir, &d, NULL), 0);
  assert_int_equal (d.n, 0);

  put (rr.out_dir, "gen.rs", "tampered\n", 0644);
  put (rr.out_dir, "planted", "x", 0644);
  char *gone = join (rr.out_dir, "a.txt");
  unlink (gone);
  assert_int_equal (attest_check_subjects (&st, &rr, dir, &d, NULL), 0);
  assert_int_equal (d.n, 3);
  assert_int_equal (d.v[0].kind, ATTEST_DIFF_MISSING);
  assert_string_equal (d.v[0].name, "out/a.txt");
  assert_int_equal (d.v[1].kind, ATTEST_DIFF_CHANGED);
  assert_string_equal (d.v[1].name, "out/gen.rs");
  assert_int_equal (d.v[2].kind, ATTEST_DIFF_EXTRA);
  assert_string_equal (d.v[2].name, "out/planted");
  attest_diffs_clear (&d);

  char *path = join (dir, "p-1.0.0-ohr-9.intoto.json");
  char *rp = attest_record_path (path, &st);
  char *expect = join (dir, "ohr-9.run.json");
  assert_string_equal (rp, expect);
  free (rp), free (expect), free (path), free (gone), free (json);
  attest_statement_clear (&st);
  runrecord_clear (&rr);
  fs_rm_rf (dir, NULL);
  free (dir);
}

static unsigned
hints (const char *old, const char *new, long *line)
{
  const char *old_paths[] = { "/old/out", NULL };
  const char *new_paths[] = { "/tmp/v/out", NULL };
  struct attest_diff d = { 0 };
  assert_int_equal (attest_diff_contents (old, strlen (old), new, strlen (new),
                                          old_paths, new_paths, 1714564800, &d,
                                          NULL),
                    0);
  if (line)
    *line = d.line;
  free (d.old_line);
  free (d.new_line);
  return d.hints;
}

static void
test_hints (void **state)
{
  (void)state;
  long line = 0;
  assert_int_equal (hints ("a\nb\nstamp 1714564790123456789\n",
                           "a\nb\nstamp 1714564799000000001\n", &line),
                    ATTEST_HINT_TIMESTAMP);
  assert_int_equal (line, 3);
  assert_int_equal (hints ("built 2024-04-30\n", "built 2024-05-01\n", NULL),
                    ATTEST_HINT_TIMESTAMP);
  assert_int_equal (hints ("at 12:00:01\n", "at 12:00:02\n", NULL),
                    ATTEST_HINT_TIMESTAMP);
  /* numbers that are no time */
  assert_int_equal (hints ("n = 1234567\n", "n = 1234568\n", NULL), 0);
  assert_int_equal (hints ("id 9999999999\n", "id 9999999998\n", NULL), 0);
  assert_int_equal (
      hints ("x \"/old/out/f\"\n", "x \"/tmp/v/out/f\"\n", &line),
      ATTEST_HINT_PATH);
  assert_int_equal (line, 1);
  assert_int_equal (hints ("a\nb\nc\n", "c\na\nb\n", NULL), ATTEST_HINT_ORDER);
  assert_int_equal (hints ("a\nb\nc\n", "c\na\nd\n", NULL), 0);
  /* a longer file: first differing line past the end of the other */
  struct attest_diff d = { 0 };
  assert_int_equal (
      attest_diff_contents ("a\n", 2, "a\nb\n", 4, NULL, NULL, 0, &d, NULL),
      0);
  assert_int_equal (d.line, 2);
  assert_null (d.old_line);
  assert_string_equal (d.new_line, "b");
  free (d.new_line);
  /* long lines are cut */
  char longer[600];
  memset (longer, 'x', sizeof longer - 2);
  longer[sizeof longer - 2] = '\n';
  longer[sizeof longer - 1] = '\0';
  d = (struct attest_diff){ 0 };
  assert_int_equal (attest_diff_contents ("y\n", 2, longer, strlen (longer),
                                          NULL, NULL, 0, &d, NULL),
                    0);
  assert_int_equal (strlen (d.new_line), ATTEST_LINE_MAX);
  free (d.old_line), free (d.new_line);
  /* binary: no line */
  d = (struct attest_diff){ 0 };
  assert_int_equal (
      attest_diff_contents ("a\0b", 3, "a\0c", 3, NULL, NULL, 0, &d, NULL), 0);
  assert_int_equal (d.line, 0);
  assert_non_null (d.note);
}

/* diff_directives OLD NEW OLD_OUT NEW_OUT: attest_diff_directives' answer
 * (1 same, 0 different); *d filled. */
static int
diff_directives (const char *old, const char *new, const char *old_out,
                 const char *new_out, struct attest_diff *d)
{
  *d = (struct attest_diff){ 0 };
  return attest_diff_directives (old, strlen (old), new, strlen (new), old_out,
                                 new_out, 1714564800, d, NULL);
}

/* attest_digest_directives of a stream, through a file. */
static void
directives_digest (const char *stream, char out[DIGEST_STRING_LEN + 1])
{
  char path[] = "/tmp/ohr-test-directives-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, stream, strlen (stream)),
                    (ssize_t)strlen (stream));
  close (fd);
  assert_int_equal (attest_digest_directives (path, out, NULL), 0);
  unlink (path);
}

static void
test_diff_directives (void **state)
{
  (void)state;
  struct attest_diff d;
  /* canonical paths: the recorded stream and the re-run's as the scripts
   * printed them (the cc crate's), with the container's OUT_DIR; the
   * chatter around the directives differs (parallel compiles) */
  const char *recorded
      = "TARGET = Some(\"x86_64-unknown-linux-gnu\")\n"
        "running: \"cc\" \"-c\" \"-o\" \"" CANON_OUT "/mix.o\"\n"
        "exit status: 0\n"
        "cargo:rerun-if-changed=csrc/mix.c\n"
        "cargo:rustc-link-lib=static=ohrmix\n"
        "cargo:rustc-link-search=native=" CANON_OUT "\n";
  const char *rerun = "running: \"cc\" \"-c\" \"-o\" \"" CANON_OUT "/mix.o\"\n"
                      "exit status: 0\n"
                      "TARGET = Some(\"x86_64-unknown-linux-gnu\")\n"
                      "cargo:rerun-if-changed=csrc/mix.c\n"
                      "cargo:rustc-link-lib=static=ohrmix\n"
                      "  cargo:rustc-link-search=native=" CANON_OUT "\n";
  assert_int_equal (diff_directives (recorded, rerun, NULL, NULL, &d), 0);
  /* leading blanks are part of the digested line: a difference */
  assert_int_equal (d.line, 3);
  free (d.old_line), free (d.new_line);
  rerun = "running: \"cc\" \"-c\" \"-o\" \"" CANON_OUT "/mix.o\"\n"
          "exit status: 0\n"
          "TARGET = Some(\"x86_64-unknown-linux-gnu\")\n"
          "cargo:rerun-if-changed=csrc/mix.c\n"
          "cargo:rustc-link-lib=static=ohrmix\n"
          "cargo:rustc-link-search=native=" CANON_OUT "\n";
  assert_int_equal (diff_directives (recorded, rerun, NULL, NULL, &d), 1);
  /* what the statement digests agrees */
  char a[DIGEST_STRING_LEN + 1], b[DIGEST_STRING_LEN + 1];
  directives_digest (recorded, a);
  directives_digest (rerun, b);
  assert_string_equal (a, b);

  /* the bug this guards against: the recorded container form against the
   * re-run's line mapped to its host OUT_DIR are different forms, and a
   * link-search that really names another directory is a difference */
  const char *mapped = "cargo:rerun-if-changed=csrc/mix.c\n"
                       "cargo:rustc-link-lib=static=ohrmix\n"
                       "cargo:rustc-link-search=native=/tmp/ohr-verify-1/"
                       "tree/w/target/debug/build/p-1/out\n";
  assert_int_equal (diff_directives (recorded, mapped, NULL, NULL, &d), 0);
  assert_int_equal (d.line, 3);
  assert_string_equal (d.old_line,
                       "cargo:rustc-link-search=native=" CANON_OUT);
  assert_string_equal (d.new_line, "cargo:rustc-link-search=native=/tmp/"
                                   "ohr-verify-1/tree/w/target/debug/build/"
                                   "p-1/out");
  /* line numbers count the directive lines; a note says so */
  assert_non_null (d.note);
  free (d.old_line), free (d.new_line);

  /* identity paths: each stream names its own run's host OUT_DIR */
  const char *old_out = "/w/target/debug/build/p-1/out";
  const char *new_out = "/tmp/ohr-verify-1/tree/w/target/debug/build/p-1/out";
  assert_int_equal (
      diff_directives ("cargo:rustc-link-search=native=/w/target/debug/build/"
                       "p-1/out\ncargo:include=/w/target/debug/build/p-1/out/"
                       "include\n",
                       "cargo:rustc-link-search=native=/tmp/ohr-verify-1/"
                       "tree/w/target/debug/build/p-1/out\ncargo:include=/"
                       "tmp/ohr-verify-1/tree/w/target/debug/build/p-1/out/"
                       "include\n",
                       old_out, new_out, &d),
      1);
  /* ... and a path under it that changed is still a difference */
  assert_int_equal (
      diff_directives (
          "cargo:include=/w/target/debug/build/p-1/out/include\n",
          "cargo:include=/tmp/ohr-verify-1/tree/w/target/debug/build/p-1/"
          "out/inc\n",
          old_out, new_out, &d),
      0);
  assert_int_equal (d.line, 1);
  assert_string_equal (d.old_line, "cargo:include=${OUT_DIR}/include");
  assert_string_equal (d.new_line, "cargo:include=${OUT_DIR}/inc");
  assert_null (d.note); /* no line left out */
  free (d.old_line), free (d.new_line);

  /* a directive that really changed, one that is gone, another order */
  assert_int_equal (diff_directives ("chatter\ncargo:rustc-cfg=a\n",
                                     "chatter\ncargo:rustc-cfg=b\n", NULL,
                                     NULL, &d),
                    0);
  assert_int_equal (d.line, 1);
  assert_string_equal (d.old_line, "cargo:rustc-cfg=a");
  assert_string_equal (d.new_line, "cargo:rustc-cfg=b");
  free (d.old_line), free (d.new_line);
  assert_int_equal (diff_directives ("cargo:rustc-cfg=a\ncargo:rustc-cfg=b\n",
                                     "cargo:rustc-cfg=a\nnot a directive\n",
                                     NULL, NULL, &d),
                    0);
  assert_int_equal (d.line, 2);
  assert_string_equal (d.old_line, "cargo:rustc-cfg=b");
  assert_null (d.new_line);
  free (d.old_line);
  assert_int_equal (diff_directives ("cargo:rustc-cfg=a\ncargo:rustc-cfg=b\n",
                                     "cargo:rustc-cfg=b\ncargo:rustc-cfg=a\n",
                                     NULL, NULL, &d),
                    0);
  assert_true (d.hints & ATTEST_HINT_ORDER);
  free (d.old_line), free (d.new_line);
  /* nothing but chatter on both sides: the same (no directives) */
  assert_int_equal (diff_directives ("one\n", "two\n", NULL, NULL, &d), 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_statement_determinism),
    cmocka_unit_test (test_statement_reader),
    cmocka_unit_test (test_statement_hit),
    cmocka_unit_test (test_dep_out_dirs),
    cmocka_unit_test (test_dsse),
    cmocka_unit_test (test_source_digest),
    cmocka_unit_test (test_bundle),
    cmocka_unit_test (test_check_subjects),
    cmocka_unit_test (test_hints),
    cmocka_unit_test (test_diff_directives),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
