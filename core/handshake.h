/* The client side of a proxy handshake as a sans-I/O state machine.
 *
 * The driver (blocking connect, later the non-blocking engine, chains, UDP) loops:
 *   HANDSHAKE_WRITE: send handshake_output(), report it with handshake_sent();
 *   HANDSHAKE_READ:  read exactly handshake_wants() bytes (or fewer), give them to handshake_feed();
 *   HANDSHAKE_DONE / HANDSHAKE_FAILED: stop; handshake_error() gives the errno.
 * The machine never asks for a byte beyond the proxy's reply, so the first byte of the tunnel
 * stays in the socket for the program. */
#ifndef SOCKSIFY_HANDSHAKE_H
#define SOCKSIFY_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "proxy.h"
#include "socks5.h"

enum handshake_status { HANDSHAKE_WRITE, HANDSHAKE_READ, HANDSHAKE_DONE, HANDSHAKE_FAILED };

enum handshake_step {
    STEP_METHODS,   /* method selection sent or to send; waiting for the choice */
    STEP_AUTH,      /* RFC 1929 username/password */
    STEP_REQUEST,   /* the command itself */
    STEP_DONE,
    STEP_FAILED,
};

struct handshake {
    enum handshake_step step;
    const struct proxy *proxy;      /* credentials; must outlive the handshake */
    struct socks_target target;
    enum socks5_command command;
    uint8_t out[SOCKS5_MSG_MAX];
    size_t out_len, out_sent;
    uint8_t in[SOCKS5_MSG_MAX];
    size_t in_len, in_need;
    int error;                      /* positive errno once failed */
    enum handshake_step failed_step; /* where it failed, for logs */
    struct socks5_reply reply;      /* valid once done: the proxy's bound address */
};

/* Starts a CONNECT handshake to target through proxy. Returns 0, or -EINVAL for a target the
 * protocol cannot carry (the handshake is then already failed with that error). */
int handshake_start(struct handshake *h, const struct proxy *proxy, const struct socks_target *target);
/* What the driver must do next. */
enum handshake_status handshake_status(const struct handshake *h);
/* Bytes waiting to be sent (NULL and *len 0 when there are none). */
const uint8_t *handshake_output(const struct handshake *h, size_t *len);
/* Reports that n of the pending output bytes went out. */
void handshake_sent(struct handshake *h, size_t n);
/* Exactly how many more bytes the machine can take now without reading past its reply (0 unless reading). */
size_t handshake_wants(const struct handshake *h);
/* Gives the machine up to handshake_wants() bytes; extra bytes are a driver bug and fail with EPROTO. */
enum handshake_status handshake_feed(struct handshake *h, const uint8_t *data, size_t len);
/* The proxy closed the connection: fails the handshake with ECONNRESET unless already finished. */
void handshake_eof(struct handshake *h);
/* Fails the handshake with err (a positive errno) on behalf of the driver, e.g. on a timeout. */
void handshake_abort(struct handshake *h, int err);
/* The positive errno of a failed handshake, 0 otherwise. */
int handshake_error(const struct handshake *h);
/* Short text for the step the handshake is in (or failed in), for logs. */
const char *handshake_step_name(const struct handshake *h);

#endif
