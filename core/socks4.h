/* SOCKS4 and SOCKS4a wire format (CONNECT only).
 * Pure codecs in the style of socks5.h: they encode into caller buffers and decode from caller
 * buffers, with no state and no I/O. Decoders never read past len and report how many bytes they need.
 *
 * A request is VN CD DSTPORT DSTIP USERID NUL, and for SOCKS4a (a name the proxy resolves)
 * DSTIP is 0.0.0.x with x != 0 and the name follows as NAME NUL. The reply is always 8 bytes:
 * VN (0) CD DSTPORT DSTIP. */
#ifndef SOCKSIFY_SOCKS4_H
#define SOCKSIFY_SOCKS4_H

#include <stddef.h>
#include <stdint.h>

#include "socks5.h"

enum { SOCKS4_VERSION = 4, SOCKS4_CMD_CONNECT = 1 };

#define SOCKS4_REPLY_LEN 8
#define SOCKS4_USERID_MAX 255
/* request buffer: 8 + userid 255 + NUL + name 255 + NUL */
#define SOCKS4_MSG_MAX 520

enum socks4_reply_code {
    SOCKS4_REP_GRANTED = 90,
    SOCKS4_REP_REJECTED = 91,
    SOCKS4_REP_NO_IDENTD = 92,
    SOCKS4_REP_IDENTD_MISMATCH = 93,
};

/* Writes a CONNECT for t (SOCKS4a if t->is_name; userid NULL means empty); returns its length,
 * -EAFNOSUPPORT for IPv6 (v4-mapped goes as IPv4), -EINVAL for a bad target or userid, -ENOSPC. */
int socks4_request_encode(uint8_t *buf, size_t size, const struct socks_target *t, const char *userid);
/* Decodes a reply: 8 (bytes used) with *code set, 0 if more bytes are needed, -EPROTO if VN is not 0. */
int socks4_reply_decode(const uint8_t *buf, size_t len, uint8_t *code);
/* The errno a program expects for a reply code (0 for granted); unknown codes give EPROTO. */
int socks4_reply_errno(uint8_t code);
/* Human text for a reply code, for logs. */
const char *socks4_reply_text(uint8_t code);

#endif
