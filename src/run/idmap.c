/* idmap.c: see idmap.h */
#define _GNU_SOURCE
#include "run/idmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

bool
idmap_has_uid (const struct idmap *m, uid_t uid)
{
  return uid >= m->uid
         && (unsigned long long)uid < (unsigned long long)m->uid + m->size;
}

bool
idmap_has_gid (const struct idmap *m, gid_t gid)
{
  return gid >= m->gid
         && (unsigned long long)gid < (unsigned long long)m->gid + m->size;
}

static bool
parse_id (const char *s, unsigned long long *out)
{
  char *end;
  if (s == NULL || *s < '0' || *s > '9')
    return false;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno || *end != '\0' || v > 0xffffffffULL)
    return false;
  *out = v;
  return true;
}

/* Split a line of a colon-separated file in place: fields[0..n). */
static size_t
split (char *line, char **fields, size_t max)
{
  line[strcspn (line, "\n")] = '\0';
  size_t n = 0;
  for (char *p = line; n < max;)
    {
      fields[n++] = p;
      char *c = strchr (p, ':');
      if (c == NULL)
        break;
      *c = '\0';
      p = c + 1;
    }
  return n;
}

/* A line of a colon-separated file, as the callback sees it. */
typedef int (*line_fn) (char **fields, size_t n, unsigned lineno, void *ctx,
                        ohr_error_t *err);

/* A missing file has no lines. */
static int
each_line (const char *path, line_fn fn, void *ctx, ohr_error_t *err)
{
  cleanup_file FILE *f = fopen (path, "re");
  if (f == NULL)
    return errno == ENOENT ? 0
                           : ohr_error_errno (err, errno, OHR_ERR_USAGE,
                                              "cannot read '%s'", path);
  cleanup_free char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  while (getline (&line, &cap, f) >= 0)
    {
      char *fields[8];
      lineno++;
      if (line[0] == '#' || line[0] == '\n')
        continue;
      int r = fn (fields, split (line, fields, 8), lineno, ctx, err);
      if (r != 0)
        return r;
    }
  return 0;
}

/* ---- the entry of a name in /etc/subuid or /etc/subgid */

struct subid_lookup
{
  const char *name;
  unsigned long long start, count;
  bool found;
};

static int
subid_line (char **fields, size_t n, unsigned lineno, void *ctx,
            ohr_error_t *err)
{
  struct subid_lookup *l = ctx;
  if (n != 3 || strcmp (fields[0], l->name) != 0)
    return 0;
  if (!parse_id (fields[1], &l->start) || !parse_id (fields[2], &l->count))
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "line %u: entry of '%s' is not NAME:START:COUNT",
                          lineno, l->name);
  l->found = true;
  return 1; /* the first entry wins */
}

static int
subid_find (const char *path, const char *name, struct subid_lookup *out,
            ohr_error_t *err)
{
  *out = (struct subid_lookup){ .name = name };
  if (each_line (path, subid_line, out, err) < 0)
    return ohr_error_wrap (err, "'%s'", path);
  return 0;
}

/* ---- conflicts */

struct conflict_scan
{
  const char *path;
  unsigned long long start, size;
  size_t id_field;  /* passwd/group: 2; subid: 1 (with a count) */
  const char *skip; /* subid: the entry the range came from */
  const char *what; /* "user", "group", "range" */
};

static int
conflict_line (char **fields, size_t n, unsigned lineno, void *ctx,
               ohr_error_t *err)
{
  struct conflict_scan *c = ctx;
  unsigned long long id, count = 1;
  if (n <= c->id_field || !parse_id (fields[c->id_field], &id))
    return 0;
  if (c->id_field == 1
      && (n != 3 || !parse_id (fields[2], &count)
          || (c->skip && strcmp (fields[0], c->skip) == 0)))
    return 0;
  if (id + count <= c->start || id >= c->start + c->size)
    return 0;
  if (c->id_field == 1)
    return ohr_error_set (err, EEXIST, OHR_ERR_USAGE,
                          "the host id range %llu-%llu overlaps the range "
                          "%llu-%llu of '%s' in %s (line %u)",
                          c->start, c->start + c->size - 1, id, id + count - 1,
                          fields[0], c->path, lineno);
  return ohr_error_set (err, EEXIST, OHR_ERR_USAGE,
                        "the host id range %llu-%llu holds %s %llu ('%s') "
                        "of %s (line %u)",
                        c->start, c->start + c->size - 1, c->what, id,
                        fields[0], c->path, lineno);
}

