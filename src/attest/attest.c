/* attest.c: see attest.h.
 *
 * Every JSON document this module writes goes through one canonical
 * emitter (keys sorted by bytes, compact, integers only), so a statement's
 * bytes depend on its content alone, and two statements of the same
 * inputs differ only where the content does (runDetails.metadata).
 * Everything read back (statements, envelopes, run records) goes through
 * runrecord_json_parse's defensive checks first.
 */
#define _GNU_SOURCE
#include "attest/attest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "util/jsongen.h"
#include <yajl/yajl_tree.h>

#include "image/ref.h"
#include "run/envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/strv.h"

extern char **environ;

/* Files compared line by line at most this large. */
#define TEXT_MAX (16 * 1024 * 1024)
/* Keys are small PEM files. */
#define KEY_MAX (64 * 1024)
#define SHA256_HEX(d) ((d) + 7) /* "sha256:HEX" -> "HEX" */

static int
nomem (ohr_error_t *err)
{
  return ohr_error_set (err, ENOMEM, OHR_ERR_INTERNAL, "out of memory");
}

static void
cleanup_yajlp (yajl_val *v)
{
  if (*v)
    yajl_tree_free (*v);
}
#define cleanup_yajl __attribute__ ((cleanup (cleanup_yajlp)))

static void
cleanup_pkeyp (EVP_PKEY **k)
{
  EVP_PKEY_free (*k);
}
#define cleanup_pkey __attribute__ ((cleanup (cleanup_pkeyp)))

static void
cleanup_runrecordp (struct runrecord *rr)
{
  runrecord_clear (rr);
}
#define cleanup_runrecord __attribute__ ((cleanup (cleanup_runrecordp)))

static void
cleanup_statementp (struct attest_statement *st)
{
  attest_statement_clear (st);
}
#define cleanup_statement __attribute__ ((cleanup (cleanup_statementp)))

static void
cleanup_filesp (struct attest_files *f)
{
  attest_files_clear (f);
}
#define cleanup_files __attribute__ ((cleanup (cleanup_filesp)))

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* The directory part of a path ("." when none). */
static char *
dir_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  if (slash == NULL)
    return strdup (".");
  if (slash == path)
    return strdup ("/");
  return strndup (path, (size_t)(slash - path));
}

static const char *
base_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* ---- canonical JSON */

static int
compare_keys (const void *a, const void *b, void *ctx)
{
  const char **keys = ctx;
  return strcmp (keys[*(const size_t *)a], keys[*(const size_t *)b]);
}

/* A number that is not an integer stops the emitter with this status. */
#define GEN_FLOAT ((yajl_gen_status)100)

static yajl_gen_status
emit (yajl_gen g, yajl_val v)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (YAJL_IS_OBJECT (v))
    {
      size_t n = v->u.object.len;
      cleanup_free size_t *idx = malloc ((n ? n : 1) * sizeof *idx);
      if (idx == NULL)
        return yajl_gen_generation_complete; /* any failure status */
      for (size_t i = 0; i < n; i++)
        idx[i] = i;
      qsort_r (idx, n, sizeof *idx, compare_keys, v->u.object.keys);
      G (yajl_gen_map_open (g));
      for (size_t i = 0; i < n; i++)
        {
          G (gen_str (g, v->u.object.keys[idx[i]]));
          G (emit (g, v->u.object.values[idx[i]]));
        }
      G (yajl_gen_map_close (g));
    }
  else if (YAJL_IS_ARRAY (v))
    {
      G (yajl_gen_array_open (g));
      for (size_t i = 0; i < v->u.array.len; i++)
        G (emit (g, v->u.array.values[i]));
      G (yajl_gen_array_close (g));
    }
  else if (YAJL_IS_STRING (v))
    st = gen_str (g, v->u.string);
  else if (YAJL_IS_INTEGER (v))
    st = yajl_gen_integer (g, YAJL_GET_INTEGER (v));
  else if (YAJL_IS_NUMBER (v))
    st = GEN_FLOAT;
  else if (YAJL_IS_TRUE (v))
    st = yajl_gen_bool (g, 1);
  else if (YAJL_IS_FALSE (v))
    st = yajl_gen_bool (g, 0);
  else
    st = yajl_gen_null (g);
fail:
  return st;
}

static int
emit_canonical (yajl_val root, char **out, size_t *out_len, ohr_error_t *err)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return nomem (err);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  yajl_gen_status st = emit (g, root);
  const unsigned char *buf = NULL;
  size_t len = 0;
  char *s = NULL;
  if (st == yajl_gen_status_ok)
    {
      yajl_gen_get_buf (g, &buf, &len);
      s = strndup ((const char *)buf, len);
    }
  yajl_gen_free (g);
  if (st == GEN_FLOAT)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "JSON with a non-integer number");
  if (st == yajl_gen_invalid_string)
    return ohr_error_set (err, EILSEQ, OHR_ERR_INTERNAL,
                          "a string is not valid UTF-8");
  if (st != yajl_gen_status_ok)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "cannot generate JSON (status %d)", (int)st);
  if (s == NULL)
    return nomem (err);
  *out = s;
  if (out_len)
    *out_len = len;
  return 0;
}

int
attest_canonical_json (const char *data, size_t len, char **out,
                       size_t *out_len, ohr_error_t *err)
{
  cleanup_yajl yajl_val root = NULL;
  if (runrecord_json_parse (data, len, ATTEST_MAX_SIZE, "JSON", &root, err)
      < 0)
    return -1;
  return emit_canonical (root, out, out_len, err);
}

/* The text a generator holds, made canonical. */
static int
gen_finish (yajl_gen g, yajl_gen_status st, char **out, size_t *out_len,
            ohr_error_t *err)
{
  const unsigned char *buf = NULL;
  size_t len = 0;
  int r;
  if (st == yajl_gen_invalid_string)
    r = ohr_error_set (err, EILSEQ, OHR_ERR_INTERNAL,
                       "a name or value is not valid UTF-8");
  else if (st != yajl_gen_status_ok)
    r = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                       "cannot generate JSON (status %d)", (int)st);
  else
    {
      yajl_gen_get_buf (g, &buf, &len);
      r = attest_canonical_json ((const char *)buf, len, out, out_len, err);
    }
  yajl_gen_free (g);
  return r;
}

/* ---- base64 (RFC 4648; decoding also takes the URL-safe alphabet and
 * missing padding, as DSSE asks of verifiers) */

static char *
b64_encode (const unsigned char *p, size_t n)
{
  static const char tab[]
      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc ((n + 2) / 3 * 4 + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3)
    {
      unsigned v = (unsigned)p[i] << 16;
      if (i + 1 < n)
        v |= (unsigned)p[i + 1] << 8;
      if (i + 2 < n)
        v |= p[i + 2];
      out[o++] = tab[(v >> 18) & 63];
      out[o++] = tab[(v >> 12) & 63];
      out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
      out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
  out[o] = '\0';
  return out;
}

static int
b64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

/* -1 when s is not base64. */
static int
b64_decode (const char *s, unsigned char **out, size_t *out_len)
{
  size_t n = strlen (s);
  while (n > 0 && s[n - 1] == '=')
    n--;
  if (n % 4 == 1 || strlen (s) - n > 2)
    return -1;
  unsigned char *buf = malloc (n * 3 / 4 + 1);
  if (buf == NULL)
    return -1;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++)
    {
      int v = b64_value (s[i]);
      if (v < 0)
        {
          free (buf);
          return -1;
        }
      acc = (acc << 6) | (unsigned)v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          buf[o++] = (unsigned char)(acc >> bits);
          acc &= (1u << bits) - 1;
        }
    }
  *out = buf;
  *out_len = o;
  return 0;
}

/* ---- digests of files and trees */

static int
digest_fd (int fd, const char *what, char out[DIGEST_STRING_LEN + 1],
           ohr_error_t *err)
{
  struct digest_ctx *c = digest_new ();
  if (c == NULL)
    return nomem (err);
  char buf[65536];
  for (;;)
    {
      ssize_t r = read (fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          digest_free (c);
          return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot read '%s'",
                                  what);
        }
      if (r == 0)
        break;
      digest_update (c, buf, (size_t)r);
    }
  digest_final (c, out);
  digest_free (c);
  return 0;
}

struct entry
{
  char *rel;
  mode_t mode;
  char digest[DIGEST_STRING_LEN + 1];
};

struct entries
{
  struct entry *v;
  size_t n, cap;
};

static void
entries_clear (struct entries *e)
{
  for (size_t i = 0; i < e->n; i++)
    free (e->v[i].rel);
  free (e->v);
  *e = (struct entries){ 0 };
}

static void
cleanup_entriesp (struct entries *e)
{
  entries_clear (e);
}
#define cleanup_entries __attribute__ ((cleanup (cleanup_entriesp)))

static struct entry *
entries_add (struct entries *e, const char *rel, mode_t mode)
{
  if (e->n == e->cap)
    {
      size_t cap = e->cap ? e->cap * 2 : 64;
      struct entry *nv = realloc (e->v, cap * sizeof *nv);
      if (nv == NULL)
        return NULL;
      e->v = nv;
      e->cap = cap;
    }
  struct entry *x = &e->v[e->n];
  if ((x->rel = strdup (rel)) == NULL)
    return NULL;
  x->mode = mode;
  x->digest[0] = '\0';
  e->n++;
  return x;
}

static int
compare_entries (const void *a, const void *b)
{
  return strcmp (((const struct entry *)a)->rel,
                 ((const struct entry *)b)->rel);
}

struct walk
{
  const char *root;
  bool links;           /* list symlinks too (source trees) */
  bool top_skips;       /* skip top-level target/ and .git/ */
  const char *skip_dir; /* absolute; not descended into */
  struct entries *out;
  ohr_error_t *err;
};

static int walk_dir (struct walk *w, int fd, const char *rel);

