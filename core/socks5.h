/* SOCKS5 wire format (RFC 1928) and username/password sub-negotiation (RFC 1929).
 * Pure codecs: they encode into caller buffers and decode from caller buffers, with no state
 * and no I/O. Decoders never read past len and report how many bytes they need. */
#ifndef SOCKSIFY_SOCKS5_H
#define SOCKSIFY_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum { SOCKS5_VERSION = 5, SOCKS5_USERPASS_VERSION = 1 };

enum socks5_method {
    SOCKS5_METHOD_NONE = 0x00,
    SOCKS5_METHOD_GSSAPI = 0x01,
    SOCKS5_METHOD_USERPASS = 0x02,
    SOCKS5_METHOD_UNACCEPTABLE = 0xff,
};

enum socks5_command { SOCKS5_CMD_CONNECT = 1, SOCKS5_CMD_BIND = 2, SOCKS5_CMD_UDP_ASSOCIATE = 3 };

enum socks5_atyp { SOCKS5_ATYP_IPV4 = 1, SOCKS5_ATYP_DOMAIN = 3, SOCKS5_ATYP_IPV6 = 4 };

enum socks5_reply_code {
    SOCKS5_REP_SUCCEEDED = 0,
    SOCKS5_REP_GENERAL_FAILURE = 1,
    SOCKS5_REP_NOT_ALLOWED = 2,
    SOCKS5_REP_NET_UNREACHABLE = 3,
    SOCKS5_REP_HOST_UNREACHABLE = 4,
    SOCKS5_REP_REFUSED = 5,
    SOCKS5_REP_TTL_EXPIRED = 6,
    SOCKS5_REP_CMD_UNSUPPORTED = 7,
    SOCKS5_REP_ATYP_UNSUPPORTED = 8,
};

/* Longest domain name the protocol can carry (one length byte). */
#define SOCKS5_NAME_MAX 255
/* Longest message this codec produces or accepts (a request with a 255-byte name, or auth). */
#define SOCKS5_MSG_MAX 515

/* Where a SOCKS request points: an address, or a name the proxy resolves; port in host order. */
struct socks_target {
    bool is_name;
    union sockaddr_any addr;
    char name[SOCKS5_NAME_MAX + 1];
    uint16_t port;
};

/* "name:port (fake address)" for a name (dst: the fake address it came from), else "address:port",
 * into buf, for logs; returns buf. */
char *socks_target_describe(const struct socks_target *t, const union sockaddr_any *dst, char *buf, size_t size);

struct fakedns;
/* Fills *t with what to ask a proxy for, to reach dst: the address, or the name behind it when
 * it is a fake address of names (NULL: no map). 0, or -EHOSTUNREACH for a fake address with no
 * name (an expired one, or one nobody asked for). */
int socks_target_for(struct fakedns *names, const union sockaddr_any *dst, struct socks_target *t);

/* Decoded server reply to a request: its code and the bound address (name left empty unless ATYP was a domain). */
struct socks5_reply {
    uint8_t code;
    struct socks_target bound;
};

/* Writes the method-selection message offering no-auth, plus username/password if asked; returns its length or -ENOSPC. */
int socks5_methods_encode(uint8_t *buf, size_t size, bool offer_userpass);
/* Decodes the server's method choice: 2 (bytes used) and *method set, 0 if more bytes are needed, -EPROTO if malformed. */
int socks5_method_decode(const uint8_t *buf, size_t len, uint8_t *method);
/* Writes an RFC 1929 request; returns its length, -EINVAL if user is empty or either is over 255 bytes, -ENOSPC. */
int socks5_userpass_encode(uint8_t *buf, size_t size, const char *user, const char *pass);
/* Decodes the RFC 1929 status: 2 on success, 0 if more bytes are needed, -EACCES if rejected, -EPROTO if malformed. */
int socks5_userpass_decode(const uint8_t *buf, size_t len);
/* Writes a request (CONNECT, BIND, UDP ASSOCIATE) for target; returns its length, -EINVAL for a bad target, -ENOSPC. */
int socks5_request_encode(uint8_t *buf, size_t size, enum socks5_command cmd, const struct socks_target *target);
/* Decodes a reply. Returns bytes used (>0) with *out filled; 0 if more are needed, with *need set to the
 * total length known so far (never more than the reply itself); -EPROTO if malformed. The reply code is
 * returned in out->code, not judged: see socks5_reply_errno. */
int socks5_reply_decode(const uint8_t *buf, size_t len, struct socks5_reply *out, size_t *need);
/* Longest RFC 1928 UDP request header: RSV, FRAG, ATYP, a 255-byte name, port. */
#define SOCKS5_UDP_HEADER_MAX (2 + 1 + 1 + 1 + SOCKS5_NAME_MAX + 2)

/* Writes the header that precedes a datagram to target on a UDP association (FRAG 0); returns its
 * length, -EINVAL for a bad target, -ENOSPC. */
int socks5_udp_header_encode(uint8_t *buf, size_t size, const struct socks_target *target);
/* Decodes the header of a datagram from the relay (len bytes, all of it): returns the header's
 * length with *from and *frag set, or -EPROTO if malformed or cut short. A non-zero *frag is a
 * fragment, which a client without reassembly drops (RFC 1928 section 7). */
int socks5_udp_header_decode(const uint8_t *buf, size_t len, struct socks_target *from, uint8_t *frag);
/* Where the datagrams of a UDP association go, from the reply's bound address: that address, or
 * the proxy's own (proxy; NULL if unknown) with the reply's port when it names the unspecified
 * one, as many servers do. 0, -EPROTO for a relay named by a host name, -EHOSTUNREACH when the
 * proxy's address is needed but unknown. */
int socks5_udp_relay(const struct socks_target *bound, const union sockaddr_any *proxy, union sockaddr_any *relay);
/* The address family a UDP ASSOCIATE request names, for a socket of sock_family (v6only: an
 * IPv6-only one) whose last proxy is reached over last_proxy_family. Proxies such as danted
 * answer with a relay of that family: IPv6 for an IPv6-only socket or an IPv6 socket whose last
 * proxy is reached over IPv6; IPv4 otherwise (a dual-stack socket reaches it v4-mapped). */
int socks5_udp_request_family(int sock_family, bool v6only, int last_proxy_family);
/* The errno a program expects for a reply code (0 for success); unknown codes give ECONNREFUSED. */
int socks5_reply_errno(uint8_t code);
/* Human text for a reply code, for logs. */
const char *socks5_reply_text(uint8_t code);

#endif
