/* cmd-run.c: run mode, what Cargo calls: oci-host-runner [OPTIONS] SCRIPT.
 *
 * Flow: options -> Cargo context -> image rootfs (prepared once) ->
 * runtime -> layout (mounts, env) -> config.json -> bundle -> runtime run
 * (init reports the script's fate on a pipe) -> exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "attest/record.h"
#include "cli/commands.h"
#include "cli/exitcodes.h"
#include "cli/options.h"
#include "cli/run-cache.h"
#include "cli/sweep.h"
#include "image/elfcheck.h"
#include "image/image.h"
#include "policy/policy.h"
#include "run/bundle.h"
#include "run/context.h"
#include "run/directives.h"
#include "run/envfilter.h"
#include "run/hooks.h"
#include "run/idmap.h"
#include "run/idshift.h"
#include "run/jobserver.h"
#include "run/limits.h"
#include "run/outcheck.h"
#include "run/outreach.h"
#include "run/pkgsource.h"
#include "run/seccomp-bpf.h"
#include "run/seccomp.h"
#include "run/spec.h"
#include "run/toolchain.h"
#include "run/view.h"
#include "run/wsview.h"
#include "runtime/cgprime.h"
#include "runtime/hostinfo.h"
#include "runtime/memcg.h"
#include "runtime/runtime.h"
#include "runtime/userns.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/helper-exe.h"
#include "util/proc.h"
#include "util/strv.h"
#include "util/version.h"

extern char **environ;

/* fd numbers inside the container (see src/init/ohr-init.c): ohr-init
 * reports on 3 and gives the script fd 4 as its stderr; the jobserver pipe
 * follows.  The runtime's own stderr goes to a file in the bundle, so its
 * messages never mix with the script's. */
#define JOBSERVER_FIRST_FD 5

struct run_state
{
  struct run_options opts;
  struct run_context ctx;
  struct hostinfo host;
  struct image *image;
  struct runtime rt;
  struct toolchain tc;
  struct jobserver js;
  struct view layout;
  struct bundle bundle;
  char *init_path;
  char *config;
  size_t config_len;
  struct policy policy;
  struct policy_effective eff; /* the policy for this package */
  bool cgroups;                /* limits can be enforced through cgroups */
  struct limits limits;        /* what bounds the script, and how */
  struct cgprime prime;        /* the head start on cgroup v1 joins */
  char *proc_cgroup;  /* /proc/self/cgroup, as root on cgroup v1 or NULL */
  struct memcg memcg; /* the runner's memory cgroup (memcg.h) */
  uint64_t memcg_oom_kills;            /* by the OOM killer in it, this run */
  char *cgroups_path;                  /* systemd's "slice:prefix:name" */
  struct directive_filter *directives; /* maps stdout (maps_directives) */
  int died_by;       /* the signal that killed the script, or 0 */
  int attest_fd;     /* the directive stream as Cargo saw it, or -1 */
  char *attest_path; /* its path: removed unless a record is written */
  struct timespec started, finished; /* of the container, for the record */
  struct pkgsource src;              /* where the package comes from */
  struct wsview ws;                  /* what it sees of its workspace */
  struct wsview_watch watch; /* what it could not see (path packages) */
  struct hook_set hooks;
  struct spec_hooks selected_hooks;
  char **annotations;
  ohr_error_t pump_error;
  /* as root: the container's root is this host id range (idmap.h) */
  bool mapped;
  struct idmap idmap;
  bool lent;                      /* OUT_DIR lent to it: give it back */
  struct idshift_owner out_owner; /* whom it goes back to */
  char **stage_binds; /* source, target: paths it reaches only there */
  char *rootfs;       /* the spec's: the image's, or where it is bound */
  char *lower;        /* the source overlay's lower dir, where it is bound */
  int idmap_fd;       /* user namespace the lower is idmapped through */
  char *seccomp_json; /* the profile's "seccomp" object (seccomp-bpf.h) */
  struct run_cache cache; /* the result cache (run-cache.h) */
  bool cache_hit;         /* OUT_DIR and the output came from it */
  char **cache_subtrees;  /* what the view mounts of the build dir */
};

static void
state_clear (struct run_state *s)
{
  bundle_finish (&s->bundle, s->opts.keep_bundle);
  cgprime_finish (&s->prime);
  memcg_remove (&s->memcg);
  options_clear (&s->opts);
  context_clear (&s->ctx);
  image_free (s->image);
  runtime_clear (&s->rt);
  toolchain_clear (&s->tc);
  jobserver_clear (&s->js);
  view_clear (&s->layout);
  free_many (s->init_path, s->config, s->attest_path, s->cgroups_path,
             s->proc_cgroup);
  directive_filter_free (s->directives);
  policy_effective_clear (&s->eff);
  pkgsource_clear (&s->src);
  wsview_clear (&s->ws);
  wsview_watch_clear (&s->watch);
  if (s->attest_fd >= 0)
    close (s->attest_fd);
  hooks_set_clear (&s->hooks);
  spec_hooks_clear (&s->selected_hooks);
  strv_free (s->annotations);
  strv_free (s->stage_binds);
  free (s->rootfs);
  free (s->lower);
  free (s->seccomp_json);
  if (s->idmap_fd >= 0)
    close (s->idmap_fd);
  policy_clear (&s->policy);
  ohr_error_free (&s->pump_error);
  run_cache_clear (&s->cache);
  strv_free (s->cache_subtrees);
}

