/*
** rng.h: the library's own pseudo-random generator (xoshiro128**, seeded
** through splitmix64). Same seed, same stream, on every platform: we never
** use rand(), whose sequence differs between C libraries. The state is a
** plain value owned by the caller; there is no global generator.
*/
#ifndef BP_RNG_H
#define BP_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct bp_rng {
  uint32_t s[4];
} bp_rng;

void bp_rng_seed(bp_rng *r, uint64_t seed);
uint32_t bp_rng_next(bp_rng *r);
/* Uniform in [0, 1), 24 random bits: exactly representable as a float. */
double bp_rng_uniform(bp_rng *r);
/* The next n uniforms as bp_rng_uniform would give them one by one, as
** the integers u 2^24 (0 .. 2^24 - 1): the generator in a tight loop,
** several times faster than a call per value. */
void bp_rng_fill24(bp_rng *r, uint32_t *out, size_t n);
/* Standard normal (Box-Muller; one value per call, no cached spare, so the
** stream position depends only on the number of calls). */
double bp_rng_normal(bp_rng *r);
/* Uniform integer in [0, n), without modulo bias. n must be > 0. */
uint32_t bp_rng_below(bp_rng *r, uint32_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void bp_rng_shuffle(bp_rng *r, uint32_t *idx, uint32_t n);

#endif
