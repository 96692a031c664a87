/* memo.c: see memo.h.  A shard's file format: one entry a line,
 *   DEV INO SIZE MTIME_NS CTIME_NS HEX PATH\n
 * (paths with a newline are never remembered). */
#define _GNU_SOURCE
#include "cache/memo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MEMO_MAX_FILE (64u << 20)
/* a shard read but not written gets a new mtime this often */
#define MEMO_REFRESH_NS (86400LL * 1000000000LL)

static long long
ns_of (const struct timespec *ts)
{
  return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static size_t
hash_path (const char *s)
{
  /* FNV-1a */
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  /* FNV's low bits, which pick the slot, barely differ between paths
   * that differ only in a few characters (file1.rs, file2.rs): mix the
   * high bits down, or the probes run long (Murmur3's finaliser) */
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (size_t)h;
}

static struct memo_entry *
slot (const struct memo_shard *m, const char *path)
{
  size_t i = hash_path (path) & (m->cap - 1);
  while (m->v[i].path && strcmp (m->v[i].path, path) != 0)
    i = (i + 1) & (m->cap - 1);
  return &m->v[i];
}

static int
grow (struct memo_shard *m)
{
  size_t cap = m->cap ? m->cap * 2 : 1024;
  struct memo_entry *old = m->v;
  size_t old_cap = m->cap;
  m->v = calloc (cap, sizeof *m->v);
  if (m->v == NULL)
    {
      m->v = old;
      return -1;
    }
  m->cap = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].path)
      *slot (m, old[i].path) = old[i];
  free (old);
  return 0;
}

/* Takes e->path. */
static int
insert (struct memo_shard *m, struct memo_entry *e)
{
  if ((m->n + 1) * 2 > m->cap && grow (m) < 0)
    {
      free (e->path);
      return -1;
    }
  struct memo_entry *s = slot (m, e->path);
  if (s->path)
    {
      free (s->path);
      m->n--;
    }
  *s = *e;
  m->n++;
  return 0;
}

/* n decimal numbers, each followed by one space: *p moves past them.  By
 * hand: sscanf costs a microsecond a line, and a memo has one line for
 * every file of every crate and toolchain, read on every run. */
static int
parse_numbers (const char **p, long long *v, int n)
{
  for (int i = 0; i < n; i++)
    {
      const char *s = *p;
      unsigned long long x = 0;
      if (*s < '0' || *s > '9')
        return -1;
      for (; *s >= '0' && *s <= '9'; s++)
        {
          if (x > (~0ULL - 9) / 10)
            return -1;
          x = x * 10 + (unsigned)(*s - '0');
        }
      if (*s != ' ')
        return -1;
      v[i] = (long long)x;
      *p = s + 1;
    }
  return 0;
}

static void
shard_clear (struct memo_shard *sh)
{
  for (size_t i = 0; i < sh->cap; i++)
    free (sh->v[i].path);
  free (sh->v);
  sh->v = NULL;
  sh->cap = sh->n = 0;
}

/* Parse a shard's text into sh (a malformed line is skipped). */
static int
shard_parse (struct memo_shard *sh, char *data, size_t len)
{
  /* room for every line at once: no rehashing while loading */
  size_t lines = 0;
  for (const char *c = data; (c = memchr (c, '\n', (size_t)(data + len - c)));
       c++)
    lines++;
  while ((lines + 1) * 2 > sh->cap)
    if (grow (sh) < 0)
      return -1;
  for (char *line = data, *nl; line < data + len; line = nl + 1)
    {
      nl = memchr (line, '\n', (size_t)(data + len - line));
      if (nl == NULL)
        break; /* a last line cut short */
      *nl = '\0';
      long long v[5];
      const char *p = line;
      if (parse_numbers (&p, v, 5) < 0 || strspn (p, "0123456789abcdef") != 64
          || p[64] != ' ' || p[65] != '/')
        continue;
      struct memo_entry e = { .dev = (dev_t)v[0],
                              .ino = (ino_t)v[1],
                              .size = (off_t)v[2],
                              .mtime_ns = v[3],
                              .ctime_ns = v[4] };
      memcpy (e.hex, p, 64);
      e.hex[64] = '\0';
      if ((e.path = strdup (p + 65)) == NULL || insert (sh, &e) < 0)
        return -1;
    }
  return 0;
}

/* Read the shard's file, once.  Missing or unreadable: empty.  A file
 * read but not written for a day gets a new mtime (memo_prune). */
static int
shard_load (const struct memo *m, struct memo_shard *sh)
{
  if (sh->loaded)
    return 0;
  sh->loaded = true;
  if (grow (sh) < 0)
    return -1;
  if (m->dir == NULL)
    return 0;
  cleanup_free char *path = fs_path_join (m->dir, sh->name);
  if (path == NULL)
    return -1;
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)
      || (size_t)st.st_size > MEMO_MAX_FILE)
    return 0;
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (fs_read_fd (fd, NULL, MEMO_MAX_FILE, OHR_ERR_INTERNAL, &data, &len,
                  &ignored)
      < 0)
    {
      ohr_error_free (&ignored);
      return 0;
    }
  if (m->now_ns - ns_of (&st.st_mtim) > MEMO_REFRESH_NS)
    (void)futimens (fd, NULL);
  return shard_parse (sh, data, len);
}