static void verbose (const struct run_state *s, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
verbose (const struct run_state *s, const char *fmt, ...)
{
  if (!s->opts.verbose)
    return;
  va_list ap;
  va_start (ap, fmt);
  fputs ("oci-host-runner: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
}

/* The source as policy rules see it: a vendored copy without a lock entry
 * stands for its registry crate. */
static enum policy_source
policy_source_of (const struct pkgsource *src)
{
  switch (src->kind)
    {
    case PKGSOURCE_PATH:
      return POLICY_SOURCE_PATH;
    case PKGSOURCE_GIT:
      return POLICY_SOURCE_GIT;
    case PKGSOURCE_REGISTRY:
    case PKGSOURCE_DIRECTORY:
      break;
    }
  return POLICY_SOURCE_REGISTRY;
}

/* The package name alone, for policy suggestions. */
static const char *package_name (void);

/* The user's policy (never anything from the crate): --policy, then the
 * default locations, then the built-in defaults. */
static int
load_policy (struct run_state *s, ohr_error_t *err)
{
  cleanup_free char *path
      = s->opts.policy ? strdup (s->opts.policy) : policy_default_path ();
  if (path == NULL)
    policy_default (&s->policy);
  else if (policy_load (path, &s->policy, err) < 0)
    {
      (*err)->kind = OHR_ERR_USAGE;
      return -1;
    }
  if (seccomp_check_policy (&s->policy, err) < 0)
    return -1;
  const char *name = getenv ("CARGO_PKG_NAME");
  struct policy_package pkg = {
    .name = name ? name : "",
    .version = getenv ("CARGO_PKG_VERSION"),
    .source = policy_source_of (&s->src),
    .source_id = s->src.source,
    .checksum = s->src.checksum,
  };
  if (policy_resolve_package (&s->policy, &pkg, &s->eff, err) < 0)
    return -1;
  const struct policy_settings *p = &s->eff.settings;
  if (!s->opts.network_set)
    s->opts.network = p->network;
  if (!s->opts.paths_set)
    s->opts.paths = p->paths;
  for (size_t i = 0; p->env && p->env[i]; i++)
    if (strv_push (&s->opts.env, p->env[i]) < 0)
      return ohr_error_nomem (err);
  for (size_t i = 0; i < s->eff.n_matches; i++)
    verbose (s, "policy %s: rule %s", path ? path : "(built-in)",
             s->eff.matches[i].json);
  /* a rule the user wrote for this name that does not apply: say so, it
   * may be one written before rules matched the source */
  for (size_t i = 0; i < s->eff.n_passed; i++)
    fprintf (stderr,
             "oci-host-runner: notice: policy rule packages[%zu] %s does "
             "not apply to %s, a %s package%s%s (rules are for registry "
             "crates unless they say \"source\")\n",
             s->eff.passed[i].index, s->eff.passed[i].json, pkg.name,
             policy_source_name (pkg.source), s->src.source ? " from " : "",
             s->src.source ? s->src.source : "");
  if (p->seccomp == POLICY_SECCOMP_UNCONFINED)
    verbose (s, "seccomp: unconfined (policy)");
  for (size_t i = 0; p->syscalls && p->syscalls[i]; i++)
    verbose (s, "seccomp: '%s' let through (policy)", p->syscalls[i]);
  return 0;
}

/* Memory and pids limits need cgroups the runtime can write: root, or a
 * runtime that manages them; rootless on v1 (or crun with its cgroups
 * hidden) cannot.  rlimits bound what they can there (limits.h), and a
 * notice names what is left unbounded. */
static void
decide_limits (struct run_state *s)
{
  s->cgroups = !s->host.rootless && s->host.cgroups != CGROUP_MODE_NONE;
  if (s->host.rootless)
    {
      /* a scope of the user's systemd where it delegates memory and pids
       * (cgroup v2); never with crun's hybrid workaround, which hides
       * cgroups from it */
      struct delegation_facts d;
      cleanup_free char *controllers = NULL;
      hostinfo_delegation_probe (&s->host, &d, &controllers);
      const char *why = hostinfo_delegation_refusal (&d);
      s->cgroups = why == NULL && s->rt.prep == RUNTIME_PREP_NONE;
      s->rt.systemd_cgroups = s->cgroups;
      if (why)
        verbose (s, "no rootless cgroups: %s", why);
    }
  const struct policy_settings *p = &s->eff.settings;
  struct limits_facts f = {
    .memory = p->memory,
    .pids = p->pids,
    .nofile = p->nofile,
    .rootless = s->host.rootless,
    .cgroups = s->cgroups,
    .cgroups_name = hostinfo_cgroup_mode_name (s->host.cgroups),
    /* the container's root is the user's uid (rootless) or the mapped
     * range's first id (root, idmap.h), in a user namespace made for this
     * run: RLIMIT_NPROC counts its processes alone */
    .own_userns = s->host.rootless || s->mapped,
  };
  /* as root on cgroup v1 with the container's root mapped, the memory
   * cgroup is the only one that bounds anything: the runner makes it and
   * crun makes none (memcg.h) */
  cleanup_free char *parent = NULL;
  f.runner_memcg
      = s->cgroups && s->mapped
        && s->rt.backend == &runtime_backend_crun
        /* without a PID namespace only a cgroup finds every process left
         * (the runtime's delete --force) */
        && !s->opts.degraded_proc
        && (s->host.cgroups == CGROUP_MODE_LEGACY
            || s->host.cgroups == CGROUP_MODE_HYBRID)
        && (p->memory == 0
            || (parent = memcg_parent_usable (s->proc_cgroup)) != NULL);
  limits_probe_nofile (&f);
  limits_decide (&f, &s->limits);
  if (s->limits.runner_cgroup && s->limits.runner_memory)
    {
      ohr_error_t e = NULL;
      if (memcg_create (&s->memcg, parent, s->bundle.id,
                        s->limits.runner_memory, &e)
          < 0)
        {
          /* the runtime's cgroups then, as without */
          verbose (s, "%s: the runtime makes the cgroups", e->msg);
          ohr_error_free (&e);
          f.runner_memcg = false;
          limits_decide (&f, &s->limits);
        }
    }
  if (s->limits.runner_cgroup)
    {
      s->cgroups = false;
      s->rt.no_cgroups = true;
      verbose (s,
               "limits: memory by the run's own cgroup%s%s, processes by "
               "RLIMIT_NPROC; the runtime makes no cgroups",
               s->memcg.dir ? " " : " (none: no memory limit)",
               s->memcg.dir ? s->memcg.dir : "");
    }
  if (s->limits.notice[0])
    fprintf (stderr, "oci-host-runner: notice: %s\n", s->limits.notice);
}

static bool
is_elf (const char *path)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  char magic[4];
  return fd >= 0 && read (fd, magic, 4) == 4
         && memcmp (magic,
                    "\x7f"
                    "ELF",
                    4)
                == 0;
}

/* A build script is a host binary: refuse an image whose glibc is older
 * than the script needs, with one line instead of the loader's error from
 * inside the container. */
static int
check_glibc (struct run_state *s, ohr_error_t *err)
{
  if (s->image->libc_major == 0 || !is_elf (s->ctx.script))
    return 0; /* host image or unknown libc; a #! script has no needs */
  int major = 0, minor = 0;
  if (elfcheck_glibc_needs (s->ctx.script, &major, &minor, err) < 0)
    return -1;
  if (major < s->image->libc_major
      || (major == s->image->libc_major && minor <= s->image->libc_minor))
    return 0;
  return ohr_error_set (err, ENOEXEC, OHR_ERR_IMAGE,
                        "needs GLIBC_%d.%d, image %s (%s) has %d.%d; use an "
                        "image at least as new as the toolchain's",
                        major, minor, s->image->ref,
                        s->image->digest ? s->image->digest : "-",
                        s->image->libc_major, s->image->libc_minor);
}

/* Default hook directories, lowest precedence first: the shipped hooks/
 * (build tree: beside build/; installed: share/oci-host-runner/hooks.d),
 * then the administrator's.  Only those that exist. */
static int
default_hook_dirs (char ***out, ohr_error_t *err)
{
  cleanup_free char *exe = NULL, *tree = NULL, *installed = NULL;
  if (helper_exe_self_dir (&exe, err) < 0)
    return -1;
  if (asprintf (&tree, "%s/../hooks", exe) < 0
      || asprintf (&installed, "%s/../share/oci-host-runner/hooks.d", exe) < 0)
    return ohr_error_nomem (err);
  const char *const cands[] = { fs_is_dir (tree) ? tree : installed,
                                "/etc/oci-host-runner/hooks.d" };
  for (size_t i = 0; i < 2; i++)
    if (fs_is_dir (cands[i]) && strv_push (out, cands[i]) < 0)
      return ohr_error_nomem (err);
  return 0;
}

static int
load_hooks (struct run_state *s, ohr_error_t *err)
{
  cleanup_strv char **defaults = NULL;
  if (!s->opts.hooks_dirs_set && default_hook_dirs (&defaults, err) < 0)
    return -1;
  char **dirs = s->opts.hooks_dirs_set ? s->opts.hooks_dirs : defaults;
  if (dirs && hooks_load (dirs, &s->hooks, err) < 0)
    return -1;
  for (size_t i = 0; s->hooks.notes && s->hooks.notes[i]; i++)
    fprintf (stderr, "oci-host-runner: %s\n", s->hooks.notes[i]);
  return 0;
}

/* The seccomp profile's text, made once for config.json and, under crun,
 * the program compiled once and cached (seccomp-bpf.h) rather than by
 * crun on every run: an annotation of the runner's own, after the user's
 * (it wins, as the profile is the policy's to decide).  Where it cannot
 * be made, crun compiles the section. */
static int
add_seccomp_program (struct run_state *s, ohr_error_t *err)
{
  if (s->eff.settings.seccomp == POLICY_SECCOMP_UNCONFINED)
    return 0;
  s->seccomp_json = seccomp_profile_json (s->eff.settings.syscalls);
  if (s->seccomp_json == NULL)
    return ohr_error_nomem (err);
  if (s->rt.backend != &runtime_backend_crun)
    return 0;
  cleanup_free char *b64 = NULL;
  const char *why = NULL;
  int r
      = seccomp_bpf_get (s->opts.cache_dir, s->seccomp_json, &b64, &why, err);
  if (r < 0)
    return -1;
  if (r == 0)
    {
      verbose (s, "seccomp: crun compiles the profile (%s)", why);
      return 0;
    }
  if (strv_pushf (&s->annotations, SECCOMP_BPF_ANNOTATION "=%s", b64) < 0)
    return ohr_error_nomem (err);
  return 0;
}

/* The user's annotations, then the runner's own (which win): hooks read
 * them to know which build script this container runs. */
static int
select_hooks (struct run_state *s, ohr_error_t *err)
{
  for (size_t i = 0; s->opts.annotations && s->opts.annotations[i]; i++)
    if (strv_push (&s->annotations, s->opts.annotations[i]) < 0)
      return ohr_error_nomem (err);
  if (strv_pushf (&s->annotations, "org.oci-host-runner.package=%s",
                  s->ctx.package)
          < 0
      || strv_pushf (&s->annotations, "org.oci-host-runner.out-dir=%s",
                     s->ctx.out_dir)
             < 0
      || strv_pushf (&s->annotations, "org.oci-host-runner.script=%s",
                     s->ctx.script)
             < 0
      || strv_pushf (&s->annotations, "org.oci-host-runner.manifest-dir=%s",
                     s->ctx.manifest_dir)
             < 0)
    return ohr_error_nomem (err);
  struct hook_context hc = { .script = s->ctx.script,
                             .annotations = s->annotations,
                             .has_bind_mounts = true };
  if (hooks_select (&s->hooks, &hc, &s->selected_hooks, err) < 0)
    return -1;
  for (int st = 0; st < HOOK_N_STAGES; st++)
    for (size_t i = 0; i < s->selected_hooks.stages[st].n; i++)
      verbose (s, "hook %s %s", hooks_stage_name ((enum hook_stage)st),
               s->selected_hooks.stages[st].v[i].path);
  return 0;
}

/* The package's source (pkgsource.h): policy rules match it. */
static int
identify_source (struct run_state *s, ohr_error_t *err)
{
  const char *home = getenv ("HOME");
  cleanup_free char *cargo_home = NULL;
  if (getenv ("CARGO_HOME") && getenv ("CARGO_HOME")[0] == '/')
    cargo_home = strdup (getenv ("CARGO_HOME"));
  else if (home && home[0] == '/')
    cargo_home = fs_path_join (home, ".cargo");
  struct pkgsource_input in = {
    .manifest_dir = s->ctx.manifest_dir,
    .name = getenv ("CARGO_PKG_NAME"),
    .version = getenv ("CARGO_PKG_VERSION"),
    .out_dir = s->ctx.out_dir,
    .cargo_home = cargo_home,
    .home = home,
  };
  if (pkgsource_identify (&in, &s->src, err) < 0)
    return -1;
  verbose (s, "source: %s%s%s%s%s", pkgsource_kind_name (s->src.kind),
           s->src.source ? " " : "", s->src.source ? s->src.source : "",
           s->src.lock ? " from " : "", s->src.lock ? s->src.lock : "");
  return 0;
}

/* What a path package sees of its workspace (wsview.h): needs the
 * policy's workspace-read. */
static int
plan_workspace (struct run_state *s, ohr_error_t *err)
{
  if (wsview_plan (&s->src, s->ctx.manifest_dir,
                   s->eff.settings.workspace_read, &s->ws, err)
      < 0)
    return -1;
  s->watch.view = &s->ws;
  s->watch.manifest_dir = s->ctx.manifest_dir;
  verbose (s, "sees '%s'%s", s->ws.root,
           s->ws.n ? " (some of it hidden)" : "");
  for (size_t i = 0; i < s->ws.n; i++)
    verbose (s, "hidden: %s", s->ws.v[i].path);
  return 0;
}

/* The one-line rule that allows field=value for this package. */
static char *
suggest (const struct run_state *s, const char *field, const char *value)
{
  return policy_rule_suggestion_for (package_name (),
                                     policy_source_of (&s->src), field, value);
}

/* What the run is: its context, policy, image, toolchain, hooks.  All a
 * result-cache lookup needs (cache_lookup_early): nothing here sets up a
 * container, which prepare_runtime does after a miss. */
static int
prepare (struct run_state *s, ohr_error_t *err)
{
  if (context_load (s->opts.command, environ, &s->ctx, err) < 0
      || identify_source (s, err) < 0 || load_policy (s, err) < 0
      || plan_workspace (s, err) < 0 || load_hooks (s, err) < 0)
    return -1;
  hostinfo_probe (&s->host);
  const char *no_userns = NULL;
  if (!s->host.rootless && !userns_root_available (&no_userns))
    return ohr_error_set (err, EPERM, OHR_ERR_RUNTIME,
                          "%s: as root too the build script runs in a user "
                          "namespace (as an unprivileged id range)",
                          no_userns);
  if (!s->host.rootless)
    {
      if (idmap_choose (s->opts.id_range, NULL, &s->idmap, err) < 0)
        return ohr_error_wrap (err, "--id-range");
      s->mapped = true;
    }
  struct image_options io = {
    .cache_dir = s->opts.cache_dir,
    .store_dir = s->opts.store_dir,
    .rootless = s->host.rootless,
    .allow_unpinned = s->opts.allow_unpinned,
    .insecure_hosts = s->opts.insecure,
    .verbose = s->opts.verbose,
  };
  if (image_open (s->opts.image, &io, &s->image, err) < 0)
    return -1;
  verbose (s, "image %s: rootfs %s", s->image->ref, s->image->rootfs);
  for (size_t i = 0; s->image->notes && s->image->notes[i]; i++)
    fprintf (stderr, "oci-host-runner: %s\n", s->image->notes[i]);
  if (check_glibc (s, err) < 0)
    return -1;
  if (toolchain_find (environ, &s->tc, err) < 0
      || jobserver_parse (getenv ("CARGO_MAKEFLAGS"), JOBSERVER_FIRST_FD,
                          &s->js, err)
             < 0
      || helper_exe_find ("ohr-init", "OCI_HOST_RUNNER_INIT", &s->init_path,
                          err)
             < 0)
    return -1;
  for (size_t i = 0; s->tc.notes && s->tc.notes[i]; i++)
    verbose (s, "toolchain: %s", s->tc.notes[i]);
  return select_hooks (s, err);
}

/* What running it takes: the state directory, the runtime, its mount
 * namespace, the jobserver's fifo. */
static int
prepare_runtime (struct run_state *s, ohr_error_t *err)
{
  /* as root on cgroup v1 the runtime will join cgroups: its first join
   * waits for an RCU grace period, which this starts now (cgprime.h) */
  if (!s->host.rootless
      && (s->host.cgroups == CGROUP_MODE_LEGACY
          || s->host.cgroups == CGROUP_MODE_HYBRID))
    {
      /* read once: the memory cgroup's parent comes from it too */
      ohr_error_t e = NULL;
      if (fs_read_file ("/proc/self/cgroup", 1 << 16, &s->proc_cgroup, NULL,
                        &e)
          < 0)
        ohr_error_free (&e);
      cgprime_start (&s->prime, s->proc_cgroup);
    }
  if (fs_ensure_private_dir (s->opts.state_dir, err) < 0)
    return ohr_error_wrap (err, "state directory");
  if (runtime_select (s->opts.runtime, &s->host, s->opts.state_dir, &s->rt,
                      err)
      < 0)
    return -1;
  /* as root: the bounded scratch layer and a cheaper runtime start.  A
   * root without CAP_SYS_ADMIN (a pod's uid 0) cannot: the run goes on as
   * before, the scratch layer on the state directory */
  if (!s->host.rootless)
    {
      ohr_error_t perr = NULL;
      if (runtime_private_ns (&s->rt, &perr) < 0)
        verbose (s, "no private mount namespace: %s", perr->msg);
      ohr_error_free (&perr);
    }
  verbose (s, "runtime %s; cgroups %s; %s", s->rt.reason ? s->rt.reason : "",
           hostinfo_cgroup_mode_name (s->host.cgroups),
           s->host.rootless ? "rootless" : "root");
  /* what runs whose runner was killed left behind (src/cli/sweep.h) */
  cleanup_strv char **swept = NULL;
  sweep_stale_runs (s->opts.state_dir, &s->rt, &s->host, &swept);
  for (size_t i = 0; swept && swept[i]; i++)
    fprintf (stderr, "oci-host-runner: %s\n", swept[i]);
  if (s->mapped)
    verbose (s, "the container's root is host uid %u, gid %u (%u ids)",
             (unsigned)s->idmap.uid, (unsigned)s->idmap.gid, s->idmap.size);
  if (s->mapped && jobserver_open_fifo (&s->js, JOBSERVER_FIRST_FD, err) < 0)
    return -1;
  return 0;
}

/* A path the mapped root cannot reach (under /root, 0700) is bound at
 * BUNDLE/name by the runtime's private mount namespace; *out is the path
 * the spec names. */
static int
stage (struct run_state *s, const char *path, const char *name, bool always,
       char **out, ohr_error_t *err)
{
  if (!always && idshift_reaches (path, s->idmap.uid, s->idmap.gid))
    return (*out = strdup (path)) ? 0 : ohr_error_nomem (err);
  cleanup_free char *at = fs_path_join (s->bundle.dir, name);
  if (at == NULL || strv_push (&s->stage_binds, path) < 0
      || strv_push (&s->stage_binds, at) < 0)
    return ohr_error_nomem (err);
  if (mkdir (at, 0755) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            at);
  *out = steal_pointer (&at);
  return 0;
}

/* As root, what the container's root (s->idmap, no host privilege) needs
 * of the bundle: the way to it (like Docker's 0711 with userns-remap:
 * searchable, not listable), the source overlay's upper and work dirs as
 * its own, and the rootfs where it can reach it.  The package root, the
 * overlay's lower dir, is always bound in the bundle, idmapped where the
 * kernel can: its root-owned files then look the container root's own,
 * so a write lands in the upper layer (and is reported, or allowed by
 * source-writes: overlay) as when the script was the host's root,
 * instead of failing on permissions. */
static int
prepare_mapped_bundle (struct run_state *s, ohr_error_t *err)
{
  cleanup_free char *bundles = fs_path_join (s->opts.state_dir, "bundles");
  if (bundles == NULL)
    return ohr_error_nomem (err);
  const char *const search[] = { s->opts.state_dir, bundles, s->bundle.dir };
  for (size_t i = 0; i < 3; i++)
    if (chmod (search[i], 0711) < 0)
      return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                              "cannot make '%s' searchable", search[i]);
  if (!idshift_reaches (s->bundle.dir, s->idmap.uid, s->idmap.gid))
    return ohr_error_set (err, EACCES, OHR_ERR_USAGE,
                          "the container's root (host uid %u) cannot reach "
                          "'%s': make the directories above it searchable "
                          "by others (chmod o+x) or choose another "
                          "--state-dir",
                          (unsigned)s->idmap.uid, s->bundle.dir);
  if (chown (s->bundle.upper, s->idmap.uid, s->idmap.gid) < 0
      || chown (s->bundle.work, s->idmap.uid, s->idmap.gid) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot give the source overlay to the "
                            "container's root");
  free (s->rootfs);
  s->rootfs = NULL;
  if (stage (s, s->image->rootfs, "rootfs", false, &s->rootfs, err) < 0
      || stage (s, s->ctx.manifest_dir, "source-lower", true, &s->lower, err)
             < 0)
    return -1;
  ohr_error_t ignored = NULL;
  s->idmap_fd = userns_open_mapped (s->idmap.uid, s->idmap.gid, s->idmap.size,
                                    &ignored);
  if (s->idmap_fd < 0)
    verbose (s, "source overlay: no idmapped lower dir: %s", ignored->msg);
  ohr_error_free (&ignored);
  return 0;
}

