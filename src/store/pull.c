/* fetch.c: see fetch.h */
#define _GNU_SOURCE
#include "store/pull.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/catalog.h"
#include "image/elfcheck.h"
#include "image/manifest.h"
#include "image/oci-layout.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/strv.h"

/* Where an image's bytes come from: a registry or a layout directory. */
struct source
{
  const struct imageref *ref;
  const struct fetch_options *o;
  struct registry_client *client; /* registry */
  const char *layout;             /* oci layout directory */
  char *blob_dir;                 /* registry: downloaded blobs */
};

static int
get_manifest (struct source *src, const char *reference, char **data,
              size_t *len, char **digest, ohr_error_t *err)
{
  if (src->client)
    {
      cleanup_free char *mt = NULL;
      return registry_get_manifest (src->client, src->ref->registry,
                                    src->ref->repository, reference, data, len,
                                    &mt, digest, err);
    }
  if (ocilayout_read_blob (src->layout, reference, MANIFEST_MAX_SIZE, data,
                           len, err)
      < 0)
    return -1;
  char got[DIGEST_STRING_LEN + 1];
  digest_sha256 (*data, *len, got);
  if (strcmp (got, reference) != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "OCI layout '%s': blob %s has digest %s",
                          src->layout, reference, got);
  return (*digest = strdup (got)) ? 0 : ohr_error_nomem (err);
}

/* A blob's path on disk, verified against its digest. */
static int
blob_path (struct source *src, const char *digest, char **out,
           ohr_error_t *err)
{
  if (src->client)
    {
      *out = fs_path_join (src->blob_dir, digest + 7);
      return *out ? 0 : ohr_error_nomem (err);
    }
  *out = ocilayout_blob_path (src->layout, digest);
  char got[DIGEST_STRING_LEN + 1];
  if (*out == NULL || digest_file (*out, got, err) < 0)
    return ohr_error_wrap (err, "OCI layout '%s'", src->layout);
  if (strcmp (got, digest) != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "OCI layout '%s': blob %s has digest %s",
                          src->layout, digest, got);
  return 0;
}

/* Registry: download config and the layers the store lacks, in parallel. */
static int
download (struct source *src, struct store *st, const struct oci_manifest *m,
          struct fetch_result *res, ohr_error_t *err)
{
  if (src->client == NULL)
    return 0;
  struct oci_descriptor *want = calloc (m->n_layers + 1, sizeof *want);
  if (want == NULL)
    return ohr_error_nomem (err);
  size_t n = 0;
  want[n++] = m->config;
  for (size_t i = 0; i < m->n_layers; i++)
    if (!store_has_layer (st, m->layers[i].digest))
      want[n++] = m->layers[i];
  int r = fs_mkdir_p (src->blob_dir, 0700, err) < 0
              ? -1
              : registry_fetch_blobs (src->client, src->ref->registry,
                                      src->ref->repository, want, n,
                                      src->blob_dir, err);
  free (want);
  (void)res;
  return r;
}

static int
import_layers (struct source *src, struct store *st,
               const struct oci_manifest *m, struct fetch_result *res,
               ohr_error_t *err)
{
  for (size_t i = 0; i < m->n_layers; i++)
    {
      const char *d = m->layers[i].digest;
      if (store_has_layer (st, d))
        {
          res->layers_present++;
          continue;
        }
      cleanup_free char *path = NULL;
      struct layer_report rep = { 0 };
      if (blob_path (src, d, &path, err) < 0)
        return ohr_error_wrap (err, "layer %s", d);
      /* its errors name the layer */
      if (store_import_layer (st, d, path, &rep, err) < 0)
        {
          layer_report_clear (&rep);
          if (src->client)
            unlink (path); /* refused: no use keeping the download */
          return -1;
        }
      for (size_t k = 0; rep.refused && rep.refused[k]; k++)
        strv_pushf (&res->refused, "%s: %s", d, rep.refused[k]);
      layer_report_clear (&rep);
      res->layers_fetched++;
      if (src->client)
        unlink (path); /* in the store now */
    }
  return 0;
}

