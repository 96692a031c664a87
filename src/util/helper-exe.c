/* helper-exe.c: see helper-exe.h */
#define _GNU_SOURCE
#include "util/helper-exe.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

int
helper_exe_self_dir (char **out, ohr_error_t *err)
{
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot find my own executable");
  exe[n] = '\0';
  *strrchr (exe, '/') = '\0';
  if ((*out = strdup (exe)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

int
helper_exe_find (const char *name, const char *env_var, char **out,
                 ohr_error_t *err)
{
  const char *env = env_var ? getenv (env_var) : NULL;
  if (env && *env)
    {
      if (access (env, X_OK) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "%s '%s'",
                                env_var, env);
      *out = realpath (env, NULL);
      return *out ? 0
                  : ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "%s", name);
    }
  cleanup_free char *exe = NULL;
  if (helper_exe_self_dir (&exe, err) < 0)
    return -1;
  const char *const rel[] = { "", "../libexec/oci-host-runner/" };
  for (size_t i = 0; i < 2; i++)
    {
      cleanup_free char *p = NULL;
      if (asprintf (&p, "%s/%s%s", exe, rel[i], name) >= 0
          && access (p, X_OK) == 0 && (*out = realpath (p, NULL)) != NULL)
        return 0;
    }
  return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                        "%s not found beside '%s' or in "
                        "../libexec/oci-host-runner: reinstall%s%s",
                        name, exe, env_var ? ", or set " : "",
                        env_var ? env_var : "");
}