static int
walk_entry (struct walk *w, DIR *d, const char *name, const char *rel)
{
  struct stat st;
  if (fstatat (dirfd (d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return ohr_error_errno (w->err, errno, OHR_ERR_INTERNAL,
                            "cannot stat '%s/%s'", w->root, rel);
  if (S_ISDIR (st.st_mode))
    {
      if (w->top_skips && strchr (rel, '/') == NULL
          && (strcmp (rel, "target") == 0 || strcmp (rel, ".git") == 0))
        return 0;
      cleanup_free char *abs = fs_path_join (w->root, rel);
      if (abs == NULL)
        return nomem (w->err);
      if (w->skip_dir && strcmp (abs, w->skip_dir) == 0)
        return 0;
      int fd = openat (dirfd (d), name,
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return ohr_error_errno (w->err, errno, OHR_ERR_INTERNAL,
                                "cannot open '%s'", abs);
      return walk_dir (w, fd, rel);
    }
  if (S_ISREG (st.st_mode))
    {
      cleanup_close int fd
          = openat (dirfd (d), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_free char *abs = fs_path_join (w->root, rel);
      if (abs == NULL)
        return nomem (w->err);
      if (fd < 0)
        return ohr_error_errno (w->err, errno, OHR_ERR_INTERNAL,
                                "cannot open '%s'", abs);
      struct entry *e = entries_add (w->out, rel, st.st_mode);
      if (e == NULL)
        return nomem (w->err);
      return digest_fd (fd, abs, e->digest, w->err);
    }
  if (S_ISLNK (st.st_mode) && w->links)
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (dirfd (d), name, target, sizeof target);
      if (n < 0 || (size_t)n >= sizeof target)
        return ohr_error_errno (w->err, n < 0 ? errno : ENAMETOOLONG,
                                OHR_ERR_INTERNAL, "cannot read link '%s/%s'",
                                w->root, rel);
      struct entry *e = entries_add (w->out, rel, st.st_mode);
      if (e == NULL)
        return nomem (w->err);
      digest_sha256 (target, (size_t)n, e->digest);
    }
  /* sockets, fifos, devices: not content */
  return 0;
}

/* Takes fd. */
static int
walk_dir (struct walk *w, int fd, const char *rel)
{
  cleanup_dir DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      int e = errno;
      close (fd);
      return ohr_error_errno (w->err, e, OHR_ERR_INTERNAL,
                              "cannot read '%s/%s'", w->root, rel);
    }
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      cleanup_free char *child = NULL;
      if (asprintf (&child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0)
        return nomem (w->err);
      if (walk_entry (w, d, de->d_name, child) < 0)
        return -1;
      errno = 0;
    }
  if (errno != 0)
    return ohr_error_errno (w->err, errno, OHR_ERR_INTERNAL,
                            "cannot read '%s/%s'", w->root, rel);
  return 0;
}

static int
walk_tree (struct walk *w)
{
  int fd = open (w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (w->err, errno, OHR_ERR_INTERNAL,
                            "cannot open directory '%s'", w->root);
  if (walk_dir (w, fd, "") < 0)
    return -1;
  if (w->out->n)
    qsort (w->out->v, w->out->n, sizeof *w->out->v, compare_entries);
  return 0;
}

void
attest_files_clear (struct attest_files *f)
{
  for (size_t i = 0; i < f->n; i++)
    free (f->v[i].name);
  free (f->v);
  f->v = NULL;
  f->n = 0;
}

static int
files_add (struct attest_files *f, const char *name, const char *digest)
{
  struct attest_file *nv = realloc (f->v, (f->n + 1) * sizeof *nv);
  if (nv == NULL)
    return -1;
  f->v = nv;
  if ((nv[f->n].name = strdup (name)) == NULL)
    return -1;
  snprintf (nv[f->n].digest, sizeof nv[f->n].digest, "%s", digest);
  f->n++;
  return 0;
}

static int
compare_files (const void *a, const void *b)
{
  return strcmp (((const struct attest_file *)a)->name,
                 ((const struct attest_file *)b)->name);
}

static const struct attest_file *
files_find (const struct attest_files *f, const char *name)
{
  struct attest_file key = { .name = (char *)name };
  return f->n ? bsearch (&key, f->v, f->n, sizeof *f->v, compare_files) : NULL;
}

int
attest_tree_files (const char *dir, const char *prefix,
                   struct attest_files *out, ohr_error_t *err)
{
  cleanup_entries struct entries e = { 0 };
  struct walk w = { .root = dir, .out = &e, .err = err };
  if (walk_tree (&w) < 0)
    return -1;
  struct attest_files f = { 0 };
  for (size_t i = 0; i < e.n; i++)
    {
      cleanup_free char *name = NULL;
      if (asprintf (&name, "%s%s", prefix ? prefix : "", e.v[i].rel) < 0
          || files_add (&f, name, e.v[i].digest) < 0)
        {
          attest_files_clear (&f);
          return nomem (err);
        }
    }
  /* the prefix is the same for all: the order stays sorted */
  *out = f;
  return 0;
}

int
attest_tree_list (const char *root, const char *skip_dir, char **out,
                  size_t *out_len, ohr_error_t *err)
{
  cleanup_entries struct entries e = { 0 };
  struct walk w = { .root = root,
                    .links = true,
                    .top_skips = true,
                    .skip_dir = skip_dir,
                    .out = &e,
                    .err = err };
  if (walk_tree (&w) < 0)
    return -1;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    return nomem (err);
  for (size_t i = 0; i < e.n; i++)
    {
      const char *mode = S_ISLNK (e.v[i].mode)          ? "120000"
                         : (e.v[i].mode & S_IXUSR) != 0 ? "100755"
                                                        : "100644";
      fprintf (f, "%s %s %s", mode, e.v[i].digest, e.v[i].rel);
      fputc ('\0', f);
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return nomem (err);
    }
  *out = buf;
  *out_len = len;
  return 0;
}

/* The Cargo target directory holding out_dir, when it lies inside the
 * package source: the nearest ancestor with Cargo's CACHEDIR.TAG, else
 * what <target>/<profile>/build/<pkg>-<hash>/out makes it. */
static char *
target_dir_inside (const char *manifest_dir, const char *out_dir)
{
  if (!fs_path_is_under (out_dir, manifest_dir)
      || strcmp (out_dir, manifest_dir) == 0)
    return NULL;
  size_t root_len = strlen (manifest_dir);
  cleanup_free char *p = strdup (out_dir);
  if (p == NULL)
    return NULL;
  int up = 0;
  char *shape = NULL;
  while (strlen (p) > root_len)
    {
      cleanup_free char *tag = fs_path_join (p, "CACHEDIR.TAG");
      if (tag && fs_exists (tag))
        {
          free (shape);
          return strdup (p);
        }
      if (up == 4 && shape == NULL)
        shape = strdup (p);
      *strrchr (p, '/') = '\0';
      up++;
    }
  return shape;
}

int
attest_source_digest (const char *manifest_dir, const char *out_dir,
                      char out[DIGEST_STRING_LEN + 1], ohr_error_t *err)
{
  cleanup_free char *skip
      = out_dir ? target_dir_inside (manifest_dir, out_dir) : NULL;
  cleanup_free char *list = NULL;
  size_t len = 0;
  if (attest_tree_list (manifest_dir, skip, &list, &len, err) < 0)
    return ohr_error_wrap (err, "package source '%s'", manifest_dir);
  digest_sha256 (list, len, out);
  return 0;
}

/* ---- probes of the runtime and the toolchain */

/* Run argv; its stdout (status 0 required). */
static int
probe (char *const *argv, char **out, ohr_error_t *err)
{
  struct proc_result res = { 0 };
  if (proc_run (argv, &res, err) < 0)
    return ohr_error_wrap (err, "cannot run '%s'", argv[0]);
  if (res.status != 0)
    {
      char *e = res.err;
      e[strcspn (e, "\n")] = '\0';
      int r = ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                             "'%s %s' exited with status %d%s%.200s", argv[0],
                             argv[1], res.status, e[0] ? ": " : "", e);
      proc_result_clear (&res);
      return r;
    }
  *out = steal_pointer (&res.out);
  proc_result_clear (&res);
  return 0;
}

static int
first_line (char *const *argv, char **out, ohr_error_t *err)
{
  cleanup_free char *text = NULL;
  if (probe (argv, &text, err) < 0)
    return -1;
  char *s = text + strspn (text, " \t\r\n");
  s[strcspn (s, "\r\n")] = '\0';
  if (s[0] == '\0')
    return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                          "'%s %s' printed nothing", argv[0], argv[1]);
  return (*out = strdup (s)) ? 0 : nomem (err);
}

static int
driver_libs (const char *root, char ***out, ohr_error_t *err)
{
  cleanup_free char *lib = fs_path_join (root, "lib");
  if (lib == NULL)
    return nomem (err);
  cleanup_dir DIR *d = opendir (lib);
  if (d == NULL)
    return 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      size_t n = strlen (de->d_name);
      if (strncmp (de->d_name, "librustc_driver-", 16) == 0 && n > 19
          && strcmp (de->d_name + n - 3, ".so") == 0
          && strv_pushf (out, "lib/%s", de->d_name) < 0)
        return nomem (err);
    }
  if (*out)
    qsort (*out, strv_len (*out), sizeof **out, compare_strings);
  return 0;
}

/* rustc's toolchain root and its real binary (see attest.h). */
static int
toolchain_root (const char *rustc, char *const *toolchains, char **out_root,
                char **out_rustc, char ***out_libs, ohr_error_t *err)
{
  char real[PATH_MAX];
  if (realpath (rustc, real) == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot resolve rustc '%s'", rustc);
  cleanup_free char *root = NULL;
  for (size_t i = 0; toolchains && toolchains[i] && root == NULL; i++)
    {
      char rt[PATH_MAX];
      if (realpath (toolchains[i], rt) && fs_path_is_under (real, rt)
          && strcmp (real, rt) != 0)
        root = strdup (rt);
    }
  if (root == NULL)
    {
      cleanup_free char *bin = dir_of (real);
      if (bin && strcmp (base_of (bin), "bin") == 0)
        root = dir_of (bin);
    }
  cleanup_strv char **libs = NULL;
  if (root && driver_libs (root, &libs, err) < 0)
    return -1;
  if (libs == NULL)
    {
      /* a rustup proxy (a link to rustup): ask it where the toolchain is */
      char *argv[] = { (char *)rustc, "--print", "sysroot", NULL };
      cleanup_free char *sysroot = NULL;
      if (probe (argv, &sysroot, err) < 0)
        return -1;
      sysroot[strcspn (sysroot, "\r\n")] = '\0';
      free (root);
      root = realpath (sysroot, NULL);
      cleanup_free char *bin = root ? fs_path_join (root, "bin/rustc") : NULL;
      if (bin == NULL || realpath (bin, real) == NULL)
        return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                              "toolchain of '%s': no bin/rustc in its "
                              "sysroot '%s'",
                              rustc, sysroot);
      if (driver_libs (root, &libs, err) < 0)
        return -1;
      if (libs == NULL)
        return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                              "toolchain '%s': no lib/librustc_driver-*.so",
                              root);
    }
  if ((*out_rustc = strdup (real)) == NULL)
    return nomem (err);
  *out_root = steal_pointer (&root);
  *out_libs = steal_pointer (&libs);
  return 0;
}

