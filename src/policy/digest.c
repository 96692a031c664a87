/* policy-digest.c: policy_digest() (see policy.h), apart from policy.c so
 * that run mode, which never asks for it, does not link libcrypto. */
#define _GNU_SOURCE
#include "policy/policy.h"

const char *
policy_digest (struct policy *p)
{
  if (p->digest[0] == '\0' && p->data)
    digest_sha256 (p->data, p->len, p->digest);
  return p->digest;
}
