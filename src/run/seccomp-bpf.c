/* seccomp-bpf.c: see seccomp-bpf.h. */
#define _GNU_SOURCE
#include "run/seccomp-bpf.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "run/seccomp.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsongen.h"

/* The libseccomp calls crun makes, looked up at compile time only. */
struct scmp
{
  void *handle;
  const char *path; /* the file loaded (the link map's name) */
  __typeof__ (&seccomp_init) init;
  __typeof__ (&seccomp_release) release;
  __typeof__ (&seccomp_arch_resolve_name) arch_resolve_name;
  __typeof__ (&seccomp_arch_add) arch_add;
  __typeof__ (&seccomp_syscall_resolve_name) syscall_resolve_name;
  __typeof__ (&seccomp_rule_add) rule_add;
  __typeof__ (&seccomp_rule_add_array) rule_add_array;
  __typeof__ (&seccomp_export_bpf) export_bpf;
};

static bool
scmp_open (struct scmp *l)
{
  /* the soname crun links: the same build makes the same program */
  l->handle = dlopen ("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
  if (l->handle == NULL)
    return false;
  struct link_map *lm = NULL;
  if (dlinfo (l->handle, RTLD_DI_LINKMAP, &lm) < 0 || lm == NULL
      || lm->l_name == NULL || lm->l_name[0] != '/')
    return false;
  l->path = lm->l_name;
#define SYM(field, name)                                                      \
  if ((*(void **)&l->field = dlsym (l->handle, name)) == NULL)                \
    return false;
  SYM (init, "seccomp_init");
  SYM (release, "seccomp_release");
  SYM (arch_resolve_name, "seccomp_arch_resolve_name");
  SYM (arch_add, "seccomp_arch_add");
  SYM (syscall_resolve_name, "seccomp_syscall_resolve_name");
  SYM (rule_add, "seccomp_rule_add");
  SYM (rule_add_array, "seccomp_rule_add_array");
  SYM (export_bpf, "seccomp_export_bpf");
#undef SYM
  return true;
}

static const char *
obj_str (yajl_val o, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (o, path, yajl_t_string);
  return v ? v->u.string : NULL;
}

static yajl_val
obj_get (yajl_val o, const char *key, yajl_type t)
{
  const char *path[] = { key, NULL };
  return yajl_tree_get (o, path, t);
}

/* One syscalls[] entry, as crun 1.8 adds it: each name resolved (crun
 * skips unknown ones with a warning), no args: one rule; args with
 * distinct indexes: one rule and-ing them; an index given twice: one rule
 * per comparison.  Only what seccomp_gen writes is taken (ERRNO actions,
 * masked-equal comparisons); anything else returns "unsupported". */
static const char *
add_entry (const struct scmp *l, scmp_filter_ctx ctx, yajl_val e)
{
  const char *action = obj_str (e, "action");
  yajl_val names = obj_get (e, "names", yajl_t_array);
  yajl_val errno_ret = obj_get (e, "errnoRet", yajl_t_number);
  yajl_val args = obj_get (e, "args", yajl_t_array);
  if (action == NULL || strcmp (action, "SCMP_ACT_ERRNO") != 0 || names == NULL
      || (errno_ret && !YAJL_IS_INTEGER (errno_ret)))
    return "a rule other than SCMP_ACT_ERRNO on named calls";
  uint32_t act = SCMP_ACT_ERRNO (
      errno_ret ? (uint16_t)YAJL_GET_INTEGER (errno_ret) : EPERM);
  struct scmp_arg_cmp cmp[6];
  size_t n_cmp = 0;
  bool repeated = false;
  unsigned count[6] = { 0 };
  for (size_t k = 0; args && k < args->u.array.len && k < 6; k++)
    {
      yajl_val a = args->u.array.values[k];
      yajl_val index = obj_get (a, "index", yajl_t_number);
      yajl_val value = obj_get (a, "value", yajl_t_number);
      yajl_val two = obj_get (a, "valueTwo", yajl_t_number);
      const char *op = obj_str (a, "op");
      if (index == NULL || value == NULL || two == NULL || op == NULL
          || strcmp (op, "SCMP_CMP_MASKED_EQ") != 0 || !YAJL_IS_INTEGER (index)
          || !YAJL_IS_INTEGER (value) || !YAJL_IS_INTEGER (two)
          || YAJL_GET_INTEGER (index) < 0 || YAJL_GET_INTEGER (index) >= 6)
        return "an argument comparison other than SCMP_CMP_MASKED_EQ";
      unsigned idx = (unsigned)YAJL_GET_INTEGER (index);
      if (++count[idx] > 1)
        repeated = true;
      cmp[n_cmp++] = (struct scmp_arg_cmp){
        .arg = idx,
        .op = SCMP_CMP_MASKED_EQ,
        .datum_a = (scmp_datum_t)YAJL_GET_INTEGER (value),
        .datum_b = (scmp_datum_t)YAJL_GET_INTEGER (two),
      };
    }
  for (size_t j = 0; j < names->u.array.len; j++)
    {
      yajl_val name = names->u.array.values[j];
      if (!YAJL_IS_STRING (name))
        return "a call name that is not a string";
      int nr = l->syscall_resolve_name (name->u.string);
      if (nr == __NR_SCMP_ERROR)
        continue;
      int r = 0;
      if (args == NULL)
        r = l->rule_add (ctx, act, nr, 0);
      else if (!repeated)
        r = l->rule_add_array (ctx, act, nr, (unsigned)n_cmp, cmp);
      else
        for (size_t k = 0; k < n_cmp && r >= 0; k++)
          r = l->rule_add_array (ctx, act, nr, 1, &cmp[k]);
      if (r < 0)
        return "libseccomp refused a rule";
    }
  return NULL;
}

/* The program for the "seccomp" object s, as crun 1.8's
 * libcrun_generate_seccomp makes it; NULL and *why when it cannot. */
static unsigned char *
compile (const struct scmp *l, yajl_val s, size_t *out_len, const char **why)
{
  const char *def = obj_str (s, "defaultAction");
  yajl_val arches = obj_get (s, "architectures", yajl_t_array);
  yajl_val calls = obj_get (s, "syscalls", yajl_t_array);
  if (def == NULL || strcmp (def, "SCMP_ACT_ALLOW") != 0
      || obj_get (s, "defaultErrnoRet", yajl_t_any) != NULL)
    {
      *why = "a default action other than SCMP_ACT_ALLOW";
      return NULL;
    }
  scmp_filter_ctx ctx = l->init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    {
      *why = "libseccomp cannot start a filter";
      return NULL;
    }
  unsigned char *bpf = NULL;
  cleanup_close int fd = -1;
  for (size_t i = 0; arches && i < arches->u.array.len; i++)
    {
      yajl_val a = arches->u.array.values[i];
      char lower[32] = { 0 };
      const char *name = YAJL_IS_STRING (a) ? a->u.string : "";
      if (strncmp (name, "SCMP_ARCH_", 10) == 0)
        name += 10;
      for (size_t k = 0; name[k] && k < sizeof lower - 1; k++)
        lower[k] = (char)tolower ((unsigned char)name[k]);
      uint32_t token = l->arch_resolve_name (lower);
      int r = token ? l->arch_add (ctx, token) : -EINVAL;
      if (r < 0 && r != -EEXIST)
        {
          *why = "an architecture libseccomp does not know";
          goto out;
        }
    }
  for (size_t i = 0; calls && i < calls->u.array.len; i++)
    if ((*why = add_entry (l, ctx, calls->u.array.values[i])) != NULL)
      goto out;
  struct stat st;
  if ((fd = memfd_create ("seccomp-bpf", MFD_CLOEXEC)) < 0
      || l->export_bpf (ctx, fd) < 0 || fstat (fd, &st) < 0 || st.st_size <= 0
      || st.st_size % 8 != 0 || (bpf = malloc ((size_t)st.st_size)) == NULL
      || pread (fd, bpf, (size_t)st.st_size, 0) != st.st_size)
    {
      free (bpf);
      bpf = NULL;
      *why = "libseccomp cannot export the program";
      goto out;
    }
  *out_len = (size_t)st.st_size;
out:
  l->release (ctx);
  return bpf;
}

/* What a cache entry is valid for; NULL when memory runs out. */
static char *
entry_key (const char *lib, const char *profile_json)
{
  struct stat st;
  struct utsname u;
  if (stat (lib, &st) < 0)
    memset (&st, 0, sizeof st);
  if (uname (&u) < 0)
    memset (&u, 0, sizeof u);
  char *key = NULL;
  if (asprintf (&key,
                "ohr-seccomp-bpf 1\nlibseccomp %s %llu:%llu:%lld:%lld.%09ld\n"
                "kernel %s %s %s\n%s",
                lib, (unsigned long long)st.st_dev,
                (unsigned long long)st.st_ino, (long long)st.st_size,
                (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, u.release,
                u.version, u.machine, profile_json)
      < 0)
    return NULL;
  return key;
}

/* The entry's file name: FNV-1a of the profile; the key inside decides. */
static char *
entry_path (const char *cache_dir, const char *profile_json)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)profile_json; *p; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  char *path = NULL;
  if (asprintf (&path, "%s/seccomp/%016llx.bpf", cache_dir,
                (unsigned long long)h)
      < 0)
    return NULL;
  return path;
}

