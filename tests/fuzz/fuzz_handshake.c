/* libFuzzer target: a hostile proxy's replies, fed to the handshake machine in the chunk sizes
 * a driver would use. The machine must never read past what it was given, never ask for more
 * than its reply, and always end DONE or FAILED with a sane errno. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct proxy proxy = { .kind = PROXY_SOCKS5, .has_auth = data[0] & 1 };
    strcpy(proxy.user, "user");
    strcpy(proxy.pass, "pass");
    struct socks_target target = { .is_name = (data[0] & 2) != 0, .port = 80 };
    strcpy(target.name, "example.com");
    target.addr.in4.sin_family = AF_INET;
    struct handshake h;
    handshake_start(&h, &proxy, &target);
    size_t off = 1;
    /* Chunk sizes come from the input too, so partial reads are explored. */
    while (handshake_status(&h) == HANDSHAKE_WRITE || handshake_status(&h) == HANDSHAKE_READ) {
        if (handshake_status(&h) == HANDSHAKE_WRITE) {
            size_t len;
            handshake_output(&h, &len);
            handshake_sent(&h, len);
            continue;
        }
        size_t want = handshake_wants(&h);
        if (want == 0 || want > SOCKS5_MSG_MAX)
            abort();
        if (off >= size) {
            handshake_eof(&h);
            break;
        }
        size_t chunk = 1 + data[off] % want;
        off++;
        if (chunk > size - off)
            chunk = size - off;
        handshake_feed(&h, data + off, chunk);
        off += chunk;
    }
    if (handshake_status(&h) == HANDSHAKE_FAILED && handshake_error(&h) <= 0)
        abort();
    return 0;
}
