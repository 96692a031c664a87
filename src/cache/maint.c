/* maint.c: see maint.h */
#define _GNU_SOURCE
#include "cache/maint.h"

#include <errno.h>
#include <ostree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/index.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gerror.h"

#define REF_RESULT "ohr/result/"
#define LOG_MAX (64u << 20)

struct result
{
  char hex[65];
  char *commit;
  int64_t last_use; /* seconds */
  GHashTable *objects;
  uint64_t own; /* bytes no other result shares (during gc) */
};

struct results
{
  struct result *v;
  size_t n;
  GHashTable *uses; /* object name -> struct use */
};

struct use
{
  guint64 size;
  unsigned count;
};

static void
results_clear (struct results *r)
{
  for (size_t i = 0; i < r->n; i++)
    {
      g_free (r->v[i].commit);
      if (r->v[i].objects)
        g_hash_table_unref (r->v[i].objects);
    }
  free (r->v);
  if (r->uses)
    g_hash_table_unref (r->uses);
  memset (r, 0, sizeof *r);
}

/* The results log (local.h): "EVENT KEY NS [TIME]" lines. */
static void
read_log (struct store *st, struct results *rs, struct cache_stats *stats)
{
  cleanup_free char *path = fs_path_join (store_dir (st), "results.log");
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (path == NULL || fs_read_file (path, LOG_MAX, &data, &len, &ignored) < 0)
    {
      ohr_error_free (&ignored);
      return;
    }
  for (char *line = strtok (data, "\n"); line; line = strtok (NULL, "\n"))
    {
      char event[16], hex[65];
      long long ns = 0, when = 0;
      int n = sscanf (line, "%15s %64s %lld %lld", event, hex, &ns, &when);
      if (n < 3)
        continue;
      if (stats && strcmp (event, "hit") == 0)
        stats->hits++, stats->saved_ns += ns;
      else if (stats && strcmp (event, "miss") == 0)
        stats->misses++;
      else if (stats && strcmp (event, "stored") == 0)
        stats->stored++;
      for (size_t i = 0; rs && n == 4 && i < rs->n; i++)
        if (strcmp (rs->v[i].hex, hex) == 0 && when > rs->v[i].last_use)
          rs->v[i].last_use = when;
    }
}

static int
load_results (struct store *st, struct results *rs, ohr_error_t *err)
{
  OstreeRepo *repo = (OstreeRepo *)store_repo (st);
  g_autoptr (GHashTable) refs = NULL;
  g_autoptr (GError) gerr = NULL;
  memset (rs, 0, sizeof *rs);
  /* the prefix without its slash, as ostree wants a ref directory */
  if (!ostree_repo_list_refs_ext (repo, "ohr/result", &refs,
                                  OSTREE_REPO_LIST_REFS_EXT_NONE, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot list results");
  rs->uses = g_hash_table_new_full (ostree_hash_object_name, g_variant_equal,
                                    (GDestroyNotify)g_variant_unref, g_free);
  rs->v = calloc (g_hash_table_size (refs) + 1, sizeof *rs->v);
  if (rs->v == NULL)
    return ohr_error_nomem (err);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, refs);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const char *name = k;
      if (strncmp (name, REF_RESULT, strlen (REF_RESULT)) != 0)
        continue;
      const char *hex = name + strlen (REF_RESULT);
      struct result *r = &rs->v[rs->n];
      if (strlen (hex) != 64)
        continue;
      memcpy (r->hex, hex, 65);
      r->commit = g_strdup (v);
      rs->n++;
      g_autoptr (GVariant) commit = NULL;
      if (!ostree_repo_load_commit (repo, r->commit, &commit, NULL, &gerr)
          || !ostree_repo_traverse_commit (repo, r->commit, 0, &r->objects,
                                           NULL, &gerr))
        return ohr_error_gerror (err, gerr, "cannot read result %s", hex);
      r->last_use = (int64_t)ostree_commit_get_timestamp (commit);
      GHashTableIter oi;
      gpointer obj;
      g_hash_table_iter_init (&oi, r->objects);
      while (g_hash_table_iter_next (&oi, &obj, NULL))
        {
          struct use *u = g_hash_table_lookup (rs->uses, obj);
          if (u == NULL)
            {
              const char *csum;
              OstreeObjectType type;
              ostree_object_name_deserialize (obj, &csum, &type);
              u = g_new0 (struct use, 1);
              if (!ostree_repo_query_object_storage_size (
                      repo, type, csum, &u->size, NULL, &gerr))
                {
                  g_free (u);
                  return ohr_error_gerror (err, gerr, "cannot size %s", csum);
                }
              g_hash_table_insert (rs->uses, g_variant_ref (obj), u);
            }
          u->count++;
        }
    }
  return 0;
}

