/* report.c: a report as doctor prints it: one line per check, or a JSON
 * array (see doctor.h). */
#define _GNU_SOURCE
#include "doctor/doctor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "util/jsongen.h"

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
gen_check_entry (yajl_gen g, const struct doctor_check *c)
{
  const char *status = c->status == DOCTOR_OK     ? "ok"
                       : c->status == DOCTOR_WARN ? "warn"
                                                  : "fail";
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "check", c->name));
  G (gen_kv (g, "status", status));
  G (gen_kv (g, "detail", c->detail));
  G (gen_kv (g, "fix", c->status != DOCTOR_OK ? c->fix : NULL));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

int
doctor_report_json (const struct doctor_report *r, char **out, size_t *out_len,
                    ohr_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = gen_new ();
  if (g == NULL)
    return ohr_error_nomem (err);
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_status st;
  G (yajl_gen_array_open (g));
  for (size_t i = 0; i < r->n; i++)
    G (gen_check_entry (g, &r->v[i]));
  G (yajl_gen_array_close (g));
fail:
  if (gen_check (st, "a value", err) < 0)
    return ohr_error_wrap (err, "doctor");
  if ((*out = gen_text (g, out_len)) == NULL)
    return ohr_error_nomem (err);
  return 0;
}
