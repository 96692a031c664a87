/* statement.c: in-toto statements with a SLSA provenance predicate (see
 * attest.h for their content): the inputs collected from disk, the
 * statement itself, and the `record` command that writes it (and its
 * envelope) beside the run record. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/clip.h"
#include "util/fs.h"
#include "util/jsongen.h"

void
attest_inputs_clear (struct attest_inputs *in)
{
  attest_files_clear (&in->subjects);
  attest_files_clear (&in->dep_out_dirs);
  free (in->runtime_version);
  free (in->rustc_release);
  *in = (struct attest_inputs){ 0 };
}

/* The directive stream's digest covers the directives only (lines that
 * start with "cargo:", as Cargo reads them): the rest is the script's own
 * chatter, such as the cc crate's "running: ..." lines, whose order
 * follows parallel compiles and proves nothing about the result. */
bool
attest_is_directive (const char *line, size_t len)
{
  size_t k = 0;
  while (k < len && (line[k] == ' ' || line[k] == '\t'))
    k++;
  return len - k >= 6 && memcmp (line + k, "cargo:", 6) == 0;
}

int
attest_digest_directives (const char *path, char *out, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, 256u << 20, &data, &len, err) < 0)
    return -1;
  struct digest_ctx *c = digest_new ();
  if (c == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; i < len;)
    {
      const char *nl = memchr (data + i, '\n', len - i);
      size_t end = nl ? (size_t)(nl - data) + 1 : len;
      if (attest_is_directive (data + i, end - i))
        digest_update (c, data + i, end - i);
      i = end;
    }
  digest_final (c, out);
  digest_free (c);
  return 0;
}

/* A hit's record names a copy of the statement of the run it reuses: its
 * digest goes into the hit's statement, once its subjects are the
 * outputs as restored (a statement of another result would lend this one
 * provenance it does not have). */
static int
reused_statement (const struct runrecord *rr, const char *record_dir,
                  struct attest_inputs *in, ohr_error_t *err)
{
  cleanup_free char *path = fs_path_join (record_dir, rr->cache_statement);
  cleanup_free char *data = NULL;
  size_t len = 0;
  cleanup_statement struct attest_statement st = { 0 };
  struct attest_diffs d = { 0 };
  if (path == NULL)
    return ohr_error_nomem (err);
  if (fs_read_file (path, ATTEST_MAX_SIZE, &data, &len, err) < 0
      || attest_statement_parse (data, len, path, &st, err) < 0
      || attest_check_subjects (&st, rr, record_dir, &d, err) < 0)
    return -1;
  if (d.n)
    {
      int r = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                             "the statement of result %.12s does not name "
                             "the outputs as restored (%s: %s)",
                             rr->cache_key,
                             d.v[0].kind == ATTEST_DIFF_MISSING ? "missing"
                             : d.v[0].kind == ATTEST_DIFF_EXTRA ? "extra"
                                                                : "changed",
                             d.v[0].name);
      attest_diffs_clear (&d);
      return r;
    }
  digest_sha256 (data, len, in->reused);
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
    return ohr_error_nomem (err);
  if (attest_digest_directives (dpath, d, err) < 0)
    return ohr_error_wrap (err, "directive stream");
  if (attest_files_add (&in->subjects, "directives", d) < 0)
    return ohr_error_nomem (err);
  qsort (in->subjects.v, in->subjects.n, sizeof *in->subjects.v,
         attest_files_compare);
  char *argv[] = { rr->runtime_path, "--version", NULL };
  if (attest_first_line (argv, &in->runtime_version, err) < 0)
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
        return ohr_error_nomem (err);
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
  if (attest_dep_digests (rr, &in->dep_out_dirs, err) < 0)
    return -1;
  if (rr->cache_key && reused_statement (rr, record_dir, in, err) < 0)
    return ohr_error_wrap (err, "result cache");
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
  if (rr->cache_key)
    {
      /* the script did not run: its outputs are those of the run whose
       * statement this names (docs/attestations.md, "Cache hits") */
      G (gen_str (g, "resultCache"));
      G (yajl_gen_map_open (g));
      G (gen_str (g, "hit"));
      G (yajl_gen_bool (g, 1));
      G (gen_kv (g, "key", rr->cache_key));
      G (gen_str (g, "statement"));
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "sha256", SHA256_HEX (in->reused)));
      G (yajl_gen_map_close (g));
      G (yajl_gen_map_close (g));
    }
  G (yajl_gen_map_close (g));
  G (gen_str (g, "resolvedDependencies"));
  G (yajl_gen_array_open (g));
  G (gen_dependency (g, "image", rr->image_ref, rr->image_digest, NULL));
  G (gen_dependency (g, "build-script", NULL, in->script, NULL));
  G (gen_dependency (g, "source", NULL, in->source, NULL));
  if (in->toolchain[0])
    G (gen_dependency (g, "toolchain", NULL, in->toolchain,
                       in->rustc_release));
  for (size_t i = 0; i < in->dep_out_dirs.n; i++)
    G (gen_dependency (g, in->dep_out_dirs.v[i].name, NULL,
                       in->dep_out_dirs.v[i].digest, NULL));
  if (rr->cache_key)
    G (gen_dependency (g, "result-cache-statement", NULL, in->reused, NULL));
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
    return ohr_error_nomem (err);
  yajl_gen g = gen_new ();
  if (g == NULL)
    return ohr_error_nomem (err);
  return attest_gen_finish (g, gen_statement (g, rr, in, builder), out,
                            out_len, err);
}

char *
attest_file_name (const struct runrecord *rr, const char *suffix)
{
  cleanup_free char *name = clip_file_name (rr->package_name);
  cleanup_free char *version = clip_file_name (rr->package_version);
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
    return ohr_error_nomem (err);
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
    return ohr_error_nomem (err);
  /* verify finds the record from the statement by this name */
  if (strcmp (attest_base_of (run_path), expected) != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "run record '%s' must be named '%s' (its id)",
                          run_path, expected);
  if (rr.exit_status != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record '%s': the build script failed (exit "
                          "status %d): nothing to attest",
                          run_path, rr.exit_status);
  cleanup_free char *dir = attest_dir_of (run_path);
  cleanup_free char *json = NULL, *envelope = NULL;
  size_t len = 0, elen = 0;
  struct attest_inputs in = { 0 };
  int r = dir ? attest_collect (&rr, dir, &in, err) : ohr_error_nomem (err);
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
    return ohr_error_nomem (err);
  if (write_json_file (spath, json, len, err) < 0
      || (envelope && write_json_file (epath, envelope, elen, err) < 0))
    return -1;
  if (out_statement)
    *out_statement = steal_pointer (&spath);
  if (out_envelope)
    *out_envelope = envelope ? steal_pointer (&epath) : NULL;
  return 0;
}