int
attest_toolchain_digest (const char *rustc, char *const *toolchains,
                         char out[DIGEST_STRING_LEN + 1], char **out_release,
                         ohr_error_t *err)
{
  cleanup_free char *root = NULL, *real = NULL, *vv = NULL;
  cleanup_strv char **libs = NULL;
  if (toolchain_root (rustc, toolchains, &root, &real, &libs, err) < 0)
    return ohr_error_wrap (err, "toolchain");
  char *argv[] = { real, "-vV", NULL };
  if (probe (argv, &vv, err) < 0)
    return ohr_error_wrap (err, "toolchain");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    return nomem (err);
  char d[DIGEST_STRING_LEN + 1];
  int r = digest_file (real, d, err);
  if (r == 0)
    {
      const char *rel
          = fs_path_is_under (real, root) ? real + strlen (root) + 1 : "rustc";
      fprintf (f, "%s %s", rel, d);
      fputc ('\0', f);
    }
  for (size_t i = 0; r == 0 && libs[i]; i++)
    {
      cleanup_free char *p = fs_path_join (root, libs[i]);
      r = p ? digest_file (p, d, err) : nomem (err);
      if (r == 0)
        {
          fprintf (f, "%s %s", libs[i], d);
          fputc ('\0', f);
        }
    }
  digest_sha256 (vv, strlen (vv), d);
  fprintf (f, "rustc -vV %s", d);
  fputc ('\0', f);
  if (fclose (f) != 0 && r == 0)
    r = nomem (err);
  if (r == 0)
    digest_sha256 (buf, len, out);
  free (buf);
  if (r < 0)
    return ohr_error_wrap (err, "toolchain");
  if (out_release)
    {
      vv[strcspn (vv, "\r\n")] = '\0';
      if ((*out_release = strdup (vv)) == NULL)
        return nomem (err);
    }
  return 0;
}

/* ---- statements */

void
attest_inputs_clear (struct attest_inputs *in)
{
  attest_files_clear (&in->subjects);
  free (in->runtime_version);
  free (in->rustc_release);
  *in = (struct attest_inputs){ 0 };
}

/* The directive stream's digest covers the directives only (lines that
 * start with "cargo:", as Cargo reads them): the rest is the script's own
 * chatter, such as the cc crate's "running: ..." lines, whose order
 * follows parallel compiles and proves nothing about the result. */
static int
digest_directives (const char *path, char *out, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, 256u << 20, &data, &len, err) < 0)
    return -1;
  struct digest_ctx *c = digest_new ();
  if (c == NULL)
    return nomem (err);
  for (size_t i = 0; i < len;)
    {
      const char *nl = memchr (data + i, '\n', len - i);
      size_t end = nl ? (size_t)(nl - data) + 1 : len;
      size_t k = i;
      while (k < end && (data[k] == ' ' || data[k] == '\t'))
        k++;
      if (end - k >= 6 && memcmp (data + k, "cargo:", 6) == 0)
        digest_update (c, data + i, end - i);
      i = end;
    }
  digest_final (c, out);
  digest_free (c);
  return 0;
}

static int
collect (const struct runrecord *rr, const char *record_dir,
         struct attest_inputs *in, ohr_error_t *err)
{
  if (attest_tree_files (rr->out_dir, "out/", &in->subjects, err) < 0)
    return ohr_error_wrap (err, "OUT_DIR");
  cleanup_free char *dpath = fs_path_join (record_dir, rr->directives);
  char d[DIGEST_STRING_LEN + 1];
  if (dpath == NULL)
    return nomem (err);
  if (digest_directives (dpath, d, err) < 0)
    return ohr_error_wrap (err, "directive stream");
  if (files_add (&in->subjects, "directives", d) < 0)
    return nomem (err);
  qsort (in->subjects.v, in->subjects.n, sizeof *in->subjects.v,
         compare_files);
  char *argv[] = { rr->runtime_path, "--version", NULL };
  if (first_line (argv, &in->runtime_version, err) < 0)
    return ohr_error_wrap (err, "runtime version");
  if (digest_file (rr->script, in->script, err) < 0)
    return ohr_error_wrap (err, "build script");
  if (rr->policy_digest)
    snprintf (in->policy_digest, sizeof in->policy_digest, "%s",
              rr->policy_digest);
  else if (rr->policy)
    {
      cleanup_free char *ppath = fs_path_join (record_dir, rr->policy);
      if (ppath == NULL)
        return nomem (err);
      if (digest_file (ppath, in->policy_digest, err) < 0)
        return ohr_error_wrap (err, "policy");
    }
  if (attest_source_digest (rr->manifest_dir, rr->out_dir, in->source, err)
      < 0)
    return -1;
  if (rr->rustc
      && attest_toolchain_digest (rr->rustc, rr->toolchains, in->toolchain,
                                  &in->rustc_release, err)
             < 0)
    return -1;
  return 0;
}

int
attest_collect (const struct runrecord *rr, const char *record_dir,
                struct attest_inputs *out, ohr_error_t *err)
{
  struct attest_inputs in = { 0 };
  if (collect (rr, record_dir, &in, err) < 0)
    {
      attest_inputs_clear (&in);
      return -1;
    }
  *out = in;
  return 0;
}

static yajl_gen_status
gen_digest (yajl_gen g, const char *digest)
{
  yajl_gen_status st;
  G (gen_str (g, "digest"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "sha256", SHA256_HEX (digest)));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

/* "key": value, left out when value is NULL */
static yajl_gen_status
gen_opt (yajl_gen g, const char *k, const char *v)
{
  return v ? gen_kv (g, k, v) : yajl_gen_status_ok;
}

static yajl_gen_status
gen_dependency (yajl_gen g, const char *name, const char *uri,
                const char *digest, const char *rustc)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "name", name));
  G (gen_opt (g, "uri", uri));
  if (digest && digest[0])
    G (gen_digest (g, digest));
  if (rustc)
    {
      G (gen_str (g, "annotations"));
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "rustc", rustc));
      G (yajl_gen_map_close (g));
    }
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_build_definition (yajl_gen g, const struct runrecord *rr,
                      const struct attest_inputs *in)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "buildType", ATTEST_BUILD_TYPE));
  G (gen_str (g, "externalParameters"));
  G (yajl_gen_map_open (g));
  G (gen_str (g, "package"));
  G (yajl_gen_map_open (g));
  G (gen_opt (g, "name", rr->package_name));
  G (gen_opt (g, "version", rr->package_version));
  G (yajl_gen_map_close (g));
  G (gen_strv (g, "features", rr->features));
  G (gen_opt (g, "profile", rr->profile));
  G (gen_opt (g, "target", rr->target));
  G (gen_strv (g, "args", rr->args));
  G (yajl_gen_map_close (g));
  G (gen_str (g, "internalParameters"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "runnerVersion", rr->runner_version));
  G (gen_str (g, "runtime"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "name", rr->runtime_name));
  G (gen_kv (g, "version", in->runtime_version));
  G (yajl_gen_map_close (g));
  if (in->policy_digest[0])
    G (gen_kv (g, "policyDigest", in->policy_digest));
  G (gen_kv (g, "paths",
             rr->paths == PATHS_CANONICAL ? "canonical" : "identity"));
  G (gen_kv (g, "network", rr->network == NETWORK_HOST ? "host" : "none"));
  G (yajl_gen_map_close (g));
  G (gen_str (g, "resolvedDependencies"));
  G (yajl_gen_array_open (g));
  G (gen_dependency (g, "image", rr->image_ref, rr->image_digest, NULL));
  G (gen_dependency (g, "build-script", NULL, in->script, NULL));
  G (gen_dependency (g, "source", NULL, in->source, NULL));
  if (in->toolchain[0])
    G (gen_dependency (g, "toolchain", NULL, in->toolchain,
                       in->rustc_release));
  G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_statement (yajl_gen g, const struct runrecord *rr,
               const struct attest_inputs *in, const char *builder)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "_type", ATTEST_STATEMENT_TYPE));
  G (gen_str (g, "subject"));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; i < in->subjects.n; i++)
    {
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "name", in->subjects.v[i].name));
      G (gen_digest (g, in->subjects.v[i].digest));
      G (yajl_gen_map_close (g));
    }
  G (yajl_gen_array_close (g));
  G (gen_kv (g, "predicateType", ATTEST_PREDICATE_TYPE));
  G (gen_str (g, "predicate"));
  G (yajl_gen_map_open (g));
  G (gen_str (g, "buildDefinition"));
  G (gen_build_definition (g, rr, in));
  G (gen_str (g, "runDetails"));
  G (yajl_gen_map_open (g));
  G (gen_str (g, "builder"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "id", builder));
  G (yajl_gen_map_close (g));
  G (gen_str (g, "metadata"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "invocationId", rr->id));
  G (gen_kv (g, "startedOn", rr->started));
  G (gen_kv (g, "finishedOn", rr->finished));
  G (yajl_gen_map_close (g));
  G (yajl_gen_map_close (g));
  G (yajl_gen_map_close (g));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

int
attest_statement (const struct runrecord *rr, const struct attest_inputs *in,
                  char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_free char *builder = NULL;
  if (asprintf (&builder, "%s%s", ATTEST_BUILDER_PREFIX, rr->runner_version)
      < 0)
    return nomem (err);
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return nomem (err);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  return gen_finish (g, gen_statement (g, rr, in, builder), out, out_len, err);
}

static char *
sanitize (const char *s)
{
  char *c = strdup (s && *s ? s : "unknown");
  for (char *p = c; p && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
          || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'
          || *p == '+'))
      *p = '_';
  return c;
}

char *
attest_file_name (const struct runrecord *rr, const char *suffix)
{
  cleanup_free char *name = sanitize (rr->package_name);
  cleanup_free char *version = sanitize (rr->package_version);
  char *s = NULL;
  if (name == NULL || version == NULL
      || asprintf (&s, "%s-%s-%s%s", name, version, rr->id, suffix) < 0)
    return NULL;
  return s;
}

