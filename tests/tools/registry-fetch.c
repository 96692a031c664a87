/* registry-fetch: drive the registry client from the command line, for
 * tests/integration/test-registry.sh.
 *
 *   registry-fetch [--insecure HOST]... [--retries N] [--progress]
 *                  REGISTRY REPO [manifest REF OUT] [blobs DIR DIGEST:SIZE...]
 *
 * "manifest" writes the manifest's bytes to OUT ("-": nowhere) and prints
 * its digest, media type and size; "blobs" fetches into DIR.  Both in one
 * call share one client (and so its token cache).  Then one line of
 * stats.  Errors: "registry-fetch: MESSAGE" on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

static void
usage (void)
{
  fprintf (stderr, "usage: registry-fetch [--insecure HOST]... [--retries N] "
                   "[--progress] REGISTRY REPO [manifest REF OUT] "
                   "[blobs DIR DIGEST:SIZE...]\n");
  exit (2);
}

static int
do_manifest (struct registry_client *c, const char *registry, const char *repo,
             const char *ref, const char *out, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  cleanup_free char *media_type = NULL;
  cleanup_free char *digest = NULL;
  size_t len = 0;
  if (registry_get_manifest (c, registry, repo, ref, &data, &len, &media_type,
                             &digest, err)
      < 0)
    return -1;
  if (strcmp (out, "-") != 0
      && fs_write_atomic (out, data, len, 0644, false, err) < 0)
    return -1;
  printf ("manifest-digest: %s\nmanifest-media-type: %s\nmanifest-size: %zu\n",
          digest, media_type, len);
  return 0;
}

static int
parse_blobs (char **args, size_t n, struct oci_descriptor *out)
{
  for (size_t i = 0; i < n; i++)
    {
      char *colon = strrchr (args[i], ':');
      if (colon == NULL || colon == args[i])
        return -1;
      *colon = '\0';
      out[i].digest = args[i];
      out[i].size = strtoll (colon + 1, NULL, 10);
    }
  return 0;
}

static int
do_blobs (struct registry_client *c, const char *registry, const char *repo,
          const char *dir, char **args, size_t n, ohr_error_t *err)
{
  cleanup_free struct oci_descriptor *d = calloc (n + 1, sizeof *d);
  if (d == NULL || parse_blobs (args, n, d) < 0)
    usage ();
  if (registry_fetch_blobs (c, registry, repo, d, n, dir, err) < 0)
    return -1;
  printf ("blobs: %zu ok\n", n);
  return 0;
}

static int
run_actions (struct registry_client *c, char **argv, int argc, int i,
             ohr_error_t *err)
{
  const char *registry = argv[i], *repo = argv[i + 1];
  for (i += 2; i < argc;)
    {
      if (strcmp (argv[i], "manifest") == 0 && i + 2 < argc)
        {
          if (do_manifest (c, registry, repo, argv[i + 1], argv[i + 2], err)
              < 0)
            return -1;
          i += 3;
        }
      else if (strcmp (argv[i], "blobs") == 0 && i + 1 < argc)
        return do_blobs (c, registry, repo, argv[i + 1], argv + i + 2,
                         (size_t)(argc - i - 2), err);
      else
        usage ();
    }
  return 0;
}

int
main (int argc, char **argv)
{
  cleanup_strv char **insecure = NULL;
  struct registry_options opts = { 0 };
  int i = 1;
  for (; i < argc && strncmp (argv[i], "--", 2) == 0; i++)
    {
      if (strcmp (argv[i], "--insecure") == 0 && i + 1 < argc)
        strv_push (&insecure, argv[++i]);
      else if (strcmp (argv[i], "--retries") == 0 && i + 1 < argc)
        opts.max_retries = atoi (argv[++i]);
      else if (strcmp (argv[i], "--progress") == 0)
        opts.progress = true;
      else
        usage ();
    }
  if (argc - i < 2)
    usage ();
  opts.insecure_hosts = insecure;
  ohr_error_t err = NULL;
  struct registry_client *c = NULL;
  if (registry_client_new (&opts, &c, &err) < 0)
    {
      fprintf (stderr, "registry-fetch: %s\n", err->msg);
      return 1;
    }
  int r = run_actions (c, argv, argc, i, &err);
  const struct registry_stats *s = registry_client_stats (c);
  printf ("stats: requests=%d retries=%d resumed=%d bytes=%lld\n", s->requests,
          s->retries, s->resumed, s->bytes);
  registry_client_free (c);
  if (r < 0)
    {
      fprintf (stderr, "registry-fetch: %s\n", err->msg);
      ohr_error_free (&err);
      return 1;
    }
  return 0;
}
