/* test-directives.c: container paths in build-script directives mapped
 * back to host paths, line by line and through the streaming filter. */
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

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/rootpath.h"
#include "run/directives.h"
#include "run/mounts.h"
#include "util/error.h"
#include "util/fs.h"

#define OUT "/home/u/t/debug/build/foo-1/out"
#define SRC "/home/u/pkg"
#define BUILD "/home/u/t/debug/build"
#define TC "/opt/rust/stable"

/* Container prefixes of this test's own, short for the boundary cases:
 * directives.c knows no layout.  Run mode's maps (run/view.h, /cargo/target
 * and OUT_DIR at Cargo's depth below it) are tested in test-view.c. */
static const struct directive_map maps[] = {
  { "/cargo/src", SRC },
  { "/cargo/out", OUT },
  { "/cargo/build", BUILD },
  { "/cargo/bin/build-script", BUILD "/foo-2/build-script-build" },
  { "/cargo/toolchain", TC },
};
#define N_MAPS (sizeof maps / sizeof *maps)

static const char *const allowed[] = { "/usr", "/lib", "/lib64", "/bin" };
#define N_ALLOWED (sizeof allowed / sizeof *allowed)

static struct directive_pathmap *
pathmap (void)
{
  ohr_error_t err = NULL;
  struct directive_pathmap *pm = NULL;
  if (directive_pathmap_new (maps, N_MAPS, allowed, N_ALLOWED, &pm, &err) < 0)
    fail_msg ("directive_pathmap_new: %s", err->msg);
  return pm;
}

/* Map line (len bytes) with pm; returns a fresh copy of the result, the
 * input itself when it passed unchanged. */
static char *
map_n (struct directive_pathmap *pm, const char *line, size_t len,
       size_t *out_len, struct directive_notes *notes)
{
  ohr_error_t err = NULL;
  struct directive_notes scratch = { 0 };
  char *out = NULL;
  int r = directive_map_line (pm, line, len, &out, out_len,
                              notes ? notes : &scratch, &err);
  directive_notes_clear (&scratch);
  assert_true (r >= 0);
  assert_null (err);
  if (r == 0)
    {
      assert_null (out);
      out = malloc (len + 1);
      memcpy (out, line, len);
      out[len] = '\0';
      *out_len = len;
    }
  return out;
}

/* in maps to want (NULL: passes unchanged), with no note. */
static void
check (struct directive_pathmap *pm, const char *in, const char *want)
{
  struct directive_notes notes = { 0 };
  size_t len;
  char *got = map_n (pm, in, strlen (in), &len, &notes);
  if (strcmp (got, want ? want : in) != 0)
    fail_msg ("'%s'\n  gave '%s'\n  want '%s'", in, got, want ? want : in);
  if (notes.n != 0)
    fail_msg ("'%s': unexpected note on '%s'", in, notes.v[0].path);
  directive_notes_clear (&notes);
  free (got);
}

/* The same directive in both syntaxes. */
static void
check2 (struct directive_pathmap *pm, const char *kv, const char *want_kv)
{
  char *in = NULL, *want = NULL;
  static const char *const prefixes[] = { "cargo:", "cargo::" };
  for (size_t i = 0; i < 2; i++)
    {
      assert_true (asprintf (&in, "%s%s", prefixes[i], kv) > 0);
      if (want_kv)
        assert_true (asprintf (&want, "%s%s", prefixes[i], want_kv) > 0);
      check (pm, in, want);
      free (in);
      free (want);
      want = NULL;
    }
}

static void
test_link_search (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm, "rustc-link-search=/cargo/out/lib",
          "rustc-link-search=" OUT "/lib");
  static const char *const kinds[]
      = { "native", "dependency", "crate", "framework", "all" };
  for (size_t i = 0; i < 5; i++)
    {
      char *in, *want;
      assert_true (
          asprintf (&in, "rustc-link-search=%s=/cargo/build/x", kinds[i]) > 0);
      assert_true (
          asprintf (&want, "rustc-link-search=%s=" BUILD "/x", kinds[i]) > 0);
      check2 (pm, in, want);
      free (in);
      free (want);
    }
  /* rustc strips only its own kinds: "static=/x" is a relative path */
  check2 (pm, "rustc-link-search=static=/cargo/out", NULL);
  check2 (pm, "rustc-link-search=lib", NULL);
  check2 (pm, "rustc-link-search=/cargo/toolchain/lib/rustlib",
          "rustc-link-search=" TC "/lib/rustlib");
  directive_pathmap_free (pm);
}

static void
test_component_boundaries (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm, "rustc-link-search=/cargo/out", "rustc-link-search=" OUT);
  check2 (pm, "rustc-link-search=/cargo/out/", "rustc-link-search=" OUT "/");
  check2 (pm, "rerun-if-changed=/cargo/src/build.rs",
          "rerun-if-changed=" SRC "/build.rs");
  check2 (pm, "rerun-if-changed=/cargo/bin/build-script",
          "rerun-if-changed=" BUILD "/foo-2/build-script-build");

  /* /cargo/outer is no path under /cargo/out: not mapped, and reported */
  struct directive_notes notes = { 0 };
  size_t len;
  char *got
      = map_n (pm, "cargo:rustc-link-search=/cargo/outer", 36, &len, &notes);
  assert_string_equal (got, "cargo:rustc-link-search=/cargo/outer");
  assert_int_equal (notes.n, 1);
  assert_int_equal (notes.v[0].kind, DIRECTIVE_NOTE_OUTSIDE);
  free (got);
  directive_notes_clear (&notes);
  check2 (pm, "rustc-env=X=/cargo/outer /cargo/out.bak /cargo/src2", NULL);
  directive_pathmap_free (pm);
}

static void
test_longest_prefix_and_normalized_prefixes (void **state)
{
  /* given out of order, with trailing and doubled slashes */
  static const struct directive_map nested[] = {
    { "/cargo/", "/host/root/" },
    { "/cargo//out/", "/host/out" },
    { "/cargo/out/sub", "/elsewhere" },
  };
  ohr_error_t err = NULL;
  struct directive_pathmap *pm = NULL;
  assert_int_equal (directive_pathmap_new (nested, 3, NULL, 0, &pm, &err), 0);
  check (pm, "cargo:rustc-link-search=/cargo/out/sub/x",
         "cargo:rustc-link-search=/elsewhere/x");
  check (pm, "cargo:rustc-link-search=/cargo/out/subway",
         "cargo:rustc-link-search=/host/out/subway");
  check (pm, "cargo:rustc-link-search=/cargo/outer",
         "cargo:rustc-link-search=/host/root/outer");
  check (pm, "cargo:rustc-env=P=/cargo/out/sub:/cargo/out:/cargo/x",
         "cargo:rustc-env=P=/elsewhere:/host/out:/host/root/x");
  directive_pathmap_free (pm);
}

