/* cargo.c: doctor_probe_cargo (see doctor.h): does `cargo build` here call
 * the runner?
 *
 * Cargo decides that from the user's configuration, which it reads from
 * the working directory up and from $CARGO_HOME, and from the environment:
 * so cargo runs in doctor's own working directory and environment, on a
 * throwaway crate in a temporary directory (its own workspace, its own
 * target directory).  The crate's build script says where it finds
 * itself: in a container of this runner (the init every container gets,
 * LAYOUT_INIT_PATH, is there) or not, in a warning Cargo prints.  Cargo's
 * -v Running line says what it ran.  The configuration is read with
 * `cargo config get`, which is unstable: RUSTC_BOOTSTRAP=1 for that one
 * call only, so the facts hold whatever the user has set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor/internal.h"
#include "run/view.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/strv.h"

extern char **environ;

#define CRATE "ohr-doctor-probe"

/* The build script: "ohr-doctor-probe: container|host HOST" as a Cargo
 * warning, which Cargo prints for the root package whatever its
 * verbosity.  The old "cargo:" syntax, for any cargo. */
static const char build_rs[]
    = "fn main() {\n"
      "    // oci-host-runner's init is bound here in every container\n"
      "    let inside = std::path::Path::new(\"" LAYOUT_INIT_PATH
      "\").exists();\n"
      "    println!(\"cargo:warning=" CRATE ": {} {}\",\n"
      "             if inside { \"container\" } else { \"host\" },\n"
      "             std::env::var(\"HOST\").unwrap_or_default());\n"
      "    println!(\"cargo:rerun-if-changed=build.rs\");\n"
      "}\n";

static const char cargo_toml[]
    = "[package]\n"
      "name = \"" CRATE "\"\n"
      "version = \"0.0.0\"\n"
      "edition = \"2021\"\n"
      "publish = false\n"
      "\n"
      "# its own workspace, wherever the temporary directory is\n"
      "[workspace]\n";

static int
write_crate (const char *dir, ohr_error_t *err)
{
  cleanup_free char *src = fs_path_join (dir, "src");
  cleanup_free char *manifest = fs_path_join (dir, "Cargo.toml");
  cleanup_free char *script = fs_path_join (dir, "build.rs");
  cleanup_free char *main_rs = fs_path_join (src, "main.rs");
  static const char main_text[] = "fn main() {}\n";
  if (src == NULL || manifest == NULL || script == NULL || main_rs == NULL)
    return ohr_error_nomem (err);
  if (fs_mkdir_p (src, 0755, err) < 0
      || fs_write_new (manifest, cargo_toml, sizeof cargo_toml - 1, 0644, err)
             < 0
      || fs_write_new (script, build_rs, sizeof build_rs - 1, 0644, err) < 0
      || fs_write_new (main_rs, main_text, sizeof main_text - 1, 0644, err)
             < 0)
    return -1;
  return 0;
}

/* The first line of text that starts with "error", else the first line. */
static char *
error_line (const char *text)
{
  for (const char *p = text; p && *p; p = strchr (p, '\n'))
    {
      p += *p == '\n';
      if (strncmp (p, "error", 5) == 0)
        return doctor_first_line (p);
    }
  return doctor_first_line (text && *text ? text : "no output");
}

static char *
find_cargo (void)
{
  /* CARGO: what cargo sets for the processes it starts, and what people
   * set to name one */
  const char *env = getenv ("CARGO");
  if (env && env[0] == '/' && access (env, X_OK) == 0)
    return strdup (env);
  return runtime_find_in_path ("cargo");
}

static void
probe_version (struct doctor_cargo *c)
{
  char *argv[] = { c->path, "--version", NULL };
  struct proc_result pr = { 0 };
  ohr_error_t e = NULL;
  if (proc_run (argv, &pr, &e) < 0)
    {
      ohr_error_free (&e);
      return;
    }
  if (pr.status == 0)
    c->version = doctor_first_line (pr.out);
  proc_result_clear (&pr);
}

