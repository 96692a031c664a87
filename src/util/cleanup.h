/* cleanup.h: scope-bound ownership with __attribute__((cleanup)).
 *
 * Each owned type has a NULL-safe free function and a cleanup_<type> macro.
 * Ownership leaves a scope through steal_pointer() (systemd TAKE_PTR,
 * bubblewrap steal_pointer).  A cleanup_pid child is killed and reaped if
 * nobody waited for it (crun cleanup_pid).
 */
#ifndef OHR_UTIL_CLEANUP_H
#define OHR_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void
cleanup_freep (void *p)
{
  void **pp = (void **)p;
  free (*pp);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void
cleanup_filep (FILE **f)
{
  if (*f)
    fclose (*f);
}

static inline void
cleanup_dirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

static inline void
cleanup_pidp (pid_t *pid)
{
  if (*pid > 0)
    {
      int saved = errno;
      kill (*pid, SIGKILL);
      while (waitpid (*pid, NULL, 0) < 0 && errno == EINTR)
        ;
      errno = saved;
    }
}

/* free () each of n pointers: see free_many. */
static inline void
free_array (void *const *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (p[i]);
}

/* free () every argument (NULL ones too): the strings a struct owns, in
 * its clear function.  free_many (d->name, d->path) */
#define free_many(...)                                                        \
  free_array ((void *const[]){ __VA_ARGS__ },                                 \
              sizeof ((void *const[]){ __VA_ARGS__ }) / sizeof (void *))

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))
#define cleanup_pid __attribute__ ((cleanup (cleanup_pidp)))

/* cleanup_<name> for the other owned types, with their clear or free
 * function (systemd DEFINE_TRIVIAL_CLEANUP_FUNC):
 *   DEFINE_CLEANUP_CLEAR (files, struct attest_files, attest_files_clear)
 *   #define cleanup_files CLEANUP (files)
 * for a struct on the stack that owns what it holds, cleared by clear (T *);
 * DEFINE_CLEANUP_FREE for a pointer freed by a NULL-safe free_fn (T *). */
#define DEFINE_CLEANUP_CLEAR(name, type, clear)                               \
  static inline void cleanup_##name##p (type *p) { clear (p); }
#define DEFINE_CLEANUP_FREE(name, type, free_fn)                              \
  static inline void cleanup_##name##p (type **p) { free_fn (*p); }
#define CLEANUP(name) __attribute__ ((cleanup (cleanup_##name##p)))

/* Take the value out of *pp, leaving NULL: hands ownership to the caller. */
#define steal_pointer(pp)                                                     \
  ({                                                                          \
    __typeof__ (*(pp)) _stolen = *(pp);                                       \
    *(pp) = NULL;                                                             \
    _stolen;                                                                  \
  })

/* Take an fd out of *fdp, leaving -1. */
static inline int
steal_fd (int *fdp)
{
  int fd = *fdp;
  *fdp = -1;
  return fd;
}

#endif
