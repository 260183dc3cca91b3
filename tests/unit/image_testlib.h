/*
 * tests/unit/image_testlib.h: what tests that damage images share.
 *
 * snn_test_reseal recomputes every checksum of an image in the container
 * (docs/image-format.md: each section's CRC, the section table's, the
 * header's) after a test changed its bytes, so that the reader meets the
 * change itself rather than a checksum error.  The image must hold its
 * whole section table.
 */
#ifndef SNN_TESTS_IMAGE_TESTLIB_H
#define SNN_TESTS_IMAGE_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi/image.h"
#include "support/crc32.h"

static inline void snn_test_reseal(uint8_t *img)
{
    struct snn_image_header h;
    memcpy(&h, img, sizeof h);
    for (uint32_t k = 0; k < h.n_sections; k++) {
        struct snn_image_section s;
        memcpy(&s, img + sizeof h + sizeof s * k, sizeof s);
        s.crc = snn_crc32(0, img + s.off_lo, s.bytes);
        memcpy(img + sizeof h + sizeof s * k, &s, sizeof s);
    }
    h.table_crc = snn_crc32(0, img + sizeof h, sizeof(struct snn_image_section) * h.n_sections);
    h.header_crc = snn_crc32(0, &h, offsetof(struct snn_image_header, header_crc));
    memcpy(img, &h, sizeof h);
}

#endif