static int
read_config (struct source *src, const struct oci_manifest *m, char **data,
             size_t *len, ohr_error_t *err)
{
  cleanup_free char *path = NULL;
  if (blob_path (src, m->config.digest, &path, err) < 0
      || fs_read_file (path, MANIFEST_MAX_SIZE, data, len, err) < 0)
    return -1;
  if (src->client)
    unlink (path);
  return 0;
}

/* The platform's image manifest for reference (a tag or digest that may
 * name an index). */
static int
image_manifest (struct source *src, const char *reference, char **data,
                size_t *len, char **digest, struct oci_manifest *m,
                ohr_error_t *err)
{
  if (get_manifest (src, reference, data, len, digest, err) < 0
      || manifest_parse (*data, *len, m, err) < 0)
    return -1;
  if (m->kind == MANIFEST_IMAGE)
    return 0;
  const char *os, *arch, *variant;
  manifest_host_platform (&os, &arch, &variant);
  const struct oci_descriptor *d = NULL;
  if (manifest_select_platform (m, os, arch, variant, &d, err) < 0)
    return -1;
  cleanup_free char *next = strdup (d->digest);
  manifest_clear (m);
  free (*data);
  free (*digest);
  *data = *digest = NULL;
  if (next == NULL || get_manifest (src, next, data, len, digest, err) < 0
      || manifest_parse (*data, *len, m, err) < 0)
    return -1;
  if (m->kind != MANIFEST_IMAGE)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "index entry %s is not an image manifest", next);
  return 0;
}

static int
commit (struct source *src, struct store *st, const char *reference,
        const char *name, struct fetch_result *res, ohr_error_t *err)
{
  cleanup_free char *data = NULL, *config = NULL;
  size_t len = 0, config_len = 0;
  struct oci_manifest m = { 0 };
  int r = image_manifest (src, reference, &data, &len, &res->manifest_digest,
                          &m, err);
  if (r == 0 && !store_has_image (st, res->manifest_digest))
    {
      cleanup_strv char **layers = NULL;
      for (size_t i = 0; r == 0 && i < m.n_layers; i++)
        if (strv_push (&layers, m.layers[i].digest) < 0)
          r = ohr_error_nomem (err);
      if (r == 0)
        r = download (src, st, &m, res, err);
      if (r == 0)
        r = import_layers (src, st, &m, res, err);
      if (r == 0)
        r = read_config (src, &m, &config, &config_len, err);
      if (r == 0)
        r = store_commit_image (st, res->manifest_digest, layers, config,
                                config_len, data, len, name, err);
    }
  manifest_clear (&m);
  if (r == 0)
    r = catalog_record (src->o->store_dir, name, res->manifest_digest, err);
  return r;
}

static int
open_client (const struct fetch_options *o, struct registry_client **out,
             ohr_error_t *err)
{
  struct registry_options ro
      = { .insecure_hosts = o->insecure_hosts, .progress = o->progress };
  return registry_client_new (&ro, out, err);
}

static int
fetch_registry (const struct imageref *ref, const struct fetch_options *o,
                struct store *st, struct fetch_result *res, ohr_error_t *err)
{
  struct source src = { .ref = ref, .o = o };
  if (open_client (o, &src.client, err) < 0)
    return -1;
  src.blob_dir = fs_path_join (o->store_dir, "blobs");
  const char *reference = ref->digest ? ref->digest
                          : ref->tag  ? ref->tag
                                      : "latest";
  int r = src.blob_dir ? commit (&src, st, reference, ref->canonical, res, err)
                       : ohr_error_nomem (err);
  if (r == 0 && ref->digest == NULL
      && asprintf (&res->pinned, "%s/%s@%s", ref->registry, ref->repository,
                   res->manifest_digest)
             >= 0)
    r = catalog_record (o->store_dir, res->pinned, res->manifest_digest, err);
  registry_client_free (src.client);
  free (src.blob_dir);
  return r;
}

