#include "chain.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

int chain_health_init(struct chain_health *h, const struct config *c)
{
    h->proxy_count = c->proxy_count;
    h->chain_count = c->chain_count;
    h->down_until = calloc(c->proxy_count ? c->proxy_count : 1, sizeof(*h->down_until));
    h->next = calloc(c->chain_count ? c->chain_count : 1, sizeof(*h->next));
    h->owned = true;
    if (h->down_until && h->next)
        return 0;
    chain_health_free(h);
    return -ENOMEM;
}

size_t chain_health_area_size(size_t proxy_count, size_t chain_count)
{
    size_t next_bytes = chain_count * sizeof(_Atomic unsigned);
    return proxy_count * sizeof(_Atomic long long) + (next_bytes + 7) / 8 * 8;
}

void chain_health_attach(struct chain_health *h, void *area, size_t proxy_count, size_t chain_count)
{
    /* The 8-byte marks first, so both arrays are aligned whatever the counts. */
    h->down_until = area;
    h->next = (_Atomic unsigned *)(void *)((char *)area + proxy_count * sizeof(_Atomic long long));
    h->proxy_count = proxy_count;
    h->chain_count = chain_count;
    h->owned = false;
}

void chain_health_free(struct chain_health *h)
{
    if (h->owned) {
        free(h->down_until);
        free(h->next);
    }
    h->down_until = NULL;
    h->next = NULL;
}

void chain_mark_down(struct chain_health *h, size_t proxy, long long until_ms)
{
    if (proxy < h->proxy_count)
        atomic_store_explicit(&h->down_until[proxy], until_ms, memory_order_relaxed);
}

bool chain_proxy_up(const struct chain_health *h, size_t proxy, long long now_ms)
{
    return proxy >= h->proxy_count ||
           atomic_load_explicit(&h->down_until[proxy], memory_order_relaxed) <= now_ms;
}

/* splitmix64: small, fast, and good enough to spread connections over proxies. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The chain's hops from position start (wrapping), up ones first, then down ones, as indices;
 * returns how many are up. Each mark is read once: another thread may change it meanwhile, and a
 * hop seen both up and down would be listed twice (past the end of out), or not at all. */
static size_t candidates(const struct chain *ch, const struct chain_health *h, long long now_ms, size_t start,
                         size_t out[CHAIN_HOPS_MAX])
{
    bool up[CHAIN_HOPS_MAX];
    size_t n = 0, up_count = 0;
    for (size_t i = 0; i < ch->hop_count; i++) {
        up[i] = chain_proxy_up(h, ch->hops[(start + i) % ch->hop_count], now_ms);
        up_count += up[i];
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ch->hop_count; i++)
            if (up[i] == (pass == 0))
                out[n++] = ch->hops[(start + i) % ch->hop_count];
    return up_count;
}

/* Moves k of pool[0..n) picked at random to its front (a partial Fisher-Yates shuffle). */
static void shuffle_front(size_t *pool, size_t n, size_t k, uint64_t *rng)
{
    for (size_t i = 0; i < k && i < n; i++) {
        size_t j = i + (size_t)(next_random(rng) % (n - i));
        size_t t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
    }
}

static size_t pick_dynamic(const struct chain *ch, const struct chain_health *h, long long now_ms, size_t out[PROXY_CHAIN_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < ch->hop_count; i++)
        if (chain_proxy_up(h, ch->hops[i], now_ms))
            out[n++] = ch->hops[i];
    /* All marked down: the marks may be stale, so try them all again. */
    if (n == 0)
        for (; n < ch->hop_count; n++)
            out[n] = ch->hops[n];
    return n;
}

static size_t pick_random(const struct chain *ch, const struct chain_health *h, long long now_ms, uint64_t *rng,
                          size_t out[PROXY_CHAIN_MAX])
{
    size_t pool[CHAIN_HOPS_MAX];
    size_t up = candidates(ch, h, now_ms, 0, pool);
    /* Too few up: the down ones that fill in are drawn at random too, so that a retry does not
     * take the same dead proxy again. */
    if (up < ch->length)
        shuffle_front(pool + up, ch->hop_count - up, ch->length - up, rng);
    shuffle_front(pool, up >= ch->length ? up : ch->length, ch->length, rng);
    for (size_t i = 0; i < ch->length; i++)
        out[i] = pool[i];
    return ch->length;
}

static size_t pick_round_robin(const struct config *c, const struct chain *ch, struct chain_health *h, long long now_ms,
                               size_t out[PROXY_CHAIN_MAX])
{
    size_t index = (size_t)(ch - c->chains);
    unsigned start = index < h->chain_count ? atomic_fetch_add_explicit(&h->next[index], 1, memory_order_relaxed) : 0;
    size_t pool[CHAIN_HOPS_MAX];
    candidates(ch, h, now_ms, start % ch->hop_count, pool);
    for (size_t i = 0; i < ch->length; i++)
        out[i] = pool[i];
    return ch->length;
}

size_t chain_pick(const struct config *c, const struct chain *ch, struct chain_health *h, long long now_ms,
                  uint64_t *rng, size_t out[PROXY_CHAIN_MAX])
{
    switch (ch->mode) {
    case CHAIN_DYNAMIC: return pick_dynamic(ch, h, now_ms, out);
    case CHAIN_RANDOM: return pick_random(ch, h, now_ms, rng, out);
    case CHAIN_ROUND_ROBIN: return pick_round_robin(c, ch, h, now_ms, out);
    default:
        for (size_t i = 0; i < ch->hop_count; i++)
            out[i] = ch->hops[i];
        return ch->hop_count;
    }
}

size_t chain_attempts(const struct chain *ch)
{
    return ch->mode == CHAIN_STRICT ? 1 : ch->hop_count;
}

long chain_blame(const size_t *picked, bool proxy_tried, bool proxy_connected, int handshake_hop)
{
    if (!proxy_tried)
        return -1;
    if (!proxy_connected)
        return (long)picked[0];
    return handshake_hop < 0 ? -1 : (long)picked[handshake_hop];
}

bool chain_retries(const struct chain *ch, size_t attempts, long culprit)
{
    return culprit >= 0 && attempts < chain_attempts(ch);
}

enum chain_socks5_end chain_socks5_end(const struct config *c, const struct chain *ch)
{
    bool fixed = ch->mode == CHAIN_STRICT || ch->mode == CHAIN_DYNAMIC;
    size_t first = fixed ? ch->hop_count - 1 : 0, socks5 = 0;
    for (size_t i = first; i < ch->hop_count; i++)
        socks5 += c->proxies[ch->hops[i]].kind == PROXY_SOCKS5;
    if (socks5 == ch->hop_count - first)
        return CHAIN_SOCKS5_END_ALWAYS;
    return socks5 ? CHAIN_SOCKS5_END_SOMETIMES : CHAIN_SOCKS5_END_NEVER;
}

const char *chain_mode_name(enum chain_mode mode)
{
    static const char *const names[] = { "strict", "dynamic", "random", "round-robin" };
    return (unsigned)mode < 4 ? names[mode] : "?";
}
