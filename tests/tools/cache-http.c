/* cache-http: drive the remote result-cache client from the command line,
 * for tests/integration/test-cache-http.sh.
 *
 *   cache-http [--connect-timeout-ms N] [--timeout-ms N] [--retries N]
 *              [--state-dir DIR] [--build-id ID]
 *              URL get ac|cas HEX OUT | has ac|cas HEX | put ac|cas HEX FILE
 *
 * Prints one line: "found N bytes" (the bytes go to OUT, "-" for none),
 * "not found", "there", "stored".  Errors: "cache-http: MESSAGE" on
 * stderr.  Exit 0 found/there/stored, 1 not found, 2 unavailable, 3 any
 * other error, 64 usage.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/http.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

static void
usage (void)
{
  fprintf (stderr,
           "usage: cache-http [--connect-timeout-ms N] [--timeout-ms N] "
           "[--retries N] [--state-dir DIR] [--build-id ID] URL get ac|cas "
           "HEX OUT | has ac|cas HEX | put "
           "ac|cas HEX FILE\n");
  exit (64);
}

static int
exit_of (int ret)
{
  if (ret == CACHE_HTTP_UNAVAILABLE)
    return 2;
  return ret < 0 ? 3 : 0;
}

static int
fail (int ret, ohr_error_t *err)
{
  fprintf (stderr, "cache-http: %s\n",
           *err && (*err)->msg ? (*err)->msg : "failed");
  ohr_error_free (err);
  return exit_of (ret);
}

int
main (int argc, char **argv)
{
  struct cache_http_options opt;
  cache_http_options_init (&opt);
  int i = 1;
  for (; i + 1 < argc && strncmp (argv[i], "--", 2) == 0; i += 2)
    {
      long v = strtol (argv[i + 1], NULL, 10);
      if (strcmp (argv[i], "--connect-timeout-ms") == 0)
        opt.connect_timeout_ms = v;
      else if (strcmp (argv[i], "--timeout-ms") == 0)
        opt.timeout_ms = v;
      else if (strcmp (argv[i], "--retries") == 0)
        opt.retries = (int)v;
      else if (strcmp (argv[i], "--state-dir") == 0)
        opt.state_dir = argv[i + 1];
      else if (strcmp (argv[i], "--build-id") == 0)
        opt.build_id = argv[i + 1];
      else
        usage ();
    }
  if (argc - i < 4)
    usage ();
  const char *url = argv[i], *cmd = argv[i + 1], *nsname = argv[i + 2];
  const char *hex = argv[i + 3];
  int ns = strcmp (nsname, "ac") == 0    ? OHR_NS_AC
           : strcmp (nsname, "cas") == 0 ? OHR_NS_CAS
                                         : -1;
  if (ns < 0)
    usage ();

  ohr_error_t err = NULL;
  struct cache_http *c = NULL;
  if (cache_http_new (url, &opt, &c, &err) < 0)
    return fail (-1, &err);
  int ret, code = 3;
  if (strcmp (cmd, "get") == 0 && argc - i == 5)
    {
      struct buf b = { 0 };
      ret = cache_http_get (c, ns, hex, &b, &err);
      if (ret == 1 && strcmp (argv[i + 4], "-") != 0
          && fs_write_atomic (argv[i + 4], b.data, b.len, 0644, false, &err)
                 < 0)
        ret = -1;
      if (ret == 1)
        printf ("found %zu bytes\n", b.len);
      else if (ret == 0)
        printf ("not found\n");
      buf_clear (&b);
      code = ret == 1 ? 0 : ret == 0 ? 1 : fail (ret, &err);
    }
  else if (strcmp (cmd, "has") == 0 && argc - i == 4)
    {
      ret = cache_http_has (c, ns, hex, &err);
      if (ret >= 0)
        printf ("%s\n", ret ? "there" : "not found");
      code = ret == 1 ? 0 : ret == 0 ? 1 : fail (ret, &err);
    }
  else if (strcmp (cmd, "put") == 0 && argc - i == 5)
    {
      cleanup_free char *data = NULL;
      size_t len = 0;
      ret = fs_read_file (argv[i + 4], (size_t)1 << 30, &data, &len, &err);
      if (ret >= 0)
        ret = cache_http_put (c, ns, hex, data, len, &err);
      if (ret >= 0)
        printf ("stored\n");
      code = ret >= 0 ? 0 : fail (ret, &err);
    }
  else
    usage ();
  cache_http_free (c);
  return code;
}