/* data and a final newline, atomically and durably */
static int
write_json_file (const char *path, const char *data, size_t len,
                 ohr_error_t *err)
{
  cleanup_free char *buf = malloc (len + 1);
  if (buf == NULL)
    return nomem (err);
  memcpy (buf, data, len);
  buf[len] = '\n';
  return fs_write_atomic (path, buf, len + 1, 0644, true, err);
}

int
attest_record (const char *run_path, const char *key_path,
               char **out_statement, char **out_envelope, ohr_error_t *err)
{
  cleanup_runrecord struct runrecord rr = { 0 };
  if (runrecord_read (run_path, &rr, err) < 0)
    return -1;
  cleanup_free char *expected = NULL;
  if (asprintf (&expected, "%s.run.json", rr.id) < 0)
    return nomem (err);
  /* verify finds the record from the statement by this name */
  if (strcmp (base_of (run_path), expected) != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "run record '%s' must be named '%s' (its id)",
                          run_path, expected);
  if (rr.exit_status != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record '%s': the build script failed (exit "
                          "status %d): nothing to attest",
                          run_path, rr.exit_status);
  cleanup_free char *dir = dir_of (run_path);
  cleanup_free char *json = NULL, *envelope = NULL;
  size_t len = 0, elen = 0;
  struct attest_inputs in = { 0 };
  int r = dir ? attest_collect (&rr, dir, &in, err) : nomem (err);
  if (r == 0)
    r = attest_statement (&rr, &in, &json, &len, err);
  attest_inputs_clear (&in);
  if (r < 0)
    return ohr_error_wrap (err, "attest '%s'", run_path);
  if (key_path
      && attest_dsse_sign (json, len, key_path, &envelope, &elen, err) < 0)
    return -1;
  cleanup_free char *sname = attest_file_name (&rr, ".intoto.json");
  cleanup_free char *ename = attest_file_name (&rr, ".dsse.json");
  cleanup_free char *spath = sname ? fs_path_join (dir, sname) : NULL;
  cleanup_free char *epath = ename ? fs_path_join (dir, ename) : NULL;
  if (spath == NULL || epath == NULL)
    return nomem (err);
  if (write_json_file (spath, json, len, err) < 0
      || (envelope && write_json_file (epath, envelope, elen, err) < 0))
    return -1;
  if (out_statement)
    *out_statement = steal_pointer (&spath);
  if (out_envelope)
    *out_envelope = envelope ? steal_pointer (&epath) : NULL;
  return 0;
}

/* ---- reading statements back */

void
attest_statement_clear (struct attest_statement *st)
{
  free (st->invocation_id);
  free (st->package_name);
  free (st->package_version);
  attest_files_clear (&st->subjects);
  attest_files_clear (&st->deps);
  *st = (struct attest_statement){ 0 };
}

static int bad (ohr_error_t *err, const char *what, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
bad (ohr_error_t *err, const char *what, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  int r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    msg = NULL;
  r = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL, "%s: %s", what,
                     msg ? msg : "out of memory");
  free (msg);
  return r;
}

static const char *
str_at (yajl_val root, const char *const *path)
{
  yajl_val v = yajl_tree_get (root, (const char **)path, yajl_t_string);
  return v ? v->u.string : NULL;
}

static bool
valid_hex (const char *s)
{
  return s && strlen (s) == 64 && strspn (s, "0123456789abcdef") == 64;
}

/* "directives", or "out/" and a relative path without empty, "." or ".."
 * parts: a name from a statement becomes a path under OUT_DIR. */
static bool
valid_subject_name (const char *name)
{
  if (strcmp (name, "directives") == 0)
    return true;
  if (strncmp (name, "out/", 4) != 0 || name[4] == '\0')
    return false;
  for (const char *p = name + 4; *p;)
    {
      size_t n = strcspn (p, "/");
      if (n == 0 || (n == 1 && p[0] == '.')
          || (n == 2 && p[0] == '.' && p[1] == '.'))
        return false;
      p += n;
      if (*p == '/')
        {
          p++;
          if (*p == '\0')
            return false;
        }
    }
  return true;
}

/* name and digest.sha256 of a ResourceDescriptor */
static int
descriptor (yajl_val v, const char *what, const char *list, size_t i,
            bool need_digest, struct attest_files *out, ohr_error_t *err)
{
  static const char *const name_path[] = { "name", NULL };
  static const char *const sha_path[] = { "digest", "sha256", NULL };
  const char *name = YAJL_IS_OBJECT (v) ? str_at (v, name_path) : NULL;
  const char *hex = YAJL_IS_OBJECT (v) ? str_at (v, sha_path) : NULL;
  if (name == NULL)
    return bad (err, what, "%s[%zu] has no name", list, i);
  if (hex == NULL && !need_digest)
    return 0;
  if (!valid_hex (hex))
    return bad (err, what, "%s[%zu] ('%.80s') has no valid sha256 digest",
                list, i, name);
  char d[DIGEST_STRING_LEN + 1];
  snprintf (d, sizeof d, "sha256:%s", hex);
  return files_add (out, name, d) < 0 ? nomem (err) : 0;
}

static int
read_statement (yajl_val root, const char *what, struct attest_statement *st,
                ohr_error_t *err)
{
  static const char *const type_path[] = { "_type", NULL };
  static const char *const ptype_path[] = { "predicateType", NULL };
  static const char *const btype_path[]
      = { "predicate", "buildDefinition", "buildType", NULL };
  static const char *const subject_path[] = { "subject", NULL };
  static const char *const id_path[]
      = { "predicate", "runDetails", "metadata", "invocationId", NULL };
  static const char *const name_path[] = {
    "predicate", "buildDefinition", "externalParameters", "package", "name",
    NULL
  };
  static const char *const version_path[]
      = { "predicate", "buildDefinition", "externalParameters",
          "package",   "version",         NULL };
  static const char *const deps_path[]
      = { "predicate", "buildDefinition", "resolvedDependencies", NULL };
  const char *t = str_at (root, type_path);
  const char *pt = str_at (root, ptype_path);
  const char *bt = str_at (root, btype_path);
  if (t == NULL || strcmp (t, ATTEST_STATEMENT_TYPE) != 0)
    return bad (err, what, "not an in-toto statement v1 (_type)");
  if (pt == NULL || strcmp (pt, ATTEST_PREDICATE_TYPE) != 0 || bt == NULL
      || strcmp (bt, ATTEST_BUILD_TYPE) != 0)
    return bad (err, what,
                "not a SLSA provenance of a build-script run (predicateType "
                "or buildType)");
  const char *id = str_at (root, id_path);
  if (id == NULL || !runrecord_valid_id (id))
    return bad (err, what, "no valid runDetails.metadata.invocationId");
  if ((st->invocation_id = strdup (id)) == NULL)
    return nomem (err);
  const char *name = str_at (root, name_path);
  const char *version = str_at (root, version_path);
  if ((name && (st->package_name = strdup (name)) == NULL)
      || (version && (st->package_version = strdup (version)) == NULL))
    return nomem (err);
  yajl_val subj
      = yajl_tree_get (root, (const char **)subject_path, yajl_t_array);
  if (subj == NULL)
    return bad (err, what, "no subject list");
  for (size_t i = 0; i < subj->u.array.len; i++)
    if (descriptor (subj->u.array.values[i], what, "subject", i, true,
                    &st->subjects, err)
        < 0)
      return -1;
  if (st->subjects.n)
    qsort (st->subjects.v, st->subjects.n, sizeof *st->subjects.v,
           compare_files);
  for (size_t i = 0; i < st->subjects.n; i++)
    {
      if (!valid_subject_name (st->subjects.v[i].name))
        return bad (err, what, "subject name '%.80s' is not allowed",
                    st->subjects.v[i].name);
      if (i > 0
          && strcmp (st->subjects.v[i - 1].name, st->subjects.v[i].name) == 0)
        return bad (err, what, "subject '%.80s' is listed twice",
                    st->subjects.v[i].name);
    }
  yajl_val deps = yajl_tree_get (root, (const char **)deps_path, yajl_t_any);
  if (deps && !YAJL_IS_ARRAY (deps))
    return bad (err, what, "resolvedDependencies is not a list");
  for (size_t i = 0; deps && i < deps->u.array.len; i++)
    if (descriptor (deps->u.array.values[i], what, "resolvedDependencies", i,
                    false, &st->deps, err)
        < 0)
      return -1;
  return 0;
}

int
attest_statement_parse (const char *data, size_t len, const char *origin,
                        struct attest_statement *out, ohr_error_t *err)
{
  cleanup_free char *what = NULL;
  if (asprintf (&what, "statement '%s'", origin ? origin : "(memory)") < 0)
    return nomem (err);
  cleanup_yajl yajl_val root = NULL;
  if (runrecord_json_parse (data, len, ATTEST_MAX_SIZE, what, &root, err) < 0)
    return -1;
  struct attest_statement st = { 0 };
  if (read_statement (root, what, &st, err) < 0)
    {
      attest_statement_clear (&st);
      return -1;
    }
  *out = st;
  return 0;
}

char *
attest_record_path (const char *statement_path,
                    const struct attest_statement *st)
{
  cleanup_free char *dir = dir_of (statement_path);
  return dir ? runrecord_path (dir, st->invocation_id) : NULL;
}

/* ---- keys and DSSE */

/* msg and OpenSSL's last error, which is then cleared. */
static int ssl_fail (ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
ssl_fail (ohr_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  int r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    msg = NULL;
  unsigned long e = ERR_peek_last_error ();
  char buf[256] = "";
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  r = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL, "%s%s%s",
                     msg ? msg : "out of memory", buf[0] ? ": " : "", buf);
  free (msg);
  return r;
}

/* Never prompt for a passphrase: an encrypted key fails to load. */
static int
no_passphrase (char *buf, int size, int rw, void *u)
{
  (void)buf, (void)size, (void)rw, (void)u;
  return -1;
}

static int
load_key (const char *path, bool private, EVP_PKEY **out, ohr_error_t *err)
{
  char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, KEY_MAX, &data, &len, err) < 0)
    return ohr_error_wrap (err, "key");
  EVP_PKEY *k = NULL;
  BIO *b = BIO_new_mem_buf (data, (int)len);
  if (b && private)
    k = PEM_read_bio_PrivateKey (b, NULL, no_passphrase, NULL);
  else if (b)
    {
      k = PEM_read_bio_PUBKEY (b, NULL, no_passphrase, NULL);
      if (k == NULL)
        {
          /* the private key holds the public one too */
          BIO_free (b);
          b = BIO_new_mem_buf (data, (int)len);
          k = b ? PEM_read_bio_PrivateKey (b, NULL, no_passphrase, NULL)
                : NULL;
        }
    }
  BIO_free (b);
  OPENSSL_cleanse (data, len);
  free (data);
  if (k == NULL)
    return ssl_fail (err, "cannot read %s key '%s' (an unencrypted PEM)",
                     private ? "private" : "public", path);
  ERR_clear_error (); /* a failed first try leaves its error queued */
  if (EVP_PKEY_get_base_id (k) != EVP_PKEY_ED25519)
    {
      EVP_PKEY_free (k);
      return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                            "key '%s' is not an ed25519 key", path);
    }
  *out = k;
  return 0;
}

