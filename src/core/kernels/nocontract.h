/*
** nocontract.h: included at the top of a kernel file whose loops must
** give the same bits on every ISA: forbids contracting a * b + c into one
** fused multiply-add (one rounding where the portable loop, on a CPU or
** build without FMA, rounds twice). GCC never contracts in ISO C mode
** (make's -std=c99), but LuaRocks compiles in GNU mode, and clang
** contracts by default. Applies to the functions defined after it.
*/
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