static int
fetch_layout (const struct imageref *ref, const char *dir, const char *name,
              const struct fetch_options *o, struct store *st,
              struct fetch_result *res, ohr_error_t *err)
{
  cleanup_free char *digest = NULL;
  if (ocilayout_resolve (dir, ref->tag, ref->digest, &digest, err) < 0)
    return -1;
  struct source src = { .ref = ref, .o = o, .layout = dir };
  return commit (&src, st, digest, name, res, err);
}

/* An archive is unpacked (safely: no absolute paths, no "..", no links
 * out) into a temp directory and imported as a layout. */
/* Unpack relative to dest: the secure flags refuse absolute names, ".."
 * and links that lead out. */
static int
extract_entries (struct archive *a, struct archive *w, const char *file,
                 ohr_error_t *err)
{
  struct archive_entry *e;
  int st;
  while ((st = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      if (archive_write_header (w, e) != ARCHIVE_OK)
        return ohr_error_set (
            err, EINVAL, OHR_ERR_IMAGE, "OCI archive '%s': %s: %s", file,
            archive_entry_pathname (e), archive_error_string (w));
      const void *buf;
      size_t size;
      la_int64_t off;
      while (archive_read_data_block (a, &buf, &size, &off) == ARCHIVE_OK)
        if (archive_write_data_block (w, buf, size, off) != ARCHIVE_OK)
          return ohr_error_set (err, EIO, OHR_ERR_IMAGE,
                                "OCI archive '%s': %s", file,
                                archive_error_string (w));
      archive_write_finish_entry (w);
    }
  if (st != ARCHIVE_EOF)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE, "OCI archive '%s': %s",
                          file, archive_error_string (a));
  return 0;
}

static int
extract_archive (const char *file, const char *dest, ohr_error_t *err)
{
  cleanup_close int cwd = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0 || chdir (dest) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot enter '%s'",
                            dest);
  struct archive *a = archive_read_new ();
  struct archive *w = archive_write_disk_new ();
  archive_read_support_format_tar (a);
  archive_read_support_filter_all (a);
  archive_write_disk_set_options (
      w, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS
             | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
  int r = archive_read_open_filename (a, file, 65536) == ARCHIVE_OK
              ? extract_entries (a, w, file, err)
              : ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                               "OCI archive '%s': %s", file,
                               archive_error_string (a));
  archive_read_free (a);
  archive_write_free (w);
  if (fchdir (cwd) < 0 && r == 0)
    r = ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot return");
  return r;
}

static int
fetch_archive (const struct imageref *ref, const struct fetch_options *o,
               struct store *st, struct fetch_result *res, ohr_error_t *err)
{
  cleanup_free char *name = NULL;
  cleanup_free char *tmp = NULL;
  if (catalog_archive_name (ref->path, ref->tag, &name, err) < 0)
    return -1;
  if (asprintf (&tmp, "%s/tmp/archive-XXXXXX", o->store_dir) < 0)
    return ohr_error_nomem (err);
  cleanup_free char *parent = strndup (tmp, strrchr (tmp, '/') - tmp);
  if (parent == NULL || fs_mkdir_p (parent, 0700, err) < 0)
    return -1;
  if (mkdtemp (tmp) == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "cannot create '%s'",
                            tmp);
  cleanup_free char *abs = realpath (ref->path, NULL);
  int r = abs ? extract_archive (abs, tmp, err)
              : ohr_error_errno (err, errno, OHR_ERR_IMAGE, "OCI archive '%s'",
                                 ref->path);
  if (r == 0)
    r = fetch_layout (ref, tmp, name, o, st, res, err);
  fs_rm_rf (tmp, NULL);
  return r;
}