static int
key_id (EVP_PKEY *k, char **out, ohr_error_t *err)
{
  unsigned char *der = NULL;
  int n = i2d_PUBKEY (k, &der);
  if (n <= 0)
    return ssl_fail (err, "cannot encode the public key");
  char d[DIGEST_STRING_LEN + 1];
  digest_sha256 (der, (size_t)n, d);
  OPENSSL_free (der);
  return (*out = strdup (SHA256_HEX (d))) ? 0 : nomem (err);
}

int
attest_key_id (const char *path, char **out, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  if (load_key (path, false, &k, err) < 0)
    return -1;
  return key_id (k, out, err);
}

/* The PEM text a writer makes of k. */
static int
pem_of (EVP_PKEY *k, bool private, char **out, size_t *out_len,
        ohr_error_t *err)
{
  BIO *b = BIO_new (BIO_s_mem ());
  if (b == NULL)
    return nomem (err);
  int ok = private ? PEM_write_bio_PrivateKey (b, k, NULL, NULL, 0, NULL, NULL)
                   : PEM_write_bio_PUBKEY (b, k);
  char *data = NULL;
  long n = ok == 1 ? BIO_get_mem_data (b, &data) : 0;
  char *copy = n > 0 ? malloc ((size_t)n) : NULL;
  if (copy)
    memcpy (copy, data, (size_t)n);
  if (n > 0)
    OPENSSL_cleanse (data, (size_t)n);
  BIO_free (b);
  if (ok != 1)
    return ssl_fail (err, "cannot encode the key");
  if (copy == NULL)
    return nomem (err);
  *out = copy;
  *out_len = (size_t)n;
  return 0;
}

int
attest_keygen (const char *prefix, char **out_keyid, ohr_error_t *err)
{
  cleanup_free char *key_path = NULL, *pub_path = NULL;
  if (asprintf (&key_path, "%s.key", prefix) < 0
      || asprintf (&pub_path, "%s.pub", prefix) < 0)
    return nomem (err);
  const char *exists = fs_exists (key_path)   ? key_path
                       : fs_exists (pub_path) ? pub_path
                                              : NULL;
  if (exists)
    return ohr_error_set (err, EEXIST, OHR_ERR_USAGE,
                          "'%s' exists: remove it or choose another --out "
                          "PREFIX",
                          exists);
  cleanup_pkey EVP_PKEY *k = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
  if (k == NULL)
    return ssl_fail (err, "cannot generate an ed25519 key");
  char *priv = NULL, *pub = NULL;
  size_t priv_len = 0, pub_len = 0;
  if (pem_of (k, true, &priv, &priv_len, err) < 0)
    return -1;
  int r = fs_write_new (key_path, priv, priv_len, 0600, err);
  OPENSSL_cleanse (priv, priv_len);
  free (priv);
  if (r < 0)
    return -1;
  r = pem_of (k, false, &pub, &pub_len, err);
  if (r == 0)
    r = fs_write_new (pub_path, pub, pub_len, 0644, err);
  free (pub);
  if (r == 0 && out_keyid)
    r = key_id (k, out_keyid, err);
  if (r < 0)
    {
      unlink (key_path);
      unlink (pub_path);
    }
  return r;
}

char *
attest_dsse_pae (const char *type, const char *payload, size_t len,
                 size_t *out_len)
{
  char *head = NULL;
  int n = asprintf (&head, "DSSEv1 %zu %s %zu ", strlen (type), type, len);
  if (n < 0)
    return NULL;
  char *buf = malloc ((size_t)n + len + 1);
  if (buf)
    {
      memcpy (buf, head, (size_t)n);
      if (len)
        memcpy (buf + n, payload, len);
      buf[(size_t)n + len] = '\0';
      *out_len = (size_t)n + len;
    }
  free (head);
  return buf;
}

int
attest_dsse_sign (const char *payload, size_t len, const char *key_path,
                  char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  if (load_key (key_path, true, &k, err) < 0)
    return ohr_error_wrap (err, "sign");
  size_t pae_len = 0;
  cleanup_free char *pae
      = attest_dsse_pae (ATTEST_PAYLOAD_TYPE, payload, len, &pae_len);
  cleanup_free char *keyid = NULL;
  if (pae == NULL)
    return nomem (err);
  if (key_id (k, &keyid, err) < 0)
    return -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  size_t sig_len = 0;
  cleanup_free unsigned char *sig = NULL;
  int ok
      = ctx && EVP_DigestSignInit (ctx, NULL, NULL, NULL, k) == 1
        && EVP_DigestSign (ctx, NULL, &sig_len, (unsigned char *)pae, pae_len)
               == 1
        && (sig = malloc (sig_len)) != NULL
        && EVP_DigestSign (ctx, sig, &sig_len, (unsigned char *)pae, pae_len)
               == 1;
  EVP_MD_CTX_free (ctx);
  if (!ok)
    return ssl_fail (err, "cannot sign with '%s'", key_path);
  cleanup_free char *b64_payload
      = b64_encode ((const unsigned char *)payload, len);
  cleanup_free char *b64_sig = b64_encode (sig, sig_len);
  if (b64_payload == NULL || b64_sig == NULL)
    return nomem (err);
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return nomem (err);
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "payload", b64_payload));
  G (gen_kv (g, "payloadType", ATTEST_PAYLOAD_TYPE));
  G (gen_str (g, "signatures"));
  G (yajl_gen_array_open (g));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "keyid", keyid));
  G (gen_kv (g, "sig", b64_sig));
  G (yajl_gen_map_close (g));
  G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return gen_finish (g, st, out, out_len, err);
}

/* The decoded payload of an envelope; NULL and *why when malformed. */
static unsigned char *
envelope_payload (yajl_val root, size_t *out_len, const char **why)
{
  static const char *const type_path[] = { "payloadType", NULL };
  static const char *const payload_path[] = { "payload", NULL };
  const char *type = str_at (root, type_path);
  const char *payload = str_at (root, payload_path);
  unsigned char *buf = NULL;
  if (type == NULL || payload == NULL)
    *why = "not a DSSE envelope (payloadType, payload)";
  else if (strcmp (type, ATTEST_PAYLOAD_TYPE) != 0)
    *why = "payloadType is not " ATTEST_PAYLOAD_TYPE;
  else if (b64_decode (payload, &buf, out_len) < 0)
    *why = "payload is not base64";
  return buf;
}

static bool
signature_verifies (EVP_PKEY *k, const char *b64_sig, const char *pae,
                    size_t pae_len)
{
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  if (b64_sig == NULL || b64_decode (b64_sig, &sig, &sig_len) < 0)
    return false;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  bool ok = ctx && EVP_DigestVerifyInit (ctx, NULL, NULL, NULL, k) == 1
            && EVP_DigestVerify (ctx, sig, sig_len, (const unsigned char *)pae,
                                 pae_len)
                   == 1;
  EVP_MD_CTX_free (ctx);
  free (sig);
  ERR_clear_error ();
  return ok;
}

int
attest_dsse_open (const char *envelope, size_t len, const char *pub_path,
                  char **out_payload, size_t *out_len, bool *out_valid,
                  char **out_reason, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  cleanup_free char *keyid = NULL;
  if (load_key (pub_path, false, &k, err) < 0 || key_id (k, &keyid, err) < 0)
    return -1;
  *out_valid = false;
  *out_reason = NULL;
  ohr_error_t perr = NULL;
  cleanup_yajl yajl_val root = NULL;
  if (runrecord_json_parse (envelope, len, ATTEST_MAX_SIZE, "envelope", &root,
                            &perr)
      < 0)
    {
      *out_reason = strdup (perr ? perr->msg : "invalid envelope");
      ohr_error_free (&perr);
      return *out_reason ? 0 : nomem (err);
    }
  const char *why = NULL;
  size_t plen = 0;
  cleanup_free unsigned char *payload = envelope_payload (root, &plen, &why);
  if (payload == NULL)
    {
      *out_reason = strdup (why ? why : "out of memory");
      return *out_reason ? 0 : nomem (err);
    }
  size_t pae_len = 0;
  cleanup_free char *pae = attest_dsse_pae (
      ATTEST_PAYLOAD_TYPE, (const char *)payload, plen, &pae_len);
  if (pae == NULL)
    return nomem (err);
  static const char *const sigs_path[] = { "signatures", NULL };
  static const char *const sig_path[] = { "sig", NULL };
  yajl_val sigs = yajl_tree_get (root, (const char **)sigs_path, yajl_t_array);
  for (size_t i = 0; sigs && i < sigs->u.array.len && !*out_valid; i++)
    {
      yajl_val s = sigs->u.array.values[i];
      if (YAJL_IS_OBJECT (s)
          && signature_verifies (k, str_at (s, sig_path), pae, pae_len))
        *out_valid = true;
    }
  if (!*out_valid
      && asprintf (out_reason,
                   "no signature verifies with key '%s' (keyid %.16s...)",
                   pub_path, keyid)
             < 0)
    return nomem (err);
  char *p = malloc (plen + 1);
  if (p == NULL)
    return nomem (err);
  memcpy (p, payload, plen);
  p[plen] = '\0';
  *out_payload = p;
  *out_len = plen;
  return 0;
}

