/* test-seccomp-bpf.c: the seccomp program compiled from the profile,
 * loaded into a child as crun loads it (the calls the profile denies get
 * their errno, the others run), and its cache: an entry is used only for
 * the key it was made for.  test-seccomp-bpf.sh compares the program with
 * the one crun compiles itself. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/seccomp-bpf.h"
#include "run/spec.h"
#include "tmpdir.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

static char *
get (const char *cache, const char *profile)
{
  char *b64 = NULL;
  const char *why = NULL;
  ohr_error_t err = NULL;
  int r = seccomp_bpf_get (cache, profile, &b64, &why, &err);
  if (r != 1)
    fail_msg ("seccomp_bpf_get: %d (%s)", r, why ? why : "");
  return b64;
}

/* 0 when the call answers errno e (0: succeeds) in a child under the
 * program b64; the child's exit status says which check failed. */
static int
child_checks (const char *b64)
{
  unsigned char *bpf = NULL;
  size_t len = 0;
  if (base64_decode (b64, &bpf, &len) < 0 || len == 0 || len % 8)
    return -1;
  pid_t pid = fork ();
  if (pid == 0)
    {
      struct sock_fprog prog = { .len = (unsigned short)(len / 8),
                                 .filter = (struct sock_filter *)bpf };
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
          || syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog)
                 < 0)
        _exit (10);
      if (syscall (SYS_keyctl, 0, 0, 0, 0, 0) != -1 || errno != ENOSYS)
        _exit (11);
      if (unshare (CLONE_NEWUSER) != -1 || errno != EPERM)
        _exit (12);
      if (syscall (SYS_personality, 0x0040000UL) != -1 || errno != EPERM)
        _exit (13);
      if (syscall (SYS_personality, 0xffffffffUL) < 0)
        _exit (14);
      if (syscall (SYS_bpf, 0, NULL, 0) != -1 || errno != EPERM)
        _exit (15);
      if (getppid () <= 0 || unshare (0) < 0)
        _exit (16);
      _exit (0);
    }
  free (bpf);
  int status = 0;
  if (pid < 0 || waitpid (pid, &status, 0) != pid)
    return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 100;
}

static void
test_program_denies (void **state)
{
  (void)state;
  char *profile = seccomp_profile_json (NULL);
  assert_non_null (profile);
  char *b64 = get (NULL, profile);
  assert_int_equal (child_checks (b64), 0);
  free (b64);
  free (profile);

  /* a policy that lets keyctl through: the program lets it through too */
  char *allowed[] = { "keyctl", NULL };
  profile = seccomp_profile_json (allowed);
  b64 = get (NULL, profile);
  assert_int_equal (child_checks (b64), 11);
  free (b64);
  free (profile);
}

static char *
entry_file (void)
{
  char *dir = fs_path_join (tmp, "seccomp");
  cleanup_dir DIR *d = opendir (dir);
  assert_non_null (d);
  struct dirent *de;
  char *path = NULL;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      {
        assert_null (path);
        path = fs_path_join (dir, de->d_name);
      }
  free (dir);
  assert_non_null (path);
  return path;
}

static void
test_cache (void **state)
{
  (void)state;
  char *profile = seccomp_profile_json (NULL);
  char *fresh = get (tmp, profile);
  char *path = entry_file ();
  char *data = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  assert_int_equal (fs_read_file (path, 1 << 20, &data, &len, &err), 0);
  size_t klen = strlen (data);
  assert_true (klen < len);
  assert_non_null (strstr (data, profile));

  /* a hit answers what the entry holds: an instruction changed there
   * (the last, a RET) comes back */
  data[len - 1] ^= 1;
  assert_int_equal (fs_write_atomic (path, data, len, 0600, false, &err), 0);
  char *hit = get (tmp, profile);
  assert_string_not_equal (hit, fresh);
  free (hit);

  /* an entry made for another key is not used, and is made again */
  data[len - 1] ^= 1;
  char *k = strstr (data, "kernel ");
  assert_non_null (k);
  k[0] = 'K';
  assert_int_equal (fs_write_atomic (path, data, len, 0600, false, &err), 0);
  hit = get (tmp, profile);
  assert_string_equal (hit, fresh);
  free (hit);

  /* a truncated program is not used either */
  assert_int_equal (fs_write_atomic (path, data, klen + 5, 0600, false, &err),
                    0);
  hit = get (tmp, profile);
  assert_string_equal (hit, fresh);
  free (hit);
  free (data);
  free (path);
  free (fresh);
  free (profile);
}

static void
test_unsupported (void **state)
{
  (void)state;
  const char *profiles[] = {
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}",
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
    "[{\"names\":[\"bpf\"],\"action\":\"SCMP_ACT_KILL\"}]}",
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
    "[{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":"
    "[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
    "[]",
    "not json",
  };
  for (size_t i = 0; i < sizeof profiles / sizeof *profiles; i++)
    {
      char *b64 = NULL;
      const char *why = NULL;
      ohr_error_t err = NULL;
      assert_int_equal (seccomp_bpf_get (tmp, profiles[i], &b64, &why, &err),
                        0);
      assert_null (b64);
      assert_non_null (why);
    }
}

/* config.json with the profile's text put in as it is (what run mode
 * does) is the one generated from the allowed list: one text for the
 * runtime's section and the program's key. */
static void
test_spec_same_text (void **state)
{
  (void)state;
  char *args[] = { "/s", NULL };
  char *allowed[] = { "ptrace", NULL };
  struct spec_input in = {
    .rootfs = "/r", .args = args, .cwd = "/", .syscalls_allowed = allowed
  };
  ohr_error_t err = NULL;
  char *generated = NULL, *put = NULL;
  assert_int_equal (spec_generate (&in, &generated, NULL, &err), 0);
  in.seccomp_json = seccomp_profile_json (allowed);
  assert_non_null (in.seccomp_json);
  assert_int_equal (spec_generate (&in, &put, NULL, &err), 0);
  assert_string_equal (put, generated);
  assert_null (strstr (put, "\"ptrace\""));
  free ((char *)in.seccomp_json);
  free (generated);
  free (put);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_program_denies),
    cmocka_unit_test (test_spec_same_text),
    cmocka_unit_test_setup_teardown (test_cache, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_unsupported, setup_tmp,
                                     teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