int
fetch_image (const struct imageref *ref, const struct fetch_options *o,
             struct fetch_result *res, ohr_error_t *err)
{
  memset (res, 0, sizeof *res);
  struct store *st = NULL;
  if (store_open (o->store_dir, o->rootless, &st, err) < 0)
    return -1;
  if (o->max_layer_size)
    store_set_max_layer_size (st, o->max_layer_size);
  int r;
  switch (ref->kind)
    {
    case IMAGEREF_REGISTRY:
      r = fetch_registry (ref, o, st, res, err);
      break;
    case IMAGEREF_OCI_LAYOUT:
      r = fetch_layout (ref, ref->path, ref->canonical, o, st, res, err);
      break;
    case IMAGEREF_OCI_ARCHIVE:
      r = fetch_archive (ref, o, st, res, err);
      break;
    case IMAGEREF_HOST:
    default:
      r = ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                         "'host' is built in: nothing to fetch");
    }
  store_free (st);
  return r;
}

/* The image's glibc version, read once here, so that run mode can compare
 * it with a build script's needs without parsing the image's libc. */
static int
record_libc (const char *store_dir, const char *digest, const char *rootfs,
             ohr_error_t *err)
{
  int major = 0, minor = 0;
  ohr_error_t why = NULL;
  if (elfcheck_libc_version (rootfs, &major, &minor, &why) < 0)
    ohr_error_free (&why); /* no glibc (static-only image): recorded as 0.0 */
  char text[32];
  int n = snprintf (text, sizeof text, "%d.%d\n", major, minor);
  cleanup_free char *path = catalog_libc_path (store_dir, digest);
  if (path == NULL)
    return ohr_error_nomem (err);
  return fs_write_atomic (path, text, (size_t)n, 0644, true, err);
}

/* Check out and publish the config where run mode reads it. */
static int
prepare (const struct fetch_options *o, const char *digest, ohr_error_t *err)
{
  struct store *st = NULL;
  if (store_open (o->store_dir, o->rootless, &st, err) < 0)
    return -1;
  cleanup_free char *rootfs = NULL, *config = NULL;
  cleanup_free char *config_path = catalog_config_path (o->store_dir, digest);
  cleanup_free char *configs = fs_path_join (o->store_dir, "configs");
  size_t len = 0;
  int r = store_checkout (st, digest, &rootfs, err);
  if (r == 0)
    r = store_get_config (st, digest, &config, &len, err);
  if (r == 0)
    r = fs_mkdir_p (configs, 0755, err);
  if (r == 0)
    r = fs_write_atomic (config_path, config, len, 0644, true, err);
  if (r == 0)
    r = record_libc (o->store_dir, digest, rootfs, err);
  store_free (st);
  return r;
}

int
fetch_ensure (const struct imageref *ref, const struct fetch_options *o,
              struct fetch_result *res, ohr_error_t *err)
{
  if (fetch_image (ref, o, res, err) < 0)
    return -1;
  if (catalog_prepared (o->store_dir, res->manifest_digest))
    return 0;
  return prepare (o, res->manifest_digest, err);
}

int
fetch_resolve_tag (const struct imageref *ref, const struct fetch_options *o,
                   char **out_digest, ohr_error_t *err)
{
  if (ref->kind != IMAGEREF_REGISTRY)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "only registry references have tags to resolve");
  struct registry_client *c = NULL;
  if (open_client (o, &c, err) < 0)
    return -1;
  cleanup_free char *data = NULL, *mt = NULL;
  size_t len = 0;
  int r = registry_get_manifest (c, ref->registry, ref->repository,
                                 ref->tag ? ref->tag : "latest", &data, &len,
                                 &mt, out_digest, err);
  registry_client_free (c);
  return r;
}

void
fetch_result_clear (struct fetch_result *r)
{
  free (r->manifest_digest);
  free (r->pinned);
  strv_free (r->refused);
  memset (r, 0, sizeof *r);
}
