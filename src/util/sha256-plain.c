/* sha256-plain.c: digest.h's SHA-256 primitives (digest_sha256,
 * digest_new, digest_update, digest_final, digest_free) in plain C, after
 * FIPS 180-4.  Only the runner itself links it (it is not in libohr.a),
 * to key a run for the result cache's hit index: loading and
 * initialising libcrypto cost more than the rest of such a lookup, which
 * hashes only small messages when the memo knows the files.  On a CPU with
 * the SHA extensions it runs them (compress_ni, ~1.1 GB/s here against
 * 190 MB/s): a new store hashes every source it keys.  Everything else keeps
 * OpenSSL's (sha256.c), which is several times faster on large files.
 * test-digest checks that both give the same digests. */
#define _GNU_SOURCE
#include "util/digest.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes (FIPS 180-4, 4.2.2) */
static const uint32_t K[64]
    = { 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
        0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
        0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
        0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };

struct digest_ctx
{
  uint32_t h[8];
  uint64_t bytes;
  unsigned char block[64];
  size_t used;
};

static uint32_t
rotr (uint32_t x, int n)
{
  return (x >> n) | (x << (32 - n));
}

static void
compress (uint32_t h[8], const unsigned char *p)
{
  uint32_t w[64];
  for (int t = 0; t < 16; t++)
    w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16
           | (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
  for (int t = 16; t < 64; t++)
    {
      uint32_t s0
          = rotr (w[t - 15], 7) ^ rotr (w[t - 15], 18) ^ (w[t - 15] >> 3);
      uint32_t s1
          = rotr (w[t - 2], 17) ^ rotr (w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
           g = h[6], k = h[7];
  for (int t = 0; t < 64; t++)
    {
      uint32_t t1 = k + (rotr (e, 6) ^ rotr (e, 11) ^ rotr (e, 25))
                    + ((e & f) ^ (~e & g)) + K[t] + w[t];
      uint32_t t2 = (rotr (a, 2) ^ rotr (a, 13) ^ rotr (a, 22))
                    + ((a & b) ^ (a & c) ^ (b & c));
      k = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += k;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

/* The same block function on the SHA extensions (SHA-NI: every x86 CPU
 * since Goldmont and Zen, Intel cores since Ice Lake): sha256rnds2 does two
 * rounds on the state held as ABEF and CDGH, sha256msg1/msg2 extend the
 * message schedule four words at a time.  About 5x the plain code. */
__attribute__ ((target ("sha,sse4.1,ssse3"))) static void
compress_ni (uint32_t h[8], const unsigned char *p)
{
  /* big-endian words to lanes */
  const __m128i swap
      = _mm_set_epi64x (0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i abcd = _mm_loadu_si128 ((const __m128i *)&h[0]); /* A B C D */
  __m128i efgh = _mm_loadu_si128 ((const __m128i *)&h[4]); /* E F G H */
  __m128i badc = _mm_shuffle_epi32 (abcd, 0xB1);
  __m128i hgfe = _mm_shuffle_epi32 (efgh, 0x1B);
  /* lanes high to low: A B E F and C D G H, as sha256rnds2 takes them */
  __m128i abef = _mm_alignr_epi8 (badc, hgfe, 8);
  __m128i cdgh = _mm_blend_epi16 (hgfe, badc, 0xF0);
  const __m128i abef0 = abef, cdgh0 = cdgh;
  __m128i m[4];
  for (int i = 0; i < 4; i++)
    m[i] = _mm_shuffle_epi8 (
        _mm_loadu_si128 ((const __m128i *)(p + 16 * i)), swap);
  for (int r = 0; r < 16; r++)
    {
      if (r >= 4)
        {
          /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], t = 4r..4r+3:
           * m[r&3] holds W[4r-16..], the next three the words after */
          __m128i w16 = m[r & 3], w12 = m[(r + 1) & 3], w8 = m[(r + 2) & 3],
                  w4 = m[(r + 3) & 3];
          __m128i x = _mm_add_epi32 (_mm_sha256msg1_epu32 (w16, w12),
                                     _mm_alignr_epi8 (w4, w8, 4));
          m[r & 3] = _mm_sha256msg2_epu32 (x, w4);
        }
      __m128i wk = _mm_add_epi32 (
          m[r & 3], _mm_loadu_si128 ((const __m128i *)&K[4 * r]));
      /* two rounds: their ABEF lands in cdgh, which is what C, D, G
       * and H are two rounds later; then two more from the old ABEF */
      cdgh = _mm_sha256rnds2_epu32 (cdgh, abef, wk);
      wk = _mm_shuffle_epi32 (wk, 0x0E);
      abef = _mm_sha256rnds2_epu32 (abef, cdgh, wk);
    }
  abef = _mm_add_epi32 (abef, abef0);
  cdgh = _mm_add_epi32 (cdgh, cdgh0);
  __m128i feba = _mm_shuffle_epi32 (abef, 0x1B); /* lanes A B E F */
  __m128i dchg = _mm_shuffle_epi32 (cdgh, 0xB1); /* lanes G H C D */
  _mm_storeu_si128 ((__m128i *)&h[0], _mm_blend_epi16 (feba, dchg, 0xF0));
  _mm_storeu_si128 ((__m128i *)&h[4], _mm_alignr_epi8 (dchg, feba, 8));
}

static bool
cpu_has_sha_ni (void)
{
  unsigned a, b, c, d;
  if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & bit_SSSE3)
      || !(c & bit_SSE4_1))
    return false;
  return __get_cpuid_count (7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#else
static bool
cpu_has_sha_ni (void)
{
  return false;
}
#define compress_ni compress
#endif

/* the block function this CPU runs best, chosen on first use */
static void (*compress_fn) (uint32_t h[8], const unsigned char *p);

static void
compress_block (uint32_t h[8], const unsigned char *p)
{
  if (compress_fn == NULL)
    compress_fn = cpu_has_sha_ni () ? compress_ni : compress;
  compress_fn (h, p);
}

static void
init (struct digest_ctx *c)
{
  /* the first 32 bits of the fractional parts of the square roots of
   * the first 8 primes (5.3.3) */
  static const uint32_t h0[8]
      = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  memcpy (c->h, h0, sizeof h0);
  c->bytes = 0;
  c->used = 0;
}

static void
update (struct digest_ctx *c, const unsigned char *p, size_t len)
{
  c->bytes += len;
  if (c->used)
    {
      size_t n = 64 - c->used < len ? 64 - c->used : len;
      memcpy (c->block + c->used, p, n);
      c->used += n;
      p += n;
      len -= n;
      if (c->used < 64)
        return;
      compress_block (c->h, c->block);
      c->used = 0;
    }
  for (; len >= 64; p += 64, len -= 64)
    compress_block (c->h, p);
  memcpy (c->block, p, len);
  c->used = len;
}

static void
finish (struct digest_ctx *c, char *out)
{
  uint64_t bits = c->bytes * 8;
  unsigned char pad[72] = { 0x80 };
  size_t n = (c->used < 56 ? 56 : 120) - c->used;
  for (int i = 0; i < 8; i++)
    pad[n + i] = (unsigned char)(bits >> (56 - 8 * i));
  update (c, pad, n + 8);
  static const char hex[] = "0123456789abcdef";
  memcpy (out, "sha256:", 7);
  for (int i = 0; i < 32; i++)
    {
      unsigned char byte = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
      out[7 + 2 * i] = hex[byte >> 4];
      out[8 + 2 * i] = hex[byte & 15];
    }
  out[DIGEST_STRING_LEN] = '\0';
}

void
digest_sha256 (const void *data, size_t len, char *out)
{
  struct digest_ctx c;
  init (&c);
  update (&c, data, len);
  finish (&c, out);
}

struct digest_ctx *
digest_new (void)
{
  struct digest_ctx *c = malloc (sizeof *c);
  if (c)
    init (c);
  return c;
}

void
digest_update (struct digest_ctx *c, const void *data, size_t len)
{
  update (c, data, len);
}

void
digest_final (struct digest_ctx *c, char *out)
{
  finish (c, out);
}

void
digest_free (struct digest_ctx *c)
{
  free (c);
}
