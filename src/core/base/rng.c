/* rng.c: xoshiro128** by Blackman and Vigna (public domain algorithm). */
#include <math.h>

#include "base/rng.h"

static uint32_t rotl(uint32_t x, int k) {
  return (x << k) | (x >> (32 - k));
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void bp_rng_seed(bp_rng *r, uint64_t seed) {
  uint64_t a = splitmix64(&seed), b = splitmix64(&seed);
  r->s[0] = (uint32_t)a;
  r->s[1] = (uint32_t)(a >> 32);
  r->s[2] = (uint32_t)b;
  r->s[3] = (uint32_t)(b >> 32);
  /* splitmix64 never yields four zero words in a row, but be certain:
  ** the all-zero state is the one state xoshiro cannot leave. */
  if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

uint32_t bp_rng_next(bp_rng *r) {
  uint32_t *s = r->s;
  uint32_t result = rotl(s[1] * 5, 7) * 9;
  uint32_t t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

/* The state in locals, so that the step compiles to a few register
** operations per value. */
void bp_rng_fill24(bp_rng *r, uint32_t *out, size_t n) {
  uint32_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3], t;
  size_t i;
  for (i = 0; i < n; i++) {
    out[i] = (rotl(s1 * 5, 7) * 9) >> 8;
    t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
  }
  r->s[0] = s0;
  r->s[1] = s1;
  r->s[2] = s2;
  r->s[3] = s3;
}

double bp_rng_uniform(bp_rng *r) {
  return (bp_rng_next(r) >> 8) * (1.0 / 16777216.0);
}

double bp_rng_normal(bp_rng *r) {
  /* 1 - u lies in (0, 1], so the logarithm is finite. */
  double u1 = 1.0 - bp_rng_uniform(r);
  double u2 = bp_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t bp_rng_below(bp_rng *r, uint32_t n) {
  /* Lemire's method with rejection: unbiased, usually one multiply. */
  uint64_t m = (uint64_t)bp_rng_next(r) * n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    while (low < threshold) {
      m = (uint64_t)bp_rng_next(r) * n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

void bp_rng_shuffle(bp_rng *r, uint32_t *idx, uint32_t n) {
  uint32_t i;
  for (i = n; i > 1; i--) {
    uint32_t j = bp_rng_below(r, i);
    uint32_t t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
  }
}