int
memo_load (const char *dir, struct memo *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  out->now_ns = ns_of (&now);
  if (dir && (out->dir = strdup (dir)) == NULL)
    return ohr_error_nomem (err);
  if (memo_scope (out, "/", err) < 0)
    {
      memo_clear (out);
      return -1;
    }
  return 0;
}

int
memo_scope (struct memo *m, const char *root, ohr_error_t *err)
{
  char name[17];
  snprintf (name, sizeof name, "%016llx",
            (unsigned long long)hash_path (root));
  for (size_t i = 0; i < m->n_shards; i++)
    if (strcmp (m->shards[i].name, name) == 0)
      {
        m->cur = i;
        return 0;
      }
  struct memo_shard *v
      = reallocarray (m->shards, m->n_shards + 1, sizeof *m->shards);
  if (v == NULL)
    return ohr_error_nomem (err);
  m->shards = v;
  m->cur = m->n_shards++;
  memset (&v[m->cur], 0, sizeof *v);
  memcpy (v[m->cur].name, name, sizeof name);
  return 0;
}

/* The scope's shard, read; NULL when memory runs out (or before
 * memo_load). */
static struct memo_shard *
current (struct memo *m)
{
  if (m->n_shards == 0)
    return NULL;
  struct memo_shard *sh = &m->shards[m->cur];
  if (shard_load (m, sh) < 0)
    {
      shard_clear (sh);
      return NULL;
    }
  return sh;
}

const char *
memo_get (struct memo *m, const char *path, const struct stat *st)
{
  const struct memo_shard *sh = current (m);
  if (sh == NULL || sh->cap == 0)
    return NULL;
  const struct memo_entry *e = slot (sh, path);
  if (e->path == NULL || e->dev != st->st_dev || e->ino != st->st_ino
      || e->size != st->st_size || e->mtime_ns != ns_of (&st->st_mtim)
      || e->ctime_ns != ns_of (&st->st_ctim))
    return NULL;
  return e->hex;
}

int
memo_put (struct memo *m, const char *path, const struct stat *st,
          const char *hex, ohr_error_t *err)
{
  long long mt = ns_of (&st->st_mtim), ct = ns_of (&st->st_ctim);
  if (strchr (path, '\n') || path[0] != '/' || m->now_ns - mt < MEMO_RACY_NS
      || m->now_ns - ct < MEMO_RACY_NS)
    return 0;
  struct memo_shard *sh = current (m);
  if (sh == NULL)
    return ohr_error_nomem (err);
  struct memo_entry e = { .dev = st->st_dev,
                          .ino = st->st_ino,
                          .size = st->st_size,
                          .mtime_ns = mt,
                          .ctime_ns = ct };
  snprintf (e.hex, sizeof e.hex, "%s", hex);
  if ((e.path = strdup (path)) == NULL || insert (sh, &e) < 0)
    return ohr_error_nomem (err);
  sh->dirty = true;
  return 0;
}

static int
shard_save (const struct memo *m, struct memo_shard *sh, ohr_error_t *err)
{
  struct buf b = { 0 };
  for (size_t i = 0; i < sh->cap; i++)
    {
      const struct memo_entry *e = &sh->v[i];
      char *line = NULL;
      if (e->path == NULL)
        continue;
      int n = asprintf (&line, "%llu %llu %lld %lld %lld %s %s\n",
                        (unsigned long long)e->dev, (unsigned long long)e->ino,
                        (long long)e->size, e->mtime_ns, e->ctime_ns, e->hex,
                        e->path);
      if (n < 0 || buf_add (&b, line, (size_t)n) < 0)
        {
          free (line);
          buf_clear (&b);
          return ohr_error_nomem (err);
        }
      free (line);
    }
  cleanup_free char *path = fs_path_join (m->dir, sh->name);
  int r = path == NULL ? ohr_error_nomem (err)
                       : fs_write_atomic (path, b.data ? b.data : "", b.len,
                                          0600, false, err);
  buf_clear (&b);
  if (r == 0)
    sh->dirty = false;
  return r;
}

int
memo_save (struct memo *m, ohr_error_t *err)
{
  if (m->dir == NULL)
    return 0;
  bool made = false;
  for (size_t i = 0; i < m->n_shards; i++)
    {
      if (!m->shards[i].dirty)
        continue;
      if (!made && mkdir (m->dir, 0700) < 0 && errno != EEXIST)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create '%s'", m->dir);
      made = true;
      if (shard_save (m, &m->shards[i], err) < 0)
        return -1;
    }
  return 0;
}

int
memo_prune (const char *dir, const char *legacy, long long max_age_s,
            size_t *removed, ohr_error_t *err)
{
  *removed = 0;
  if (legacy && unlink (legacy) == 0)
    (*removed)++;
  cleanup_dir DIR *d = opendir (dir);
  if (d == NULL)
    return errno == ENOENT ? 0
                           : ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                              "cannot open '%s'", dir);
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      if (de->d_name[0] == '.'
          || fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (now.tv_sec - st.st_mtim.tv_sec > max_age_s
          && unlinkat (dirfd (d), de->d_name, 0) == 0)
        (*removed)++;
    }
  return 0;
}

void
memo_clear (struct memo *m)
{
  for (size_t i = 0; i < m->n_shards; i++)
    shard_clear (&m->shards[i]);
  free (m->shards);
  free (m->dir);
  memset (m, 0, sizeof *m);
}
