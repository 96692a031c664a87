/* fuzz-directives.c: libFuzzer target for the directive filter, which reads
 * a build script's stdout (untrusted: the script prints what it likes) and
 * maps container paths in Cargo's directives back to host paths.
 *
 * The first input byte seeds how the rest is cut into feeds; the rest is
 * the script's stdout.  The filter runs with the pairs, mounts and image
 * root run mode gives it (an image root with links in every direction is
 * made once, in a scratch directory: fuzz-tmpdir.h).  Beyond "no crash, no
 * leak":
 *  - the output is the same whether the input comes in one feed or cut
 *    into pieces (directives.h promises it);
 *  - the output has as many lines as the input, and a line that does not
 *    contain "cargo:" passes byte for byte (Cargo never reads it);
 *  - notes are bounded: at most DIRECTIVE_NOTES_MAX, each path at most
 *    DIRECTIVE_NOTE_PATH_MAX bytes, a key always set.
 * Built with a small DIRECTIVE_LINE_MAX (mk/fuzz.mk) so that overlong
 * lines, and a cut inside one, are reached with short inputs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-tmpdir.h"
#include "run/directives.h"
#include "run/mounts.h"
#include "util/buf.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char image_root[64];
static struct mount_table mounts;

/* run mode's maps (view_directive_maps): the pairs, then the target dir */
static const struct directive_map maps[] = {
  { "/cargo/target/debug/build/x-1/out",
    "/home/u/proj/target/debug/build/x-1/out" },
  { "/cargo/src", "/home/u/.cargo/registry/src/x-1.0.0" },
  { "/cargo/target/debug/build", "/home/u/proj/target/debug/build" },
  { "/cargo/bin/build-script", "/home/u/proj/target/debug/build/x-2/bs" },
  { "/cargo/toolchain", "/home/u/.rustup/toolchains/stable" },
  { "/cargo/target", "/home/u/proj/target" },
};

static const char *const allowed[]
    = { "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/opt" };

/* The image: files, and links inside, out of, into mounts and in loops. */
static void
make_image (void)
{
  static const char *const dirs[]
      = { "usr",     "usr/include", "usr/lib", "usr/lib/x86_64-linux-gnu",
          "etc",     "opt",         "opt/sdk", "var",
          "var/tmp", "cargo" };
  static const char *const links[][2] = {
    { "lib", "usr/lib" },
    { "lib64", "/usr/lib/x86_64-linux-gnu" },
    { "usr/include/up", "../../../../.." },
    { "usr/include/abs", "/usr/include" },
    { "usr/include/loop", "loop" },
    { "usr/include/a", "b" },
    { "usr/include/b", "a" },
    { "usr/include/tmp", "/tmp/x" },
    { "usr/include/out", "/cargo/target/debug/build/x-1/out/gen.h" },
    { "usr/include/proc", "/proc/self/root" },
    { "opt/sdk/current", "." },
    { "opt/sdk/home", "/usr/local/share" },
    { "etc/alternatives", "/etc/../usr//lib/./x86_64-linux-gnu" },
  };
  char p[256];
  fuzz_tmpdir ("/tmp", "fuzz-directives", image_root, sizeof image_root);
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      snprintf (p, sizeof p, "%s/%s", image_root, dirs[i]);
      if (mkdir (p, 0755) < 0)
        abort ();
    }
  snprintf (p, sizeof p, "%s/usr/include/zlib.h", image_root);
  int fd = open (p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    abort ();
  close (fd);
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    {
      snprintf (p, sizeof p, "%s/%s", image_root, links[i][0]);
      if (symlink (links[i][1], p) < 0)
        abort ();
    }
}