static void
test_pathmap_refuses_bad_prefixes (void **state)
{
  static const struct directive_map bad[][1] = {
    { { "/", "/host" } },        /* would claim every path */
    { { "cargo/out", "/h" } },   /* relative */
    { { "/cargo/../x", "/h" } }, /* ".." */
    { { "/cargo/out", "/" } },   /* host root */
    { { "/cargo/out", "h" } },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      ohr_error_t err = NULL;
      struct directive_pathmap *pm = NULL;
      assert_true (directive_pathmap_new (bad[i], 1, NULL, 0, &pm, &err) < 0);
      assert_null (pm);
      assert_non_null (err);
      assert_int_equal (err->status, EINVAL);
      ohr_error_free (&err);
    }
  const char *bad_allowed[] = { "usr" };
  ohr_error_t err = NULL;
  struct directive_pathmap *pm = NULL;
  assert_true (directive_pathmap_new (maps, N_MAPS, bad_allowed, 1, &pm, &err)
               < 0);
  assert_non_null (err);
  ohr_error_free (&err);
}

static void
test_rerun_if_changed (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm, "rerun-if-changed=/cargo/src/wrapper.h",
          "rerun-if-changed=" SRC "/wrapper.h");
  check2 (pm, "rerun-if-changed=/cargo/src", "rerun-if-changed=" SRC);
  /* relative to the package root on both sides */
  check2 (pm, "rerun-if-changed=build.rs", NULL);
  check2 (pm, "rerun-if-changed=src/cargo/out", NULL);
  check2 (pm, "rerun-if-changed=../shared/x.h", NULL);
  /* a path with a separator in it is still one path */
  check2 (pm, "rerun-if-changed=/cargo/src/a b:c.h",
          "rerun-if-changed=" SRC "/a b:c.h");
  check2 (pm, "rerun-if-changed=/usr/include/zlib.h", NULL);
  check2 (pm, "rerun-if-env-changed=/cargo/out", NULL);
  directive_pathmap_free (pm);
}

static void
test_link_args (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  static const char *const keys[] = {
    "rustc-link-arg",         "rustc-link-arg-bins",
    "rustc-link-arg-tests",   "rustc-link-arg-examples",
    "rustc-link-arg-benches", "rustc-link-arg-cdylib",
    "rustc-cdylib-link-arg",
  };
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    {
      char *in, *want;
      assert_true (asprintf (&in, "%s=-Wl,-rpath,/cargo/out/lib", keys[i])
                   > 0);
      assert_true (asprintf (&want, "%s=-Wl,-rpath," OUT "/lib", keys[i]) > 0);
      check2 (pm, in, want);
      free (in);
      free (want);
    }
  check2 (pm, "rustc-link-arg=/cargo/out/libfoo.a",
          "rustc-link-arg=" OUT "/libfoo.a");
  check2 (pm, "rustc-link-arg=-L/cargo/out", "rustc-link-arg=-L" OUT);
  check2 (pm, "rustc-link-arg=@/cargo/out/args",
          "rustc-link-arg=@" OUT "/args");
  check2 (pm, "rustc-link-arg=-Wl,--version-script=/cargo/src/v.map",
          "rustc-link-arg=-Wl,--version-script=" SRC "/v.map");
  check2 (pm, "rustc-link-arg=-Wl,-rpath,$ORIGIN:/cargo/out",
          "rustc-link-arg=-Wl,-rpath,$ORIGIN:" OUT);
  check2 (pm, "rustc-link-arg=-lfoo", NULL);
  check2 (pm, "rustc-link-arg=x/cargo/out", NULL);
  check2 (pm, "rustc-link-arg=file:///cargo/out", NULL);
  check2 (pm, "rustc-link-arg-bin=server=/cargo/out/s.o",
          "rustc-link-arg-bin=server=" OUT "/s.o");
  check2 (pm, "rustc-link-arg-bin=srv=-Wl,-T,/cargo/src/l.ld",
          "rustc-link-arg-bin=srv=-Wl,-T," SRC "/l.ld");
  /* no BIN=: Cargo refuses the line */
  check2 (pm, "rustc-link-arg-bin=/cargo/out/s.o", NULL);
  directive_pathmap_free (pm);
}

static void
test_rustc_flags (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm,
          "rustc-flags=-L /cargo/out -lfoo  -L/cargo/build/x\t-L "
          "native=/cargo/out/n -Lall=/cargo/src -l static=bar",
          "rustc-flags=-L " OUT " -lfoo  -L" BUILD "/x\t-L native=" OUT
          "/n -Lall=" SRC " -l static=bar");
  /* Unicode whitespace separates words for Cargo too (U+00A0) */
  check2 (pm, "rustc-flags=-L\xc2\xa0/cargo/out",
          "rustc-flags=-L\xc2\xa0" OUT);
  /* after a bare -l the next word is a library name, whatever it is */
  check2 (pm, "rustc-flags=-l -L/cargo/out", NULL);
  check2 (pm, "rustc-flags=-lz -L/usr/lib", NULL);
  check2 (pm, "rustc-flags=--cfg /cargo/out", NULL);
  check2 (pm, "rustc-flags= -L/cargo/out", "rustc-flags= -L" OUT);
  directive_pathmap_free (pm);
}

static void
test_rustc_env (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm, "rustc-env=BINDINGS=/cargo/out/bindings.rs",
          "rustc-env=BINDINGS=" OUT "/bindings.rs");
  check2 (pm, "rustc-env=P=/cargo/toolchain/bin:/usr/bin:/cargo/out",
          "rustc-env=P=" TC "/bin:/usr/bin:" OUT);
  check2 (pm, "rustc-env=F=-I/cargo/out/include -I /cargo/src/inc",
          "rustc-env=F=-I" OUT "/include -I " SRC "/inc");
  check2 (pm, "rustc-env=J={\"dir\":\"/cargo/out\"}",
          "rustc-env=J={\"dir\":\"" OUT "\"}");
  check2 (pm, "rustc-env=K=a=/cargo/out", "rustc-env=K=a=" OUT);
  check2 (pm, "rustc-env=/cargo/out=x", NULL); /* the name is not a value */
  check2 (pm, "rustc-env=R=rel/cargo/out", NULL);
  check2 (pm, "rustc-env=NOVALUE", NULL);
  check2 (pm, "rustc-env=V=1.2.3", NULL);
  directive_pathmap_free (pm);
}

static void
test_metadata (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check (pm, "cargo:include=/cargo/out/include",
         "cargo:include=" OUT "/include");
  check (pm, "cargo::metadata=include=/cargo/out/include",
         "cargo::metadata=include=" OUT "/include");
  check (pm, "cargo:root=/cargo/out", "cargo:root=" OUT);
  check (pm, "cargo:conf=OPENSSL_NO_SSL3", NULL);
  /* old syntax: "metadata" is an ordinary key there, value "k=/x" */
  check (pm, "cargo:metadata=include=/cargo/out",
         "cargo:metadata=include=" OUT);
  check (pm, "cargo:metadata=/cargo/out", "cargo:metadata=" OUT);
  /* old syntax: "error" is not reserved, so it is metadata (mapped too) */
  check (pm, "cargo:error=/cargo/out/x", "cargo:error=" OUT "/x");
  /* new syntax: an unknown key is an error for Cargo */
  check (pm, "cargo::include=/cargo/out", NULL);
  check (pm, "cargo::metadata=/cargo/out", NULL);
  directive_pathmap_free (pm);
}

