/*
** atomic.h: relaxed atomic loads and stores of an int, for the choices
** made once on first use (the active ISA in cpu.c, small.c's kernels):
** two threads' first calls may race to make one, and store the same value,
** which is harmless but must not be a data race. Atomic with GCC and
** clang; plain elsewhere (C99 has no atomics).
*/
#ifndef BP_ATOMIC_H
#define BP_ATOMIC_H

#if defined(__GNUC__)
#define BP_LOAD_RELAXED(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define BP_STORE_RELAXED(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)
#else
#define BP_LOAD_RELAXED(p) (*(p))
#define BP_STORE_RELAXED(p, v) (*(p) = (v))
#endif

#endif
