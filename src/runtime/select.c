/* select.c: which runtime, as a pure function of the facts (see
 * runtime.h).  Run mode (runtime_select) and doctor (doctor/evaluate.c)
 * both call runtime_choose, so that doctor reports the runtime run mode
 * would use, and why, rather than a copy of the rules. */
#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

const struct runtime_backend *
runtime_backend_named (const char *want)
{
  if (strcmp (want, "crun") == 0)
    return &runtime_backend_crun;
  if (strcmp (want, "runc") == 0)
    return &runtime_backend_runc;
  if (strchr (want, '/') == NULL)
    return NULL;
  /* a path: crun's command line if its name says crun, else runc's */
  const char *base = strrchr (want, '/') + 1;
  return strstr (base, "crun") ? &runtime_backend_crun : &runtime_backend_runc;
}

/* Why b cannot run on this host (a static string), or NULL, with the
 * workaround it needs in *prep.  Both refuse rootless hosts without user
 * namespaces; crun refuses hybrid cgroups (a v2 "unified" tree holding
 * controllers beside v1), which the runner hides from it (crun.c). */
static const char *
refusal (const struct runtime_backend *b, const struct runtime_facts *in,
         enum runtime_prep *prep)
{
  *prep = RUNTIME_PREP_NONE;
  if (in->rootless && in->userns_unavailable)
    return in->userns_unavailable;
  if (b == &runtime_backend_crun && in->cgroups == CGROUP_MODE_HYBRID)
    *prep = in->rootless ? RUNTIME_PREP_OWN_USERNS : RUNTIME_PREP_HIDE_UNIFIED;
  return NULL;
}

static const char *
prep_note (enum runtime_prep prep)
{
  switch (prep)
    {
    case RUNTIME_PREP_HIDE_UNIFIED:
      return " (hybrid cgroups: started in a private mount namespace "
             "without the v2 tree)";
    case RUNTIME_PREP_OWN_USERNS:
      return " (hybrid cgroups, rootless: started in the runner's own user "
             "namespace, no cgroups)";
    case RUNTIME_PREP_NONE:
    default:
      return "";
    }
}

static int
chosen (const struct runtime_backend *b, const char *path,
        enum runtime_prep prep, bool automatic, struct runtime_choice *out,
        ohr_error_t *err)
{
  char *reason = NULL;
  if (asprintf (&reason, "%s%s at %s%s", automatic ? "auto: " : "", b->name,
                path, prep_note (prep))
      < 0)
    return ohr_error_nomem (err);
  *out = (struct runtime_choice){
    .backend = b, .path = path, .prep = prep, .reason = reason
  };
  return 0;
}

static int
choose_auto (const struct runtime_facts *in, struct runtime_choice *out,
             ohr_error_t *err)
{
  /* crun first: it starts a container in about a third of runc's time. */
  const struct runtime_backend *order[]
      = { &runtime_backend_crun, &runtime_backend_runc };
  const char *paths[] = { in->crun_path, in->runc_path };
  char notes[512] = "";
  bool found = false;
  for (size_t i = 0; i < 2; i++)
    {
      enum runtime_prep prep = RUNTIME_PREP_NONE;
      const char *why = "not found in PATH";
      if (paths[i])
        {
          found = true;
          why = refusal (order[i], in, &prep);
          if (why == NULL)
            return chosen (order[i], paths[i], prep, true, out, err);
        }
      size_t l = strlen (notes);
      snprintf (notes + l, sizeof notes - l, "%s%s: %s", l ? "; " : "",
                order[i]->name, why);
    }
  return ohr_error_set (err, found ? ENOTSUP : ENOENT, OHR_ERR_RUNTIME,
                        "no usable OCI runtime (%s): install crun or runc "
                        "(Debian: apt-get install crun runc)",
                        notes);
}

static int
choose_named (const struct runtime_facts *in, struct runtime_choice *out,
              ohr_error_t *err)
{
  const char *want = in->want;
  bool by_path = strchr (want, '/') != NULL;
  const struct runtime_backend *b = runtime_backend_named (want);
  if (b == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "unknown runtime '%s': use auto, crun, runc or the "
                          "path of a runc-compatible binary",
                          want);
  const char *path = by_path ? (in->want_executable ? want : NULL)
                     : b == &runtime_backend_crun ? in->crun_path
                                                  : in->runc_path;
  if (path == NULL)
    return ohr_error_set (err, ENOENT, OHR_ERR_RUNTIME, "runtime '%s': %s",
                          want,
                          by_path ? "no executable at that path"
                                  : "not found in PATH (Debian: apt-get "
                                    "install crun runc)");
  enum runtime_prep prep;
  const char *why = refusal (b, in, &prep);
  if (why)
    return ohr_error_set (err, ENOTSUP, OHR_ERR_RUNTIME,
                          "runtime '%s' cannot run on this host: %s", want,
                          why);
  return chosen (b, path, prep, false, out, err);
}

int
runtime_choose (const struct runtime_facts *in, struct runtime_choice *out,
                ohr_error_t *err)
{
  return strcmp (in->want, "auto") == 0 ? choose_auto (in, out, err)
                                        : choose_named (in, out, err);
}

void
runtime_choice_clear (struct runtime_choice *c)
{
  free (c->reason);
  memset (c, 0, sizeof *c);
}