static void
test_messages (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm, "warning=cannot read /cargo/out/x.h: not found",
          "warning=cannot read " OUT "/x.h: not found");
  check (pm, "cargo::error=missing /cargo/src/vendor (run git submodule)",
         "cargo::error=missing " SRC "/vendor (run git submodule)");
  directive_pathmap_free (pm);
}

static void
test_untouched_keys (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check2 (pm, "rustc-link-lib=static=foo", NULL);
  check2 (pm, "rustc-link-lib=dylib:+verbatim=/cargo/out/x", NULL);
  check2 (pm, "rustc-cfg=gen=\"/cargo/out\"", NULL);
  check2 (pm, "rustc-check-cfg=cfg(gen, values(\"/cargo/out\"))", NULL);
  check2 (pm, "rerun-if-env-changed=CARGO_OUT", NULL);
  directive_pathmap_free (pm);
}

static void
test_not_directives (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check (pm, "/cargo/out/x", NULL);
  check (pm, "wrote /cargo/out/bindings.rs", NULL);
  check (pm, "note: cargo:rustc-link-search=/cargo/out", NULL);
  check (pm, "Cargo:rustc-link-search=/cargo/out", NULL);
  check (pm, "cargo :rustc-link-search=/cargo/out", NULL);
  check (pm, "cargo:rustc-link-search", NULL); /* no '=' */
  check (pm, "cargo::warning", NULL);
  check (pm, "", NULL);
  directive_pathmap_free (pm);
}

static void
test_whitespace_and_crlf (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  /* Cargo trims the line (Unicode whitespace) first; we keep the bytes */
  check (pm, "cargo:rustc-link-search=/cargo/out\r",
         "cargo:rustc-link-search=" OUT "\r");
  check (pm, "  \tcargo:rustc-link-search=/cargo/out \t\r",
         "  \tcargo:rustc-link-search=" OUT " \t\r");
  check (pm,
         "\xc2\xa0\xe3\x80\x80"
         "cargo:rerun-if-changed=/cargo/src\xc2\x85",
         "\xc2\xa0\xe3\x80\x80"
         "cargo:rerun-if-changed=" SRC "\xc2\x85");
  /* a space after '=' belongs to the value: " /cargo/out" is relative */
  check (pm, "cargo:rustc-link-search= /cargo/out", NULL);
  /* a key with a space is not "rustc-link-search": old-syntax metadata */
  check (pm, "cargo:rustc-link-search =/cargo/out",
         "cargo:rustc-link-search =" OUT);
  directive_pathmap_free (pm);
}

static void
test_invalid_utf8_and_nul (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  /* Cargo ignores lines that are not UTF-8: they pass as they are */
  check (pm, "cargo:rustc-link-search=/cargo/out/\xff", NULL);
  check (pm, "cargo:rustc-link-search=/cargo/out/\xed\xa0\x80", NULL);
  check (pm, "cargo:rustc-link-search=/cargo/out/\xc0\xaf", NULL);
  check (pm, "cargo:rustc-link-search=/cargo/out/\xe0\x80\xaf", NULL);
  check (pm, "cargo:rustc-link-search=/cargo/out/\xf4\x90\x80\x80", NULL);
  check (pm, "cargo:rustc-link-search=/cargo/out/\xe2\x82", NULL);
  check (pm, "cargo:rustc-link-search=/cargo/out/\xf0\x9f\xa6\x80",
         "cargo:rustc-link-search=" OUT "/\xf0\x9f\xa6\x80");

  /* NUL is valid UTF-8: the line is a directive, the NUL survives */
  static const char in[] = "cargo:rustc-link-search=/cargo/out/a\0b";
  static const char want[] = "cargo:rustc-link-search=" OUT "/a\0b";
  size_t len;
  char *got = map_n (pm, in, sizeof in - 1, &len, NULL);
  assert_int_equal (len, sizeof want - 1);
  assert_memory_equal (got, want, len);
  free (got);
  static const char nul_line[] = "\0cargo:rustc-link-search=/cargo/out";
  got = map_n (pm, nul_line, sizeof nul_line - 1, &len, NULL);
  assert_int_equal (len, sizeof nul_line - 1);
  assert_memory_equal (got, nul_line, len);
  free (got);
  directive_pathmap_free (pm);
}

/* in gives exactly one note of kind on path. */
static void
check_note (struct directive_pathmap *pm, const char *in,
            enum directive_note_kind kind, const char *key, const char *path)
{
  struct directive_notes notes = { 0 };
  size_t len;
  free (map_n (pm, in, strlen (in), &len, &notes));
  if (notes.n != 1)
    fail_msg ("'%s': %zu notes, want 1", in, notes.n);
  assert_int_equal (notes.v[0].kind, kind);
  assert_string_equal (notes.v[0].key, key);
  assert_string_equal (notes.v[0].path, path);
  assert_non_null (directive_note_reason (kind));
  directive_notes_clear (&notes);
}

