/* hooks.h: OCI hooks from hooks.d directories into the generated spec.
 *
 * The convention of podman and CRI-O (oci-hooks(5)): a directory of JSON
 * files, each naming one hook program, the conditions under which it is
 * injected and the lifecycle stages it runs at.  The runner writes the
 * hooks that match a run into config.json's "hooks" object and the
 * runtime (crun, runc) executes them; the runner runs nothing itself.
 * Hook programs run on the HOST, with the runtime's privileges (root when
 * the runner is root), so hook directories are trusted like the policy:
 * only directories the user names or the defaults the lead's options
 * choose, never anything from the crate or the target directory, and a
 * directory or file someone else could edit is refused.
 *
 * Directories (hooks_load): every *.json file, at most 1 MiB each.  A
 * file in a later directory masks the file of the same name in earlier
 * ones (podman: directories in increasing order of preference); a masked
 * file is not read at all.  Hooks are injected in the order of their file
 * names, compared case-insensitively (podman), so "01-x.json" comes before
 * "02-y.json".  A directory that does not exist is an error: callers that
 * probe default directories pass only those that exist.
 *
 * A file (schema 1.0.0 only; 0.1.0 files are refused with a hint):
 *
 *   {
 *     "version": "1.0.0",
 *     "hook": { "path": "/usr/libexec/x", "args": ["x", "--flag"],
 *               "env": ["NAME=VALUE"], "timeout": 10 },
 *     "when": { "always": true,
 *               "annotations": { "^key-regex$": "value-regex" },
 *               "commands": [ "/build-script-build$" ],
 *               "hasBindMounts": true },
 *     "stages": [ "prestart", "createRuntime", "createContainer",
 *                 "startContainer", "poststart", "poststop" ]
 *   }
 *
 * "version", "hook" ("path" required), "when" (at least one condition)
 * and "stages" (at least one) are required.  An unknown key, a key given
 * twice, a wrong type, an invalid regular expression or an unknown stage
 * is an error naming the file and the JSON path of the value
 * ("hook '/etc/x.json': when.commands[1]: invalid regular expression
 * ...").  Regular expressions are POSIX extended ones (regcomp
 * REG_EXTENDED), searched anywhere in the string like podman's (anchor
 * them with ^ and $).
 *
 * Extension: "hook.path" may be relative; it is then resolved against the
 * directory holding the JSON file (after realpath), so a hooks directory
 * can carry its programs and be used in place (the project's hooks/).
 * The spec always receives an absolute path.  A hook whose program does
 * not exist or is not executable is skipped with a note (struct
 * hook_set.notes), as is a hook whose program someone else could edit
 * (not owned by the user or root, or writable by group or others).
 *
 * Matching (hooks_select), as podman does for 1.0.0 files: the hook is
 * injected when EVERY condition present in "when" holds.  (oci-hooks(5):
 * "If *all* of the conditions set in when match"; any-of matching is
 * only podman's compatibility mode for 0.1.0 files, which are refused.)
 *
 *   always         true holds; false never holds
 *   annotations    for each key/value pattern pair, some annotation of
 *                  the run has a matching key and a matching value
 *   commands       one pattern matches the BUILD SCRIPT's host path.  The
 *                  container's process.args[0] is always the runner's
 *                  init (/dev/.ohr-init), so oci-hooks(5)'s args[0] rule
 *                  would match every run or none; the script path is
 *                  what a user means ("commands": ["/build-script-build$"])
 *   hasBindMounts  true holds when the run bind-mounts host paths (every
 *                  build script's run does: OUT_DIR, the source); false
 *                  never holds (podman)
 *
 * Stages map one to one onto the OCI runtime spec's hooks object.
 * Where each runs (runtime-spec config.md): prestart (deprecated),
 * createRuntime and poststart and poststop run in the runtime's
 * namespaces; createContainer runs in the container's namespaces but its
 * path resolves on the host; startContainer runs INSIDE the container
 * just before the script, so its path must exist in the container.
 */
#ifndef OHR_HOOKS_H
#define OHR_HOOKS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* oci-hooks(5) files are a few hundred bytes. */
#define HOOKS_MAX_FILE_SIZE (1 << 20)

/* The stages, in the order the runtime runs them. */
enum hook_stage
{
  HOOK_PRESTART,
  HOOK_CREATE_RUNTIME,
  HOOK_CREATE_CONTAINER,
  HOOK_START_CONTAINER,
  HOOK_POSTSTART,
  HOOK_POSTSTOP,
  HOOK_N_STAGES,
};

/* The OCI runtime spec's key: "prestart", "createRuntime", ...; NULL for
 * a value out of range. */
const char *hooks_stage_name (enum hook_stage stage);

/* One entry of a hooks array (runtime-spec config.md, POSIX-platform
 * hooks). */
struct spec_hook
{
  char *path;  /* absolute */
  char **args; /* argv; hooks_load_file sets [path] when the file has none */
  char **env;  /* NULL: not written */
  int timeout; /* seconds; 0: none */
};

struct spec_hook_list
{
  struct spec_hook *v;
  size_t n;
};

/* What config.json's "hooks" object holds (spec_input.hooks): per stage,
 * the hooks in the order the runtime must run them. */
struct spec_hooks
{
  struct spec_hook_list stages[HOOK_N_STAGES];
};

bool spec_hooks_empty (const struct spec_hooks *h);
void spec_hooks_clear (struct spec_hooks *h);

/* ---- loaded hook files */

struct hook_pattern
{
  char *text; /* as written, for messages */
  regex_t re;
};

struct hook_annotation_pattern
{
  struct hook_pattern key;
  struct hook_pattern value;
};

/* A condition that is absent, or set to false or true. */
enum hook_flag
{
  HOOK_FLAG_UNSET = -1,
  HOOK_FLAG_FALSE = 0,
  HOOK_FLAG_TRUE = 1,
};

struct hook_def
{
  char *name; /* file name: "50-digest.json" */
  char *file; /* the JSON file's path */
  struct spec_hook hook;
  enum hook_flag always;
  enum hook_flag has_bind_mounts;
  struct hook_annotation_pattern *annotations;
  size_t n_annotations;
  struct hook_pattern *commands;
  size_t n_commands;
  unsigned stages; /* bit (1u << enum hook_stage) per stage */
};

struct hook_set
{
  struct hook_def *v; /* in injection order (file names) */
  size_t n;
  char **notes; /* hooks skipped and why, one line each: show them */
};

/* Load every *.json file of dirs (NULL-terminated; later ones win). */
int hooks_load (char *const *dirs, struct hook_set *out, ohr_error_t *err);

/* Load one file.  Returns 1 with *out filled, 0 when the hook is skipped
 * (*out_note says why; *out untouched), or -1 on an error. */
int hooks_load_file (const char *path, struct hook_def *out, char **out_note,
                     ohr_error_t *err);

void hook_def_clear (struct hook_def *d);
void hooks_set_clear (struct hook_set *s);

/* ---- matching a run */

struct hook_context
{
  const char *script;       /* host path of the build script ("commands") */
  char *const *annotations; /* "KEY=VALUE", those written into the spec */
  bool has_bind_mounts;
};

/* Does d match ctx?  1 yes, 0 no, -1 error (regexec out of memory). */
int hooks_match (const struct hook_def *d, const struct hook_context *ctx,
                 ohr_error_t *err);

/* Fill *out (owned copies; free with spec_hooks_clear) with the hooks of
 * set that match ctx, per stage, in the set's order. */
int hooks_select (const struct hook_set *set, const struct hook_context *ctx,
                  struct spec_hooks *out, ohr_error_t *err);

#endif
