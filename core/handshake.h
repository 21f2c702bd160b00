/* The client side of a proxy handshake as a sans-I/O state machine, across a chain of proxies
 * of any kind (SOCKS5, SOCKS4/4a, HTTP CONNECT): the first proxy is asked to connect to the
 * second, and so on, the last to the target, all over the one connection.
 *
 * The driver (blocking connect, later the non-blocking engine, UDP) loops:
 *   HANDSHAKE_WRITE: send handshake_output(), report it with handshake_sent();
 *   HANDSHAKE_READ:  read at most handshake_wants() bytes, give them to handshake_feed();
 *   HANDSHAKE_DONE / HANDSHAKE_FAILED: stop; handshake_error() gives the errno.
 * The machine never asks for a byte beyond a proxy's reply, so the first byte of the tunnel
 * stays in the socket for the program. */
#ifndef SOCKSIFY_HANDSHAKE_H
#define SOCKSIFY_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_connect.h"
#include "proxy.h"
#include "socks5.h"

struct gss_exchange;

enum handshake_status { HANDSHAKE_WRITE, HANDSHAKE_READ, HANDSHAKE_DONE, HANDSHAKE_FAILED };

enum handshake_step {
    STEP_METHODS,   /* SOCKS5 method selection sent or to send; waiting for the choice */
    STEP_AUTH,      /* RFC 1929 username/password */
    STEP_REQUEST,   /* the request itself (SOCKS5, SOCKS4 or HTTP CONNECT) */
    STEP_DONE,
    STEP_FAILED,
};

#define HANDSHAKE_OUT_MAX HTTP_CONNECT_MSG_MAX
#define HANDSHAKE_DETAIL_MAX HTTP_STATUS_LINE_MAX

struct handshake {
    const struct proxy *hops[PROXY_CHAIN_MAX]; /* must outlive the handshake */
    size_t hop_count;
    size_t hop;                     /* the proxy being talked to (or that failed) */
    struct socks_target target;     /* the final destination */
    struct socks_target hop_target; /* what the current proxy is asked for */
    enum socks5_command command;    /* of the last hop; the others CONNECT */
    enum handshake_step step;
    uint8_t out[HANDSHAKE_OUT_MAX];
    size_t out_len, out_sent;
    uint8_t in[SOCKS5_MSG_MAX];
    size_t in_len, in_need;
    struct http_response http;
    int error;                      /* positive errno once failed */
    enum handshake_step failed_step; /* where it failed, for logs */
    bool answered;                  /* the failure is a proxy's answer about the host it was asked for */
    bool pipelined;                 /* this SOCKS5 hop sent everything at once: only replies to read */
    char detail[HANDSHAKE_DETAIL_MAX + 1]; /* the proxy's own words on a failure, for logs */
    struct socks5_reply reply;      /* valid once done through a SOCKS5 last hop: the proxy's bound address
                                     * (BIND: the address the proxy listens on; after the second reply, the peer) */
    bool bind_second;               /* BIND: waiting for (or done with) the second reply */
    struct gss_exchange *gss;       /* GSSAPI authentication in progress (hop_gssapi.c), else NULL */
    uint8_t *ext_out, *ext_in;      /* while set, output and input use these (GSSAPI tokens) instead of out/in */
};

/* Starts a CONNECT handshake to target through the n proxies hops[0..n) (1 <= n <= PROXY_CHAIN_MAX).
 * Returns 0, or -errno for a target some hop cannot carry (EAFNOSUPPORT: IPv6 through SOCKS4;
 * EHOSTUNREACH: a name through SOCKS4; EINVAL otherwise); the handshake is then already failed. */
int handshake_start_chain(struct handshake *h, const struct proxy *const *hops, size_t n, const struct socks_target *target);
/* handshake_start_chain, asking the last hop for cmd instead of CONNECT (UDP ASSOCIATE: target is
 * where the client will send datagrams from). A last hop that is not SOCKS5 cannot carry UDP: -EOPNOTSUPP. */
int handshake_start_command(struct handshake *h, const struct proxy *const *hops, size_t n,
                            const struct socks_target *target, enum socks5_command cmd);
/* BIND (RFC 1928 section 4): once the first reply is in (HANDSHAKE_DONE, h->reply.bound the address
 * the proxy listens on), reads the second reply on the same connection: the machine is back in
 * HANDSHAKE_READ and ends DONE with h->reply.bound the peer that connected, or FAILED with the
 * reply's errno (EPROTO if malformed, ECONNRESET on EOF). 0, or -EINVAL if h is not a finished BIND
 * (or already read its second reply). */
int handshake_bind_second(struct handshake *h);
/* handshake_start_chain through the one proxy. */
int handshake_start(struct handshake *h, const struct proxy *proxy, const struct socks_target *target);
/* What the driver must do next. */
enum handshake_status handshake_status(const struct handshake *h);
/* Bytes waiting to be sent (NULL and *len 0 when there are none). */
const uint8_t *handshake_output(const struct handshake *h, size_t *len);
/* Reports that n of the pending output bytes went out. */
void handshake_sent(struct handshake *h, size_t n);
/* How many more bytes the machine can take now without reading past a reply (0 unless reading). */
size_t handshake_wants(const struct handshake *h);
/* Gives the machine up to handshake_wants() bytes; extra bytes are a driver bug and fail with EPROTO. */
enum handshake_status handshake_feed(struct handshake *h, const uint8_t *data, size_t len);
/* The proxy closed the connection: fails the handshake with ECONNRESET unless already finished
 * (EACCES during GSSAPI authentication: that is how a proxy refuses our credentials). */
void handshake_eof(struct handshake *h);
/* Fails the handshake with err (a positive errno) on behalf of the driver, e.g. on a timeout; a
 * reset (ECONNRESET, EPIPE) during GSSAPI authentication is the proxy refusing us: EACCES. */
void handshake_abort(struct handshake *h, int err);
/* The positive errno of a failed handshake, 0 otherwise. */
int handshake_error(const struct handshake *h);
/* Short text for the step the handshake is in (or failed in), for logs. */
const char *handshake_step_name(const struct handshake *h);
/* Which hop a failure is blamed on, for chains that skip dead proxies: the index of the proxy
 * that failed (it did not answer, broke the protocol, refused us) or that its predecessor could
 * not reach; -1 if the final target is to blame (or nothing failed). */
int handshake_blame(const struct handshake *h);

#endif