static void
test_notes (void **state)
{
  struct directive_pathmap *pm = pathmap ();
  check_note (pm, "cargo:rustc-link-search=/etc/foo", DIRECTIVE_NOTE_OUTSIDE,
              "rustc-link-search", "/etc/foo");
  check_note (pm, "cargo::rustc-link-search=native=/home/u/.ssh",
              DIRECTIVE_NOTE_OUTSIDE, "rustc-link-search", "/home/u/.ssh");
  check_note (pm, "cargo:rerun-if-changed=/etc/passwd", DIRECTIVE_NOTE_OUTSIDE,
              "rerun-if-changed", "/etc/passwd");
  check_note (pm, "cargo:rustc-flags=-L/cargo/out -L /opt/x",
              DIRECTIVE_NOTE_OUTSIDE, "rustc-flags", "/opt/x");
  check_note (pm, "cargo:rustc-link-arg=/root/secret.a",
              DIRECTIVE_NOTE_OUTSIDE, "rustc-link-arg", "/root/secret.a");
  check_note (pm, "cargo:rustc-link-arg-bin=b=/root/s.o",
              DIRECTIVE_NOTE_OUTSIDE, "rustc-link-arg-bin", "/root/s.o");
  check_note (pm, "cargo:rustc-link-search=/lib64x", DIRECTIVE_NOTE_OUTSIDE,
              "rustc-link-search", "/lib64x");
  check_note (pm, "cargo:rustc-link-search=/cargo", DIRECTIVE_NOTE_OUTSIDE,
              "rustc-link-search", "/cargo");
  /* a path argument is one path: "/cargo/src:x" is a name in /cargo */
  check_note (pm, "cargo:rerun-if-changed=/cargo/src:x",
              DIRECTIVE_NOTE_OUTSIDE, "rerun-if-changed", "/cargo/src:x");
  struct directive_notes scratch = { 0 };
  size_t l;
  char *same
      = map_n (pm, "cargo:rustc-link-search=/cargo/out,x", 36, &l, &scratch);
  assert_string_equal (same, "cargo:rustc-link-search=/cargo/out,x");
  free (same);
  directive_notes_clear (&scratch);
  /* under a prefix by its letters, but ".." can climb out of it */
  check_note (pm, "cargo:rustc-link-search=/cargo/out/../../etc",
              DIRECTIVE_NOTE_DOTDOT, "rustc-link-search",
              "/cargo/out/../../etc");
  check_note (pm, "cargo:rerun-if-changed=/usr/../etc/shadow",
              DIRECTIVE_NOTE_DOTDOT, "rerun-if-changed", "/usr/../etc/shadow");

  /* image paths allowed as they are, relative paths, free text: no note */
  check2 (pm, "rustc-link-search=/usr/lib", NULL);
  check2 (pm, "rustc-link-search=native=/usr/lib/x86_64-linux-gnu", NULL);
  check2 (pm, "rustc-link-search=/lib", NULL);
  check2 (pm, "rerun-if-changed=/usr/include/..h", NULL);
  check2 (pm, "rerun-if-changed=../x", NULL);
  check2 (pm, "rustc-link-arg=-Wl,-rpath,/etc", NULL);
  check2 (pm, "rustc-env=X=/etc/foo", NULL);
  check (pm, "cargo:include=/etc", NULL);
  check (pm, "cargo:warning=/etc", NULL);

  /* a key's note keeps the bytes after a NUL out, and paths are cut */
  char *big = malloc (DIRECTIVE_NOTE_PATH_MAX + 64);
  strcpy (big, "cargo:rerun-if-changed=/etc/");
  size_t n = strlen (big);
  memset (big + n, 'a', DIRECTIVE_NOTE_PATH_MAX);
  big[n + DIRECTIVE_NOTE_PATH_MAX] = '\0';
  struct directive_notes notes = { 0 };
  size_t len;
  free (map_n (pm, big, strlen (big), &len, &notes));
  assert_int_equal (notes.n, 1);
  assert_int_equal (strlen (notes.v[0].path), DIRECTIVE_NOTE_PATH_MAX);
  directive_notes_clear (&notes);
  free (big);
  directive_pathmap_free (pm);
}

static void
test_allowed_root (void **state)
{
  static const char *const all[] = { "/" };
  ohr_error_t err = NULL;
  struct directive_pathmap *pm = NULL;
  assert_int_equal (directive_pathmap_new (maps, N_MAPS, all, 1, &pm, &err),
                    0);
  check (pm, "cargo:rustc-link-search=/etc/foo", NULL);
  directive_pathmap_free (pm);
}

/* ---- the streaming filter */

struct sink
{
  char *p;
  size_t len;
  size_t writes;
  int fail_after; /* fail the write after this many; -1 never */
};

static int
sink_write (void *ctx, const void *buf, size_t len, ohr_error_t *err)
{
  struct sink *s = ctx;
  assert_true (len > 0);
  if (s->fail_after >= 0 && s->writes >= (size_t)s->fail_after)
    return ohr_error_set (err, EPIPE, OHR_ERR_INTERNAL, "cargo went away");
  s->p = realloc (s->p, s->len + len);
  assert_non_null (s->p);
  memcpy (s->p + s->len, buf, len);
  s->len += len;
  s->writes++;
  return 0;
}

static struct directive_filter *
filter (struct sink *s)
{
  ohr_error_t err = NULL;
  *s = (struct sink){ .fail_after = -1 };
  struct directive_filter *f = directive_filter_new (
      maps, N_MAPS, allowed, N_ALLOWED, sink_write, s, &err);
  assert_non_null (f);
  assert_null (err);
  return f;
}

static void
feed_ok (struct directive_filter *f, const void *buf, size_t len)
{
  ohr_error_t err = NULL;
  if (directive_filter_feed (f, buf, len, &err) < 0)
    fail_msg ("feed: %s", err->msg);
}

static void
finish_ok (struct directive_filter *f)
{
  ohr_error_t err = NULL;
  if (directive_filter_finish (f, &err) < 0)
    fail_msg ("finish: %s", err->msg);
}

/* Run in through a filter in pieces of chunk bytes (0: one piece). */
static struct sink
run_filter (const char *in, size_t len, size_t chunk,
            struct directive_notes *copy_notes)
{
  struct sink s;
  struct directive_filter *f = filter (&s);
  if (chunk == 0)
    chunk = len ? len : 1;
  for (size_t i = 0; i < len; i += chunk)
    feed_ok (f, in + i, len - i < chunk ? len - i : chunk);
  finish_ok (f);
  if (copy_notes)
    {
      const struct directive_notes *n = directive_filter_notes (f);
      copy_notes->n = n->n;
      copy_notes->dropped = n->dropped;
      for (size_t i = 0; i < n->n && i < 8; i++)
        copy_notes->v[i]
            = (struct directive_note){ n->v[i].kind, strdup (n->v[i].key),
                                       strdup (n->v[i].path) };
    }
  directive_filter_free (f);
  return s;
}

static const char mixed[]
    = "plain output /cargo/out/x\n"
      "cargo:rustc-link-search=native=/cargo/out/lib\r\n"
      "cargo::rustc-link-search=/etc/foo\n"
      "\xff\xfe not utf-8 cargo:rustc-link-search=/cargo/out\n"
      "\0nul\0bytes\0/cargo/out\n"
      "cargo:rustc-link-search=/cargo/out/a\0b\n"
      "cargo:rustc-flags=-L /cargo/out -lz -L/cargo/build/d\n"
      "cargo:rustc-env=GEN=/cargo/out/gen.rs\n"
      "cargo::metadata=include=/cargo/out/include\n"
      "cargo:include=/cargo/out/include\n"
      "cargo:warning=see /cargo/out/log\n"
      "cargo:rerun-if-changed=build.rs\n"
      "cargo:rerun-if-changed=/usr/include/zlib.h\n"
      "\n\n\r\n"
      "cargo:rustc-link-arg=-Wl,-rpath,/cargo/out\n"
      "cargo:rustc-link-search=/cargo/out";

static const char mixed_want[]
    = "plain output /cargo/out/x\n"
      "cargo:rustc-link-search=native=" OUT "/lib\r\n"
      "cargo::rustc-link-search=/etc/foo\n"
      "\xff\xfe not utf-8 cargo:rustc-link-search=/cargo/out\n"
      "\0nul\0bytes\0/cargo/out\n"
      "cargo:rustc-link-search=" OUT "/a\0b\n"
      "cargo:rustc-flags=-L " OUT " -lz -L" BUILD "/d\n"
      "cargo:rustc-env=GEN=" OUT "/gen.rs\n"
      "cargo::metadata=include=" OUT "/include\n"
      "cargo:include=" OUT "/include\n"
      "cargo:warning=see " OUT "/log\n"
      "cargo:rerun-if-changed=build.rs\n"
      "cargo:rerun-if-changed=/usr/include/zlib.h\n"
      "\n\n\r\n"
      "cargo:rustc-link-arg=-Wl,-rpath," OUT "\n"
      "cargo:rustc-link-search=" OUT;

