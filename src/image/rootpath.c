/* rootpath.c: see rootpath.h */
#define _GNU_SOURCE
#include "image/rootpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

static int
fail (ohr_error_t *err, int status, const char *path, size_t len)
{
  int shown = len > 256 ? 256 : (int)len;
  return ohr_error_errno (err, status, OHR_ERR_INTERNAL,
                          "cannot resolve '%.*s%s' inside the image", shown,
                          path, (size_t)shown < len ? "..." : "");
}

/* *out = a (alen bytes) followed by b (NUL-terminated). */
static int
concat (const char *a, size_t alen, const char *b, char **out,
        ohr_error_t *err)
{
  if (asprintf (out, "%.*s%s", (int)alen, a, b) < 0)
    {
      *out = NULL;
      return ohr_error_nomem (err);
    }
  return 0;
}

int
rootpath_resolve (int root_fd, const char *path, size_t len, char **out,
                  ohr_error_t *err)
{
  if (len == 0 || path[0] != '/' || memchr (path, '\0', len) != NULL)
    return fail (err, EINVAL, path, len);
  if (len >= PATH_MAX)
    return fail (err, ENAMETOOLONG, path, len);
  /* resolved: the container path so far, free of symlinks ("" is "/");
   * todo: what is left to walk, which a symlink's target replaces. */
  char resolved[PATH_MAX];
  size_t rlen = 0;
  cleanup_free char *todo = strndup (path, len);
  if (todo == NULL)
    return ohr_error_nomem (err);
  size_t pos = 0;
  int links = 0;
  bool dir = true; /* what resolved names is a directory */
  for (;;)
    {
      while (todo[pos] == '/')
        pos++;
      if (todo[pos] == '\0')
        break;
      const char *c = todo + pos;
      size_t clen = strcspn (c, "/");
      pos += clen;
      if (!dir)
        /* a component after a file: the container gets ENOTDIR, and so
         * will the host */
        return concat (resolved, rlen, c - 1, out, err);
      if (clen == 1 && c[0] == '.')
        continue;
      if (clen == 2 && c[0] == '.' && c[1] == '.')
        {
          /* resolved has no symlinks, so ".." is its parent; at the root
           * it stays there, as in the container */
          while (rlen > 0 && resolved[rlen - 1] != '/')
            rlen--;
          if (rlen > 0)
            rlen--;
          continue;
        }
      if (rlen + 1 + clen >= PATH_MAX)
        return fail (err, ENAMETOOLONG, path, len);
      size_t cand = rlen;
      resolved[cand++] = '/';
      memcpy (resolved + cand, c, clen);
      cand += clen;
      resolved[cand] = '\0';
      struct stat st;
      /* relative to the root, and every earlier component is a real
       * directory: the kernel follows no symlink here */
      if (fstatat (root_fd, resolved + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            return concat (resolved, cand, todo + pos, out, err);
          return fail (err, errno, path, len);
        }
      if (!S_ISLNK (st.st_mode))
        {
          rlen = cand;
          dir = S_ISDIR (st.st_mode);
          continue;
        }
      if (++links > ROOTPATH_MAX_LINKS)
        return fail (err, ELOOP, path, len);
      char target[PATH_MAX];
      ssize_t n = readlinkat (root_fd, resolved + 1, target, sizeof target);
      if (n < 0)
        return fail (err, errno, path, len);
      if ((size_t)n >= sizeof target
          || (size_t)n + strlen (todo + pos) + 2 > PATH_MAX)
        return fail (err, ENAMETOOLONG, path, len);
      char *next = NULL;
      if (concat (target, (size_t)n, todo + pos, &next, err) < 0)
        return -1;
      free (todo);
      todo = next;
      pos = 0;
      if (target[0] == '/')
        rlen = 0;
    }
  return rlen == 0 ? concat ("/", 1, "", out, err)
                   : concat (resolved, rlen, "", out, err);
}