/* An entry is the key, a NUL, the program.  Its library's path is on the
 * key's second line, after "libseccomp ". */
static char *
cached (const char *path, const char *profile_json, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (fs_read_file (path, 1 << 20, &data, &len, &ignored) < 0)
    {
      ohr_error_free (&ignored);
      return NULL;
    }
  size_t klen = strnlen (data, len);
  const char *lib = strstr (data, "\nlibseccomp ");
  if (klen == len || lib == NULL)
    return NULL;
  lib += strlen ("\nlibseccomp ");
  cleanup_free char *libpath = strndup (lib, strcspn (lib, " \n"));
  cleanup_free char *key = libpath ? entry_key (libpath, profile_json) : NULL;
  if (key == NULL)
    {
      ohr_error_nomem (err);
      return NULL;
    }
  size_t blen = len - klen - 1;
  if (strcmp (key, data) != 0 || blen == 0 || blen % 8 != 0 || blen / 8 > 4096)
    return NULL;
  return base64_encode (data + klen + 1, blen);
}

int
seccomp_bpf_get (const char *cache_dir, const char *profile_json,
                 char **out_b64, const char **out_why, ohr_error_t *err)
{
  cleanup_free char *path
      = cache_dir ? entry_path (cache_dir, profile_json) : NULL;
  if (cache_dir && path == NULL)
    return ohr_error_nomem (err);
  if (path)
    {
      char *b64 = cached (path, profile_json, err);
      if (*err)
        return -1;
      if (b64)
        {
          *out_b64 = b64;
          return 1;
        }
    }
  struct scmp l = { 0 };
  if (!scmp_open (&l))
    {
      if (l.handle)
        dlclose (l.handle);
      *out_why = "libseccomp.so.2 cannot be loaded";
      return 0;
    }
  int ret = 0;
  char errbuf[128];
  cleanup_yajl_val yajl_val s
      = yajl_tree_parse (profile_json, errbuf, sizeof errbuf);
  if (s && !YAJL_IS_OBJECT (s))
    {
      yajl_tree_free (s);
      s = NULL;
    }
  size_t blen = 0;
  cleanup_free unsigned char *bpf = s ? compile (&l, s, &blen, out_why) : NULL;
  cleanup_free char *key = bpf ? entry_key (l.path, profile_json) : NULL;
  if (s == NULL)
    *out_why = "the profile is not a JSON object";
  else if (bpf && key == NULL)
    ret = ohr_error_nomem (err);
  else if (bpf)
    {
      /* a cache that cannot be written only costs the next run the
       * compile again */
      size_t klen = strlen (key) + 1;
      cleanup_free char *entry = malloc (klen + blen);
      char *b64 = entry ? base64_encode (bpf, blen) : NULL;
      if (b64 == NULL)
        ret = ohr_error_nomem (err);
      else
        {
          *out_b64 = b64;
          memcpy (entry, key, klen);
          memcpy (entry + klen, bpf, blen);
          cleanup_free char *dir
              = path ? fs_path_join (cache_dir, "seccomp") : NULL;
          ohr_error_t ignored = NULL;
          if (dir && fs_mkdir_p (dir, 0700, &ignored) == 0)
            fs_write_atomic (path, entry, klen + blen, 0600, true, &ignored);
          ohr_error_free (&ignored);
          ret = 1;
        }
    }
  dlclose (l.handle);
  return ret;
}

char *
seccomp_profile_json (char *const *allowed)
{
  cleanup_yajl_gen yajl_gen g = gen_new ();
  if (g == NULL || seccomp_gen_object (g, allowed) != yajl_gen_status_ok)
    return NULL;
  return gen_text (g, NULL);
}