static void
test_filter_chunking_gives_same_output (void **state)
{
  static const size_t chunks[] = { 0, 1, 2, 3, 7, 13, 64, 4096 };
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
    {
      struct directive_note v[8];
      struct directive_notes notes = { .v = v };
      struct sink s = run_filter (mixed, sizeof mixed - 1, chunks[c], &notes);
      if (s.len != sizeof mixed_want - 1
          || memcmp (s.p, mixed_want, s.len) != 0)
        fail_msg ("chunk %zu: output differs", chunks[c]);
      assert_int_equal (notes.n, 1);
      assert_int_equal (notes.v[0].kind, DIRECTIVE_NOTE_OUTSIDE);
      assert_string_equal (notes.v[0].key, "rustc-link-search");
      assert_string_equal (notes.v[0].path, "/etc/foo");
      free (notes.v[0].key);
      free (notes.v[0].path);
      free (s.p);
    }
}

static void
test_filter_every_byte_passes (void **state)
{
  /* all 256 byte values, in lines and across line ends */
  char in[4 * 256];
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (char)(i * 7 % 256);
  for (size_t chunk = 0; chunk < 4; chunk++)
    {
      struct sink s = run_filter (in, sizeof in, chunk, NULL);
      assert_int_equal (s.len, sizeof in);
      assert_memory_equal (s.p, in, sizeof in);
      free (s.p);
    }
}

static void
test_filter_streams_complete_lines (void **state)
{
  struct sink s;
  struct directive_filter *f = filter (&s);
  static const char a[] = "cargo:warning=building /cargo/out\ncargo:rustc-li";
  feed_ok (f, a, sizeof a - 1);
  /* the first line is out before the second is complete */
  static const char want1[] = "cargo:warning=building " OUT "\n";
  assert_int_equal (s.len, sizeof want1 - 1);
  assert_memory_equal (s.p, want1, s.len);
  static const char b[] = "nk-search=/cargo/out\nplain";
  feed_ok (f, b, sizeof b - 1);
  static const char want2[] = "cargo:warning=building " OUT "\n"
                              "cargo:rustc-link-search=" OUT "\n";
  assert_int_equal (s.len, sizeof want2 - 1);
  assert_memory_equal (s.p, want2, s.len);
  finish_ok (f);
  /* the last line has no '\n' and gets none */
  assert_int_equal (s.len, sizeof want2 - 1 + 5);
  assert_memory_equal (s.p + s.len - 5, "plain", 5);

  /* used up */
  ohr_error_t err = NULL;
  assert_true (directive_filter_feed (f, "x", 1, &err) < 0);
  assert_non_null (err);
  ohr_error_free (&err);
  directive_filter_free (f);
  free (s.p);
}

static void
test_filter_batches_unchanged_lines (void **state)
{
  struct sink s;
  struct directive_filter *f = filter (&s);
  static const char in[] = "a\nb\nc\ncargo:rustc-cfg=x\n";
  feed_ok (f, in, sizeof in - 1);
  assert_int_equal (s.writes, 1);
  finish_ok (f);
  directive_filter_free (f);
  free (s.p);
}

/* A directive line of total length len (without '\n') whose path is under
 * /cargo/out, padded with 'a's. */
static char *
long_directive (size_t len)
{
  static const char head[] = "cargo:rustc-link-search=/cargo/out/";
  char *s = malloc (len + 2);
  memcpy (s, head, sizeof head - 1);
  memset (s + sizeof head - 1, 'a', len - (sizeof head - 1));
  s[len] = '\n';
  s[len + 1] = '\0';
  return s;
}

static void
test_filter_long_lines (void **state)
{
  size_t max = DIRECTIVE_LINE_MAX;
  static const size_t chunks[] = { 0, 1, 4096, 65537 };

  /* exactly the limit: mapped, however it is fed */
  char *at = long_directive (max);
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
    {
      struct directive_note v[8];
      struct directive_notes notes = { .v = v };
      struct sink s = run_filter (at, max + 1, chunks[c], &notes);
      size_t grow = strlen (OUT) - strlen ("/cargo/out");
      assert_int_equal (s.len, max + 1 + grow);
      assert_memory_equal (s.p + 24, OUT "/aaa", strlen (OUT) + 4);
      assert_int_equal (notes.n, 0);
      free (s.p);
    }
  free (at);

  /* one byte over: passed through unmapped, and reported */
  char *over = long_directive (max + 1);
  char *in = NULL;
  assert_true (asprintf (&in, "%scargo:rustc-link-search=/cargo/out\n", over)
               > 0);
  size_t in_len = strlen (in);
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
    {
      struct directive_note v[8];
      struct directive_notes notes = { .v = v };
      struct sink s = run_filter (in, in_len, chunks[c], &notes);
      assert_int_equal (s.len, max + 2 + strlen ("cargo:rustc-link-search=")
                                   + strlen (OUT) + 1);
      assert_memory_equal (s.p, over, max + 2);
      assert_int_equal (notes.n, 1);
      assert_int_equal (notes.v[0].kind, DIRECTIVE_NOTE_TOO_LONG);
      assert_string_equal (notes.v[0].key, "rustc-link-search");
      assert_string_equal (notes.v[0].path, "");
      free (notes.v[0].key);
      free (notes.v[0].path);
      free (s.p);
    }
  free (in);
  free (over);

  /* Cargo trims before it looks: whitespace past the limit then a
   * directive is still reported, the same however it is fed */
  char *ws = malloc (max + 64);
  memset (ws, ' ', max + 8);
  strcpy (ws + max + 8, "cargo:rustc-link-search=/etc\n");
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
    {
      struct directive_note v[8];
      struct directive_notes notes = { .v = v };
      struct sink s = run_filter (ws, strlen (ws), chunks[c], &notes);
      assert_int_equal (s.len, strlen (ws));
      assert_int_equal (notes.n, 1);
      assert_int_equal (notes.v[0].kind, DIRECTIVE_NOTE_TOO_LONG);
      assert_string_equal (notes.v[0].key, "");
      free (notes.v[0].key);
      free (notes.v[0].path);
      free (s.p);
    }
  free (ws);
}

static void
test_filter_long_line_is_streamed (void **state)
{
  /* 3 MiB without '\n': most of it is out before the line ends, so the
   * filter holds at most DIRECTIVE_LINE_MAX of it */
  size_t len = 3 * (size_t)DIRECTIVE_LINE_MAX;
  char *in = malloc (len);
  memset (in, 'x', len);
  struct sink s;
  struct directive_filter *f = filter (&s);
  for (size_t i = 0; i < len; i += 65536)
    {
      feed_ok (f, in + i, 65536);
      assert_true (s.len + DIRECTIVE_LINE_MAX >= i + 65536);
    }
  assert_int_equal (s.len, len);
  feed_ok (f, "\ncargo:rustc-link-search=/cargo/out\n", 36);
  finish_ok (f);
  assert_memory_equal (s.p + len, "\ncargo:rustc-link-search=" OUT "\n",
                       strlen (OUT) + 26);
  /* not a directive: no note */
  assert_int_equal (directive_filter_notes (f)->n, 0);
  directive_filter_free (f);
  free (s.p);
  free (in);
}