static int cache_narrow_view (struct run_state *s, ohr_error_t *err);

/* The view's input but for the bundle's parts (the source overlay's
 * directories, the submounts): generate adds them. */
static void
view_input_of (struct run_state *s, struct view_input *out)
{
  struct view_input li = {
    .ctx = &s->ctx,
    .image = s->image,
    .toolchain = &s->tc,
    .jobserver = &s->js,
    .envp = environ,
    .extra_env = s->opts.env,
    .init_path = s->init_path,
    .network = s->opts.network,
    .rootless = s->host.rootless,
    .paths = s->opts.paths,
    .host_proc = s->opts.degraded_proc,
    .extra_mounts = s->eff.settings.mounts,
    .n_extra_mounts = s->eff.settings.n_mounts,
    .workspace = &s->ws,
    .build_subtrees = s->cache_subtrees,
    .userns = s->mapped,
    .tmpfs_size = s->eff.settings.tmpfs,
    .build_workspace = s->src.build_workspace,
  };
  *out = li;
}

/* -v: how values name the workspace Cargo builds (view.h), or that
 * nothing maps it when the package's view does not show it. */
static void
verbose_workspace (const struct run_state *s, const struct view *l)
{
  if (s->opts.paths != PATHS_CANONICAL)
    return;
  for (size_t i = 0; i < l->n_pairs; i++)
    if (strcmp (l->pairs[i].container, LAYOUT_CARGO_WORKSPACE) == 0)
      {
        verbose (s, "values: '%s' named %s (not mounted)", l->pairs[i].host,
                 LAYOUT_CARGO_WORKSPACE);
        return;
      }
  if (s->src.build_workspace == NULL && s->src.kind != PKGSOURCE_PATH)
    verbose (s, "values: the workspace is unknown (the target directory is "
                "not <workspace>/target): paths in it are left as they are");
}

