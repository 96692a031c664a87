/* digest-io.c: see digest.h: a file's digest, over digest_new () and
 * friends, whichever SHA-256 the binary links (sha256.c, libcrypto; or
 * sha256-plain.c, the lookup helper's). */
#define _GNU_SOURCE
#include "util/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/cleanup.h"

int
digest_fd (int fd, const char *what, char *out, ohr_error_t *err)
{
  struct digest_ctx *c = digest_new ();
  if (c == NULL)
    return ohr_error_nomem (err);
  char buf[65536];
  for (;;)
    {
      ssize_t r = read (fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          digest_free (c);
          return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot read '%s'",
                                  what);
        }
      if (r == 0)
        break;
      digest_update (c, buf, (size_t)r);
    }
  digest_final (c, out);
  digest_free (c);
  return 0;
}

int
digest_file (const char *path, char *out, ohr_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot open '%s'",
                            path);
  return digest_fd (fd, path, out, err);
}
