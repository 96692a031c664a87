/* parse.c: the pure parsers of what doctor's probes read (see doctor.h):
 * /proc/self/mountinfo's masks, the Seccomp: field of
 * /proc/self/status, uid_map, /proc/self/cgroup; and for --cargo, what
 * cargo prints: its version, its configuration, a build's -v output.
 * Unit-tested on the texts of pods, hosts and cargo
 * (tests/unit/test-doctor.c). */
#define _GNU_SOURCE
#include "doctor/doctor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

char *
doctor_first_line (const char *text)
{
  if (text == NULL)
    return NULL;
  return strndup (text, strcspn (text, "\n"));
}

int
doctor_seccomp_mode (const char *status)
{
  for (const char *p = status; p && *p; p = strchr (p, '\n'))
    {
      if (*p == '\n')
        p++;
      if (strncmp (p, "Seccomp:", 8) == 0)
        return atoi (p + 8);
    }
  return -1;
}

bool
doctor_uid_map_is_identity (const char *uid_map)
{
  unsigned long inside, outside, count;
  return uid_map
         && sscanf (uid_map, "%lu %lu %lu", &inside, &outside, &count) == 3
         && inside == 0 && outside == 0 && count == 4294967295UL
         && strchr (uid_map, '\n') == strrchr (uid_map, '\n');
}

char *
doctor_cgroup2_path (const char *text)
{
  for (const char *p = text; p && *p; p = strchr (p, '\n'))
    {
      if (*p == '\n')
        p++;
      if (strncmp (p, "0::", 3) == 0)
        return strndup (p + 3, strcspn (p + 3, "\n"));
    }
  return NULL;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0'
          && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
          r += 3;
        }
      else
        *w++ = *r;
    }
  *w = '\0';
}

/* Kernel mount points below /sys are permanently empty directories: a
 * mount there does not hide anything from a fresh sysfs. */
static bool
sys_mount_hides (const char *mnt, const char *fstype, const char *root)
{
  if (strcmp (fstype, "sysfs") == 0)
    return strcmp (root, "/") != 0; /* a re-bound subtree */
  if (strcmp (fstype, "tmpfs") == 0)
    return !fs_path_is_under (mnt, "/sys/fs/cgroup");
  size_t n = strlen (root);
  return n >= 5 && strcmp (root + n - 5, "/null") == 0; /* /dev/null */
}

int
doctor_find_masks (const char *mountinfo, const char *under, char ***out)
{
  *out = NULL;
  int n = 0;
  size_t ulen = strlen (under);
  cleanup_free char *copy = strdup (mountinfo ? mountinfo : "");
  if (copy == NULL)
    return -1;
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      /* id parent maj:min root mountpoint options [optional...] - type
       * source superoptions */
      char *f[5] = { 0 };
      char *lsave = NULL, *tok = strtok_r (line, " ", &lsave);
      for (int i = 0; i < 5 && tok; i++, tok = strtok_r (NULL, " ", &lsave))
        f[i] = tok;
      while (tok && strcmp (tok, "-") != 0)
        tok = strtok_r (NULL, " ", &lsave);
      char *fstype = tok ? strtok_r (NULL, " ", &lsave) : NULL;
      if (f[4] == NULL || fstype == NULL)
        continue;
      unescape_octal (f[3]);
      unescape_octal (f[4]);
      const char *mnt = f[4];
      if (strncmp (mnt, under, ulen) != 0 || mnt[ulen] != '/')
        continue;
      bool hides = strcmp (under, "/proc") == 0
                       ? strcmp (fstype, "binfmt_misc") != 0
                       : sys_mount_hides (mnt, fstype, f[3]);
      if (!hides || strv_contains (*out, mnt))
        continue;
      if (strv_push (out, mnt) < 0)
        {
          strv_free (*out);
          *out = NULL;
          return -1;
        }
      n++;
    }
  return n;
}

/* ---- cargo (doctor --cargo) */

const char *
doctor_cargo_channel (const char *version)
{
  if (version == NULL)
    return NULL;
  /* "cargo 1.95.0 (f2d3ce0bd 2026-03-21)", "cargo 1.97.0-nightly (...)" */
  const char *v = strncmp (version, "cargo ", 6) == 0 ? version + 6 : version;
  size_t n = strcspn (v, " ");
  if (memmem (v, n, "-nightly", 8))
    return "nightly";
  if (memmem (v, n, "-beta", 5))
    return "beta";
  if (memmem (v, n, "-dev", 4))
    return "dev";
  return "stable";
}

