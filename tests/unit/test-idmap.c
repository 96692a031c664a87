/* test-idmap.c: idmap_choose, the host ids of the container's root as
 * root, on passwd, group, subuid and subgid files the test writes: the
 * subid entry of oci-host-runner, the reserved range, a NAME, a first id,
 * and every refusal (a user, a group or another subid range inside the
 * range, a missing or short entry, 0 in the range, a malformed entry). */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/idmap.h"
#include "util/error.h"
#include "util/fs.h"

struct fixture
{
  char dir[64];
  char passwd[96], group[96], subuid[96], subgid[96];
  struct idmap_files files;
};

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  assert_non_null (f);
  strcpy (f->dir, "/tmp/test-idmap-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->passwd, sizeof f->passwd, "%s/passwd", f->dir);
  snprintf (f->group, sizeof f->group, "%s/group", f->dir);
  snprintf (f->subuid, sizeof f->subuid, "%s/subuid", f->dir);
  snprintf (f->subgid, sizeof f->subgid, "%s/subgid", f->dir);
  write_file (f->passwd, "root:x:0:0:root:/root:/bin/bash\n"
                         "alice:x:1000:1000::/home/alice:/bin/bash\n"
                         "nobody:x:65534:65534::/:/usr/sbin/nologin\n");
  write_file (f->group, "root:x:0:\nalice:x:1000:\nnogroup:x:65534:\n");
  write_file (f->subuid, "alice:100000:65536\n");
  write_file (f->subgid, "alice:100000:65536\n");
  f->files = (struct idmap_files){ f->passwd, f->group, f->subuid, f->subgid };
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  fs_rm_rf (f->dir, NULL);
  free (f);
  return 0;
}

/* idmap_choose's error message, or NULL on success (*out set). */
static char *
choose (struct fixture *f, const char *want, struct idmap *out)
{
  ohr_error_t err = NULL;
  if (idmap_choose (want, &f->files, out, &err) == 0)
    {
      assert_null (err);
      return NULL;
    }
  assert_non_null (err);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  char *msg = strdup (err->msg);
  ohr_error_free (&err);
  return msg;
}

static void
assert_refused (struct fixture *f, const char *want, const char *part)
{
  struct idmap m;
  char *msg = choose (f, want, &m);
  assert_non_null (msg);
  if (strstr (msg, part) == NULL)
    fail_msg ("'%s' lacks '%s'", msg, part);
  free (msg);
}

static void
test_reserved_range_by_default (void **state)
{
  struct fixture *f = *state;
  struct idmap m;
  assert_null (choose (f, NULL, &m));
  assert_int_equal (m.uid, IDMAP_RESERVED_START);
  assert_int_equal (m.gid, IDMAP_RESERVED_START);
  assert_int_equal (m.size, IDMAP_SIZE);
  assert_null (choose (f, "auto", &m));
  assert_int_equal (m.uid, IDMAP_RESERVED_START);
  assert_true (idmap_has_uid (&m, IDMAP_RESERVED_START + IDMAP_SIZE - 1));
  assert_false (idmap_has_uid (&m, IDMAP_RESERVED_START + IDMAP_SIZE));
  assert_false (idmap_has_gid (&m, IDMAP_RESERVED_START - 1));
  assert_false (idmap_has_uid (&m, 0));
}

static void
test_subid_entry_wins (void **state)
{
  struct fixture *f = *state;
  write_file (f->subuid, "alice:100000:65536\n"
                         "oci-host-runner:300000:131072\n");
  write_file (f->subgid, "alice:100000:65536\n"
                         "oci-host-runner:400000:65536\n");
  struct idmap m;
  assert_null (choose (f, NULL, &m));
  assert_int_equal (m.uid, 300000);
  assert_int_equal (m.gid, 400000);
  assert_int_equal (m.size, IDMAP_SIZE);
  /* by name too, and an entry may share ids with another's */
  assert_null (choose (f, "alice", &m));
  assert_int_equal (m.uid, 100000);
}

static void
test_first_id (void **state)
{
  struct fixture *f = *state;
  struct idmap m;
  assert_null (choose (f, "200000", &m));
  assert_int_equal (m.uid, 200000);
  assert_int_equal (m.gid, 200000);
}

static void
test_conflicts_named (void **state)
{
  struct fixture *f = *state;
  /* 1000 is alice's uid and gid; 65534 is nobody */
  assert_refused (f, "999", "holds user 1000 ('alice') of ");
  assert_refused (f, "60000", "holds user 65534 ('nobody')");
  write_file (f->passwd, "root:x:0:0::/:/bin/sh\n");
  assert_refused (f, "999", "holds group 1000 ('alice') of ");
  assert_refused (f, "150000", "overlaps the range 100000-165535 of 'alice'");
  /* the default range, taken by a user: the error says what to do */
  char line[128];
  snprintf (line, sizeof line, "late:x:%u:%u::/:/bin/sh\n",
            IDMAP_RESERVED_START + 5, IDMAP_RESERVED_START + 5);
  write_file (f->passwd, line);
  assert_refused (f, NULL, "add an 'oci-host-runner' entry to ");
}

static void
test_bad_entries (void **state)
{
  struct fixture *f = *state;
  assert_refused (f, "nobody-here", "no entry for 'nobody-here' in ");
  write_file (f->subuid, "oci-host-runner:300000:65536\n");
  write_file (f->subgid, "alice:100000:65536\n");
  assert_refused (f, NULL, "has an entry in ");
  write_file (f->subgid, "oci-host-runner:300000:1000\n");
  assert_refused (f, NULL, "must hold at least 65536 ids");
  write_file (f->subuid, "oci-host-runner:lots:65536\n");
  assert_refused (f, NULL, "line 1: entry of 'oci-host-runner' is not ");
  assert_refused (f, "0", "must not contain 0");
  assert_refused (f, "4294967000", "must not contain 0 nor reach");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_reserved_range_by_default, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_subid_entry_wins, setup, teardown),
    cmocka_unit_test_setup_teardown (test_first_id, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conflicts_named, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_entries, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