int
attest_load (const char *path, char **out_payload, size_t *out_len,
             bool *out_envelope, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, ATTEST_MAX_SIZE, &data, &len, err) < 0)
    return -1;
  cleanup_free char *what = NULL;
  if (asprintf (&what, "'%s'", path) < 0)
    return nomem (err);
  cleanup_yajl yajl_val root = NULL;
  if (runrecord_json_parse (data, len, ATTEST_MAX_SIZE, what, &root, err) < 0)
    return -1;
  static const char *const type_path[] = { "payloadType", NULL };
  if (yajl_tree_get (root, (const char **)type_path, yajl_t_any) == NULL)
    {
      *out_payload = steal_pointer (&data);
      *out_len = len;
      *out_envelope = false;
      return 0;
    }
  const char *why = NULL;
  size_t plen = 0;
  unsigned char *payload = envelope_payload (root, &plen, &why);
  if (payload == NULL)
    return bad (err, what, "%s", why ? why : "out of memory");
  char *p = realloc (payload, plen + 1);
  if (p == NULL)
    {
      free (payload);
      return nomem (err);
    }
  p[plen] = '\0';
  *out_payload = p;
  *out_len = plen;
  *out_envelope = true;
  return 0;
}

/* ---- differences */

void
attest_diffs_clear (struct attest_diffs *d)
{
  for (size_t i = 0; i < d->n; i++)
    {
      free (d->v[i].name);
      free (d->v[i].old_line);
      free (d->v[i].new_line);
    }
  free (d->v);
  d->v = NULL;
  d->n = 0;
}

static struct attest_diff *
diffs_add (struct attest_diffs *d, enum attest_diff_kind kind,
           const char *name)
{
  struct attest_diff *nv = realloc (d->v, (d->n + 1) * sizeof *nv);
  if (nv == NULL)
    return NULL;
  d->v = nv;
  struct attest_diff *x = &nv[d->n];
  *x = (struct attest_diff){ .kind = kind };
  if ((x->name = strdup (name)) == NULL)
    return NULL;
  d->n++;
  return x;
}

struct line
{
  const char *p;
  size_t n;
};

/* Lines without their '\n'; a final '\n' does not start another. */
static struct line *
split_lines (const char *s, size_t len, size_t *out_n)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\n')
      n++;
  struct line *v = malloc ((n + 1) * sizeof *v);
  if (v == NULL)
    return NULL;
  size_t k = 0, start = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\n')
      {
        v[k++] = (struct line){ s + start, i - start };
        start = i + 1;
      }
  if (start < len)
    v[k++] = (struct line){ s + start, len - start };
  *out_n = k;
  return v;
}

static int
compare_lines (const void *a, const void *b)
{
  const struct line *x = a, *y = b;
  int c = memcmp (x->p, y->p, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

static bool
lines_equal (const struct line *a, const struct line *b)
{
  return a->n == b->n && memcmp (a->p, b->p, a->n) == 0;
}

static bool
digits (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static long
number (const char *s, size_t n)
{
  long v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

static bool
plausible_date (long year, long month, long day, int this_year)
{
  return year >= this_year - 20 && year <= this_year + 1 && month >= 1
         && month <= 12 && day >= 1 && day <= 31;
}

/* Digits that read as a time near now: an epoch in seconds, ms, us or ns
 * (10, 13, 16 or 19 digits), a date (YYYYMMDD, YYYY-MM-DD) of the last
 * twenty years, or a time of day (HH:MM:SS). */
static bool
looks_like_time (const char *s, size_t n, time_t now)
{
  struct tm tm;
  gmtime_r (&now, &tm);
  int year = tm.tm_year + 1900;
  const long window = 20L * 366 * 24 * 3600;
  for (size_t i = 0; i < n;)
    {
      if (!digits (s + i, 1))
        {
          i++;
          continue;
        }
      size_t j = i;
      while (j < n && digits (s + j, 1))
        j++;
      size_t len = j - i;
      if (len == 10 || len == 13 || len == 16 || len == 19)
        {
          long secs = number (s + i, 10);
          if (secs > (long)now - window && secs < (long)now + 2 * 24 * 3600)
            return true;
        }
      if (len == 8
          && plausible_date (number (s + i, 4), number (s + i + 4, 2),
                             number (s + i + 6, 2), year))
        return true;
      if (len == 4 && j + 6 <= n && s[j] == '-' && digits (s + j + 1, 2)
          && s[j + 3] == '-' && digits (s + j + 4, 2)
          && plausible_date (number (s + i, 4), number (s + j + 1, 2),
                             number (s + j + 4, 2), year))
        return true;
      if (len == 2 && j + 6 <= n && s[j] == ':' && digits (s + j + 1, 2)
          && s[j + 3] == ':' && digits (s + j + 4, 2))
        return true;
      i = j;
    }
  return false;
}

static char *
truncated (const struct line *l)
{
  return strndup (l->p, l->n < ATTEST_LINE_MAX ? l->n : ATTEST_LINE_MAX);
}

static bool
contains_any (const char *s, size_t len, const char *const *needles)
{
  for (size_t i = 0; needles && needles[i]; i++)
    if (needles[i][0] && memmem (s, len, needles[i], strlen (needles[i])))
      return true;
  return false;
}

int
attest_diff_contents (const char *old, size_t old_len, const char *new,
                      size_t new_len, const char *const *old_paths,
                      const char *const *new_paths, time_t now,
                      struct attest_diff *d, ohr_error_t *err)
{
  if (contains_any (old, old_len, old_paths)
      || contains_any (new, new_len, new_paths))
    d->hints |= ATTEST_HINT_PATH;
  if (old_len == new_len && memcmp (old, new, old_len) == 0)
    return 0;
  if (memchr (old, '\0', old_len) || memchr (new, '\0', new_len))
    {
      d->note = "binary content: no line shown";
      return 0;
    }
  size_t on = 0, nn = 0;
  cleanup_free struct line *ol = split_lines (old, old_len, &on);
  cleanup_free struct line *nl = split_lines (new, new_len, &nn);
  if (ol == NULL || nl == NULL)
    return nomem (err);
  size_t i = 0;
  while (i < on && i < nn && lines_equal (&ol[i], &nl[i]))
    i++;
  if (i == on && i == nn)
    {
      /* the same lines: only a final newline differs */
      d->note = "only the final newline differs";
      return 0;
    }
  d->line = (long)i + 1;
  if ((i < on && (d->old_line = truncated (&ol[i])) == NULL)
      || (i < nn && (d->new_line = truncated (&nl[i])) == NULL))
    return nomem (err);
  if ((i < on && looks_like_time (ol[i].p, ol[i].n, now))
      || (i < nn && looks_like_time (nl[i].p, nl[i].n, now)))
    d->hints |= ATTEST_HINT_TIMESTAMP;
  if (on == nn && on > 1)
    {
      qsort (ol, on, sizeof *ol, compare_lines);
      qsort (nl, nn, sizeof *nl, compare_lines);
      size_t k = 0;
      while (k < on && lines_equal (&ol[k], &nl[k]))
        k++;
      if (k == on)
        d->hints |= ATTEST_HINT_ORDER;
    }
  return 0;
}

int
attest_check_subjects (const struct attest_statement *st,
                       const struct runrecord *rr, const char *record_dir,
                       struct attest_diffs *out, ohr_error_t *err)
{
  cleanup_files struct attest_files now = { 0 };
  if (attest_tree_files (rr->out_dir, "out/", &now, err) < 0)
    return ohr_error_wrap (err, "OUT_DIR");
  cleanup_free char *dpath = fs_path_join (record_dir, rr->directives);
  if (dpath == NULL)
    return nomem (err);
  struct attest_diffs d = { 0 };
  int r = 0;
  for (size_t i = 0; r == 0 && i < st->subjects.n; i++)
    {
      const struct attest_file *s = &st->subjects.v[i];
      const struct attest_file *f = NULL;
      char dg[DIGEST_STRING_LEN + 1] = "";
      if (strcmp (s->name, "directives") == 0)
        {
          if (fs_exists (dpath)
              && (r = digest_directives (dpath, dg, err)) < 0)
            break;
        }
      else if ((f = files_find (&now, s->name)) != NULL)
        snprintf (dg, sizeof dg, "%s", f->digest);
      if (dg[0] == '\0'
          && diffs_add (&d, ATTEST_DIFF_MISSING, s->name) == NULL)
        r = nomem (err);
      else if (dg[0] && strcmp (dg, s->digest) != 0
               && diffs_add (&d, ATTEST_DIFF_CHANGED, s->name) == NULL)
        r = nomem (err);
    }
  for (size_t i = 0; r == 0 && i < now.n; i++)
    if (files_find (&st->subjects, now.v[i].name) == NULL
        && diffs_add (&d, ATTEST_DIFF_EXTRA, now.v[i].name) == NULL)
      r = nomem (err);
  if (r < 0)
    {
      attest_diffs_clear (&d);
      return -1;
    }
  *out = d;
  return 0;
}

/* ---- bundles */

struct bundle_line
{
  char *name;
  char *version;
  char *line;
};

static int
compare_bundle_lines (const void *a, const void *b)
{
  const struct bundle_line *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  if (c == 0)
    c = strcmp (x->version, y->version);
  return c ? c : strcmp (x->line, y->line);
}

static bool
has_suffix (const char *s, const char *suffix, size_t *base_len)
{
  size_t n = strlen (s), m = strlen (suffix);
  if (n <= m || strcmp (s + n - m, suffix) != 0)
    return false;
  *base_len = n - m;
  return true;
}

static int
bundle_bases (const char *dir, char ***out, ohr_error_t *err)
{
  cleanup_dir DIR *d = opendir (dir);
  if (d == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot read directory '%s'", dir);
  cleanup_strv char **bases = NULL;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      size_t n = 0;
      if (!has_suffix (de->d_name, ".intoto.json", &n)
          && !has_suffix (de->d_name, ".dsse.json", &n))
        continue;
      cleanup_free char *base = strndup (de->d_name, n);
      if (base == NULL)
        return nomem (err);
      if (!strv_contains (bases, base) && strv_push (&bases, base) < 0)
        return nomem (err);
    }
  if (bases)
    qsort (bases, strv_len (bases), sizeof *bases, compare_strings);
  *out = steal_pointer (&bases);
  return 0;
}

static int
bundle_line (const char *dir, const char *base, struct bundle_line *out,
             ohr_error_t *err)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/%s.dsse.json", dir, base) < 0)
    return nomem (err);
  if (!fs_exists (path))
    {
      free (path);
      if (asprintf (&path, "%s/%s.intoto.json", dir, base) < 0)
        return nomem (err);
    }
  cleanup_free char *data = NULL, *payload = NULL;
  size_t len = 0, plen = 0;
  bool envelope = false;
  cleanup_statement struct attest_statement st = { 0 };
  if (fs_read_file (path, ATTEST_MAX_SIZE, &data, &len, err) < 0
      || attest_canonical_json (data, len, &out->line, NULL, err) < 0
      || attest_load (path, &payload, &plen, &envelope, err) < 0
      || attest_statement_parse (payload, plen, path, &st, err) < 0)
    return ohr_error_wrap (err, "bundle");
  out->name = strdup (st.package_name ? st.package_name : "");
  out->version = strdup (st.package_version ? st.package_version : "");
  return out->name && out->version ? 0 : nomem (err);
}

int
attest_bundle (const char *dir, const char *out_path, size_t *out_n,
               ohr_error_t *err)
{
  cleanup_strv char **bases = NULL;
  if (bundle_bases (dir, &bases, err) < 0)
    return -1;
  size_t n = strv_len (bases);
  struct bundle_line *lines = calloc (n ? n : 1, sizeof *lines);
  if (lines == NULL)
    return nomem (err);
  int r = 0;
  for (size_t i = 0; r == 0 && i < n; i++)
    r = bundle_line (dir, bases[i], &lines[i], err);
  char *buf = NULL;
  size_t len = 0;
  if (r == 0)
    {
      qsort (lines, n, sizeof *lines, compare_bundle_lines);
      FILE *f = open_memstream (&buf, &len);
      if (f == NULL)
        r = nomem (err);
      for (size_t i = 0; f && i < n; i++)
        fprintf (f, "%s\n", lines[i].line);
      if (f && fclose (f) != 0)
        r = nomem (err);
    }
  for (size_t i = 0; i < n; i++)
    {
      free (lines[i].name);
      free (lines[i].version);
      free (lines[i].line);
    }
  free (lines);
  cleanup_free char *default_path = NULL;
  if (r == 0 && out_path == NULL
      && (out_path = default_path = fs_path_join (dir, "bundle.intoto.jsonl"))
             == NULL)
    r = nomem (err);
  if (r == 0)
    r = fs_write_atomic (out_path, buf ? buf : "", len, 0644, true, err);
  free (buf);
  if (r == 0 && out_n)
    *out_n = n;
  return r;
}

/* ---- re-runs */

void
attest_rerun_clear (struct attest_rerun *r)
{
  free (r->tmp);
  free (r->out_dir);
  attest_diffs_clear (&r->diffs);
  strv_free (r->notes);
  *r = (struct attest_rerun){ 0 };
}

/* The recorded image, pinned by its recorded digest when it is a registry
 * reference by tag. */
static char *
pinned_image (const struct runrecord *rr)
{
  struct imageref ref = { 0 };
  char *s = NULL;
  if (rr->image_digest && imageref_parse (rr->image_ref, &ref, NULL) == 0
      && ref.kind == IMAGEREF_REGISTRY && ref.digest == NULL)
    {
      if (asprintf (&s, "%s/%s@%s", ref.registry, ref.repository,
                    rr->image_digest)
          < 0)
        s = NULL;
    }
  else
    s = strdup (rr->image_ref);
  imageref_clear (&ref);
  return s;
}

static bool
name_is (const char *entry, const char *name)
{
  size_t n = strlen (name);
  return strncmp (entry, name, n) == 0 && entry[n] == '=';
}

static bool
env_has (char *const *env, const char *entry)
{
  size_t n = strcspn (entry, "=");
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], entry, n) == 0 && env[i][n] == '=')
      return true;
  return false;
}

