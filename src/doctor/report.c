/* report.c: a report as doctor prints it: one line per check, or a JSON
 * array (see doctor.h). */
#define _GNU_SOURCE
#include "doctor/doctor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

static const char *
status_word (enum doctor_status s)
{
  return s == DOCTOR_OK ? "ok" : s == DOCTOR_WARN ? "warn" : "FAIL";
}

char *
doctor_format_line (const struct doctor_check *c)
{
  char *s = NULL;
  if (asprintf (&s, "%-4s %s: %s%s%s", status_word (c->status), c->name,
                c->detail ? c->detail : "",
                c->fix && c->status != DOCTOR_OK ? "; fix: " : "",
                c->fix && c->status != DOCTOR_OK ? c->fix : "")
      < 0)
    return NULL;
  return s;
}

static yajl_gen_status
gen_str (yajl_gen g, const char *s)
{
  return s ? yajl_gen_string (g, (const unsigned char *)s, strlen (s))
           : yajl_gen_null (g);
}

int
doctor_report_json (const struct doctor_report *r, char **out, size_t *out_len,
                    ohr_error_t *err)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "doctor");
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  yajl_gen_status st = yajl_gen_array_open (g);
  for (size_t i = 0; st == yajl_gen_status_ok && i < r->n; i++)
    {
      const struct doctor_check *c = &r->v[i];
      if ((st = yajl_gen_map_open (g)) != yajl_gen_status_ok
          || (st = gen_str (g, "check")) != yajl_gen_status_ok
          || (st = gen_str (g, c->name)) != yajl_gen_status_ok
          || (st = gen_str (g, "status")) != yajl_gen_status_ok
          || (st = gen_str (g, status_word (c->status)[0] == 'F'
                                   ? "fail"
                                   : status_word (c->status)))
                 != yajl_gen_status_ok
          || (st = gen_str (g, "detail")) != yajl_gen_status_ok
          || (st = gen_str (g, c->detail)) != yajl_gen_status_ok
          || (st = gen_str (g, "fix")) != yajl_gen_status_ok
          || (st = gen_str (g, c->status != DOCTOR_OK ? c->fix : NULL))
                 != yajl_gen_status_ok)
        break;
      st = yajl_gen_map_close (g);
    }
  if (st == yajl_gen_status_ok)
    st = yajl_gen_array_close (g);
  const unsigned char *buf;
  size_t len;
  int r2 = 0;
  if (st != yajl_gen_status_ok
      || yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    r2 = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                        "doctor: cannot write JSON (status %d)", (int)st);
  else if ((*out = strndup ((const char *)buf, len)) == NULL)
    r2 = ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "doctor");
  else
    *out_len = len;
  yajl_gen_free (g);
  return r2;
}