static void
make_mounts (void)
{
  static const char *const tmpfs_opts[] = { "nosuid", "nodev", NULL };
  ohr_error_t err = NULL;
  if (mounts_add (&mounts, "/proc", "proc", "proc", NULL, &err) < 0
      || mounts_add (&mounts, "/tmp", "tmpfs", "tmpfs", tmpfs_opts, &err) < 0
      || mounts_add (&mounts, "/cargo", "tmpfs", "tmpfs", tmpfs_opts, &err) < 0
      || mounts_add_bind (&mounts, "/srv/sdk", "/usr/local", false, true, &err)
             < 0
      || mounts_add_bind (&mounts, "/home/u/.cargo/registry/src/x-1.0.0",
                          "/cargo/src", false, false, &err)
             < 0)
    abort ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  make_image ();
  make_mounts ();
  return 0;
}

static int
collect (void *ctx, const void *buf, size_t len, ohr_error_t *err)
{
  return buf_add (ctx, buf, len) < 0 ? ohr_error_nomem (err) : 0;
}

struct run
{
  struct buf out;
  size_t notes;
};

/* Feed data through a new filter, cut at the sizes seed draws (or whole,
 * seed 0); the output and the number of notes go to *r. */
static void
run_filter (const uint8_t *data, size_t size, unsigned seed, struct run *r)
{
  ohr_error_t err = NULL;
  struct directive_filter *f = directive_filter_new (
      maps, sizeof maps / sizeof *maps, allowed,
      sizeof allowed / sizeof *allowed, collect, &r->out, &err);
  if (f == NULL
      || directive_filter_set_image (f, image_root, &mounts, &err) < 0)
    abort ();
  size_t off = 0;
  uint32_t x = seed * 2654435761u + 1;
  while (off < size)
    {
      size_t n = size - off;
      if (seed)
        {
          x ^= x << 13, x ^= x >> 17, x ^= x << 5;
          n = 1 + x % (n < 97 ? n : 97);
        }
      if (directive_filter_feed (f, data + off, n, &err) < 0)
        abort ();
      off += n;
    }
  if (directive_filter_finish (f, &err) < 0)
    abort ();
  const struct directive_notes *notes = directive_filter_notes (f);
  if (notes->n > DIRECTIVE_NOTES_MAX)
    abort ();
  for (size_t i = 0; i < notes->n; i++)
    if (notes->v[i].key == NULL || notes->v[i].path == NULL
        || strlen (notes->v[i].path) > DIRECTIVE_NOTE_PATH_MAX)
      abort ();
  r->notes = notes->n + notes->dropped;
  directive_filter_free (f);
}

static size_t
count_lines (const char *s, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += s[i] == '\n';
  return k;
}

/* Every line without "cargo:" is the same in input and output. */
static void
check_lines (const char *in, size_t in_len, const char *out, size_t out_len)
{
  if (out == NULL) /* nothing written */
    out = "";
  const char *ie = in + in_len, *oe = out + out_len;
  while (in < ie || out < oe)
    {
      const char *inl = memchr (in, '\n', (size_t)(ie - in));
      const char *onl = memchr (out, '\n', (size_t)(oe - out));
      size_t il = inl ? (size_t)(inl - in) : (size_t)(ie - in);
      size_t ol = onl ? (size_t)(onl - out) : (size_t)(oe - out);
      if (!memmem (in, il, "cargo:", 6)
          && (il != ol || memcmp (in, out, il) != 0))
        abort ();
      in += il + (inl != NULL);
      out += ol + (onl != NULL);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  unsigned seed = data[0];
  data++, size--;
  struct run whole = { 0 }, cut = { 0 };
  run_filter (data, size, 0, &whole);
  run_filter (data, size, seed ? seed : 1, &cut);
  if (whole.out.len != cut.out.len
      || (whole.out.len
          && memcmp (whole.out.data, cut.out.data, whole.out.len) != 0)
      || whole.notes != cut.notes)
    abort ();
  if (count_lines ((const char *)data, size)
      != count_lines (whole.out.data, whole.out.len))
    abort ();
  check_lines ((const char *)data, size, whole.out.data, whole.out.len);
  buf_clear (&whole.out);
  buf_clear (&cut.out);
  return 0;
}
