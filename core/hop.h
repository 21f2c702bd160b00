/* One hop of a handshake: the protocol a proxy kind speaks. Internal to handshake.c and hop_*.c. */
#ifndef SOCKSIFY_HOP_H
#define SOCKSIFY_HOP_H

#include "handshake.h"

struct hop_ops {
    /* Encodes the request for target into buf (also used to check a target before any byte goes out). */
    int (*request)(uint8_t *buf, size_t size, const struct proxy *p, const struct socks_target *target,
                   enum socks5_command cmd);
    /* Queues the hop's first message. */
    enum handshake_status (*start)(struct handshake *h);
    /* How many bytes the hop can take now. */
    size_t (*wants)(const struct handshake *h);
    /* Takes bytes (never more than wants). */
    enum handshake_status (*feed)(struct handshake *h, const uint8_t *data, size_t len);
};

extern const struct hop_ops hop_socks5, hop_socks4, hop_http;

/* Fails the handshake with err at the current step. */
enum handshake_status hs_fail(struct handshake *h, int err);
/* Fails with err because the proxy answered so about the host it was asked to reach; why is its text. */
enum handshake_status hs_refused(struct handshake *h, int err, const char *why);
/* Queues an encoded message (len from an encoder, maybe -errno) and the reply length to expect first. */
enum handshake_status hs_send_then_read(struct handshake *h, int len, size_t first_need);
/* The current hop is through: starts the next one, or finishes. */
enum handshake_status hs_hop_done(struct handshake *h);
/* Makes the current (SOCKS5) hop read one more reply, as a request's: BIND's second reply. */
enum handshake_status hs_socks5_read_reply(struct handshake *h);
/* Bytes still missing from the fixed-size message being read. */
size_t hs_buffer_wants(const struct handshake *h);
/* Appends to the message being read; true once it is complete. */
bool hs_buffer(struct handshake *h, const uint8_t *data, size_t len);

#endif
