/* semver.c: see semver.h.  The grammar and the matching rules follow the
 * semver crate (parse.rs, eval.rs) that Cargo uses, so a requirement in a
 * policy means what it means in Cargo.toml. */
#define _GNU_SOURCE
#include "policy/semver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* Cargo's limit: more is certainly a mistake, and it bounds the work. */
#define MAX_COMPARATORS 32

enum op
{
  OP_EXACT,
  OP_GREATER,
  OP_GREATER_EQ,
  OP_LESS,
  OP_LESS_EQ,
  OP_TILDE,
  OP_CARET,
  OP_WILDCARD, /* "1.*", "1.2.*": exact on the components given */
};

struct comparator
{
  enum op op;
  uint64_t major;
  uint64_t minor;
  uint64_t patch;
  bool has_minor; /* false for "1", "1.*" */
  bool has_patch;
  char *pre; /* NULL when none */
};

struct semver_req
{
  size_t n; /* 0 is "*": matches every release */
  struct comparator c[MAX_COMPARATORS];
};

/* A cursor over the text being parsed, and what to call it in errors. */
struct parser
{
  const char *text;
  const char *p;
  const char *what; /* "version" or "version requirement" */
  ohr_error_t *err;
};

static int fail (struct parser *ps, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
fail (struct parser *ps, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ohr_error_vset (ps->err, EINVAL, OHR_ERR_USAGE, fmt, ap);
  va_end (ap);
  return ohr_error_wrap (ps->err, "invalid %s '%s'", ps->what, ps->text);
}

/* Describe the character at p for an error message; bytes that would
 * garble the message are shown in hex. */
static const char *
describe_char (const char *p, char buf[16])
{
  unsigned char c = (unsigned char)*p;
  if (c == '\0')
    return "end of text";
  if (c < 0x20 || c >= 0x7f)
    snprintf (buf, 16, "byte 0x%02x", c);
  else
    snprintf (buf, 16, "'%c'", c);
  return buf;
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static bool
is_ident_char (char c)
{
  return is_digit (c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || c == '-';
}

static bool
is_wildcard (char c)
{
  return c == '*' || c == 'x' || c == 'X';
}

static void
skip_spaces (struct parser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t')
    ps->p++;
}

/* A version number: digits, no leading zero (Cargo refuses "01"), no
 * overflow. */
static int
parse_number (struct parser *ps, const char *name, uint64_t *out)
{
  char buf[16];
  if (!is_digit (*ps->p))
    return fail (ps, "expected the %s version number, found %s", name,
                 describe_char (ps->p, buf));
  if (ps->p[0] == '0' && is_digit (ps->p[1]))
    return fail (ps, "leading zero in the %s version number", name);
  uint64_t v = 0;
  for (; is_digit (*ps->p); ps->p++)
    {
      uint64_t d = (uint64_t)(*ps->p - '0');
      if (v > (UINT64_MAX - d) / 10)
        return fail (ps, "the %s version number is too large", name);
      v = v * 10 + d;
    }
  *out = v;
  return 0;
}

/* Dot-separated [0-9A-Za-z-]+ identifiers.  Numeric pre-release
 * identifiers may not have leading zeros (they compare as numbers); build
 * identifiers may. */
static int
parse_identifiers (struct parser *ps, bool pre, char **out)
{
  const char *name = pre ? "pre-release" : "build metadata";
  const char *start = ps->p;
  for (;;)
    {
      const char *seg = ps->p;
      bool numeric = true;
      for (; is_ident_char (*ps->p); ps->p++)
        numeric = numeric && is_digit (*ps->p);
      size_t len = (size_t)(ps->p - seg);
      if (len == 0)
        return fail (ps, "empty %s identifier", name);
      if (pre && numeric && len > 1 && seg[0] == '0')
        return fail (ps, "leading zero in %s identifier '%.*s'", name,
                     (int)len, seg);
      if (*ps->p != '.')
        break;
      ps->p++;
    }
  char *s = strndup (start, (size_t)(ps->p - start));
  if (s == NULL)
    return ohr_error_nomem (ps->err);
  *out = s;
  return 0;
}

static int
expect_dot (struct parser *ps, const char *after)
{
  char buf[16];
  if (*ps->p != '.')
    return fail (ps, "expected '.' after the %s version number, found %s",
                 after, describe_char (ps->p, buf));
  ps->p++;
  return 0;
}

void
semver_clear (struct semver *v)
{
  free (v->pre);
  free (v->build);
  v->pre = v->build = NULL;
}

static int
parse_version (struct parser *ps, struct semver *v)
{
  char buf[16];
  if (parse_number (ps, "major", &v->major) < 0 || expect_dot (ps, "major") < 0
      || parse_number (ps, "minor", &v->minor) < 0
      || expect_dot (ps, "minor") < 0
      || parse_number (ps, "patch", &v->patch) < 0)
    return -1;
  if (*ps->p == '-' && (ps->p++, parse_identifiers (ps, true, &v->pre) < 0))
    return -1;
  if (*ps->p == '+' && (ps->p++, parse_identifiers (ps, false, &v->build) < 0))
    return -1;
  if (*ps->p != '\0')
    return fail (ps, "unexpected %s after the version",
                 describe_char (ps->p, buf));
  return 0;
}

int
semver_parse (const char *text, struct semver *out, ohr_error_t *err)
{
  struct parser ps = { text, text, "version", err };
  struct semver v = { 0 };
  if (parse_version (&ps, &v) < 0)
    {
      semver_clear (&v);
      return -1;
    }
  *out = v;
  return 0;
}

/* ---- precedence */

static int
cmp_u64 (uint64_t a, uint64_t b)
{
  return a < b ? -1 : a > b;
}

/* One pre-release identifier: numeric ones compare as numbers (no leading
 * zeros, so a shorter one is smaller) and below alphanumeric ones, which
 * compare in ASCII order. */
static int
cmp_identifier (const char *a, size_t alen, const char *b, size_t blen)
{
  bool anum = strspn (a, "0123456789") >= alen;
  bool bnum = strspn (b, "0123456789") >= blen;
  if (anum != bnum)
    return anum ? -1 : 1;
  if (anum && alen != blen)
    return alen < blen ? -1 : 1;
  int c = memcmp (a, b, alen < blen ? alen : blen);
  if (c != 0)
    return c < 0 ? -1 : 1;
  return cmp_u64 (alen, blen);
}

/* NULL (a release) sorts after every pre-release of the same version. */
static int
cmp_pre (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return (a == NULL) - (b == NULL);
  for (;;)
    {
      size_t alen = strcspn (a, "."), blen = strcspn (b, ".");
      int c = cmp_identifier (a, alen, b, blen);
      if (c != 0)
        return c;
      a += alen;
      b += blen;
      if (*a == '\0' || *b == '\0')
        return (*a != '\0') - (*b != '\0');
      a++;
      b++;
    }
}

int
semver_compare (const struct semver *a, const struct semver *b)
{
  int c = cmp_u64 (a->major, b->major);
  if (c == 0)
    c = cmp_u64 (a->minor, b->minor);
  if (c == 0)
    c = cmp_u64 (a->patch, b->patch);
  if (c == 0)
    c = cmp_pre (a->pre, b->pre);
  return c;
}

/* ---- requirements */

static const char *
parse_op (const char *p, enum op *op, bool *explicit)
{
  static const struct
  {
    const char *text;
    enum op op;
  } ops[] = {
    { ">=", OP_GREATER_EQ }, { "<=", OP_LESS_EQ }, { "=", OP_EXACT },
    { ">", OP_GREATER },     { "<", OP_LESS },     { "~", OP_TILDE },
    { "^", OP_CARET },
  };
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    {
      size_t n = strlen (ops[i].text);
      if (strncmp (p, ops[i].text, n) == 0)
        {
          *op = ops[i].op;
          *explicit = true;
          return p + n;
        }
    }
  *op = OP_CARET;
  *explicit = false;
  return p;
}

/* MINOR or PATCH: a number, or a wildcard that makes the component absent
 * (and, without an operator, the whole comparator a wildcard one). */
static int
parse_component (struct parser *ps, const char *name, bool after_wildcard,
                 struct comparator *c, bool explicit_op, uint64_t *out,
                 bool *present)
{
  if (is_wildcard (*ps->p))
    {
      ps->p++;
      *present = false;
      if (!explicit_op)
        c->op = OP_WILDCARD;
      return 0;
    }
  if (after_wildcard)
    return fail (ps, "a number after a wildcard: use '*' for the %s too",
                 name);
  *present = true;
  return parse_number (ps, name, out);
}

static int
parse_comparator (struct parser *ps, struct comparator *c)
{
  bool explicit_op;
  ps->p = parse_op (ps->p, &c->op, &explicit_op);
  skip_spaces (ps);
  if (is_wildcard (*ps->p))
    return fail (ps, "a wildcard major version must be the only "
                     "comparator: write '*' alone");
  if (parse_number (ps, "major", &c->major) < 0)
    return -1;
  if (*ps->p == '.'
      && (ps->p++, parse_component (ps, "minor", false, c, explicit_op,
                                    &c->minor, &c->has_minor)
                       < 0))
    return -1;
  /* a '.' here always follows a minor part; a wildcard minor forces a
   * wildcard patch ("1.*.3" means nothing) */
  if (*ps->p == '.'
      && (ps->p++, parse_component (ps, "patch", !c->has_minor, c, explicit_op,
                                    &c->patch, &c->has_patch)
                       < 0))
    return -1;
  if (c->has_patch && *ps->p == '-'
      && (ps->p++, parse_identifiers (ps, true, &c->pre) < 0))
    return -1;
  /* Cargo accepts and ignores build metadata in requirements. */
  cleanup_free char *build = NULL;
  if (c->has_patch && *ps->p == '+'
      && (ps->p++, parse_identifiers (ps, false, &build) < 0))
    return -1;
  return 0;
}

void
semver_req_free (struct semver_req *req)
{
  if (req == NULL)
    return;
  for (size_t i = 0; i < req->n; i++)
    free (req->c[i].pre);
  free (req);
}

/* "*" (or x, X) is the whole requirement or an error, as in Cargo. */
static int
parse_star (struct parser *ps, bool *is_star)
{
  *is_star = false;
  if (!is_wildcard (*ps->p))
    return 0;
  const char *save = ps->p;
  ps->p++;
  skip_spaces (ps);
  if (*ps->p == '\0')
    {
      *is_star = true;
      return 0;
    }
  if (*ps->p == ',')
    return fail (ps, "'%c' must be the only comparator", *save);
  ps->p = save; /* "x1" and the like: let the comparator parser explain */
  return 0;
}

static int
parse_comparators (struct parser *ps, struct semver_req *req)
{
  char buf[16];
  for (;;)
    {
      if (req->n == MAX_COMPARATORS)
        return fail (ps, "more than %d comparators", MAX_COMPARATORS);
      if (parse_comparator (ps, &req->c[req->n++]) < 0)
        return -1;
      skip_spaces (ps);
      if (*ps->p == '\0')
        return 0;
      if (*ps->p != ',')
        return fail (ps, "expected ',' between comparators, found %s",
                     describe_char (ps->p, buf));
      ps->p++;
      skip_spaces (ps);
    }
}

int
semver_req_parse (const char *text, struct semver_req **out, ohr_error_t *err)
{
  struct parser ps = { text, text, "version requirement", err };
  cleanup_semver_req struct semver_req *req = calloc (1, sizeof *req);
  if (req == NULL)
    return ohr_error_nomem (err);
  bool star;
  skip_spaces (&ps);
  if (parse_star (&ps, &star) < 0)
    return -1;
  if (!star && parse_comparators (&ps, req) < 0)
    return -1;
  *out = steal_pointer (&req);
  return 0;
}

/* ---- matching (eval.rs) */

static bool
pre_equal (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static bool
matches_exact (const struct comparator *c, const struct semver *v)
{
  return v->major == c->major && (!c->has_minor || v->minor == c->minor)
         && (!c->has_patch || v->patch == c->patch)
         && pre_equal (v->pre, c->pre);
}

/* sign of v - c on the components c has; absent components make the
 * comparison inconclusive (returns 0 and *partial = true). */
static int
cmp_to (const struct comparator *c, const struct semver *v, bool *partial)
{
  *partial = false;
  if (v->major != c->major)
    return cmp_u64 (v->major, c->major);
  if (!c->has_minor)
    return (*partial = true), 0;
  if (v->minor != c->minor)
    return cmp_u64 (v->minor, c->minor);
  if (!c->has_patch)
    return (*partial = true), 0;
  if (v->patch != c->patch)
    return cmp_u64 (v->patch, c->patch);
  return cmp_pre (v->pre, c->pre);
}

static bool
matches_greater (const struct comparator *c, const struct semver *v)
{
  bool partial;
  return cmp_to (c, v, &partial) > 0;
}

static bool
matches_less (const struct comparator *c, const struct semver *v)
{
  bool partial;
  return cmp_to (c, v, &partial) < 0;
}

/* ~1.2.3: >=1.2.3, <1.3.0; ~1.2: 1.2.*; ~1: 1.* */
static bool
matches_tilde (const struct comparator *c, const struct semver *v)
{
  if (v->major != c->major || (c->has_minor && v->minor != c->minor))
    return false;
  if (c->has_patch && v->patch != c->patch)
    return v->patch > c->patch;
  return cmp_pre (v->pre, c->pre) >= 0;
}

/* ^: the leftmost non-zero component of c must not change. */
static bool
matches_caret (const struct comparator *c, const struct semver *v)
{
  if (v->major != c->major)
    return false;
  if (!c->has_minor)
    return true;
  if (!c->has_patch)
    return c->major > 0 ? v->minor >= c->minor : v->minor == c->minor;
  if (c->major > 0)
    {
      if (v->minor != c->minor)
        return v->minor > c->minor;
      if (v->patch != c->patch)
        return v->patch > c->patch;
    }
  else if (c->minor > 0)
    {
      if (v->minor != c->minor)
        return false;
      if (v->patch != c->patch)
        return v->patch > c->patch;
    }
  else if (v->minor != c->minor || v->patch != c->patch)
    return false;
  return cmp_pre (v->pre, c->pre) >= 0;
}

static bool
matches_comparator (const struct comparator *c, const struct semver *v)
{
  switch (c->op)
    {
    case OP_EXACT:
    case OP_WILDCARD:
      return matches_exact (c, v);
    case OP_GREATER:
      return matches_greater (c, v);
    case OP_GREATER_EQ:
      return matches_exact (c, v) || matches_greater (c, v);
    case OP_LESS:
      return matches_less (c, v);
    case OP_LESS_EQ:
      return matches_exact (c, v) || matches_less (c, v);
    case OP_TILDE:
      return matches_tilde (c, v);
    case OP_CARET:
      return matches_caret (c, v);
    }
  return false;
}

/* A pre-release only matches a comparator that opted into pre-releases of
 * that very version. */
static bool
pre_is_compatible (const struct comparator *c, const struct semver *v)
{
  return c->major == v->major && c->has_minor && c->minor == v->minor
         && c->has_patch && c->patch == v->patch && c->pre != NULL;
}

bool
semver_req_matches (const struct semver_req *req, const struct semver *v)
{
  for (size_t i = 0; i < req->n; i++)
    if (!matches_comparator (&req->c[i], v))
      return false;
  if (v->pre == NULL)
    return true;
  for (size_t i = 0; i < req->n; i++)
    if (pre_is_compatible (&req->c[i], v))
      return true;
  return false;
}

int
semver_matches (const char *req, const char *version, ohr_error_t *err)
{
  cleanup_semver_req struct semver_req *r = NULL;
  struct semver v;
  if (semver_req_parse (req, &r, err) < 0
      || semver_parse (version, &v, err) < 0)
    return -1;
  bool m = semver_req_matches (r, &v);
  semver_clear (&v);
  return m ? 1 : 0;
}
