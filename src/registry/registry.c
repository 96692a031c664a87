/* registry.c: the API of registry.h: the client, manifests and blobs.
 *
 * It checks names, makes one job per request, says through each job's
 * complete() what its body must satisfy (a manifest's digest, a blob's
 * size and digest, then the blob renamed into place), and hands the jobs
 * to transport.c; authentication happens on the way (auth.c).
 */
#define _GNU_SOURCE
#include "registry/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/strv.h"

#define DEFAULT_RETRIES 4
#define DEFAULT_RETRY_BASE_MS 500
#define DEBUG_ENV "OCI_HOST_RUNNER_REGISTRY_DEBUG"
#define RETRY_BASE_ENV "OCI_HOST_RUNNER_RETRY_BASE_MS"
#define MANIFEST_ACCEPT                                                       \
  "Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST        \
  ", " MT_DOCKER_LIST

/* ---- names */

static bool
chars_in (const char *s, const char *allowed)
{
  for (; *s; s++)
    if (!(('a' <= *s && *s <= 'z') || ('0' <= *s && *s <= '9')
          || strchr (allowed, *s)))
      return false;
  return true;
}

static bool
valid_registry (const char *s)
{
  return s && *s && strlen (s) <= 255
         && chars_in (s, ".-:[]ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static bool
valid_repository (const char *s)
{
  return s && *s && strlen (s) <= 255 && s[0] != '/'
         && s[strlen (s) - 1] != '/' && strstr (s, "//") == NULL
         && strstr (s, "..") == NULL && chars_in (s, "._-/");
}

static bool
valid_tag (const char *s)
{
  return s && *s && strlen (s) <= 128 && s[0] != '.' && s[0] != '-'
         && chars_in (s, "._-ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static int
check_names (const char *registry, const char *repository, ohr_error_t *err)
{
  char safe[128];
  if (!valid_registry (registry))
    {
      registry_sanitize (registry, safe, sizeof safe);
      return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                            "invalid registry name '%s'", safe);
    }
  if (!valid_repository (repository))
    {
      registry_sanitize (repository, safe, sizeof safe);
      return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                            "invalid repository name '%s' on %s", safe,
                            registry);
    }
  return 0;
}

/* ---- the client */

static long long
retry_base_from_env (void)
{
  const char *v = getenv (RETRY_BASE_ENV);
  char *end = NULL;
  if (v == NULL || *v == '\0')
    return DEFAULT_RETRY_BASE_MS;
  long long ms = strtoll (v, &end, 10);
  return (*end || ms < 0 || ms > MAX_BACKOFF_MS) ? DEFAULT_RETRY_BASE_MS : ms;
}

int
registry_client_new (const struct registry_options *opts,
                     struct registry_client **out, ohr_error_t *err)
{
  if (registry_transport_init (err) < 0)
    return -1;
  struct registry_client *c = calloc (1, sizeof *c);
  if (c == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; opts && opts->insecure_hosts && opts->insecure_hosts[i];
       i++)
    if (strv_push (&c->insecure_hosts, opts->insecure_hosts[i]) < 0)
      {
        registry_client_free (c);
        return ohr_error_nomem (err);
      }
  c->max_retries
      = opts && opts->max_retries > 0 ? opts->max_retries : DEFAULT_RETRIES;
  c->progress = opts && opts->progress;
  const char *dbg = getenv (DEBUG_ENV);
  c->debug = dbg && *dbg && strcmp (dbg, "0") != 0;
  c->retry_base_ms = retry_base_from_env ();
  *out = c;
  return 0;
}

void
registry_client_free (struct registry_client *c)
{
  if (c == NULL)
    return;
  registry_auth_free_all (c);
  strv_free (c->insecure_hosts);
  free (c);
}

const struct registry_stats *
registry_client_stats (const struct registry_client *c)
{
  return &c->stats;
}

/* ---- manifests */

static bool
known_manifest_type (const char *t)
{
  return strcmp (t, MT_OCI_MANIFEST) == 0 || strcmp (t, MT_OCI_INDEX) == 0
         || strcmp (t, MT_DOCKER_MANIFEST) == 0
         || strcmp (t, MT_DOCKER_LIST) == 0;
}

/* The Content-Type without parameters; when it is not a manifest type,
 * the document's own "mediaType"; else "". */
static char *
manifest_media_type (const struct job *j)
{
  const char *ct = j->resp.content_type ? j->resp.content_type : "";
  cleanup_free char *t = strndup (ct, strcspn (ct, "; \t"));
  if (t && known_manifest_type (t))
    return steal_pointer (&t);
  const char *path[] = { "mediaType", NULL };
  yajl_val root = yajl_tree_parse (j->body.data, NULL, 0);
  yajl_val mt = root ? yajl_tree_get (root, path, yajl_t_string) : NULL;
  char *out = strdup (mt ? mt->u.string : (t ? t : ""));
  yajl_tree_free (root);
  return out;
}

static int
manifest_complete (struct job *j, ohr_error_t *err)
{
  if (j->body.data == NULL && buf_add (&j->body, "", 0) < 0)
    return ohr_error_nomem (err);
  digest_sha256 (j->body.data, j->body.len, j->digest);
  if (j->expect_digest && strcmp (j->digest, j->expect_digest) != 0)
    return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                          "digest mismatch for manifest from %s for repo %s: "
                          "expected %s, got %s",
                          j->registry, j->repository, j->expect_digest,
                          j->digest);
  const char *hd = j->resp.docker_digest;
  if (hd && strncmp (hd, "sha256:", 7) == 0 && strcmp (hd, j->digest) != 0)
    {
      char safe[DIGEST_STRING_LEN + 8];
      registry_sanitize (hd, safe, sizeof safe);
      return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                            "digest mismatch for %s from %s for repo %s: "
                            "Docker-Content-Digest says %s, got %s",
                            j->what, j->registry, j->repository, safe,
                            j->digest);
    }
  j->media_type = manifest_media_type (j);
  if (j->media_type == NULL)
    return ohr_error_nomem (err);
  j->done = true;
  return 0;
}