static int
generate (struct run_state *s, ohr_error_t *err)
{
  struct view_input li;
  if (cache_narrow_view (s, err) < 0)
    return -1;
  view_input_of (s, &li);
  if (bundle_create (s->opts.state_dir, &s->bundle, err) < 0)
    return ohr_error_wrap (err, "state directory '%s'", s->opts.state_dir);
  /* a kept bundle keeps its scratch layer: on the state directory then */
  if (s->rt.private_ns && !s->opts.keep_bundle
      && bundle_bound_scratch (&s->bundle, s->opts.state_dir,
                               s->eff.settings.tmpfs, err)
             < 0)
    return -1;
  li.source_upper = s->bundle.upper;
  li.source_work = s->bundle.work;
  if ((s->rootfs = strdup (s->image->rootfs)) == NULL)
    return ohr_error_nomem (err);
  if (s->mapped && prepare_mapped_bundle (s, err) < 0)
    return ohr_error_wrap (err, "state directory '%s'", s->opts.state_dir);
  li.source_lower = s->lower;
  decide_limits (s);
  /* a scope under the user's user.slice, named after the container */
  if (s->rt.systemd_cgroups
      && asprintf (&s->cgroups_path, "user.slice:ohr:%s", s->bundle.id) < 0)
    return ohr_error_nomem (err);
  if (s->opts.degraded_proc)
    fprintf (stderr,
             "oci-host-runner: notice: degraded mode 'proc': the host's "
             "/proc and /sys read-only in a PID namespace of its own; the "
             "build script cannot signal processes outside, and those "
             "running now are masked, but it can read the command lines "
             "of processes started after it\n");
  struct mountinfo mi = { 0 };
  /* crun 1.8 making the user namespace itself (as root: idmap.h) binds an
   * "rbind" source without its submounts (test-mounts saw them missing,
   * their directories shown empty): bind them one by one, as where
   * mount_setattr is missing */
  bool crun_maps = s->mapped && s->rt.backend == &runtime_backend_crun;
  if (crun_maps || !mounts_recursive_attrs_supported ())
    {
      if (mountinfo_read_self (&mi, err) < 0)
        return ohr_error_wrap (err, "submounts of read-only binds");
      /* the runtime will not see them: an empty tmpfs hides the cgroup
       * trees in the namespace the runner makes for it (runtime.h) */
      if (s->rt.prep == RUNTIME_PREP_OWN_USERNS)
        mountinfo_drop_below (&mi, "/sys/fs/cgroup");
      li.submounts = &mi;
      verbose (s, "%s: submounts bound read-only one by one",
               crun_maps ? "crun in a user namespace it makes"
                         : "no recursive mount attributes here "
                           "(mount_setattr)");
    }
  int r = view_build (&li, &s->layout, err);
  mountinfo_clear (&mi);
  if (r < 0)
    return -1;
  verbose_workspace (s, &s->layout);
  if (s->mapped
      && idshift_make_mount_points (s->image->rootfs, &s->layout.mounts, err)
             < 0)
    return -1;
  if (add_seccomp_program (s, err) < 0)
    return -1;
  struct utsname uts;
  if (uname (&uts) < 0)
    uts.nodename[0] = '\0';
  struct spec_input si = {
    .rootfs = s->rootfs,
    .args = s->layout.args,
    .env = s->layout.env,
    .cwd = s->layout.cwd,
    .hostname = spec_hostname (s->opts.paths == PATHS_IDENTITY, uts.nodename),
    /* root inside: the invoking user outside (rootless: through the user
     * namespace mapping), without any capability */
    .uid = 0,
    .gid = 0,
    .new_netns = s->opts.network == NETWORK_NONE,
    .new_userns = runtime_spec_needs_userns (&s->rt, &s->host),
    .host_uid = s->mapped ? s->idmap.uid : s->host.uid,
    .host_gid = s->mapped ? s->idmap.gid : s->host.gid,
    .id_count = s->mapped ? s->idmap.size : 1,
    .mounts = &s->layout.mounts,
    .extra_masked = s->layout.masked,
    .hooks = &s->selected_hooks,
    .annotations = s->annotations,
    .cgroups_path = s->rt.systemd_cgroups ? s->cgroups_path : NULL,
    .memory_limit = s->limits.cgroup_memory,
    .pids_limit = s->limits.cgroup_pids,
    .rlimits = s->limits.rlimits,
    .n_rlimits = s->limits.n_rlimits,
    .seccomp_unconfined = s->eff.settings.seccomp == POLICY_SECCOMP_UNCONFINED,
    .syscalls_allowed = s->eff.settings.syscalls,
    .seccomp_json = s->seccomp_json,
  };
  if (spec_generate (&si, &s->config, &s->config_len, err) < 0)
    return -1;
  if (bundle_write_config (&s->bundle, s->config, s->config_len, err) < 0)
    return ohr_error_wrap (err, "state directory '%s'", s->opts.state_dir);
  if (s->opts.keep_bundle)
    fprintf (stderr, "oci-host-runner: bundle kept at %s\n", s->bundle.dir);
  /* to run a kept bundle by hand as root, the runtime needs the binds the
   * runner makes in its mount namespace */
  for (size_t i = 0; s->opts.keep_bundle && s->stage_binds && s->stage_binds[i]
                     && s->stage_binds[i + 1];
       i += 2)
    fprintf (stderr, "oci-host-runner: bundle binds %s at %s\n",
             s->stage_binds[i], s->stage_binds[i + 1]);
  return 0;
}