static int
check_conflicts (const struct idmap *m, const struct idmap_files *f,
                 const char *from_subid, ohr_error_t *err)
{
  struct conflict_scan scans[] = {
    { f->passwd, m->uid, m->size, 2, NULL, "user" },
    { f->group, m->gid, m->size, 2, NULL, "group" },
    { f->subuid, m->uid, m->size, 1, from_subid, "range" },
    { f->subgid, m->gid, m->size, 1, from_subid, "range" },
  };
  /* an administrator's subid entry may share ids with others' entries
   * (that is their choice); a reserved range may not */
  size_t n = from_subid ? 2 : 4;
  for (size_t i = 0; i < n; i++)
    if (each_line (scans[i].path, conflict_line, &scans[i], err) < 0)
      return -1;
  return 0;
}

/* ---- choosing */

static int
from_subid (const char *name, const struct idmap_files *f, bool *found,
            struct idmap *out, ohr_error_t *err)
{
  struct subid_lookup u, g;
  if (subid_find (f->subuid, name, &u, err) < 0)
    return -1;
  *found = u.found;
  if (!u.found)
    return 0;
  if (subid_find (f->subgid, name, &g, err) < 0)
    return -1;
  if (!g.found)
    return ohr_error_set (err, ENOENT, OHR_ERR_USAGE,
                          "'%s' has an entry in %s but none in %s", name,
                          f->subuid, f->subgid);
  if (u.count < IDMAP_SIZE || g.count < IDMAP_SIZE)
    return ohr_error_set (err, ERANGE, OHR_ERR_USAGE,
                          "the entries of '%s' in %s and %s must hold at "
                          "least %u ids each (%llu and %llu)",
                          name, f->subuid, f->subgid, IDMAP_SIZE, u.count,
                          g.count);
  *out = (struct idmap){ .uid = (uid_t)u.start,
                         .gid = (gid_t)g.start,
                         .size = IDMAP_SIZE };
  return 0;
}

static int
check_range (const struct idmap *m, ohr_error_t *err)
{
  unsigned long long u = m->uid, g = m->gid;
  if (u == 0 || g == 0 || u + m->size - 1 >= 0xffffffffULL
      || g + m->size - 1 >= 0xffffffffULL)
    return ohr_error_set (err, ERANGE, OHR_ERR_USAGE,
                          "the host id ranges %llu-%llu and %llu-%llu must "
                          "not contain 0 nor reach 4294967295",
                          u, u + m->size - 1, g, g + m->size - 1);
  return 0;
}

int
idmap_choose (const char *want, const struct idmap_files *files,
              struct idmap *out, ohr_error_t *err)
{
  struct idmap_files f = {
    .passwd = files && files->passwd ? files->passwd : "/etc/passwd",
    .group = files && files->group ? files->group : "/etc/group",
    .subuid = files && files->subuid ? files->subuid : "/etc/subuid",
    .subgid = files && files->subgid ? files->subgid : "/etc/subgid",
  };
  bool is_auto = want == NULL || strcmp (want, "auto") == 0;
  const char *name = is_auto ? IDMAP_SUBID_NAME : want;
  struct idmap m = { .size = IDMAP_SIZE };
  unsigned long long start;
  bool found = false;
  const char *subid = NULL;
  if (!is_auto && parse_id (want, &start))
    m.uid = m.gid = (uid_t)start;
  else
    {
      if (from_subid (name, &f, &found, &m, err) < 0)
        return -1;
      if (found)
        subid = name;
      else if (!is_auto)
        return ohr_error_set (err, ENOENT, OHR_ERR_USAGE,
                              "no entry for '%s' in %s", name, f.subuid);
      else
        m.uid = m.gid = IDMAP_RESERVED_START;
    }
  if (check_range (&m, err) < 0 || check_conflicts (&m, &f, subid, err) < 0)
    {
      if (is_auto && !found)
        ohr_error_wrap (err,
                        "the reserved ids (add an '%s' entry to %s and "
                        "%s, or choose a range with --id-range)",
                        IDMAP_SUBID_NAME, f.subuid, f.subgid);
      return -1;
    }
  *out = m;
  return 0;
}