/* `cargo config get --show-origin` with the user's --config flags. */
static int
probe_config (char *const *args, struct doctor_cargo *c, ohr_error_t *err)
{
  cleanup_free char *env = runtime_find_in_path ("env");
  if (env == NULL)
    return (c->config_error = strdup ("env(1) not found in PATH")) ? 0 : -1;
  cleanup_strv char **argv = NULL;
  bool ok = strv_push (&argv, env) == 0
            && strv_push (&argv, "RUSTC_BOOTSTRAP=1") == 0
            && strv_push (&argv, c->path) == 0
            && strv_push (&argv, "-Zunstable-options") == 0
            && strv_push (&argv, "config") == 0
            && strv_push (&argv, "get") == 0
            && strv_push (&argv, "--show-origin") == 0;
  for (size_t i = 0; ok && args && args[i]; i++)
    if (strcmp (args[i], "--config") == 0 && args[i + 1])
      ok = strv_push (&argv, args[i]) == 0
           && strv_push (&argv, args[++i]) == 0;
    else if (strncmp (args[i], "--config=", 9) == 0)
      ok = strv_push (&argv, args[i]) == 0;
  if (!ok)
    return ohr_error_nomem (err);
  struct proc_result pr = { 0 };
  ohr_error_t e = NULL;
  if (proc_run (argv, &pr, &e) < 0)
    {
      c->config_error = strdup (e->msg);
      ohr_error_free (&e);
      return c->config_error ? 0 : ohr_error_nomem (err);
    }
  int r = 0;
  if (pr.status != 0)
    r = (c->config_error = error_line (pr.err)) ? 0 : -1;
  else if (doctor_cargo_parse_config (pr.out, c) < 0)
    r = -1;
  proc_result_clear (&pr);
  return r < 0 ? ohr_error_nomem (err) : 0;
}

/* cargo build -v of the crate in dir, from the working directory. */
static int
probe_build (const char *dir, char *const *args, struct doctor_cargo *c,
             ohr_error_t *err)
{
  cleanup_free char *manifest = fs_path_join (dir, "Cargo.toml");
  cleanup_free char *target = fs_path_join (dir, "target");
  cleanup_strv char **argv = NULL;
  bool ok = manifest && target && strv_push (&argv, c->path) == 0
            && strv_push (&argv, "build") == 0 && strv_push (&argv, "-v") == 0
            && strv_push (&argv, "--color") == 0
            && strv_push (&argv, "never") == 0
            && strv_push (&argv, "--manifest-path") == 0
            && strv_push (&argv, manifest) == 0
            && strv_push (&argv, "--target-dir") == 0
            && strv_push (&argv, target) == 0;
  for (size_t i = 0; ok && args && args[i]; i++)
    ok = strv_push (&argv, args[i]) == 0;
  if (!ok)
    return ohr_error_nomem (err);
  struct proc_result pr = { 0 };
  ohr_error_t e = NULL;
  if (proc_run (argv, &pr, &e) < 0)
    {
      c->error = strdup (e->msg);
      ohr_error_free (&e);
      return c->error ? 0 : ohr_error_nomem (err);
    }
  c->status = pr.status;
  int r = doctor_cargo_parse_build (pr.err, c);
  if (r == 0 && pr.status != 0 && c->error == NULL)
    r = (c->error = error_line (pr.err)) ? 0 : -1;
  proc_result_clear (&pr);
  return r < 0 ? ohr_error_nomem (err) : 0;
}

int
doctor_probe_cargo (char *const *args, struct doctor_cargo *c,
                    ohr_error_t *err)
{
  memset (c, 0, sizeof *c);
  c->probed = true;
  c->status = -1;
  c->ran = -1;
  c->dir = getcwd (NULL, 0);
  const char *bootstrap = getenv ("RUSTC_BOOTSTRAP");
  if ((c->dir == NULL && errno == ENOMEM)
      || (bootstrap && (c->bootstrap = strdup (bootstrap)) == NULL))
    return ohr_error_nomem (err);
  if ((c->path = find_cargo ()) == NULL)
    return 0;
  probe_version (c);
  if (probe_config (args, c, err) < 0)
    return -1;
  if (doctor_cargo_parse_env_args (environ, args, c) < 0)
    return ohr_error_nomem (err);
  const char *tmp = getenv ("TMPDIR");
  cleanup_free char *dir = NULL;
  if (asprintf (&dir, "%s/ohr-doctor-XXXXXX",
                tmp && tmp[0] == '/' ? tmp : "/tmp")
      < 0)
    return ohr_error_nomem (err);
  ohr_error_t e = NULL;
  int r = 0;
  bool made = mkdtemp (dir) != NULL;
  if (!made)
    ohr_error_errno (&e, errno, OHR_ERR_INTERNAL, "cannot create '%s'", dir);
  else if (write_crate (dir, &e) == 0)
    r = probe_build (dir, args, c, err);
  if (e)
    {
      /* a fact: the build did not run */
      c->error = strdup (e->msg);
      ohr_error_free (&e);
      r = c->error ? 0 : ohr_error_nomem (err);
    }
  if (made)
    fs_rm_rf (dir, NULL);
  return r;
}