static void
test_filter_notes_are_bounded (void **state)
{
  struct sink s;
  struct directive_filter *f = filter (&s);
  static const char line[] = "cargo:rerun-if-changed=/etc/x\n";
  for (size_t i = 0; i < DIRECTIVE_NOTES_MAX + 10; i++)
    feed_ok (f, line, sizeof line - 1);
  finish_ok (f);
  const struct directive_notes *n = directive_filter_notes (f);
  assert_int_equal (n->n, DIRECTIVE_NOTES_MAX);
  assert_int_equal (n->dropped, 10);
  assert_int_equal (s.len, (DIRECTIVE_NOTES_MAX + 10) * (sizeof line - 1));
  directive_filter_free (f);
  free (s.p);
}

static void
test_filter_write_failure (void **state)
{
  struct sink s;
  struct directive_filter *f = filter (&s);
  s.fail_after = 1;
  ohr_error_t err = NULL;
  feed_ok (f, "a\n", 2);
  assert_true (
      directive_filter_feed (f, "cargo:warning=/cargo/out\n", 25, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, EPIPE);
  assert_string_equal (err->msg, "cargo went away");
  ohr_error_free (&err);
  assert_true (directive_filter_finish (f, &err) < 0);
  ohr_error_free (&err);
  directive_filter_free (f);
  free (s.p);
}

static void
test_filter_refuses_bad_map (void **state)
{
  static const struct directive_map bad[] = { { "/", "/h" } };
  ohr_error_t err = NULL;
  struct sink s = { 0 };
  assert_null (directive_filter_new (bad, 1, NULL, 0, sink_write, &s, &err));
  assert_non_null (err);
  ohr_error_free (&err);
}

/* ---- the image's own files: rerun-if-changed into its checkout */

/* A small image tree: files, a relative and an absolute symlink, a
 * merged-/usr link, links that climb above the root, lead under mounts
 * (/tmp, /cargo/src) or loop. */
static char *
make_image (void)
{
  char *root = strdup ("/tmp/ohr-test-image-XXXXXX");
  assert_non_null (mkdtemp (root));
  static const char *const dirs[] = { "usr", "usr/include", "usr/lib", "etc" };
  static const char *const files[]
      = { "usr/include/x.h", "usr/lib/libz.so", "etc/real.h", "etc/passwd" };
  static const char *const links[][2] = {
    { "lib", "usr/lib" },
    { "usr/include/rel", "x.h" },
    { "usr/include/abs", "/etc/real.h" },
    { "usr/include/up", "../../../../../../etc/real.h" },
    { "usr/include/totmp", "/tmp/x" },
    { "usr/include/tosrc", "/cargo/src/build.rs" },
    { "usr/include/dirlink", "/usr/include" },
    { "loop1", "loop2" },
    { "loop2", "/loop1" },
  };
  char path[4096];
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      snprintf (path, sizeof path, "%s/%s", root, dirs[i]);
      assert_int_equal (mkdir (path, 0755), 0);
    }
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    {
      snprintf (path, sizeof path, "%s/%s", root, files[i]);
      int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0644);
      assert_true (fd >= 0);
      close (fd);
    }
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    {
      snprintf (path, sizeof path, "%s/%s", root, links[i][0]);
      assert_int_equal (symlink (links[i][1], path), 0);
    }
  return root;
}

/* The container's mounts, as view.c makes them with canonical paths and a
 * policy mount of /srv/sdk at /opt/sdk and /usr/lib/ssl as it is. */
static void
image_mounts (struct mount_table *t)
{
  ohr_error_t err = NULL;
  assert_int_equal (mounts_add (t, "/proc", "proc", "proc", NULL, &err), 0);
  assert_int_equal (mounts_add (t, "/tmp", "tmpfs", "tmpfs", NULL, &err), 0);
  assert_int_equal (mounts_add (t, "/cargo", "tmpfs", "tmpfs", NULL, &err), 0);
  assert_int_equal (mounts_add_bind (t, SRC, "/cargo/src", false, false, &err),
                    0);
  assert_int_equal (mounts_add_bind (t, OUT, "/cargo/out", true, false, &err),
                    0);
  assert_int_equal (
      mounts_add_bind (t, "/srv/sdk", "/opt/sdk", false, true, &err), 0);
  assert_int_equal (
      mounts_add_bind (t, "/usr/lib/ssl", "/usr/lib/ssl", false, true, &err),
      0);
}

static struct directive_pathmap *
image_pathmap (const char *root, const struct mount_table *t)
{
  struct directive_pathmap *pm = pathmap ();
  ohr_error_t err = NULL;
  if (directive_pathmap_set_image (pm, root, t, &err) < 0)
    fail_msg ("directive_pathmap_set_image: %s", err->msg);
  return pm;
}

/* cargo::KEY=IN maps to cargo::KEY=ROOT WANT (root NULL: to WANT), with no
 * note. */
static void
check_in_image (struct directive_pathmap *pm, const char *key, const char *in,
                const char *root, const char *want)
{
  char *line, *expect;
  assert_true (asprintf (&line, "cargo::%s=%s", key, in) > 0);
  assert_true (
      asprintf (&expect, "cargo::%s=%s%s", key, root ? root : "", want) > 0);
  check (pm, line, expect);
  free (line);
  free (expect);
}

