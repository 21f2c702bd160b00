/* The part of a fuzz target that answers a handshake from the input: shared by the handshake
 * targets so that each explores partial reads the same way. */
#ifndef SOCKSIFY_FUZZ_FEED_H
#define SOCKSIFY_FUZZ_FEED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "handshake.h"

/* Feeds h (which is reading) the next chunk of data from *off: the chunk's size comes from the
 * input too (one byte, then that many bytes, at most what h wants), so partial reads are
 * explored. Aborts if h wants nothing or more than max_want bytes. false at the input's end
 * (h has had its EOF then). */
static inline bool fuzz_feed(struct handshake *h, const uint8_t *data, size_t size, size_t *off, size_t max_want)
{
    size_t want = handshake_wants(h);
    if (want == 0 || want > max_want)
        abort();
    if (*off >= size) {
        handshake_eof(h);
        return false;
    }
    size_t chunk = 1 + data[*off] % want;
    (*off)++;
    if (chunk > size - *off)
        chunk = size - *off;
    handshake_feed(h, data + *off, chunk);
    *off += chunk;
    return true;
}

#endif
