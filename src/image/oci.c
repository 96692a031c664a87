/* image-oci.c: registry references and OCI layouts, resolved in run mode.
 *
 * The fast path (every build script after the first) reads the store's
 * catalogue and the prepared checkout: a few file reads, no network, no
 * libostree (see catalog.h).  A miss runs the store helper
 * (oci-host-runner-store ensure REF), which pulls or imports the image,
 * checks it out and records it; then the fast path is tried again.
 *
 * Pinning: a registry reference must carry a digest.  A tag alone is
 * refused, and the message gives the digest to pin (the helper resolves
 * it); --allow-unpinned resolves the tag on every run and says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/catalog.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/oci-layout.h"
#include "image/ref.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/helper-exe.h"
#include "util/proc.h"
#include "util/strv.h"

#define HELPER "oci-host-runner-store"

static const char *
store_dir_of (const struct image_options *opts)
{
  return opts->store_dir ? opts->store_dir : opts->cache_dir;
}

/* The last line the helper printed on stderr, without its program name. */
static const char *
helper_message (char *text)
{
  size_t n = strlen (text);
  while (n > 0 && text[n - 1] == '\n')
    text[--n] = '\0';
  char *last = strrchr (text, '\n');
  const char *m = last ? last + 1 : text;
  if (strncmp (m, HELPER ": ", strlen (HELPER ": ")) == 0)
    m += strlen (HELPER ": ");
  return *m ? m : "failed without a message";
}

/* Run the store helper: COMMAND [--store ...] REF; its stdout's first line
 * (a digest) goes to out_digest. */
static int
run_helper (const char *command, const struct image_options *opts,
            const char *ref, char **out_digest, ohr_error_t *err)
{
  cleanup_free char *helper = NULL;
  if (helper_exe_find (HELPER, "OCI_HOST_RUNNER_STORE", &helper, err) < 0)
    return -1;
  cleanup_strv char **argv = NULL;
  bool ok = strv_push (&argv, helper) == 0 && strv_push (&argv, command) == 0
            && strv_push (&argv, "--store") == 0
            && strv_push (&argv, store_dir_of (opts)) == 0;
  for (size_t i = 0; ok && opts->insecure_hosts && opts->insecure_hosts[i];
       i++)
    ok = strv_push (&argv, "--insecure-registry") == 0
         && strv_push (&argv, opts->insecure_hosts[i]) == 0;
  if (!ok || strv_push (&argv, "--") < 0 || strv_push (&argv, ref) < 0)
    return ohr_error_nomem (err);
  struct proc_result pr = { 0 };
  if (proc_run (argv, &pr, err) < 0)
    return -1;
  int r = 0;
  if (pr.status != 0)
    r = ohr_error_set (err, EIO, OHR_ERR_IMAGE, "%s", helper_message (pr.err));
  else if ((*out_digest = strndup (pr.out, strcspn (pr.out, "\n"))) == NULL
           || !(*out_digest)[0])
    r = ohr_error_set (err, EIO, OHR_ERR_IMAGE, "%s %s printed no digest",
                       HELPER, command);
  proc_result_clear (&pr);
  return r;
}

/* The manifest digest ref stands for, if known without the network; NULL
 * in *out when it must be fetched. */
static int
resolve_local (const struct imageref *ref, const struct image_options *opts,
               char **out, ohr_error_t *err)
{
  *out = NULL;
  if (ref->kind == IMAGEREF_OCI_LAYOUT)
    return ocilayout_resolve (ref->path, ref->tag, ref->digest, out, err);
  cleanup_free char *name = NULL;
  if (ref->kind == IMAGEREF_OCI_ARCHIVE)
    {
      if (catalog_archive_name (ref->path, ref->tag, &name, err) < 0)
        return -1;
    }
  else if ((name = strdup (ref->canonical)) == NULL)
    return ohr_error_nomem (err);
  return catalog_lookup (store_dir_of (opts), name, out, err) < 0 ? -1 : 0;
}

static int
refuse_unpinned (const struct imageref *ref, const struct image_options *opts,
                 ohr_error_t *err)
{
  cleanup_free char *digest = NULL;
  ohr_error_t why = NULL;
  if (run_helper ("resolve", opts, ref->canonical, &digest, &why) < 0)
    {
      int r = ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                             "not pinned by digest, and resolving the tag "
                             "failed: %s",
                             why->msg);
      ohr_error_free (&why);
      return r;
    }
  return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                        "not pinned by digest: use %s/%s@%s (or "
                        "--allow-unpinned)",
                        ref->registry, ref->repository, digest);
}

/* The glibc version the store recorded (older stores have none: 0.0, and
 * the check is skipped). */
static void
load_libc (const char *store, struct image *img)
{
  cleanup_free char *path = catalog_libc_path (store, img->digest);
  cleanup_free char *data = NULL;
  if (path && fs_read_file (path, 64, &data, NULL, NULL) == 0
      && sscanf (data, "%d.%d", &img->libc_major, &img->libc_minor) != 2)
    img->libc_major = img->libc_minor = 0;
}

static int
load_config (const char *store, struct image *img, ohr_error_t *err)
{
  cleanup_free char *path = catalog_config_path (store, img->digest);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (path == NULL
      || fs_read_file (path, MANIFEST_MAX_SIZE, &data, &len, err) < 0)
    return -1;
  struct oci_image_config c = { 0 };
  if (image_config_parse (data, len, &c, err) < 0)
    return -1;
  img->env = steal_pointer (&c.env);
  img->workdir = steal_pointer (&c.workdir);
  image_config_clear (&c);
  return 0;
}

int
image_oci_open (const struct imageref *ref, const struct image_options *opts,
                struct image *img, ohr_error_t *err)
{
  const char *store = store_dir_of (opts);
  bool unpinned = ref->kind == IMAGEREF_REGISTRY && ref->digest == NULL;
  if (unpinned && !opts->allow_unpinned)
    return refuse_unpinned (ref, opts, err);
  if (!unpinned && resolve_local (ref, opts, &img->digest, err) < 0)
    return -1;
  if (img->digest == NULL || !catalog_prepared (store, img->digest))
    {
      free (img->digest);
      img->digest = NULL;
      if (run_helper ("ensure", opts, ref->canonical, &img->digest, err) < 0)
        return -1;
      if (unpinned
          && strv_pushf (&img->notes,
                         "warning: '%s' is not pinned: this run used %s",
                         ref->canonical, img->digest)
                 < 0)
        return ohr_error_nomem (err);
      if (!catalog_prepared (store, img->digest))
        return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                              "%s ensure did not prepare %s", HELPER,
                              img->digest);
    }
  img->rootfs = catalog_rootfs_path (store, img->digest);
  if (img->rootfs == NULL)
    return ohr_error_nomem (err);
  load_libc (store, img);
  return load_config (store, img, err);
}