static void
test_image_rerun_if_changed (void **state)
{
  char *root = make_image ();
  struct mount_table t = { 0 };
  image_mounts (&t);
  struct directive_pathmap *pm = image_pathmap (root, &t);
  const char *k = "rerun-if-changed";
  /* a file of the image: its checkout, whatever the host has there */
  check_in_image (pm, k, "/usr/include/x.h", root, "/usr/include/x.h");
  check_in_image (pm, k, "/etc/passwd", root, "/etc/passwd");
  check_in_image (pm, k, "/usr/include/", root, "/usr/include");
  check_in_image (pm, k, "/", root, "");
  check_in_image (pm, k, "//usr/./include//x.h", root, "/usr/include/x.h");
  /* symlinks resolved inside the image: an absolute one names the
   * image's file, not the host's */
  check_in_image (pm, k, "/usr/include/rel", root, "/usr/include/x.h");
  check_in_image (pm, k, "/usr/include/abs", root, "/etc/real.h");
  check_in_image (pm, k, "/lib/libz.so", root, "/usr/lib/libz.so");
  check_in_image (pm, k, "/usr/include/dirlink/x.h", root, "/usr/include/x.h");
  /* ".." stops at the image's root, as in the container: no note */
  check_in_image (pm, k, "/usr/include/up", root, "/etc/real.h");
  check_in_image (pm, k, "/usr/../etc/passwd", root, "/etc/passwd");
  check_in_image (pm, k, "/../../etc/passwd", root, "/etc/passwd");
  /* missing in the image: missing on the host too, so Cargo runs the
   * script again, as it would natively; the rest stays as printed, so
   * the host stops where the container did */
  check_in_image (pm, k, "/usr/include/gone.h", root, "/usr/include/gone.h");
  check_in_image (pm, k, "/usr/gone/../include/x.h", root,
                  "/usr/gone/../include/x.h");
  check_in_image (pm, k, "/etc/passwd/x", root, "/etc/passwd/x");
  check_in_image (pm, k, "/etc/passwd/..", root, "/etc/passwd/..");
  /* a link loop: the checkout's path as printed (the host meets the same
   * loop there) */
  check_in_image (pm, k, "/loop1", root, "/loop1");
  /* pairs and binds come first: the package, OUT_DIR, a policy mount */
  check_in_image (pm, k, "/cargo/src/build.rs", NULL, SRC "/build.rs");
  check_in_image (pm, k, "/cargo/out/gen.rs", NULL, OUT "/gen.rs");
  check_in_image (pm, k, "/opt/sdk/include/s.h", NULL, "/srv/sdk/include/s.h");
  check_in_image (pm, k, "/usr/lib/ssl/openssl.cnf", NULL,
                  "/usr/lib/ssl/openssl.cnf");
  /* a symlink of the image that leads under a pair: the pair's host path */
  check_in_image (pm, k, "/usr/include/tosrc", NULL, SRC "/build.rs");
  /* relative: the package's own (Cargo resolves it in the package root) */
  check (pm, "cargo::rerun-if-changed=build.rs", NULL);
  /* under a mount with nothing on the host: reported, passed as printed */
  check_note (pm, "cargo::rerun-if-changed=/tmp/x", DIRECTIVE_NOTE_OUTSIDE,
              "rerun-if-changed", "/tmp/x");
  check_note (pm, "cargo::rerun-if-changed=/proc/cpuinfo",
              DIRECTIVE_NOTE_OUTSIDE, "rerun-if-changed", "/proc/cpuinfo");
  check_note (pm, "cargo::rerun-if-changed=/usr/include/totmp",
              DIRECTIVE_NOTE_OUTSIDE, "rerun-if-changed",
              "/usr/include/totmp");
  check_note (pm, "cargo::rerun-if-changed=/cargo/x", DIRECTIVE_NOTE_OUTSIDE,
              "rerun-if-changed", "/cargo/x");
  /* the old syntax too */
  char *want;
  assert_true (asprintf (&want, "cargo:rerun-if-changed=%s/etc/real.h", root)
               > 0);
  check (pm, "cargo:rerun-if-changed=/usr/include/abs", want);
  free (want);
  directive_pathmap_free (pm);
  mounts_free (&t);
  fs_rm_rf (root, NULL);
  free (root);
}

/* Only rerun-if-changed goes into the checkout: the linker's paths stay
 * the host's, metadata goes to dependents that run in the image, env
 * values and messages are free text.  Binds map back for every path. */
static void
test_image_other_directives (void **state)
{
  char *root = make_image ();
  struct mount_table t = { 0 };
  image_mounts (&t);
  struct directive_pathmap *pm = image_pathmap (root, &t);
  check2 (pm, "rustc-link-search=native=/usr/lib", NULL);
  check2 (pm, "rustc-flags=-L /usr/lib -lz", NULL);
  check2 (pm, "rustc-link-arg=/usr/lib/libz.so", NULL);
  check2 (pm, "rustc-env=H=/usr/include/x.h", NULL);
  check (pm, "cargo::metadata=include=/usr/include", NULL);
  check (pm, "cargo:include=/usr/include", NULL);
  check2 (pm, "warning=read /usr/include/x.h", NULL);
  check_note (pm, "cargo::rustc-link-search=/srv/x", DIRECTIVE_NOTE_OUTSIDE,
              "rustc-link-search", "/srv/x");
  /* a policy mount: its source, for the linker too */
  check2 (pm, "rustc-link-search=native=/opt/sdk/lib",
          "rustc-link-search=native=/srv/sdk/lib");
  check2 (pm, "rustc-flags=-L/opt/sdk/lib", "rustc-flags=-L/srv/sdk/lib");
  check2 (pm, "rustc-link-arg=/opt/sdk/lib/libs.a",
          "rustc-link-arg=/srv/sdk/lib/libs.a");
  check2 (pm, "rustc-link-arg=/cargo/out/x.o", "rustc-link-arg=" OUT "/x.o");
  /* free text maps the pairs only, as without an image */
  check2 (pm, "rustc-env=S=/opt/sdk", NULL);
  directive_pathmap_free (pm);
  mounts_free (&t);
  fs_rm_rf (root, NULL);
  free (root);
}

/* The host image: no checkout to map into, its /usr a bind of the host's:
 * image paths stay, as before; an unmounted one is reported. */
static void
test_host_image (void **state)
{
  struct mount_table t = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (mounts_add_bind (&t, "/usr", "/usr", false, true, &err),
                    0);
  assert_int_equal (mounts_add (&t, "/tmp", "tmpfs", "tmpfs", NULL, &err), 0);
  struct directive_pathmap *pm = image_pathmap (NULL, &t);
  check2 (pm, "rerun-if-changed=/usr/include/stdio.h", NULL);
  check2 (pm, "rustc-link-search=native=/usr/lib/x86_64-linux-gnu", NULL);
  check2 (pm, "rerun-if-changed=/cargo/src/a", "rerun-if-changed=" SRC "/a");
  check_note (pm, "cargo:rerun-if-changed=/root/x", DIRECTIVE_NOTE_OUTSIDE,
              "rerun-if-changed", "/root/x");
  check_note (pm, "cargo:rerun-if-changed=/usr/../root/x",
              DIRECTIVE_NOTE_DOTDOT, "rerun-if-changed", "/usr/../root/x");
  directive_pathmap_free (pm);
  mounts_free (&t);
}

static void
test_image_set_errors (void **state)
{
  ohr_error_t err = NULL;
  struct directive_pathmap *pm = pathmap ();
  assert_true (
      directive_pathmap_set_image (pm, "/nonexistent/ohr-root", NULL, &err)
      < 0);
  assert_non_null (err);
  assert_int_equal (err->status, ENOENT);
  ohr_error_free (&err);
  directive_pathmap_free (pm);
  pm = pathmap ();
  assert_true (directive_pathmap_set_image (pm, "/", NULL, &err) < 0);
  ohr_error_free (&err);
  directive_pathmap_free (pm);
  pm = pathmap ();
  assert_int_equal (directive_pathmap_set_image (pm, NULL, NULL, &err), 0);
  assert_true (directive_pathmap_set_image (pm, NULL, NULL, &err) < 0);
  ohr_error_free (&err);
  directive_pathmap_free (pm);
}

