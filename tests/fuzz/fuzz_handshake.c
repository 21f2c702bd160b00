/* libFuzzer target: a hostile proxy's replies, fed to the handshake machine in the chunk sizes
 * a driver would use. The machine must never read past what it was given, never ask for more
 * than its reply, and always end DONE or FAILED with a sane errno.
 * The first byte chooses the setup: bit 0 credentials, bit 1 a name target, bits 2-3 the kind
 * (SOCKS5, SOCKS4, SOCKS4a, HTTP CONNECT), bit 4 socks5_pipelining, bit 5 a second hop (SOCKS5)
 * in front of it, bit 6 UDP ASSOCIATE instead of CONNECT, bit 7 BIND instead (both replies: the
 * second after handshake_bind_second), so every hop kind, the chain logic, the UDP request and
 * BIND's second reply see hostile bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "fuzz_feed.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const enum proxy_kind kinds[] = { PROXY_SOCKS5, PROXY_SOCKS4, PROXY_SOCKS4, PROXY_HTTP };
    unsigned k = (data[0] >> 2) & 3;
    struct proxy proxy = { .kind = kinds[k], .remote_dns = k == 2, .has_auth = data[0] & 1,
                           .pipeline = (data[0] & 16) != 0, .port = 1080 };
    strcpy(proxy.host, "proxy.example");
    strcpy(proxy.user, "user");
    strcpy(proxy.pass, k == 1 || k == 2 ? "" : "pass");
    struct proxy first = { .kind = PROXY_SOCKS5, .has_addr = true, .port = 1080 };
    first.addr.in4.sin_family = AF_INET;
    first.addr.in4.sin_port = htons(1080);
    struct socks_target target = { .is_name = (data[0] & 2) != 0, .port = 80 };
    strcpy(target.name, "example.com");
    target.addr.in4.sin_family = AF_INET;
    const struct proxy *hops[2] = { &first, &proxy };
    struct handshake h;
    enum socks5_command cmd = (data[0] & 128) ? SOCKS5_CMD_BIND
                              : (data[0] & 64) ? SOCKS5_CMD_UDP_ASSOCIATE : SOCKS5_CMD_CONNECT;
    if (data[0] & 32)
        handshake_start_command(&h, hops, 2, &target, cmd);
    else
        handshake_start_command(&h, &hops[1], 1, &target, cmd);
    size_t off = 1;
    /* Chunk sizes come from the input too, so partial reads are explored. */
    for (;;) {
        /* BIND: the first reply is in; the second follows on the same connection. */
        if (handshake_status(&h) == HANDSHAKE_DONE && cmd == SOCKS5_CMD_BIND && !h.bind_second &&
            handshake_bind_second(&h) < 0)
            abort();
        if (handshake_status(&h) != HANDSHAKE_WRITE && handshake_status(&h) != HANDSHAKE_READ)
            break;
        if (handshake_status(&h) == HANDSHAKE_WRITE) {
            size_t len;
            handshake_output(&h, &len);
            handshake_sent(&h, len);
            continue;
        }
        if (!fuzz_feed(&h, data, size, &off, SOCKS5_MSG_MAX))
            break;
    }
    if (handshake_status(&h) == HANDSHAKE_FAILED && handshake_error(&h) <= 0)
        abort();
    return 0;
}