/* What a manifest or blob job starts with: where it fetches from, its
 * URL, and what messages call it ("manifest 'v1'", "blob sha256:..."). */
static int
job_init (struct job *j, struct registry_client *c, enum job_kind kind,
          const char *registry, const char *repository, const char *reference,
          ohr_error_t *err)
{
  bool manifest = kind == JOB_MANIFEST;
  j->c = c;
  j->kind = kind;
  j->registry = registry;
  j->repository = repository;
  j->url = registry_url (c, registry, repository,
                         manifest ? "manifests" : "blobs", reference);
  if (j->url == NULL
      || asprintf (&j->what, manifest ? "manifest '%s'" : "blob %s", reference)
             < 0)
    return ohr_error_nomem (err);
  return 0;
}

static int
manifest_job_init (struct registry_client *c, struct job *j,
                   const char *registry, const char *repository,
                   const char *reference, ohr_error_t *err)
{
  char safe[160];
  bool by_digest = strchr (reference, ':') != NULL;
  registry_sanitize (reference, safe, sizeof safe);
  if (by_digest ? !digest_valid (reference) : !valid_tag (reference))
    return ohr_error_set (
        err, EINVAL, OHR_ERR_IMAGE, "invalid %s '%s' for %s/%s",
        by_digest ? "digest" : "tag", safe, registry, repository);
  if (job_init (j, c, JOB_MANIFEST, registry, repository, reference, err) < 0)
    return -1;
  j->complete = manifest_complete;
  j->accept = MANIFEST_ACCEPT;
  j->body.max = MANIFEST_MAX_SIZE;
  j->expect_digest = by_digest ? reference : NULL;
  return 0;
}

int
registry_get_manifest (struct registry_client *c, const char *registry,
                       const char *repository, const char *reference,
                       char **out_data, size_t *out_len, char **out_media_type,
                       char **out_digest, ohr_error_t *err)
{
  struct job j = { .fd = -1 };
  struct job *jp = &j;
  int r = check_names (registry, repository, err);
  if (r == 0)
    r = manifest_job_init (c, &j, registry, repository, reference, err);
  if (r == 0)
    r = registry_run_jobs (c, &jp, 1, err);
  if (r == 0)
    {
      char *digest = strdup (j.digest);
      if (digest == NULL)
        r = ohr_error_nomem (err);
      else
        {
          *out_digest = digest;
          *out_media_type = steal_pointer (&j.media_type);
          *out_len = j.body.len;
          *out_data = steal_pointer (&j.body.data);
        }
    }
  registry_job_clear (&j);
  return r;
}

/* ---- blobs */

static int
check_descriptor (const struct oci_descriptor *d, ohr_error_t *err)
{
  char safe[96];
  if (!digest_valid (d->digest))
    {
      registry_sanitize (d->digest, safe, sizeof safe);
      return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                            "invalid blob digest '%s'", safe);
    }
  if (d->size < 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "invalid size %lld for blob %s", (long long)d->size,
                          d->digest);
  return 0;
}

/* A blob already in dest_dir with the right size is not fetched again
 * (the store verifies what it imports); a file of another size there is
 * damaged and replaced. */
static bool
blob_present (const char *path, int64_t size)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return false;
  if (S_ISREG (st.st_mode) && st.st_size == size)
    return true;
  unlink (path);
  return false;
}