/* rootpath_resolve on its own: its limits. */
static void
test_rootpath_limits (void **state)
{
  char *root = make_image ();
  int fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  ohr_error_t err = NULL;
  char *out = NULL;
  assert_true (rootpath_resolve (fd, "/loop1", 6, &out, &err) < 0);
  assert_int_equal (err->status, ELOOP);
  assert_null (out);
  ohr_error_free (&err);
  assert_true (rootpath_resolve (fd, "usr", 3, &out, &err) < 0);
  assert_int_equal (err->status, EINVAL);
  ohr_error_free (&err);
  assert_true (rootpath_resolve (fd, "/us\0r", 5, &out, &err) < 0);
  assert_int_equal (err->status, EINVAL);
  ohr_error_free (&err);
  char *big = malloc (8192);
  memset (big, 'a', 8191);
  big[0] = '/';
  assert_true (rootpath_resolve (fd, big, 8191, &out, &err) < 0);
  assert_int_equal (err->status, ENAMETOOLONG);
  ohr_error_free (&err);
  free (big);
  /* only len bytes count */
  assert_int_equal (rootpath_resolve (fd, "/lib/libz.so.1", 12, &out, &err),
                    0);
  assert_string_equal (out, "/usr/lib/libz.so");
  free (out);
  close (fd);
  fs_rm_rf (root, NULL);
  free (root);
}

/* Through the filter, as run mode uses it. */
static void
test_filter_image (void **state)
{
  char *root = make_image ();
  struct mount_table t = { 0 };
  image_mounts (&t);
  struct sink s;
  struct directive_filter *f = filter (&s);
  ohr_error_t err = NULL;
  assert_int_equal (directive_filter_set_image (f, root, &t, &err), 0);
  const char in[] = "cargo::rerun-if-changed=/usr/include/abs\n"
                    "cargo::rerun-if-changed=/cargo/out/x\n"
                    "/usr/include/abs\n";
  feed_ok (f, in, sizeof in - 1);
  finish_ok (f);
  char *want;
  assert_true (asprintf (&want,
                         "cargo::rerun-if-changed=%s/etc/real.h\n"
                         "cargo::rerun-if-changed=" OUT "/x\n"
                         "/usr/include/abs\n",
                         root)
               > 0);
  assert_int_equal (s.len, strlen (want));
  assert_memory_equal (s.p, want, s.len);
  assert_int_equal (directive_filter_notes (f)->n, 0);
  free (want);
  free (s.p);
  directive_filter_free (f);
  mounts_free (&t);
  fs_rm_rf (root, NULL);
  free (root);
}

/* The paths handed on to a later step are kept as the script printed
 * them, with their key; stats, messages and other trees' paths are not. */
static void
test_filter_exports (void **state)
{
  (void)state;
  struct sink s;
  struct directive_filter *f = filter (&s);
  static const char in[]
      = "cargo:rustc-link-search=native=/cargo/out/build/lib\n"
        "cargo:root=/cargo/out\n"
        "cargo::metadata=include=/cargo/out/inc:/cargo/src/inc\n"
        "cargo:rustc-env=DATA=/cargo/out/data.txt\n"
        "cargo:rustc-link-arg=-Wl,-T,/cargo/out/link.x\n"
        "cargo:rustc-flags=-L /cargo/out/l2 -lz\n"
        "cargo:rerun-if-changed=/cargo/out/stamp\n"
        "cargo:warning=see /cargo/out/config.log\n"
        "cargo::error=see /cargo/out/err.log\n"
        "cargo:rustc-link-search=/usr/lib\n"
        "not a directive /cargo/out/x\n";
  feed_ok (f, in, sizeof in - 1);
  const struct directive_exports *x = directive_filter_exports (f);
  static const char *const want[][2] = {
    { "rustc-link-search", "/cargo/out/build/lib" },
    { "root", "/cargo/out" },
    { "include", "/cargo/out/inc" },
    { "include", "/cargo/src/inc" },
    { "rustc-env", "/cargo/out/data.txt" },
    { "rustc-link-arg", "/cargo/out/link.x" },
    { "rustc-flags", "/cargo/out/l2" },
  };
  assert_int_equal (x->n, sizeof want / sizeof *want);
  for (size_t i = 0; i < x->n; i++)
    {
      assert_string_equal (x->v[i].key, want[i][0]);
      assert_string_equal (x->v[i].path, want[i][1]);
    }
  assert_false (x->incomplete);
  directive_filter_free (f);
  free (s.p);

  /* more than DIRECTIVE_EXPORTS_MAX: the rest unknown, said so */
  f = filter (&s);
  static const char one[] = "cargo:rustc-link-search=/cargo/out/l\n";
  for (size_t i = 0; i <= DIRECTIVE_EXPORTS_MAX; i++)
    feed_ok (f, one, sizeof one - 1);
  x = directive_filter_exports (f);
  assert_int_equal (x->n, DIRECTIVE_EXPORTS_MAX);
  assert_true (x->incomplete);
  directive_filter_free (f);
  free (s.p);

  /* a directive too long to read: its paths are unknown */
  f = filter (&s);
  size_t n = DIRECTIVE_LINE_MAX + 64;
  char *big = malloc (n + 1);
  assert_non_null (big);
  memset (big, 'a', n);
  memcpy (big, "cargo:include=/cargo/out/", 25);
  big[n - 1] = '\n';
  feed_ok (f, big, n);
  x = directive_filter_exports (f);
  assert_int_equal (x->n, 0);
  assert_true (x->incomplete);
  directive_filter_free (f);
  free (big);
  free (s.p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_link_search),
    cmocka_unit_test (test_component_boundaries),
    cmocka_unit_test (test_longest_prefix_and_normalized_prefixes),
    cmocka_unit_test (test_pathmap_refuses_bad_prefixes),
    cmocka_unit_test (test_rerun_if_changed),
    cmocka_unit_test (test_link_args),
    cmocka_unit_test (test_rustc_flags),
    cmocka_unit_test (test_rustc_env),
    cmocka_unit_test (test_metadata),
    cmocka_unit_test (test_messages),
    cmocka_unit_test (test_untouched_keys),
    cmocka_unit_test (test_not_directives),
    cmocka_unit_test (test_whitespace_and_crlf),
    cmocka_unit_test (test_invalid_utf8_and_nul),
    cmocka_unit_test (test_notes),
    cmocka_unit_test (test_allowed_root),
    cmocka_unit_test (test_filter_chunking_gives_same_output),
    cmocka_unit_test (test_filter_exports),
    cmocka_unit_test (test_filter_every_byte_passes),
    cmocka_unit_test (test_filter_streams_complete_lines),
    cmocka_unit_test (test_filter_batches_unchanged_lines),
    cmocka_unit_test (test_filter_long_lines),
    cmocka_unit_test (test_filter_long_line_is_streamed),
    cmocka_unit_test (test_filter_notes_are_bounded),
    cmocka_unit_test (test_filter_write_failure),
    cmocka_unit_test (test_filter_refuses_bad_map),
    cmocka_unit_test (test_image_rerun_if_changed),
    cmocka_unit_test (test_image_other_directives),
    cmocka_unit_test (test_host_image),
    cmocka_unit_test (test_image_set_errors),
    cmocka_unit_test (test_rootpath_limits),
    cmocka_unit_test (test_filter_image),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