int
doctor_cargo_add_key (struct doctor_cargo *c, const char *key,
                      const char *value, const char *origin)
{
  struct doctor_cargo_key *v
      = realloc (c->keys, (c->n_keys + 1) * sizeof *c->keys);
  if (v == NULL)
    return -1;
  c->keys = v;
  struct doctor_cargo_key k = { strdup (key), strdup (value ? value : ""),
                                strdup (origin ? origin : "") };
  if (k.key == NULL || k.value == NULL || k.origin == NULL)
    {
      free (k.key);
      free (k.value);
      free (k.origin);
      return -1;
    }
  c->keys[c->n_keys++] = k;
  return 0;
}

const struct doctor_cargo_key *
doctor_cargo_key (const struct doctor_cargo *c, const char *key)
{
  for (size_t i = c->n_keys; i > 0; i--)
    if (strcmp (c->keys[i - 1].key, key) == 0)
      return &c->keys[i - 1];
  return NULL;
}

/* "VALUE # ORIGIN": the value and the origin after the last " # " (a
 * string value may hold " # " itself). */
static void
split_origin (char *rest, char **origin)
{
  char *hash = NULL;
  for (char *p = strstr (rest, " # "); p; p = strstr (p + 1, " # "))
    hash = p;
  *origin = NULL;
  if (hash)
    {
      *hash = '\0';
      *origin = hash + 3;
    }
}

int
doctor_cargo_parse_config (const char *text, struct doctor_cargo *c)
{
  cleanup_free char *copy = strdup (text ? text : "");
  if (copy == NULL)
    return -1;
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      /* "key = value # origin"; an array "key = [" continues with one
       * "    elem, # origin" line per element up to "]" */
      if (line[0] == ' ' || line[0] == '\t' || line[0] == '#'
          || line[0] == ']')
        continue;
      char *eq = strstr (line, " = ");
      if (eq == NULL)
        continue;
      *eq = '\0';
      char *value = eq + 3, *origin = NULL;
      cleanup_free char *array = NULL;
      if (strcmp (value, "[") == 0)
        {
          char *elem;
          size_t len = 0;
          FILE *f = open_memstream (&array, &len);
          if (f == NULL)
            return -1;
          fputc ('[', f);
          int n = 0;
          while ((elem = strtok_r (NULL, "\n", &save)) != NULL
                 && elem[0] != ']')
            {
              char *o = NULL;
              split_origin (elem, &o);
              if (origin == NULL && o)
                origin = o;
              elem += strspn (elem, " \t");
              size_t l = strlen (elem);
              if (l > 0 && elem[l - 1] == ',')
                elem[--l] = '\0';
              fprintf (f, "%s%s", n++ ? ", " : "", elem);
            }
          fputc (']', f);
          if (fclose (f) != 0)
            return -1;
          value = array;
        }
      else
        split_origin (value, &origin);
      if (doctor_cargo_add_key (c, line, value, origin) < 0)
        return -1;
    }
  return 0;
}

int
doctor_cargo_parse_env_args (char *const *envp, char *const *args,
                             struct doctor_cargo *c)
{
  static const char *const vars[][2] = {
    { "CARGO_UNSTABLE_HOST_CONFIG", "unstable.host-config" },
    { "CARGO_UNSTABLE_TARGET_APPLIES_TO_HOST",
      "unstable.target-applies-to-host" },
    { "CARGO_TARGET_APPLIES_TO_HOST", "target-applies-to-host" },
    { "CARGO_HOST_RUNNER", "host.runner" },
  };
  for (size_t i = 0; envp && envp[i]; i++)
    for (size_t j = 0; j < sizeof vars / sizeof *vars; j++)
      {
        size_t n = strlen (vars[j][0]);
        if (strncmp (envp[i], vars[j][0], n) == 0 && envp[i][n] == '='
            && doctor_cargo_add_key (c, vars[j][1], envp[i] + n + 1,
                                     vars[j][0])
                   < 0)
          return -1;
      }
  static const char *const flags[]
      = { "host-config", "target-applies-to-host" };
  for (size_t i = 0; args && args[i]; i++)
    {
      const char *z = NULL;
      if (strncmp (args[i], "-Z", 2) == 0 && args[i][2])
        z = args[i] + 2;
      else if (strcmp (args[i], "-Z") == 0 && args[i + 1])
        z = args[++i];
      for (size_t j = 0; z && j < sizeof flags / sizeof *flags; j++)
        if (strcmp (z, flags[j]) == 0)
          {
            cleanup_free char *key = NULL, *origin = NULL;
            if (asprintf (&key, "unstable.%s", flags[j]) < 0
                || asprintf (&origin, "-Z%s", flags[j]) < 0
                || doctor_cargo_add_key (c, key, "true", origin) < 0)
              return -1;
          }
    }
  return 0;
}

