/* plan.c: see plan.h */
#define _GNU_SOURCE
#include "cache/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/version.h"

static int
add_list (struct buf *b, const char *name, char *const *v)
{
  int r = buf_add (b, " ", 1) < 0 || buf_add (b, name, strlen (name)) < 0
                  || buf_add (b, "=[", 2) < 0
              ? -1
              : 0;
  for (size_t i = 0; r == 0 && v && v[i]; i++)
    r = (i && buf_add (b, ",", 1) < 0) || buf_add (b, v[i], strlen (v[i])) < 0
            ? -1
            : 0;
  return r < 0 || buf_add (b, "]", 1) < 0 ? -1 : 0;
}

char *
cache_plan_policy_line (const struct policy_effective *eff)
{
  const struct policy_settings *p = &eff->settings;
  char *head = NULL;
  if (asprintf (&head,
                "strict=%d network=%d source-writes=%d paths=%d memory=%llu "
                "pids=%llu timeout=%llu nofile=%llu tmpfs=%llu seccomp=%d",
                eff->strict, (int)p->network, (int)p->source_writes,
                (int)p->paths, (unsigned long long)p->memory,
                (unsigned long long)p->pids, (unsigned long long)p->timeout,
                (unsigned long long)p->nofile, (unsigned long long)p->tmpfs,
                (int)p->seccomp)
      < 0)
    return NULL;
  struct buf b = { 0 };
  cleanup_strv char **dests = NULL;
  int r = buf_add (&b, head, strlen (head));
  free (head);
  for (size_t i = 0; r == 0 && i < p->n_mounts; i++)
    r = strv_push (&dests, p->mounts[i].destination);
  if (r < 0 || add_list (&b, "mounts", dests) < 0
      || add_list (&b, "env", p->env) < 0
      || add_list (&b, "workspace-read", p->workspace_read) < 0
      || add_list (&b, "syscalls", p->syscalls) < 0)
    {
      buf_clear (&b);
      return NULL;
    }
  return b.data;
}

/* What of the workspace view lies under host: relative paths. */
static int
masks_under (const struct wsview *ws, const char *host, struct cache_input *in,
             ohr_error_t *err)
{
  for (size_t i = 0; ws && i < ws->n; i++)
    {
      const char *p = ws->v[i].path;
      if (!fs_path_is_under (p, host) || strcmp (p, host) == 0)
        continue;
      size_t n = strlen (host);
      if (strv_push (&in->empty, p + n + (host[n - 1] == '/' ? 0 : 1)) < 0)
        return ohr_error_nomem (err);
    }
  return 0;
}

static int
add_pairs (const struct cache_plan_input *in, struct cache_request *r,
           ohr_error_t *err)
{
  const struct run_context *ctx = in->ctx;
  for (size_t i = 0; i < in->view->n_pairs; i++)
    {
      const struct path_pair *p = &in->view->pairs[i];
      struct cache_input *ci;
      /* an unmounted pair is text in values, no input (view.h) */
      if (p->unmounted || strcmp (p->host, ctx->out_dir) == 0
          || (ctx->build_dir && strcmp (p->host, ctx->build_dir) == 0))
        continue;
      if (cache_request_add_input (r, p->container, p->host, &ci, err) < 0
          || masks_under (in->ws, p->host, ci, err) < 0)
        return -1;
      /* a toolchain's documentation: no compiler reads it (key.h) */
      if (strncmp (p->container, LAYOUT_CARGO_TOOLCHAIN,
                   strlen (LAYOUT_CARGO_TOOLCHAIN))
          != 0)
        continue;
      ci->toolchain = true;
      if (strv_push (&ci->skip, "share/doc") < 0
          || strv_push (&ci->skip, "share/man") < 0)
        return ohr_error_nomem (err);
    }
  return 0;
}

int
cache_plan_dependencies (const char *build_dir, char *const *envp, char ***out,
                         ohr_error_t *err)
{
  return context_dependency_dirs (build_dir, envp, out, err);
}

/* The dependencies' OUT_DIRs, as the container sees them. */
static int
add_dependencies (const struct cache_plan_input *in, struct cache_request *r,
                  ohr_error_t *err)
{
  cleanup_strv char **deps = NULL;
  if (cache_plan_dependencies (in->ctx->build_dir, in->envp, &deps, err) < 0)
    return -1;
  for (size_t i = 0; deps[i]; i++)
    {
      cleanup_free char *container = view_map_value (in->view, deps[i]);
      if (container == NULL)
        return ohr_error_nomem (err);
      if (cache_request_add_input (r, container, deps[i], NULL, err) < 0)
        return -1;
    }
  return 0;
}

static int
fill (const struct cache_plan_input *in, struct cache_request *r,
      ohr_error_t *err)
{
  const struct view *v = in->view;
  struct reapi_command *c = &r->command;
  for (size_t i = 1; v->args && v->args[0] && v->args[i]; i++)
    if (strv_push (&c->arguments, v->args[i]) < 0)
      return ohr_error_nomem (err);
  for (size_t i = 0; v->env && v->env[i]; i++)
    if (cache_request_add_env (r, v->env[i], err) < 0)
      return -1;
  /* REAPI paths are relative to the input root */
  cleanup_free char *out = view_map_value (v, in->ctx->out_dir);
  if (out == NULL || strv_push (&c->output_directories, out + 1) < 0
      || (c->working_directory = strdup (v->cwd + (v->cwd[0] == '/'))) == NULL)
    return ohr_error_nomem (err);
  cleanup_free char *policy = cache_plan_policy_line (in->eff);
  if (policy == NULL)
    return ohr_error_nomem (err);
  r->host_fingerprint = in->image->digest == NULL;
  if (cache_request_add_platform (r, "oci-host-runner-key-format",
                                  CACHE_KEY_FORMAT, err)
          < 0
      || cache_request_add_platform (r, "oci-host-runner-version", OHR_VERSION,
                                     err)
             < 0
      || cache_request_add_platform (
             r, "container-image",
             in->image->digest ? in->image->digest : "host", err)
             < 0
      || cache_request_add_platform (r, "policy", policy, err) < 0)
    return -1;
  if (add_pairs (in, r, err) < 0 || add_dependencies (in, r, err) < 0)
    return -1;
  for (size_t i = 0; i < in->eff->settings.n_mounts; i++)
    {
      const struct policy_mount *m = &in->eff->settings.mounts[i];
      if (cache_request_add_input (r, m->destination, m->source, NULL, err)
          < 0)
        return -1;
    }
  return 0;
}

int
cache_plan_request (const struct cache_plan_input *in,
                    struct cache_request *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (fill (in, out, err) < 0)
    {
      cache_request_clear (out);
      return -1;
    }
  return 0;
}