/* What ohr-init wrote after its ready line: "exit N", "signal N" or
 * "exec ERRNO". */
struct init_report
{
  char what[8];
  int value;
};

static bool
read_report (int fd, struct init_report *out)
{
  char buf[128];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* runtime_run consumed the ready line unless the runtime exited first */
  const char *p = buf;
  if (strncmp (p, RUNTIME_INIT_READY, strlen (RUNTIME_INIT_READY)) == 0)
    p += strlen (RUNTIME_INIT_READY);
  /* an exec failure is followed by the child's own exit: the first wins */
  return sscanf (p, "%7s %d", out->what, &out->value) == 2;
}

static int
runtime_failure (struct run_state *s, const struct runtime_result *rr,
                 ohr_error_t *err)
{
  cleanup_free char *msg
      = runtime_error_message (s->bundle.log, s->bundle.stderr_log);
  if (msg)
    return ohr_error_set (err, EIO, OHR_ERR_RUNTIME,
                          "runtime %s failed before the build script ran: %s",
                          s->rt.backend->name, msg);
  if (rr->status_lost)
    return ohr_error_set (err, ECHILD, OHR_ERR_RUNTIME,
                          "runtime %s was reaped by another part of the "
                          "process (SIGCHLD ignored?): its status is lost",
                          s->rt.backend->name);
  if (!rr->exited)
    return ohr_error_set (
        err, EINTR, OHR_ERR_RUNTIME, "runtime %s was killed by signal %d (%s)",
        s->rt.backend->name, rr->status, strsignal (rr->status));
  return ohr_error_set (err, EIO, OHR_ERR_RUNTIME,
                        "runtime %s exited with status %d before the build "
                        "script ran (rerun with --keep-bundle -v and see "
                        "runtime.log in the bundle)",
                        s->rt.backend->name, rr->status);
}

/* The package name alone, for policy suggestions. */
static const char *
package_name (void)
{
  const char *n = getenv ("CARGO_PKG_NAME");
  return n && *n ? n : "NAME";
}

static int
timed_out (struct run_state *s, ohr_error_t *err)
{
  char doubled[32];
  snprintf (doubled, sizeof doubled, "%llus",
            (unsigned long long)s->eff.settings.timeout * 2);
  cleanup_free char *rule = suggest (s, "timeout", doubled);
  return ohr_error_set (err, ETIMEDOUT, OHR_ERR_POLICY,
                        "exceeded its time limit of %llus and was killed "
                        "(raise it with: %s)",
                        (unsigned long long)s->eff.settings.timeout,
                        rule ? rule : "a policy rule");
}

static int
interpret (struct run_state *s, const struct runtime_result *rr,
           const struct init_report *rep, bool have_report, ohr_error_t *err)
{
  if (rr->timed_out)
    return timed_out (s, err);
  if (!have_report && rr->killed)
    {
      /* init itself was SIGKILLed, so it could not report */
      fprintf (stderr,
               "oci-host-runner: build script of %s did not stop after "
               "SIG%s and was killed\n",
               s->ctx.package, sigabbrev_np (rr->forwarded));
      s->died_by = SIGKILL;
      return OHR_EXIT_SIGNAL_BASE + SIGKILL;
    }
  if (!have_report)
    return runtime_failure (s, rr, err);
  if (strcmp (rep->what, "exit") == 0)
    return rep->value;
  if (strcmp (rep->what, "signal") == 0)
    {
      /* the kernel's OOM killer is the usual sender of an unasked-for
       * SIGKILL inside a memory-limited container */
      bool oom = rep->value == SIGKILL && !rr->forwarded
                 && ((s->cgroups && s->eff.settings.memory)
                     || s->memcg_oom_kills > 0);
      fprintf (stderr,
               "oci-host-runner: build script of %s was killed by signal %d "
               "(SIG%s)%s\n",
               s->ctx.package, rep->value,
               sigabbrev_np (rep->value) ? sigabbrev_np (rep->value) : "?",
               oom ? ": most likely it reached its memory limit" : "");
      s->died_by = rep->value;
      return OHR_EXIT_SIGNAL_BASE + rep->value;
    }
  int e = rep->value;
  return ohr_error_errno (err, e,
                          e == ENOENT ? OHR_ERR_NOTFOUND : OHR_ERR_NOEXEC,
                          "cannot execute build script '%s' in image '%s'%s",
                          s->ctx.script, s->image->ref,
                          e == ENOENT ? " (its ELF interpreter or a library "
                                        "is missing from the image)"
                                      : "");
}

/* Cargo must see what it sees natively: "signal: 6, SIGABRT" rather than
 * "exit status: 134".  So the runner, its clean-up done, dies by the
 * script's signal: default disposition, unblocked, and no core dump of the
 * runner (the script's own core, if any, was the container's business).
 * Signals whose default action is to ignore or to stop cannot end a
 * process; then 128+N stays the exit status. */
static void
die_by_signal (int sig)
{
  struct rlimit no_core = { 0, 0 };
  setrlimit (RLIMIT_CORE, &no_core);
  fflush (stdout);
  fflush (stderr);
  signal (sig, SIG_DFL);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, sig);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  raise (sig);
}

static void
write_all_stdout (const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (STDOUT_FILENO, buf, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return; /* Cargo went away: nothing to tell it */
      buf += w;
      len -= (size_t)w;
    }
}

static void
write_all_fd (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (fd, buf, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return;
      buf += w;
      len -= (size_t)w;
    }
}

/* A path package's directives are read for paths it could not see. */
static bool
watches (const struct run_state *s)
{
  return s->src.kind == PKGSOURCE_PATH;
}

/* Everything Cargo gets from the script's stdout, host paths by now. */
static int
write_stdout (void *ctx, const void *buf, size_t len, ohr_error_t *err)
{
  struct run_state *s = ctx;
  (void)err;
  write_all_stdout (buf, len);
  if (watches (s))
    wsview_watch_feed (&s->watch, buf, len);
  return 0;
}

/* The script's stdout, streaming through the directive mapper. */
static void
stdout_pump (void *ctx, const char *buf, size_t len)
{
  struct run_state *s = ctx;
  /* cached in container form: mapped at replay, for the checkout then */
  run_cache_capture (&s->cache, buf, len);
  /* attested: the stream as the script printed it (with canonical paths
   * it does not depend on where the checkout lives) */
  if (s->attest_fd >= 0 && len)
    write_all_fd (s->attest_fd, buf, len);
  if (s->directives == NULL || s->pump_error)
    {
      /* nothing to map (piped only to be recorded), or the mapper failed:
       * pass the bytes as they are */
      write_stdout (s, buf, len, NULL);
      return;
    }
  int r = len ? directive_filter_feed (s->directives, buf, len, &s->pump_error)
              : directive_filter_finish (s->directives, &s->pump_error);
  (void)r;
}

/* Paths images provide: directives may name them as they are. */
static const char *const image_paths[]
    = { "/usr", "/lib",  "/lib32", "/lib64", "/libx32",
        "/bin", "/sbin", "/etc",   "/opt" };

static int
make_directive_filter (struct run_state *s, ohr_error_t *err)
{
  size_t n = 0;
  cleanup_free struct directive_map *maps = NULL;
  if (view_directive_maps (&s->layout, &maps, &n, err) < 0)
    return -1;
  s->directives = directive_filter_new (
      maps, n, image_paths, sizeof image_paths / sizeof *image_paths,
      write_stdout, s, err);
  if (s->directives == NULL)
    return -1;
  /* rerun-if-changed of the image's own files: Cargo must stat them in
   * the image's checkout, not at the same path on the host */
  return directive_filter_set_image (
      s->directives, image_files_root (s->image), &s->layout.mounts, err);
}

/* Does Cargo need the script's stdout mapped?  With canonical paths for
 * the container paths; with identity paths still for the files of a
 * pinned image. */
static bool
maps_directives (const struct run_state *s)
{
  return s->opts.paths == PATHS_CANONICAL
         || image_files_root (s->image) != NULL;
}

