/* The GSSAPI authentication of a SOCKS5 hop (RFC 1961), run by hop_socks5.c once the proxy has
 * chosen method X'01'. Internal to the handshake machine. */
#ifndef SOCKSIFY_HOP_GSSAPI_H
#define SOCKSIFY_HOP_GSSAPI_H

#include "hop.h"

/* Opens a GSS-API context towards p's principal and queues the first context token; on failure
 * the handshake fails (EACCES for an authentication problem) with the reason in h->detail. */
enum handshake_status hs_gssapi_start(struct handshake *h, const struct proxy *p);
/* Takes the message buffered in h->ext_in (h->in_len bytes). HANDSHAKE_DONE means authenticated
 * with no per-message protection: the caller sends the request next (in h->out). */
enum handshake_status hs_gssapi_feed(struct handshake *h);
/* The proxy closed the connection during the method: that is how Dante refuses (a ticket for
 * another principal, a protection level it does not allow). Fails with EACCES and says so. */
void hs_gssapi_eof(struct handshake *h);
/* Releases the GSSAPI state of h, if any (on success, failure and abort). */
void hs_gssapi_end(struct handshake *h);

#endif
