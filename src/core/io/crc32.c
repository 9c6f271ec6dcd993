/*
** crc32.c: CRC-32 (ISO 3309: the polynomial of gzip, zlib and PNG), eight
** bytes per step ("slicing by 8", about 4x the byte-at-a-time loop; gzip
** data sets are tens of megabytes). T[0] is the classic byte table, made
** by the reflected shift register with polynomial 0xEDB88320; T[k][n] =
** T[0][T[k-1][n] & 0xFF] ^ (T[k-1][n] >> 8) is n followed by k zero
** bytes. The tables are filled by a constructor, when the library is
** loaded (dlopen, or program start when linked in), before any thread can
** call bp_crc32; after that they are only read. (A pthread_once check in
** bp_crc32 cost 10% of its speed: GCC laid the loop out worse around the
** call.)
*/
#include "io/crc32.h"

static uint32_t T[8][256];

__attribute__((constructor)) static void make_tables(void) {
  uint32_t n, k, c;
  for (n = 0; n < 256; n++) {
    for (c = n, k = 0; k < 8; k++) c = c >> 1 ^ (0xEDB88320u & (0u - (c & 1u)));
    T[0][n] = c;
  }
  for (k = 1; k < 8; k++)
    for (n = 0; n < 256; n++) T[k][n] = T[0][T[k - 1][n] & 0xFF] ^ T[k - 1][n] >> 8;
}

uint32_t bp_crc32(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    c = T[7][lo & 0xFF] ^ T[6][(lo >> 8) & 0xFF] ^ T[5][(lo >> 16) & 0xFF] ^
        T[4][lo >> 24] ^ T[3][p[4]] ^ T[2][p[5]] ^ T[1][p[6]] ^ T[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = T[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}