/* Directives naming paths outside what the container mounts: warnings. */
static void
report_directive_notes (const struct run_state *s)
{
  const struct directive_notes *notes
      = s->directives ? directive_filter_notes (s->directives) : NULL;
  for (size_t i = 0; notes && i < notes->n; i++)
    fprintf (stderr,
             "oci-host-runner: warning: build script of %s: directive "
             "'%s' names '%s', %s\n",
             s->ctx.package, notes->v[i].key, notes->v[i].path,
             directive_note_reason (notes->v[i].kind));
}

/* The policy mount that shows a path the script named but could not see:
 * the path itself, at the place the script looked for it.  NULL when that
 * place is a directory of the view itself (/cargo, /, view_is_own_dir). */
static char *
mount_rule_for (struct run_state *s, const struct wsview_finding *f)
{
  cleanup_free char *dir = view_map_value (&s->layout, s->ctx.manifest_dir);
  cleanup_free char *inside = dir ? fs_path_lexical (dir, f->printed) : NULL;
  if (inside == NULL || view_is_own_dir (&s->layout, inside))
    return NULL;
  return policy_mount_suggestion (package_name (), policy_source_of (&s->src),
                                  f->path, inside);
}

/* What the script named but could not see, and the rule that would show
 * it; a failed script whose view hides something says what, in case that
 * is why. */
static void
report_view (struct run_state *s, int code)
{
  if (!watches (s))
    return;
  wsview_watch_finish (&s->watch);
  for (size_t i = 0; i < s->watch.n; i++)
    {
      const struct wsview_finding *f = &s->watch.v[i];
      cleanup_free char *rule = NULL;
      if (f->place == WSVIEW_HIDDEN)
        {
          rule = suggest (s, "workspace-read", f->hidden->rel);
          fprintf (stderr,
                   "oci-host-runner: build script of %s: '%s' is hidden by "
                   "design ('%s' of '%s'); allow with: %s\n",
                   s->ctx.package, f->path, f->hidden->rel, s->ws.root,
                   rule ? rule : "a policy rule");
          continue;
        }
      rule = mount_rule_for (s, f);
      fprintf (stderr,
               "oci-host-runner: build script of %s: '%s' ('%s') lies "
               "outside its view ('%s'); allow with: %s\n",
               s->ctx.package, f->printed, f->path, s->ws.root,
               rule ? rule : "a policy rule");
    }
  if (code == 0 || s->watch.n > 0 || s->ws.n == 0)
    return;
  cleanup_free char *rule = suggest (s, "workspace-read", s->ws.v[0].rel);
  fprintf (stderr,
           "oci-host-runner: build script of %s failed; by design it does "
           "not see '%s'%s in '%s' (allow with: %s)\n",
           s->ctx.package, s->ws.v[0].rel, s->ws.n > 1 ? " and more" : "",
           s->ws.root, rule ? rule : "a policy rule");
}

static int
execute (struct run_state *s, ohr_error_t *err)
{
  /* The init's status channel is also the container's lifeline: a
   * socketpair, so that the end only we hold (close-on-exec) closes when
   * we die, whatever kills us, and the init then kills the container
   * (src/init/ohr-init.c).  A socket cannot be opened through
   * /proc/PID/fd either. */
  int pfd[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pfd) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "socketpair");
  cleanup_close int status_r = pfd[0];
  cleanup_close int status_w = pfd[1];
  cleanup_close int rt_stderr = open (
      s->bundle.stderr_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (rt_stderr < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            s->bundle.stderr_log);
  int pass[4] = { status_w, run_cache_stderr_fd (&s->cache), s->js.read_fd,
                  s->js.write_fd };
  struct runtime_io io = {
    .pass_fds = pass,
    .n_pass = s->js.read_fd >= 0 ? 4 : 2,
    .stdout_fd = -1,
    .stderr_fd = rt_stderr,
    .pump_fd = -1,
    .timeout_seconds = (int)s->eff.settings.timeout,
    .ready_fd = status_r,
    .stage_binds = s->stage_binds,
    .idmap_userns_fd = s->idmap_fd,
    .idmap_target = s->lower,
    .join_cgroup_fd = s->memcg.procs_fd >= 0 ? &s->memcg.procs_fd : NULL,
  };
  cleanup_close int out_r = -1;
  if (maps_directives (s) || s->attest_fd >= 0 || watches (s)
      || s->cache.active)
    {
      /* the script's stdout comes through us: directives name container
       * paths that Cargo must see as host paths */
      if (pipe2 (pfd, O_CLOEXEC) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "pipe");
      out_r = pfd[0];
      io.stdout_fd = pfd[1];
      if (maps_directives (s) && make_directive_filter (s, err) < 0)
        {
          close (pfd[1]);
          return -1;
        }
      io.pump_fd = out_r;
      io.pump = stdout_pump;
      io.pump_ctx = s;
    }
  struct runtime_result rr;
  int r = runtime_run (&s->rt, s->bundle.dir, s->bundle.id, s->bundle.log, &io,
                       &rr, err);
  s->memcg_oom_kills = memcg_oom_kills (&s->memcg);
  if (!memcg_remove (&s->memcg))
    verbose (s, "the run's memory cgroup is still busy: the next run's "
                "sweep removes it");
  close (steal_fd (&status_w));
  run_cache_stderr_done (&s->cache);
  if (r < 0)
    return -1;
  report_directive_notes (s);
  fcntl (status_r, F_SETFL, O_NONBLOCK);
  struct init_report rep = { 0 };
  bool have = read_report (status_r, &rep);
  if (rr.force_deleted)
    verbose (s, "container %s was left behind by the runtime: deleted",
             s->bundle.id);
  r = interpret (s, &rr, &rep, have, err);
  report_view (s, r);
  return r;
}

/* Canonical paths written into generated files that a later step reads
 * (outreach.h: rustc, the linker, a dependent) name nothing on the host,
 * or another file: name the first and the policy rule that avoids it.
 * Files nobody reads again (autoconf's config.status and config.log) keep
 * them: one line with -v. */
static int
check_container_paths (struct run_state *s, struct outcheck_out_dir *found,
                       ohr_error_t *err)
{
  struct outcheck_report *rep = &found->prefixes;
  if (rep->n == 0)
    return 0;
  cleanup_free char *out_container
      = view_map_value (&s->layout, s->ctx.out_dir);
  if (out_container == NULL)
    return ohr_error_nomem (err);
  struct outreach_input in = {
    .out_dir = s->ctx.out_dir,
    .out_container = out_container,
    .source_dir = s->ctx.manifest_dir,
    .exports = s->directives ? directive_filter_exports (s->directives) : NULL,
  };
  struct outcheck_report leftovers = { 0 };
  if (outreach_split (&in, &found->files, rep, &leftovers, err) < 0)
    {
      outcheck_report_clear (&leftovers);
      return -1;
    }
  if (leftovers.n)
    {
      cleanup_free char *files = outcheck_summary (&leftovers, 3);
      verbose (s,
               "container paths left in OUT_DIR/%s, which no later step "
               "reads: kept",
               files ? files : leftovers.v[0].path);
    }
  outcheck_report_clear (&leftovers);
  if (rep->n == 0)
    return 0;
  cleanup_free char *rule = suggest (s, "paths", "identity");
  return ohr_error_set (
      err, EINVAL, OHR_ERR_POLICY,
      "wrote the container path '%s' into OUT_DIR/%s:%d, which a later step "
      "reads on the host (%s)%s, where it names nothing or another file; "
      "run this package with identity paths (policy: %s)",
      rep->v[0].what, rep->v[0].path, rep->v[0].line, rep->v[0].why,
      rep->n > 1 ? " (and more files)" : "", rule ? rule : "a rule");
}

/* Writes into the package source landed in the overlay's upper layer:
 * name them, and allow them only when the policy says so. */
static int
check_source_writes (struct run_state *s, ohr_error_t *err)
{
  struct outcheck_report rep = { 0 };
  if (outcheck_overlay_changes (s->bundle.upper, &rep, err) < 0)
    return -1;
  if (rep.n == 0)
    return 0;
  cleanup_free char *files = outcheck_summary (&rep, 5);
  int r = 0;
  if (s->eff.settings.source_writes == POLICY_SOURCE_WRITES_OVERLAY)
    fprintf (stderr,
             "oci-host-runner: build script of %s wrote %s into its source; "
             "the writes were kept apart and discarded (policy "
             "source-writes: overlay)\n",
             s->ctx.package, files ? files : "files");
  else
    {
      cleanup_free char *rule = suggest (s, "source-writes", "overlay");
      r = ohr_error_set (err, EROFS, OHR_ERR_POLICY,
                         "wrote %s; build scripts may write only to OUT_DIR "
                         "(allow with: %s)",
                         files ? files : "into its source",
                         rule ? rule : "a policy rule");
    }
  outcheck_report_clear (&rep);
  return r;
}