/* What the runner needs from our own environment to work (not to pass
 * on: its allowlist decides that), beside the recorded one. */
static bool
runner_setting (const char *entry)
{
  static const char *const names[] = { "PATH",           "HOME",
                                       "USER",           "LOGNAME",
                                       "TMPDIR",         "XDG_RUNTIME_DIR",
                                       "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                                       "RUSTUP_HOME",    "RUSTUP_TOOLCHAIN",
                                       "CARGO_HOME",     NULL };
  /* the command line of the re-run sets these */
  static const char *const ours[] = { "OCI_HOST_RUNNER_IMAGE",
                                      "OCI_HOST_RUNNER_RUNTIME",
                                      "OCI_HOST_RUNNER_PATHS",
                                      "OCI_HOST_RUNNER_NETWORK",
                                      "OCI_HOST_RUNNER_ENV",
                                      ATTEST_KEY_ENV,
                                      NULL };
  for (size_t i = 0; ours[i]; i++)
    if (name_is (entry, ours[i]))
      return false;
  for (size_t i = 0; names[i]; i++)
    if (name_is (entry, names[i]))
      return true;
  return strncmp (entry, "OCI_HOST_RUNNER_", 16) == 0;
}

/* Names that change what the runner process itself does (the dynamic
 * loader, glibc, the runner's own settings): a record is not trusted with
 * those, so they reach only the script, as --env NAME=VALUE. */
static bool
process_setting (const char *name)
{
  static const char *const exact[]
      = { "GCONV_PATH",  "GLIBC_TUNABLES", "LOCPATH",     "NLSPATH",
          "HOSTALIASES", "RES_OPTIONS",    "LOCALDOMAIN", "TZDIR",
          "PATH",        "HOME",           "TMPDIR",      NULL };
  static const char *const prefixes[]
      = { "LD_", "MALLOC_", "OCI_HOST_RUNNER_", "XDG_", NULL };
  for (size_t i = 0; exact[i]; i++)
    if (strcmp (name, exact[i]) == 0)
      return true;
  for (size_t i = 0; prefixes[i]; i++)
    if (strncmp (name, prefixes[i], strlen (prefixes[i])) == 0)
      return true;
  return false;
}

/* The environment of the re-run.  The runner gets the recorded variables
 * its allowlist passes (with OUT_DIR replaced, and without the jobserver
 * of the original build, whose fds are gone) plus what it needs of ours
 * (runner_setting); every other recorded variable reaches the script as
 * as "--env NAME=VALUE" (in *extra), as it did when it was recorded. */
static int
rerun_env (const struct runrecord *rr, const char *out_dir, char ***out,
           char ***extra, ohr_error_t *err)
{
  cleanup_strv char **env = NULL;
  bool have_out = false;
  for (size_t i = 0; rr->env && rr->env[i]; i++)
    {
      const char *e = rr->env[i];
      cleanup_free char *name = strndup (e, strcspn (e, "="));
      if (name == NULL)
        return nomem (err);
      if (strcmp (name, "CARGO_MAKEFLAGS") == 0
          || strcmp (name, "MAKEFLAGS") == 0 || strcmp (name, "MFLAGS") == 0)
        continue;
      int r;
      if (strcmp (name, "OUT_DIR") == 0)
        {
          have_out = true;
          r = strv_pushf (&env, "OUT_DIR=%s", out_dir);
        }
      else if (!envfilter_allowed (name) || envfilter_looks_secret (name)
               || process_setting (name))
        r = strv_push (extra, e);
      else
        r = strv_push (&env, e);
      if (r < 0)
        return nomem (err);
    }
  if (!have_out && strv_pushf (&env, "OUT_DIR=%s", out_dir) < 0)
    return nomem (err);
  for (size_t i = 0; environ[i]; i++)
    if (runner_setting (environ[i]) && !env_has (env, environ[i])
        && strv_push (&env, environ[i]) < 0)
      return nomem (err);
  *out = steal_pointer (&env);
  return 0;
}

static int
rerun_argv (const struct runrecord *rr, const char *runner, char *const *extra,
            char ***out, ohr_error_t *err)
{
  cleanup_free char *image = pinned_image (rr);
  cleanup_strv char **argv = NULL;
  if (image == NULL || strv_push (&argv, runner) < 0
      || strv_push (&argv, "--image") < 0 || strv_push (&argv, image) < 0
      || strv_push (&argv, "--runtime") < 0
      || strv_push (&argv, rr->runtime_name) < 0
      || strv_push (&argv, "--paths") < 0
      || strv_push (&argv,
                    rr->paths == PATHS_CANONICAL ? "canonical" : "identity")
             < 0
      || strv_push (&argv, "--network") < 0
      || strv_push (&argv, rr->network == NETWORK_HOST ? "host" : "none") < 0)
    return nomem (err);
  for (size_t i = 0; extra && extra[i]; i++)
    if (strv_push (&argv, "--env") < 0 || strv_push (&argv, extra[i]) < 0)
      return nomem (err);
  if (strv_push (&argv, "--") < 0 || strv_push (&argv, rr->script) < 0)
    return nomem (err);
  for (size_t i = 0; rr->args && rr->args[i]; i++)
    if (strv_push (&argv, rr->args[i]) < 0)
      return nomem (err);
  *out = steal_pointer (&argv);
  return 0;
}

/* Run the runner in cwd, stdout and stderr to files, stdin empty. */
static int
spawn_runner (char *const *argv, char *const *envp, const char *cwd,
              const char *out_path, const char *err_path, int *out_status,
              ohr_error_t *err)
{
  if (!fs_is_dir (cwd))
    return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                          "the recorded working directory '%s' is gone", cwd);
  cleanup_close int in = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  cleanup_close int o
      = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cleanup_close int e
      = open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || o < 0 || e < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            o < 0 ? out_path : err_path);
  pid_t pid = fork ();
  if (pid < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot fork");
  if (pid == 0)
    {
      if (chdir (cwd) < 0 || dup2 (in, 0) < 0 || dup2 (o, 1) < 0
          || dup2 (e, 2) < 0)
        _exit (125);
      execve (argv[0], argv, envp);
      dprintf (2, "oci-host-runner-attest: cannot execute '%s': %s\n", argv[0],
               strerror (errno));
      _exit (127);
    }
  int status = 0;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "waitpid");
  *out_status
      = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  return 0;
}

/* The last non-empty line of a file, for a message. */
static char *
last_line (const char *path)
{
  char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, 1 << 20, &data, &len, NULL) < 0)
    return NULL;
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    data[--len] = '\0';
  char *nl = strrchr (data, '\n');
  char *s = strndup (nl ? nl + 1 : data, 300);
  free (data);
  return s;
}

static int
note (struct attest_rerun *r, const char *what, const char *recorded,
      const char *now)
{
  if (strcmp (recorded, now) == 0)
    return 0;
  return strv_pushf (&r->notes,
                     "the %s changed since the statement (recorded %.19s..., "
                     "now %.19s...)",
                     what, recorded, now);
}

/* Inputs that are not what the statement recorded: the re-run then says
 * less, and the user should know. */