static uint64_t
total_bytes (const struct results *rs)
{
  uint64_t sum = 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, rs->uses);
  while (g_hash_table_iter_next (&it, NULL, &v))
    sum += ((struct use *)v)->size;
  return sum;
}

int
cache_maint_stats (struct store *st, struct cache_stats *out, ohr_error_t *err)
{
  struct results rs;
  memset (out, 0, sizeof *out);
  int r = load_results (st, &rs, err);
  if (r == 0)
    {
      out->entries = rs.n;
      out->bytes = total_bytes (&rs);
      read_log (st, NULL, out);
    }
  results_clear (&rs);
  return r;
}

static int
by_last_use (const void *a, const void *b)
{
  int64_t x = ((const struct result *)a)->last_use;
  int64_t y = ((const struct result *)b)->last_use;
  return x < y ? -1 : x > y;
}

static int
drop_ref (struct store *st, const char *hex, ohr_error_t *err)
{
  g_autoptr (GError) gerr = NULL;
  g_autofree char *ref = g_strconcat (REF_RESULT, hex, NULL);
  /* the hit index first: a hit never outlives its ref (index.h) */
  cache_index_remove (store_dir (st), hex);
  if (!ostree_repo_set_ref_immediate ((OstreeRepo *)store_repo (st), NULL, ref,
                                      NULL, NULL, &gerr))
    return ohr_error_gerror (err, gerr, "cannot remove result %s", hex);
  return 0;
}

int
cache_maint_gc (struct store *st, uint64_t max_bytes, size_t *removed,
                uint64_t *freed, ohr_error_t *err)
{
  struct results rs;
  *removed = 0;
  *freed = 0;
  int r = load_results (st, &rs, err);
  if (r == 0)
    {
      read_log (st, &rs, NULL);
      qsort (rs.v, rs.n, sizeof *rs.v, by_last_use);
      uint64_t total = total_bytes (&rs);
      for (size_t i = 0; r == 0 && i < rs.n && total > max_bytes; i++)
        {
          GHashTableIter it;
          gpointer obj;
          g_hash_table_iter_init (&it, rs.v[i].objects);
          while (g_hash_table_iter_next (&it, &obj, NULL))
            {
              struct use *u = g_hash_table_lookup (rs.uses, obj);
              if (--u->count == 0)
                total -= u->size, *freed += u->size;
            }
          r = drop_ref (st, rs.v[i].hex, err);
          if (r == 0)
            (*removed)++;
        }
    }
  results_clear (&rs);
  struct store_gc_stats gs = { 0 };
  if (r == 0 && *removed && store_gc (st, &gs, err) < 0)
    return -1;
  return r;
}

int
cache_maint_rm (struct store *st, const char *key, char out_hex[65],
                ohr_error_t *err)
{
  size_t n = strlen (key);
  if (n < 12 || n > 64 || strspn (key, "0123456789abcdef") != n)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "'%s' is not a result key (12 to 64 lowercase hex "
                          "digits)",
                          key);
  struct results rs;
  int r = load_results (st, &rs, err);
  const char *found = NULL;
  for (size_t i = 0; r == 0 && i < rs.n; i++)
    if (strncmp (rs.v[i].hex, key, n) == 0)
      {
        if (found)
          r = ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                             "'%s' names more than one result: give more "
                             "digits",
                             key);
        found = rs.v[i].hex;
      }
  if (r == 0 && found == NULL)
    r = ohr_error_set (err, ENOENT, OHR_ERR_USAGE, "no result '%s'", key);
  if (r == 0)
    {
      memcpy (out_hex, found, 65);
      r = drop_ref (st, found, err);
    }
  results_clear (&rs);
  return r;
}