/* The script's marker, "ohr-doctor-probe: WHERE HOST" (cargo.c writes the
 * build script), in a line of Cargo's warning. */
#define MARKER "ohr-doctor-probe: "

/* How Cargo ran the build script: "Running `CMD`" with CMD ending in the
 * script (quoted when its path needs it). */
static int
parse_running (const char *line, struct doctor_cargo *c)
{
  const char *open = strchr (line, '`');
  const char *close = open ? strrchr (line, '`') : NULL;
  if (close == NULL || close == open)
    return 0;
  cleanup_free char *cmd = strndup (open + 1, (size_t)(close - open - 1));
  if (cmd == NULL)
    return -1;
  size_t n = strlen (cmd);
  bool quoted = n > 0 && cmd[n - 1] == '\'';
  const char *end = quoted ? "build-script-build'" : "build-script-build";
  size_t el = strlen (end);
  if (n < el || strcmp (cmd + n - el, end) != 0)
    return 0; /* another unit: rustc compiling build.rs, ... */
  /* the script is the last word */
  char *last = NULL;
  if (quoted)
    {
      for (char *p = cmd + n - 1; p > cmd; p--)
        if (p[-1] == '\'' && (p - 1 == cmd || p[-2] == ' '))
          {
            last = p - 1;
            break;
          }
    }
  else
    last = strrchr (cmd, ' ') ? strrchr (cmd, ' ') + 1 : cmd;
  free (c->command);
  free (c->runner);
  c->runner = NULL;
  if (last && last > cmd
      && (c->runner = strndup (cmd, (size_t)(last - cmd - 1))) == NULL)
    return -1;
  c->command = steal_pointer (&cmd);
  return 0;
}

int
doctor_cargo_parse_build (const char *output, struct doctor_cargo *c)
{
  cleanup_free char *copy = strdup (output ? output : "");
  if (copy == NULL)
    return -1;
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      line += strspn (line, " \t");
      char *m = strstr (line, MARKER);
      if (strncmp (line, "Running `", 9) == 0)
        {
          if (parse_running (line, c) < 0)
            return -1;
        }
      else if (m != NULL)
        {
          m += strlen (MARKER);
          c->ran = strncmp (m, "container", 9) == 0 ? 1
                   : strncmp (m, "host", 4) == 0    ? 0
                                                    : c->ran;
          const char *sp = strchr (m, ' ');
          free (c->host_triple);
          c->host_triple
              = sp && sp[1] ? strndup (sp + 1, strcspn (sp + 1, " ")) : NULL;
        }
      else if (c->error == NULL && strncmp (line, "error", 5) == 0
               && (line[5] == ':' || line[5] == '['))
        {
          if ((c->error = strdup (line)) == NULL)
            return -1;
        }
      else if ((m = strstr (line, "oci-host-runner: ")) != NULL
               && strncmp (line, "Running", 7) != 0)
        {
          /* the runner's own line, in the script's stderr Cargo shows:
           * the last one is its error (-v lines come first) */
          free (c->runner_error);
          if ((c->runner_error = strdup (m)) == NULL)
            return -1;
        }
    }
  return 0;
}

void
doctor_cargo_clear (struct doctor_cargo *c)
{
  free (c->dir);
  free (c->path);
  free (c->version);
  free (c->bootstrap);
  for (size_t i = 0; i < c->n_keys; i++)
    {
      free (c->keys[i].key);
      free (c->keys[i].value);
      free (c->keys[i].origin);
    }
  free (c->keys);
  free (c->config_error);
  free (c->error);
  free (c->runner_error);
  free (c->command);
  free (c->runner);
  free (c->host_triple);
  memset (c, 0, sizeof *c);
}