static int
input_notes (const struct attest_statement *st, const struct runrecord *rr,
             struct attest_rerun *r, ohr_error_t *err)
{
  for (size_t i = 0; i < st->deps.n; i++)
    {
      const struct attest_file *dep = &st->deps.v[i];
      char now[DIGEST_STRING_LEN + 1] = "";
      ohr_error_t e = NULL;
      int ok;
      if (strcmp (dep->name, "build-script") == 0)
        ok = digest_file (rr->script, now, &e);
      else if (strcmp (dep->name, "source") == 0)
        ok = attest_source_digest (rr->manifest_dir, rr->out_dir, now, &e);
      else if (strcmp (dep->name, "toolchain") == 0 && rr->rustc)
        ok = attest_toolchain_digest (rr->rustc, rr->toolchains, now, NULL,
                                      &e);
      else
        continue;
      int pr = ok < 0 ? strv_pushf (&r->notes, "cannot check the %s: %s",
                                    dep->name, e ? e->msg : "failed")
                      : note (r, dep->name, dep->digest, now);
      ohr_error_free (&e);
      if (pr < 0)
        return nomem (err);
    }
  return 0;
}

static char *
replace_all (const char *s, size_t len, const char *needle, const char *with,
             size_t *out_len)
{
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream (&buf, &n);
  if (f == NULL)
    return NULL;
  size_t nl = strlen (needle);
  const char *p = s, *end = s + len;
  while (p < end)
    {
      const char *hit = nl ? memmem (p, (size_t)(end - p), needle, nl) : NULL;
      if (hit == NULL)
        {
          fwrite (p, 1, (size_t)(end - p), f);
          break;
        }
      fwrite (p, 1, (size_t)(hit - p), f);
      fputs (with, f);
      p = hit + nl;
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return NULL;
    }
  *out_len = n;
  return buf;
}

struct compare
{
  const struct runrecord *rr;
  const char *new_out;
  const char *tmp;
  time_t now;
  struct attest_diffs *diffs;
  ohr_error_t *err;
};

/* A file's content when it is not too large; NULL (and no error) if not. */
static char *
read_small (const char *path, size_t *len)
{
  struct stat st;
  char *data = NULL;
  if (stat (path, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > TEXT_MAX
      || fs_read_file (path, TEXT_MAX, &data, len, NULL) < 0)
    return NULL;
  return data;
}

/* Details of a changed output: the first differing line and hints.
 * Returns 1 when a directive stream is the same once OUT_DIR is left out
 * (no difference, then). */
static int
explain (struct compare *c, struct attest_diff *d, const char *old_path,
         const char *recorded, const char *new_path, bool directives)
{
  size_t old_len = 0, new_len = 0;
  char dg[DIGEST_STRING_LEN + 1] = "";
  cleanup_free char *old = read_small (old_path, &old_len);
  cleanup_free char *new = read_small (new_path, &new_len);
  if (old)
    digest_sha256 (old, old_len, dg);
  if (old == NULL || strcmp (dg, recorded) != 0)
    {
      d->note = "the recorded content is no longer on disk: no line shown";
      return 0;
    }
  if (new == NULL)
    {
      d->note = "too large to compare line by line";
      return 0;
    }
  const char *old_paths[] = { c->rr->out_dir, NULL };
  const char *new_paths[] = { c->new_out, c->tmp, NULL };
  if (directives)
    {
      /* OUT_DIR in directives (rustc-link-search, ...) is where the
       * outputs are, not what they are: compare without it */
      size_t a = 0, b = 0;
      cleanup_free char *na
          = replace_all (old, old_len, c->rr->out_dir, "${OUT_DIR}", &a);
      cleanup_free char *nb
          = replace_all (new, new_len, c->new_out, "${OUT_DIR}", &b);
      if (na == NULL || nb == NULL)
        return nomem (c->err);
      if (a == b && memcmp (na, nb, a) == 0)
        return 1;
      old_paths[0] = NULL;
      return attest_diff_contents (na, a, nb, b, old_paths, new_paths, c->now,
                                   d, c->err);
    }
  return attest_diff_contents (old, old_len, new, new_len, old_paths,
                               new_paths, c->now, d, c->err);
}

static int
compare_outputs (struct compare *c, const struct attest_statement *st,
                 const char *record_dir, const char *new_directives)
{
  cleanup_files struct attest_files now = { 0 };
  if (attest_tree_files (c->new_out, "out/", &now, c->err) < 0)
    return -1;
  for (size_t i = 0; i < st->subjects.n; i++)
    {
      const struct attest_file *s = &st->subjects.v[i];
      bool directives = strcmp (s->name, "directives") == 0;
      const struct attest_file *f
          = directives ? NULL : files_find (&now, s->name);
      char dg[DIGEST_STRING_LEN + 1] = "";
      if (directives && digest_directives (new_directives, dg, c->err) < 0)
        return -1;
      if (f)
        snprintf (dg, sizeof dg, "%s", f->digest);
      if (dg[0] == '\0')
        {
          if (diffs_add (c->diffs, ATTEST_DIFF_MISSING, s->name) == NULL)
            return nomem (c->err);
          continue;
        }
      if (strcmp (dg, s->digest) == 0)
        continue;
      struct attest_diff *d
          = diffs_add (c->diffs, ATTEST_DIFF_CHANGED, s->name);
      if (d == NULL)
        return nomem (c->err);
      cleanup_free char *old_path
          = directives ? fs_path_join (record_dir, c->rr->directives)
                       : fs_path_join (c->rr->out_dir, s->name + 4);
      cleanup_free char *new_path
          = directives ? strdup (new_directives)
                       : fs_path_join (c->new_out, s->name + 4);
      if (old_path == NULL || new_path == NULL)
        return nomem (c->err);
      int same = explain (c, d, old_path, s->digest, new_path, directives);
      if (same < 0)
        return -1;
      if (same == 1)
        {
          /* equal but for OUT_DIR: not a difference */
          c->diffs->n--;
          free (d->name);
          free (d->old_line);
          free (d->new_line);
        }
    }
  for (size_t i = 0; i < now.n; i++)
    if (files_find (&st->subjects, now.v[i].name) == NULL
        && diffs_add (c->diffs, ATTEST_DIFF_EXTRA, now.v[i].name) == NULL)
      return nomem (c->err);
  return 0;
}

static int
rerun (const char *statement_path, const struct attest_rerun_options *opts,
       struct attest_rerun *r, ohr_error_t *err)
{
  cleanup_free char *payload = NULL;
  size_t plen = 0;
  bool envelope = false;
  cleanup_statement struct attest_statement st = { 0 };
  if (attest_load (statement_path, &payload, &plen, &envelope, err) < 0
      || attest_statement_parse (payload, plen, statement_path, &st, err) < 0)
    return -1;
  cleanup_free char *record_path = attest_record_path (statement_path, &st);
  cleanup_free char *record_dir = dir_of (statement_path);
  cleanup_runrecord struct runrecord rr = { 0 };
  if (record_path == NULL || record_dir == NULL)
    return nomem (err);
  if (runrecord_read (record_path, &rr, err) < 0)
    return ohr_error_wrap (err, "the run record of '%s'", statement_path);
  /* the runner execs --runtime as given: only the two it knows by name */
  if (strcmp (rr.runtime_name, "runc") != 0
      && strcmp (rr.runtime_name, "crun") != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record '%s': runtime '%.40s' is neither runc "
                          "nor crun",
                          record_path, rr.runtime_name);
  if (input_notes (&st, &rr, r, err) < 0)
    return -1;
  if (rr.network == NETWORK_HOST
      && strv_push (&r->notes, "the recorded run had the host's network, "
                               "and so does the re-run")
             < 0)
    return nomem (err);

  const char *tmpdir = getenv ("TMPDIR");
  if (asprintf (&r->tmp, "%s/ohr-verify-XXXXXX",
                tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp")
      < 0)
    {
      r->tmp = NULL;
      return nomem (err);
    }
  if (mkdtemp (r->tmp) == NULL)
    {
      int e = errno;
      free (steal_pointer (&r->tmp));
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                              "cannot create a temporary directory");
    }
  /* the container's root (rootless: our uid) walks into it */
  chmod (r->tmp, 0755);
  cleanup_free char *pkg = NULL;
  if (asprintf (&pkg, "%s-verify",
                rr.package_name ? rr.package_name : "package")
          < 0
      || asprintf (&r->out_dir, "%s/target/debug/build/%s/out", r->tmp, pkg)
             < 0)
    return nomem (err);
  if (fs_mkdir_p (r->out_dir, 0755, err) < 0)
    return -1;

  cleanup_strv char **env = NULL, **extra = NULL, **argv = NULL;
  cleanup_free char *out_path = fs_path_join (r->tmp, "directives");
  cleanup_free char *err_path = fs_path_join (r->tmp, "stderr");
  if (out_path == NULL || err_path == NULL)
    return nomem (err);
  if (rerun_env (&rr, r->out_dir, &env, &extra, err) < 0
      || rerun_argv (&rr, opts->runner, extra, &argv, err) < 0
      || spawn_runner (argv, env, rr.cwd, out_path, err_path, &r->status, err)
             < 0)
    return -1;
  if (r->status != rr.exit_status && r->status >= 121 && r->status <= 127)
    {
      cleanup_free char *why = last_line (err_path);
      return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                            "the re-run failed (exit status %d): %s",
                            r->status, why && why[0] ? why : "no message");
    }
  struct compare c = { .rr = &rr,
                       .new_out = r->out_dir,
                       .tmp = r->tmp,
                       .now = time (NULL),
                       .diffs = &r->diffs,
                       .err = err };
  if (compare_outputs (&c, &st, record_dir, out_path) < 0)
    return -1;
  r->n_compared = st.subjects.n;
  if (r->status != rr.exit_status)
    {
      struct attest_diff *d
          = diffs_add (&r->diffs, ATTEST_DIFF_STATUS, "exit status");
      if (d == NULL)
        return nomem (err);
      d->old_status = rr.exit_status;
      d->new_status = r->status;
    }
  return 0;
}

int
attest_rerun (const char *statement_path,
              const struct attest_rerun_options *opts,
              struct attest_rerun *out, ohr_error_t *err)
{
  struct attest_rerun r = { 0 };
  int rc = rerun (statement_path, opts, &r, err);
  if (r.tmp && !opts->keep)
    {
      ohr_error_t e = NULL;
      fs_rm_rf (r.tmp, &e);
      ohr_error_free (&e);
    }
  if (rc < 0)
    {
      attest_rerun_clear (&r);
      return -1;
    }
  *out = r;
  return 0;
}