static bool
duplicate_of_earlier (const struct oci_descriptor *blobs, size_t i)
{
  for (size_t k = 0; k < i; k++)
    if (strcmp (blobs[k].digest, blobs[i].digest) == 0)
      return true;
  return false;
}

static int
blob_commit (struct job *j, ohr_error_t *err)
{
  if (fsync (j->fd) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot sync '%s'",
                            j->partial_path);
  close (j->fd);
  j->fd = -1;
  if (rename (j->partial_path, j->final_path) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                            "cannot rename '%s' to '%s'", j->partial_path,
                            j->final_path);
  if (fs_sync_dir (j->dest_dir, false, OHR_ERR_IMAGE, err) < 0)
    return -1;
  j->done = true;
  return 0;
}

static int
blob_complete (struct job *j, ohr_error_t *err)
{
  char got[DIGEST_STRING_LEN + 1];
  if (j->have != j->desc->size)
    {
      unlink (j->partial_path);
      return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                            "size mismatch for blob %s from %s for repo %s: "
                            "expected %lld bytes, got %lld",
                            j->desc->digest, j->registry, j->repository,
                            (long long)j->desc->size, (long long)j->have);
    }
  digest_final (j->dg, got);
  if (strcmp (got, j->desc->digest) == 0)
    return blob_commit (j, err);
  unlink (j->partial_path);
  /* The resumed part came from an earlier attempt (or run): it may be
   * what is wrong, so the whole blob is fetched once more. */
  if (j->start_offset > 0 && !j->restarted)
    {
      j->restarted = true;
      j->have = 0;
      j->failures++;
      registry_retry_later (j->c, j);
      return 0;
    }
  return ohr_error_set (err, EBADMSG, OHR_ERR_IMAGE,
                        "digest mismatch for blob from %s for repo %s: "
                        "expected %s, got %s",
                        j->registry, j->repository, j->desc->digest, got);
}

static int
blob_job_init (struct registry_client *c, struct job *j, const char *registry,
               const char *repository, const struct oci_descriptor *d,
               const char *dest_dir, ohr_error_t *err)
{
  if (job_init (j, c, JOB_BLOB, registry, repository, d->digest, err) < 0)
    return -1;
  j->complete = blob_complete;
  j->desc = d;
  j->dest_dir = dest_dir;
  if (asprintf (&j->final_path, "%s/%s", dest_dir, d->digest + 7) < 0
      || asprintf (&j->partial_path, "%s/%s.partial", dest_dir, d->digest + 7)
             < 0)
    return ohr_error_nomem (err);
  return 0;
}

/* jobs for the blobs not yet in dest_dir; *out_n of them. */
static int
blob_jobs (struct registry_client *c, const char *registry,
           const char *repository, const struct oci_descriptor *blobs,
           size_t n, const char *dest_dir, struct job *jobs, struct job **ptrs,
           size_t *out_n, ohr_error_t *err)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (check_descriptor (&blobs[i], err) < 0)
        return -1;
      if (duplicate_of_earlier (blobs, i))
        continue;
      jobs[k].fd = -1;
      if (blob_job_init (c, &jobs[k], registry, repository, &blobs[i],
                         dest_dir, err)
          < 0)
        return -1;
      ptrs[k] = &jobs[k];
      if (blob_present (jobs[k].final_path, blobs[i].size))
        registry_job_clear (&jobs[k]);
      else
        k++;
    }
  *out_n = k;
  return 0;
}

int
registry_fetch_blobs (struct registry_client *c, const char *registry,
                      const char *repository,
                      const struct oci_descriptor *blobs, size_t n,
                      const char *dest_dir, ohr_error_t *err)
{
  if (check_names (registry, repository, err) < 0)
    return -1;
  if (n == 0)
    return 0;
  if (fs_mkdir_p (dest_dir, 0755, err) < 0)
    return -1;
  struct job *jobs = calloc (n, sizeof *jobs);
  struct job **ptrs = calloc (n, sizeof *ptrs);
  size_t k = 0;
  int r = (jobs && ptrs) ? 0 : ohr_error_nomem (err);
  for (size_t i = 0; jobs && i < n; i++)
    jobs[i].fd = -1;
  if (r == 0)
    r = blob_jobs (c, registry, repository, blobs, n, dest_dir, jobs, ptrs, &k,
                   err);
  if (r == 0 && k > 0)
    {
      r = registry_run_jobs (c, ptrs, k, err);
      registry_progress_show (c, ptrs, k, true);
    }
  for (size_t i = 0; jobs && i < n; i++)
    registry_job_clear (&jobs[i]);
  free (jobs);
  free (ptrs);
  return r;
}
