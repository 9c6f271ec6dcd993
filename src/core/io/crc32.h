/*
** crc32.h: the CRC-32 that gzip and our model files use.
*/
#ifndef BP_CRC32_H
#define BP_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Update crc (0 to start) with n bytes: bp_crc32(bp_crc32(0, a, na), b, nb)
** equals the CRC of a followed by b. */
uint32_t bp_crc32(uint32_t crc, const void *data, size_t n);

#endif
