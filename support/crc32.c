/*
 * support/crc32.c: slicing-by-8 CRC-32 (support/crc32.h).
 *
 * Table t[0] is the classic byte-at-a-time table; t[k][b] is the CRC
 * contribution of byte b followed by k zero bytes, so eight bytes fold
 * into the CRC with eight independent lookups.  Bytes are read one by
 * one, so the result does not depend on the host's byte order.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "support/crc32.h"

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xFFu];
}

uint32_t snn_crc32(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&table_once, build_tables);
    const uint8_t *p = data;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        crc = table[7][lo & 0xFFu] ^ table[6][(lo >> 8) & 0xFFu] ^ table[5][(lo >> 16) & 0xFFu] ^
              table[4][lo >> 24] ^ table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^
              table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFFu];
    return ~crc;
}
