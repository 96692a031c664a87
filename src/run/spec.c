/* spec.c: see spec.h */
#define _GNU_SOURCE
#include "run/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "util/jsongen.h"

#include "run/hooks.h"
#include "run/seccomp.h"

/* runc's defaults (libcontainer/specconv), plus paths podman masks too. */
static const char *const masked_paths[] = {
  "/proc/acpi",        "/proc/asound",
  "/proc/interrupts",  "/proc/kcore",
  "/proc/keys",        "/proc/latency_stats",
  "/proc/timer_list",  "/proc/timer_stats",
  "/proc/sched_debug", "/proc/scsi",
  "/sys/firmware",     "/sys/fs/selinux",
  "/sys/dev/block",    NULL,
};

static const char *const readonly_paths[] = {
  "/proc/bus",           "/proc/fs", "/proc/irq", "/proc/sys",
  "/proc/sysrq-trigger", NULL,
};

static yajl_gen_status
gen_empty_caps (yajl_gen g)
{
  static const char *const sets[]
      = { "bounding", "effective", "inheritable", "permitted", "ambient" };
  yajl_gen_status st;
  G (gen_str (g, "capabilities"));
  G (yajl_gen_map_open (g));
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
    G (gen_strv (g, sets[i], NULL));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_rlimits (yajl_gen g, const struct spec_input *in)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (in->n_rlimits == 0)
    return st;
  G (gen_str (g, "rlimits"));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; i < in->n_rlimits; i++)
    {
      const struct limits_rlimit *r = &in->rlimits[i];
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "type", r->type));
      /* JSON numbers here are uint64 for the runtimes (RLIM_INFINITY is
       * UINT64_MAX); yajl's integers are signed */
      char n[24];
      G (gen_str (g, "hard"));
      snprintf (n, sizeof n, "%llu", (unsigned long long)r->hard);
      G (yajl_gen_number (g, n, strlen (n)));
      G (gen_str (g, "soft"));
      snprintf (n, sizeof n, "%llu", (unsigned long long)r->soft);
      G (yajl_gen_number (g, n, strlen (n)));
      G (yajl_gen_map_close (g));
    }
  G (yajl_gen_array_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_process (yajl_gen g, const struct spec_input *in)
{
  yajl_gen_status st;
  G (gen_str (g, "process"));
  G (yajl_gen_map_open (g));
  G (gen_kbool (g, "terminal", false));
  G (gen_str (g, "user"));
  G (yajl_gen_map_open (g));
  G (gen_kint (g, "uid", in->uid));
  G (gen_kint (g, "gid", in->gid));
  G (yajl_gen_map_close (g));
  G (gen_strv (g, "args", in->args));
  G (gen_strv (g, "env", in->env));
  G (gen_kv (g, "cwd", in->cwd));
  G (gen_empty_caps (g));
  G (gen_rlimits (g, in));
  G (gen_kbool (g, "noNewPrivileges", true));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_mounts (yajl_gen g, const struct mount_table *t)
{
  yajl_gen_status st;
  G (gen_str (g, "mounts"));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; t && i < t->n; i++)
    {
      const struct ohr_mount *m = &t->v[i];
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "destination", m->destination));
      G (gen_kv (g, "type", m->type));
      G (gen_kv (g, "source", m->source));
      if (m->options)
        G (gen_strv (g, "options", m->options));
      G (yajl_gen_map_close (g));
    }
  G (yajl_gen_array_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_id_mapping (yajl_gen g, const char *key, long long host_id, unsigned size)
{
  yajl_gen_status st;
  G (gen_str (g, key));
  G (yajl_gen_array_open (g));
  G (yajl_gen_map_open (g));
  G (gen_kint (g, "containerID", 0));
  G (gen_kint (g, "hostID", host_id));
  G (gen_kint (g, "size", size ? size : 1));
  G (yajl_gen_map_close (g));
  G (yajl_gen_array_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_namespaces (yajl_gen g, const struct spec_input *in)
{
  const char *types[8] = { "ipc", "uts", "mount", "pid" };
  size_t n = 4;
  if (in->new_netns)
    types[n++] = "network";
  if (in->new_userns)
    types[n++] = "user";
  yajl_gen_status st;
  G (gen_str (g, "namespaces"));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; i < n; i++)
    {
      G (yajl_gen_map_open (g));
      G (gen_kv (g, "type", types[i]));
      G (yajl_gen_map_close (g));
    }
  G (yajl_gen_array_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_limit (yajl_gen g, const char *key, unsigned long long limit)
{
  yajl_gen_status st;
  G (gen_str (g, key));
  G (yajl_gen_map_open (g));
  G (gen_kint (g, "limit", (long long)limit));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_resources (yajl_gen g, const struct spec_input *in)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (!in->memory_limit && !in->pids_limit)
    return st;
  G (gen_str (g, "resources"));
  G (yajl_gen_map_open (g));
  if (in->memory_limit)
    G (gen_limit (g, "memory", in->memory_limit));
  if (in->pids_limit)
    G (gen_limit (g, "pids", in->pids_limit));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_linux (yajl_gen g, const struct spec_input *in)
{
  yajl_gen_status st;
  G (gen_str (g, "linux"));
  G (yajl_gen_map_open (g));
  G (gen_namespaces (g, in));
  if (in->new_userns)
    {
      G (gen_id_mapping (g, "uidMappings", in->host_uid, in->id_count));
      G (gen_id_mapping (g, "gidMappings", in->host_gid, in->id_count));
    }
  if (in->cgroups_path)
    G (gen_kv (g, "cgroupsPath", in->cgroups_path));
  G (gen_resources (g, in));
  G (gen_str (g, "maskedPaths"));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; masked_paths[i]; i++)
    G (gen_str (g, masked_paths[i]));
  for (size_t i = 0; in->extra_masked && in->extra_masked[i]; i++)
    G (gen_str (g, in->extra_masked[i]));
  G (yajl_gen_array_close (g));
  G (gen_strv (g, "readonlyPaths", (char *const *)readonly_paths));
  if (!in->seccomp_unconfined && in->seccomp_json)
    {
      G (gen_str (g, "seccomp"));
      G (gen_raw_value (g, in->seccomp_json));
    }
  else if (!in->seccomp_unconfined)
    G (seccomp_gen (g, in->syscalls_allowed));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_hook (yajl_gen g, const struct spec_hook *h)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "path", h->path));
  if (h->args)
    G (gen_strv (g, "args", h->args));
  if (h->env)
    G (gen_strv (g, "env", h->env));
  if (h->timeout > 0)
    G (gen_kint (g, "timeout", h->timeout));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

/* The OCI "hooks" object: one array per stage that has hooks. */
static yajl_gen_status
gen_hooks (yajl_gen g, const struct spec_hooks *h)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (h == NULL || spec_hooks_empty (h))
    return st;
  G (gen_str (g, "hooks"));
  G (yajl_gen_map_open (g));
  for (int s = 0; s < HOOK_N_STAGES; s++)
    {
      const struct spec_hook_list *l = &h->stages[s];
      if (l->n == 0)
        continue;
      G (gen_str (g, hooks_stage_name ((enum hook_stage)s)));
      G (yajl_gen_array_open (g));
      for (size_t i = 0; i < l->n; i++)
        G (gen_hook (g, &l->v[i]));
      G (yajl_gen_array_close (g));
    }
  G (yajl_gen_map_close (g));
fail:
  return st;
}

/* Is the key of a[i] given again later?  The later one wins, so that the
 * object has unique keys whatever the caller passes. */
static bool
annotation_repeated (char *const *a, size_t i)
{
  size_t klen = strcspn (a[i], "=");
  for (size_t j = i + 1; a[j]; j++)
    if (strncmp (a[j], a[i], klen) == 0 && a[j][klen] == '=')
      return true;
  return false;
}

static yajl_gen_status
gen_annotations (yajl_gen g, char *const *a)
{
  yajl_gen_status st = yajl_gen_status_ok;
  if (a == NULL || a[0] == NULL)
    return st;
  G (gen_str (g, "annotations"));
  G (yajl_gen_map_open (g));
  for (size_t i = 0; a[i]; i++)
    {
      if (annotation_repeated (a, i))
        continue;
      size_t klen = strcspn (a[i], "=");
      G (yajl_gen_string (g, (const unsigned char *)a[i], klen));
      G (gen_str (g, a[i] + klen + 1));
    }
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static yajl_gen_status
gen_spec (yajl_gen g, const struct spec_input *in)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "ociVersion", "1.0.2"));
  G (gen_process (g, in));
  G (gen_str (g, "root"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "path", in->rootfs));
  G (gen_kbool (g, "readonly", true));
  G (yajl_gen_map_close (g));
  G (gen_kv (g, "hostname",
             in->hostname ? in->hostname : SPEC_HOSTNAME_FIXED));
  G (gen_mounts (g, in->mounts));
  G (gen_linux (g, in));
  G (gen_hooks (g, in->hooks));
  G (gen_annotations (g, in->annotations));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

/* Hooks and annotations come from files and options: refuse what the
 * runtime would reject with a less helpful message. */
static int
check_hooks_annotations (const struct spec_input *in, ohr_error_t *err)
{
  for (size_t i = 0; in->annotations && in->annotations[i]; i++)
    {
      const char *a = in->annotations[i];
      if (a[0] == '=' || strchr (a, '=') == NULL)
        return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                              "spec: annotation '%s' is not KEY=VALUE", a);
    }
  for (int s = 0; in->hooks && s < HOOK_N_STAGES; s++)
    for (size_t i = 0; i < in->hooks->stages[s].n; i++)
      {
        const struct spec_hook *h = &in->hooks->stages[s].v[i];
        if (h->path == NULL || h->path[0] != '/' || h->timeout < 0)
          return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                                "spec: %s hook '%s' needs an absolute path "
                                "and a timeout >= 0",
                                hooks_stage_name ((enum hook_stage)s),
                                h->path ? h->path : "(null)");
      }
  return 0;
}

const char *
spec_hostname (bool identity, const char *host_name)
{
  size_t n = host_name ? strlen (host_name) : 0;
  return identity && n > 0 && n <= 64 ? host_name : SPEC_HOSTNAME_FIXED;
}

int
spec_generate (const struct spec_input *in, char **out, size_t *out_len,
               ohr_error_t *err)
{
  if (in->rootfs == NULL || in->args == NULL || in->args[0] == NULL
      || in->cwd == NULL || in->cwd[0] != '/')
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "spec: rootfs, args and an absolute cwd are needed");
  if (check_hooks_annotations (in, err) < 0)
    return -1;
  cleanup_yajl_gen yajl_gen g = gen_new ();
  if (g == NULL)
    return ohr_error_nomem (err);
  yajl_gen_status st = gen_spec (g, in);
  if (st != yajl_gen_status_ok)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "cannot generate the OCI spec: %s",
                          st == yajl_gen_invalid_string
                              ? "a value (argument, path or environment "
                                "variable) is not valid UTF-8"
                              : "yajl generator error");
  if ((*out = gen_text (g, out_len)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}
