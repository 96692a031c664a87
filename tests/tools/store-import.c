/* store-import: a test driver for tests/integration/test-store-umoci.sh.
 *
 *   store-import [--rootless] STORE_DIR OCI_LAYOUT TAG
 *
 * Imports the layers of the image tagged TAG in an OCI image layout into
 * the store at STORE_DIR, commits the image (named TAG), checks it out and
 * prints the rootfs path on stdout; refused entries go to stderr.  It
 * reads the layout with yajl directly so that it depends on nothing but
 * the store. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "util/digest.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

static int
die (const char *what, ohr_error_t *err)
{
  fprintf (stderr, "store-import: %s: %s\n", what,
           err && *err ? (*err)->msg : "failed");
  return 1;
}

static char *
blob_path (const char *layout, const char *digest)
{
  char *p = NULL;
  if (!digest_valid (digest)
      || asprintf (&p, "%s/blobs/sha256/%s", layout, digest + 7) < 0)
    return NULL;
  return p;
}

static yajl_val
read_json (const char *path, char **out_text, size_t *out_len)
{
  ohr_error_t err = NULL;
  if (fs_read_file (path, 4 << 20, out_text, out_len, &err) < 0)
    {
      die (path, &err);
      return NULL;
    }
  char ebuf[256];
  yajl_val v = yajl_tree_parse (*out_text, ebuf, sizeof ebuf);
  if (v == NULL)
    fprintf (stderr, "store-import: %s: %s\n", path, ebuf);
  return v;
}

static const char *
get_string (yajl_val v, const char *k1, const char *k2)
{
  const char *path[] = { k1, k2, NULL };
  yajl_val s = yajl_tree_get (v, path, yajl_t_string);
  return s ? YAJL_GET_STRING (s) : NULL;
}

/* The manifest digest of the index entry annotated with tag. */
static char *
find_manifest (const char *layout, const char *tag)
{
  char *path = NULL, *text = NULL, *found = NULL;
  size_t len = 0;
  if (asprintf (&path, "%s/index.json", layout) < 0)
    return NULL;
  yajl_val index = read_json (path, &text, &len);
  const char *mpath[] = { "manifests", NULL };
  yajl_val ms = index ? yajl_tree_get (index, mpath, yajl_t_array) : NULL;
  for (size_t i = 0; ms && i < YAJL_GET_ARRAY (ms)->len; i++)
    {
      yajl_val m = YAJL_GET_ARRAY (ms)->values[i];
      const char *name
          = get_string (m, "annotations", "org.opencontainers.image.ref.name");
      const char *dpath[] = { "digest", NULL };
      yajl_val d = yajl_tree_get (m, dpath, yajl_t_string);
      const char *digest = d ? YAJL_GET_STRING (d) : NULL;
      if (name && digest && strcmp (name, tag) == 0)
        {
          free (found);
          found = strdup (digest);
        }
    }
  yajl_tree_free (index);
  free (text);
  free (path);
  return found;
}

static void
print_report (const char *digest, struct layer_report *rep)
{
  for (char **p = rep->refused; p && *p; p++)
    fprintf (stderr, "store-import: layer %s: refused %s\n", digest, *p);
  if (rep->stripped)
    fprintf (stderr, "store-import: layer %s: %d setuid/setgid stripped\n",
             digest, rep->stripped);
}

static int
import_layers (struct store *s, const char *layout, yajl_val manifest,
               char ***out_digests)
{
  const char *lpath[] = { "layers", NULL };
  yajl_val layers = yajl_tree_get (manifest, lpath, yajl_t_array);
  for (size_t i = 0; layers && i < YAJL_GET_ARRAY (layers)->len; i++)
    {
      const char *dpath[] = { "digest", NULL };
      yajl_val d = yajl_tree_get (YAJL_GET_ARRAY (layers)->values[i], dpath,
                                  yajl_t_string);
      const char *digest = d ? YAJL_GET_STRING (d) : NULL;
      if (digest == NULL)
        digest = "";
      char *blob = blob_path (layout, digest);
      struct layer_report rep = { 0 };
      ohr_error_t err = NULL;
      int rc = blob ? store_import_layer (s, digest, blob, &rep, &err) : -1;
      free (blob);
      print_report (digest, &rep);
      layer_report_clear (&rep);
      if (rc < 0)
        return die ("import", &err);
      strv_push (out_digests, digest);
    }
  return 0;
}

static int
run (struct store *s, const char *layout, const char *tag)
{
  char *mdigest = find_manifest (layout, tag);
  if (mdigest == NULL)
    {
      fprintf (stderr, "store-import: no manifest tagged '%s' in '%s'\n", tag,
               layout);
      return 1;
    }
  char *mpath = blob_path (layout, mdigest), *mtext = NULL, *ctext = NULL;
  char **layers = NULL, *cpath = NULL, *root = NULL;
  size_t mlen = 0, clen = 0;
  int rc = 1;
  ohr_error_t err = NULL;
  yajl_val manifest = mpath ? read_json (mpath, &mtext, &mlen) : NULL;
  yajl_val config = NULL;
  if (manifest == NULL)
    goto out;
  cpath = blob_path (layout, get_string (manifest, "config", "digest"));
  config = cpath ? read_json (cpath, &ctext, &clen) : NULL;
  if (config == NULL || import_layers (s, layout, manifest, &layers) != 0)
    goto out;
  if (store_commit_image (s, mdigest, layers, ctext, clen, mtext, mlen, tag,
                          &err)
          < 0
      || store_checkout (s, mdigest, &root, &err) < 0)
    {
      rc = die (mdigest, &err);
      goto out;
    }
  printf ("%s\n", root);
  rc = 0;
out:
  yajl_tree_free (manifest);
  yajl_tree_free (config);
  free (mdigest);
  free (mpath);
  free (mtext);
  free (cpath);
  free (ctext);
  free (root);
  strv_free (layers);
  return rc;
}

int
main (int argc, char **argv)
{
  bool rootless = argc > 1 && strcmp (argv[1], "--rootless") == 0;
  if (argc != 4 + rootless)
    {
      fprintf (stderr,
               "usage: store-import [--rootless] STORE_DIR OCI_LAYOUT TAG\n");
      return 2;
    }
  struct store *s = NULL;
  ohr_error_t err = NULL;
  if (store_open (argv[1 + rootless], rootless, &s, &err) < 0)
    return die ("open", &err);
  int rc = run (s, argv[2 + rootless], argv[3 + rootless]);
  store_free (s);
  return rc;
}
