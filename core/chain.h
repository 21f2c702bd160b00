/* Which proxies a connection through a chain takes: the modes, and the memory of which proxies
 * failed lately (shared by all threads of a process, lock-free; by all processes of a session
 * when it lives in their shared region, see chain_health_attach). */
#ifndef SOCKSIFY_CHAIN_H
#define SOCKSIFY_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct chain_health {
    _Atomic long long *down_until;   /* per proxy: skipped until this time (ms, CLOCK_MONOTONIC,
                                        which every process of the machine shares); 0 when up */
    _Atomic unsigned *next;          /* per chain: where round-robin starts next */
    size_t proxy_count, chain_count;
    bool owned;                      /* allocated by chain_health_init, not in a caller's area */
};

/* Sizes h for c's proxies and chains, all up. 0 or -ENOMEM. */
int chain_health_init(struct chain_health *h, const struct config *c);
/* Bytes of area chain_health_attach needs for proxy_count proxies and chain_count chains (a
 * multiple of 8). */
size_t chain_health_area_size(size_t proxy_count, size_t chain_count);
/* Sizes h for proxy_count proxies and chain_count chains kept in area (chain_health_area_size
 * bytes, 8-aligned, zero-filled means all up), e.g. memory shared by several processes: the marks
 * are atomics, lock-free in every process. h owns nothing then. */
void chain_health_attach(struct chain_health *h, void *area, size_t proxy_count, size_t chain_count);
/* Releases what h owns (nothing for an attached area). */
void chain_health_free(struct chain_health *h);
/* Remembers that proxy (an index into config.proxies) failed: non-strict chains skip it until until_ms. */
void chain_mark_down(struct chain_health *h, size_t proxy, long long until_ms);
/* True if proxy is not marked down at now_ms. */
bool chain_proxy_up(const struct chain_health *h, size_t proxy, long long now_ms);
/* Picks the proxies for one attempt through ch into out (indices into config.proxies), in the
 * order to traverse them; returns how many. rng is the caller's random state (random mode). When
 * too few proxies are up, proxies marked down are used too: a stale mark must not block everything. */
size_t chain_pick(const struct config *c, const struct chain *ch, struct chain_health *h, long long now_ms,
                  uint64_t *rng, size_t out[PROXY_CHAIN_MAX]);
/* How many attempts a connection through ch may make: 1 for strict, else one per proxy it has. */
size_t chain_attempts(const struct chain *ch);
/* The proxy a failed attempt is blamed on (an index into config.proxies), or -1 for nobody: no
 * proxy was tried (the chain cannot carry the target), or the handshake blamed the target
 * (handshake_hop -1); the first proxy when the TCP connect to it failed; else the proxy of the
 * hop the handshake blamed. picked: the attempt's proxies. */
long chain_blame(const size_t *picked, bool proxy_tried, bool proxy_connected, int handshake_hop);
/* Whether ch tries again after its attempt number `attempts` failed, blamed on culprit (-1 for
 * nobody): only a proxy's failure is worth another attempt, and within chain_attempts(ch). */
bool chain_retries(const struct chain *ch, size_t attempts, long culprit);
/* Whether the connections through a chain end with a SOCKS5 proxy, the only kind asked for UDP
 * ASSOCIATE or BIND. */
enum chain_socks5_end { CHAIN_SOCKS5_END_ALWAYS, CHAIN_SOCKS5_END_SOMETIMES, CHAIN_SOCKS5_END_NEVER };
/* Strict and dynamic chains end with their last proxy, random and round-robin ones with any of theirs. */
enum chain_socks5_end chain_socks5_end(const struct config *c, const struct chain *ch);
/* "strict", "dynamic", "random", "round-robin". */
const char *chain_mode_name(enum chain_mode mode);

#endif