/* Under a strict policy, a directive naming a path outside what the
 * container mounts is an error, not a warning. */
static int
check_strict_directives (struct run_state *s, ohr_error_t *err)
{
  const struct directive_notes *notes
      = s->directives ? directive_filter_notes (s->directives) : NULL;
  if (!s->eff.strict || notes == NULL || notes->n == 0)
    return 0;
  return ohr_error_set (err, EPERM, OHR_ERR_POLICY,
                        "directive '%s' names '%s', %s (strict policy)",
                        notes->v[0].key, notes->v[0].path,
                        directive_note_reason (notes->v[0].kind));
}

/* Whatever happened to the script (exit, signal, timeout), what it left
 * in OUT_DIR must not act on the host: setid bits are cleared and links
 * out of it removed (which fails the run), before anything else looks at
 * the result; as root, each entry then goes back from the container's
 * root to OUT_DIR's owner.  The same walk over OUT_DIR finds the container
 * paths that after_run reports, when they matter (a successful run with
 * canonical paths). */
static int
neutralise (struct run_state *s, int code, struct outcheck_out_dir *found,
            ohr_error_t *err)
{
  cleanup_strv char **prefixes = NULL;
  if (code == 0 && s->opts.paths == PATHS_CANONICAL
      && view_generated_prefixes (&s->layout, &prefixes, err) < 0)
    return -1;
  if (outcheck_out_dir_give_back (s->ctx.out_dir, prefixes,
                                  s->lent ? &s->out_owner : NULL, found, err)
      < 0)
    return -1;
  const struct outcheck_report *setid = &found->setid;
  const struct outcheck_finding *kept = NULL;
  for (size_t i = 0; i < setid->n; i++)
    if (setid->v[i].error)
      kept = kept ? kept : &setid->v[i];
    else
      fprintf (stderr,
               "oci-host-runner: build script of %s left OUT_DIR/%s with %s: "
               "cleared\n",
               s->ctx.package, setid->v[i].path, setid->v[i].what);
  /* still setuid on the host: the build must stop here */
  if (kept)
    return ohr_error_set (err, kept->error, OHR_ERR_POLICY,
                          "left OUT_DIR/%s with %s, which cannot be cleared "
                          "(%s); remove it before building again",
                          kept->path, kept->what, strerror (kept->error));
  const struct outcheck_report *links = &found->links;
  if (links->n == 0)
    return 0;
  return ohr_error_set (err, EPERM, OHR_ERR_POLICY,
                        "left a symlink in OUT_DIR pointing outside it "
                        "('%s' -> '%s'%s); removed",
                        links->v[0].path, links->v[0].what,
                        links->n > 1 ? ", and more" : "");
}

static int
after_run (struct run_state *s, int code, struct outcheck_out_dir *found,
           ohr_error_t *err)
{
  if (check_source_writes (s, err) < 0 || check_strict_directives (s, err) < 0)
    return -1;
  if (code == 0 && s->opts.paths == PATHS_CANONICAL
      && check_container_paths (s, found, err) < 0)
    return -1;
  return code;
}

/* --attest: the directive stream goes to DIR/<id>.directives as the
 * script printed it, next to the run record written after the run. */
static int
open_attest (struct run_state *s, ohr_error_t *err)
{
  s->attest_fd = -1;
  if (s->opts.attest_dir == NULL)
    return 0;
  cleanup_free char *name = runrecord_directives_name (s->bundle.id);
  cleanup_free char *path
      = name ? fs_path_join (s->opts.attest_dir, name) : NULL;
  if (path == NULL)
    return ohr_error_nomem (err);
  if (fs_mkdir_p (s->opts.attest_dir, 0755, err) < 0)
    return ohr_error_wrap (err, "--attest");
  s->attest_fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (s->attest_fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            path);
  s->attest_path = steal_pointer (&path);
  return 0;
}

static int
fill_record (struct run_state *s, struct runrecord *rr, ohr_error_t *err)
{
  char started[RUNRECORD_TIME_SIZE], finished[RUNRECORD_TIME_SIZE];
  runrecord_format_time (&s->started, started);
  runrecord_format_time (&s->finished, finished);
  cleanup_free char *policy_name = NULL;
  if (envfilter_build (environ, s->opts.env, &rr->env, err) < 0
      || runrecord_set_cargo (rr, rr->env, err) < 0
      || asprintf (&policy_name, "%s.policy.json", s->bundle.id) < 0)
    return -1;
  cleanup_free char *policy_path
      = fs_path_join (s->opts.attest_dir, policy_name);
  if (policy_path == NULL
      || fs_write_atomic (policy_path, s->policy.data, s->policy.len, 0644,
                          true, err)
             < 0)
    return -1;
  for (size_t i = 0; s->tc.rewrites && s->tc.rewrites[i]; i++)
    if (strncmp (s->tc.rewrites[i], "RUSTC=", 6) == 0)
      {
        free (rr->rustc);
        if ((rr->rustc = strdup (s->tc.rewrites[i] + 6)) == NULL)
          return ohr_error_nomem (err);
      }
  bool ok = true;
#define DUP(f, v) ok = ok && ((rr->f = (v) ? strdup (v) : NULL) || !(v))
  DUP (id, s->bundle.id);
  DUP (script, s->ctx.script);
  DUP (out_dir, s->ctx.out_dir);
  DUP (manifest_dir, s->ctx.manifest_dir);
  DUP (cwd, s->ctx.cwd);
  DUP (image_ref, s->image->ref);
  DUP (image_digest, s->image->digest);
  DUP (runtime_name, s->rt.backend->name);
  DUP (runtime_path, s->rt.path);
  DUP (runner_version, OHR_VERSION);
  DUP (policy, policy_name);
#undef DUP
  ok = ok && (rr->started = strdup (started)) != NULL
       && (rr->finished = strdup (finished)) != NULL;
  rr->directives = runrecord_directives_name (s->bundle.id);
  ok = ok && rr->directives;
  for (size_t i = 0; ok && s->ctx.args && s->ctx.args[i]; i++)
    ok = strv_push (&rr->args, s->ctx.args[i]) == 0;
  for (size_t i = 0; ok && s->tc.roots && s->tc.roots[i]; i++)
    ok = strv_push (&rr->toolchains, s->tc.roots[i]) == 0;
  if (!ok)
    return ohr_error_nomem (err);
  rr->paths = s->opts.paths;
  rr->network = s->opts.network;
  rr->exit_status = 0;
  return 0;
}

/* A hit's record: the key, and a copy of the reused run's statement
 * beside it (DIR/<id>.reused.json), which the hit's statement names by
 * digest. */
static int
cache_record_hit (struct run_state *s, struct runrecord *rr, ohr_error_t *err)
{
  cleanup_free char *name = runrecord_reused_name (s->bundle.id);
  cleanup_free char *path
      = name ? fs_path_join (s->opts.attest_dir, name) : NULL;
  if (path == NULL || (rr->cache_key = strdup (s->cache.key)) == NULL)
    return ohr_error_nomem (err);
  const struct buf *b = &s->cache.hit_statement;
  if (fs_write_atomic (path, b->data ? b->data : "", b->len, 0644, true, err)
      < 0)
    return -1;
  rr->cache_statement = steal_pointer (&name);
  return 0;
}

/* The statement is made by oci-host-runner-attest (it hashes OUT_DIR,
 * the source and the toolchain with libcrypto, which run mode does not
 * load); its stdout is kept off Cargo's directive channel. */
static int
attest (struct run_state *s, ohr_error_t *err)
{
  struct runrecord rr = { 0 };
  cleanup_free char *path = runrecord_path (s->opts.attest_dir, s->bundle.id);
  cleanup_free char *helper = NULL;
  int r = path ? fill_record (s, &rr, err) : ohr_error_nomem (err);
  if (r == 0 && s->cache_hit && cache_record_hit (s, &rr, err) < 0)
    r = -1;
  if (r == 0)
    r = runrecord_write (&rr, path, err);
  runrecord_clear (&rr);
  if (r == 0)
    r = helper_exe_find ("oci-host-runner-attest", "OCI_HOST_RUNNER_ATTEST",
                         &helper, err);
  if (r < 0)
    return ohr_error_wrap (err, "--attest");
  char *argv[] = { helper, "record", path, NULL };
  struct proc_result pr = { 0 };
  if (proc_run (argv, &pr, err) < 0)
    return -1;
  if (pr.status != 0)
    {
      size_t n = strlen (pr.err);
      while (n > 0 && pr.err[n - 1] == '\n')
        pr.err[--n] = '\0';
      const char *last = strrchr (pr.err, '\n');
      r = ohr_error_set (err, EIO, OHR_ERR_INTERNAL, "--attest: %s",
                         last ? last + 1 : pr.err);
    }
  else
    {
      /* its first line is the statement's path: a miss stores it */
      size_t n = strcspn (pr.out, "\n");
      verbose (s, "attestation: %.*s", (int)n, pr.out);
      free (s->cache.statement);
      s->cache.statement = n ? strndup (pr.out, n) : NULL;
    }
  proc_result_clear (&pr);
  return r;
}

