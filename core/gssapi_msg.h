/* RFC 1961 message framing for SOCKS5 method X'01' (GSS-API): every message of the method is
 *   ver (X'01') | mtyp | len (2 bytes, network order) | token (len bytes)
 * except the abort message, which is ver | X'FF' alone. mtyp 1 carries a context-establishment
 * token, mtyp 2 the (wrapped) protection level. Pure codecs: no state, no I/O, no allocation. */
#ifndef SOCKSIFY_GSSAPI_MSG_H
#define SOCKSIFY_GSSAPI_MSG_H

#include <stddef.h>
#include <stdint.h>

enum { GSSAPI_MSG_VERSION = 1 };

enum gssapi_mtyp {
    GSSAPI_MTYP_CONTEXT = 0x01,     /* a gss_init/accept_sec_context token */
    GSSAPI_MTYP_PROTECTION = 0x02,  /* a gss_wrap()ed one-byte protection level */
    GSSAPI_MTYP_ABORT = 0xff,       /* the peer gives up; no length, no token */
};

/* Protection levels (RFC 1961 section 5; CLEAR is Dante's "gssapi.enctype: clear": none at all). */
enum gssapi_level {
    GSSAPI_LEVEL_CLEAR = 0,
    GSSAPI_LEVEL_INTEGRITY = 1,
    GSSAPI_LEVEL_CONFIDENTIALITY = 2,
    GSSAPI_LEVEL_SELECTIVE = 3,
};

/* Longest token the 2-byte length can carry, and the header in front of it. */
#define GSSAPI_TOKEN_MAX 65535
#define GSSAPI_HEADER_LEN 4
#define GSSAPI_ABORT_LEN 2

/* A decoded message: its type and where its token lies inside the caller's buffer. */
struct gssapi_msg {
    uint8_t mtyp;
    const uint8_t *token;   /* NULL for an abort */
    size_t token_len;
};

/* Writes the header of a message of mtyp (CONTEXT or PROTECTION) carrying token_len bytes into
 * buf; returns GSSAPI_HEADER_LEN, -EINVAL for another mtyp or token_len over GSSAPI_TOKEN_MAX, -ENOSPC. */
int gssapi_header_encode(uint8_t *buf, size_t size, uint8_t mtyp, size_t token_len);
/* Writes a whole message (header and token); returns its length, or the errors of gssapi_header_encode. */
int gssapi_msg_encode(uint8_t *buf, size_t size, uint8_t mtyp, const uint8_t *token, size_t token_len);
/* Writes the 2-byte abort message; returns 2 or -ENOSPC. */
int gssapi_abort_encode(uint8_t *buf, size_t size);
/* Decodes one message from buf[0..len). Returns the bytes it takes (>0) with *out filled (token
 * pointing into buf); 0 if more are needed, with *need the total length known so far (never more
 * than the message itself); -EPROTO for a version other than 1 or an unknown mtyp. */
int gssapi_msg_decode(const uint8_t *buf, size_t len, struct gssapi_msg *out, size_t *need);
/* Human text for a protection level, for logs ("clear", "integrity", ...; "unknown" otherwise). */
const char *gssapi_level_text(uint8_t level);

#endif