/* ---- the result cache (src/cli/run-cache.h): kept apart here */

static void
cache_facts_of (struct run_state *s, struct cache_facts *out)
{
  struct cache_facts f = {
    .mode = s->opts.result_cache,
    .network_none = s->opts.network == NETWORK_NONE,
    .canonical_paths = s->opts.paths == PATHS_CANONICAL,
    .source_overlay
    = s->eff.settings.source_writes == POLICY_SOURCE_WRITES_OVERLAY,
    .out_dir_empty = cache_dir_is_empty (s->ctx.out_dir),
    .pinned_image = s->image->digest != NULL,
    .hooks = !spec_hooks_empty (&s->selected_hooks),
    .degraded_proc = s->opts.degraded_proc,
    .build_dir = s->ctx.build_dir != NULL,
  };
  *out = f;
}

/* A run that may be cached sees of the build directory only what its key
 * covers: the OUT_DIRs its DEP_* variables name (hooks are chosen later:
 * a run they make uncacheable still sees only these). */
static int
cache_narrow_view (struct run_state *s, ohr_error_t *err)
{
  struct cache_facts f;
  cache_facts_of (s, &f);
  if (s->cache_subtrees || cache_refusal (&f))
    return 0;
  return cache_plan_dependencies (s->ctx.build_dir, environ,
                                  &s->cache_subtrees, err);
}

/* Before any container set-up: key the run in this process and restore
 * a hit that the store's hit index knows.  1 on a hit (OUT_DIR restored,
 * s->layout the run's view, for the replay); 0 to go on (the index does
 * not know the key, or the run is not cached: the store helper is asked
 * after generate, cache_lookup). */
static int
cache_lookup_early (struct run_state *s)
{
  /* the hit index holds no statements: an attested hit is the store
   * helper's (cache_lookup) */
  if (s->opts.attest_dir)
    return 0;
  struct cache_facts f;
  cache_facts_of (s, &f);
  if (cache_refusal (&f))
    return 0;
  ohr_error_t err = NULL;
  struct view_input li;
  struct view early = { 0 };
  if (cache_narrow_view (s, &err) < 0
      || (view_input_of (s, &li), view_build (&li, &early, &err)) < 0)
    {
      /* generate meets it again and says so */
      ohr_error_free (&err);
      view_clear (&early);
      return 0;
    }
  struct cache_plan_input plan = { .ctx = &s->ctx,
                                   .view = &early,
                                   .image = s->image,
                                   .ws = &s->ws,
                                   .eff = &s->eff,
                                   .envp = environ };
  int hit = run_cache_lookup_index (&s->cache, &f, &plan,
                                    s->opts.store_dir ? s->opts.store_dir
                                                      : s->opts.cache_dir);
  if (hit > 0)
    {
      view_clear (&s->layout);
      s->layout = early;
      verbose_workspace (s, &s->layout);
      verbose (s, "%s", s->cache.line);
    }
  else
    view_clear (&early);
  return hit;
}

/* Ask for this run's result: 1 on a hit (OUT_DIR restored). */
static int
cache_lookup (struct run_state *s)
{
  struct cache_facts f;
  cache_facts_of (s, &f);
  struct cache_plan_input plan = { .ctx = &s->ctx,
                                   .view = &s->layout,
                                   .image = s->image,
                                   .ws = &s->ws,
                                   .eff = &s->eff,
                                   .envp = environ };
  if (s->opts.result_cache_url
      && run_cache_set_remote (&s->cache, s->opts.result_cache_url,
                               s->opts.result_cache_read,
                               s->opts.result_cache_sign,
                               s->opts.result_cache_trust, s->opts.state_dir)
             < 0)
    verbose (s, "result-cache: remote off (a setting holds a newline)");
  s->cache.attest = s->opts.attest_dir != NULL;
  int hit = run_cache_lookup (&s->cache, &f, &plan,
                              s->opts.store_dir ? s->opts.store_dir
                                                : s->opts.cache_dir,
                              s->bundle.dir);
  /* one line per run: a miss says after the run whether it was stored */
  if (s->cache.line && !s->cache.active)
    verbose (s, "%s", s->cache.line);
  return hit;
}

/* A hit: the script's stdout as a run's (mapped to this checkout's
 * paths), then its stderr. */
static int
cache_replay (struct run_state *s, ohr_error_t *err)
{
  if (maps_directives (s) && make_directive_filter (s, err) < 0)
    return -1;
  stdout_pump (s, s->cache.hit_out.data ? s->cache.hit_out.data : "",
               s->cache.hit_out.len);
  stdout_pump (s, "", 0);
  report_directive_notes (s);
  write_all_fd (STDERR_FILENO,
                s->cache.hit_err.data ? s->cache.hit_err.data : "",
                s->cache.hit_err.len);
  return 0;
}

int
cmd_run (int argc, char **argv, ohr_error_t *err)
{
  struct run_state s
      = { .attest_fd = -1,
          .idmap_fd = -1,
          .memcg = MEMCG_INIT,
          .js = { .read_fd = -1, .write_fd = -1, .fifo_fd = -1 } };
  int r;
  run_cache_init (&s.cache);
  if (options_parse (argc, argv, environ, &s.opts, err) < 0)
    return -1;
  if (s.opts.help)
    {
      fputs (options_usage, stdout);
      r = 0;
    }
  else if (s.opts.version)
    {
      printf ("oci-host-runner %s\n", OHR_VERSION);
      r = 0;
    }
  else if (prepare (&s, err) < 0)
    r = -1;
  else if (cache_lookup_early (&s) > 0)
    r = cache_replay (&s, err);
  else if (prepare_runtime (&s, err) < 0 || generate (&s, err) < 0)
    r = -1;
  else if (open_attest (&s, err) < 0)
    r = -1;
  else if (cache_lookup (&s) > 0)
    {
      /* --attest: the hit's own statement, naming the reused run's */
      clock_gettime (CLOCK_REALTIME, &s.started);
      s.cache_hit = true;
      r = cache_replay (&s, err);
      clock_gettime (CLOCK_REALTIME, &s.finished);
      if (r == 0 && s.opts.attest_dir && attest (&s, err) < 0)
        r = -1;
    }
  else
    {
      clock_gettime (CLOCK_REALTIME, &s.started);
      /* as root OUT_DIR is the container's root's for the run: given back
       * below whatever happens, from the first chown on */
      s.lent = s.mapped;
      if (s.mapped
          && idshift_lend (s.ctx.out_dir, &s.idmap, &s.out_owner, err) < 0)
        r = ohr_error_wrap (err, "OUT_DIR");
      else
        r = execute (&s, err);
      clock_gettime (CLOCK_REALTIME, &s.finished);
      if (r >= 0 || s.bundle.dir)
        {
          /* the container is gone (or never ran): clean OUT_DIR first */
          ohr_error_t nerr = NULL;
          struct outcheck_out_dir found = { 0 };
          int nr = neutralise (&s, r, &found, r < 0 ? &nerr : err);
          ohr_error_free (&nerr);
          if (r >= 0)
            r = nr < 0 ? -1 : after_run (&s, r, &found, err);
          outcheck_out_dir_clear (&found);
          if (r == 0 && s.opts.attest_dir && attest (&s, err) < 0)
            r = -1;
        }
      run_cache_finish (&s.cache, r, &s.started, &s.finished);
      if (s.cache.line && s.cache.key[0])
        verbose (&s, "%s", s.cache.line);
    }
  /* no record for this run: its directive stream alone means nothing */
  if (r != 0 && s.attest_path)
    unlink (s.attest_path);
  if (r < 0 && err && *err && s.ctx.package && (*err)->kind != OHR_ERR_USAGE)
    ohr_error_wrap (err, "build script of %s", s.ctx.package);
  state_clear (&s);
  if (r == OHR_EXIT_SIGNAL_BASE + s.died_by && s.died_by > 0)
    die_by_signal (s.died_by);
  return r;
}
