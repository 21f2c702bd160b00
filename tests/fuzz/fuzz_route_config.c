/* libFuzzer target: config text with proxies, chains and routes, then destinations. The input is
 * the config text, a NUL byte, then destinations one per line. Whatever parses must be
 * consistent (every route points at a chain, every chain at proxies), and deciding routes,
 * explaining destinations and picking proxies must stay within those tables. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "config.h"
#include "explain.h"
#include "route.h"

static void check_tables(const struct config *c)
{
    for (size_t i = 0; i < c->chain_count; i++) {
        const struct chain *ch = &c->chains[i];
        if (ch->hop_count < 1 || ch->hop_count > CHAIN_HOPS_MAX || ch->length < 1 || ch->length > ch->hop_count)
            abort();
        for (size_t j = 0; j < ch->hop_count; j++)
            if (ch->hops[j] >= c->proxy_count)
                abort();
    }
    for (size_t i = 0; i < c->rule_count; i++) {
        const struct rule *r = &c->rules[i];
        if (r->action == ROUTE_VIA && r->chain >= c->chain_count)
            abort();
        if (r->port_count > RULE_PORTS_MAX || (r->glob && r->has_cidr) || (r->glob && !*r->glob))
            abort();
        for (size_t j = 0; j < r->port_count; j++)
            if (r->ports[j].lo > r->ports[j].hi)
                abort();
    }
}

static void check_route(const struct config *c, const struct route *r)
{
    if (!r->reason)
        abort();
    if (r->action == ROUTE_VIA && (!r->chain || r->chain < c->chains || r->chain >= c->chains + c->chain_count))
        abort();
    if (r->rule && (r->rule < c->rules || r->rule >= c->rules + c->rule_count))
        abort();
}

static void check_picks(const struct config *c, const uint8_t *data, size_t size)
{
    struct chain_health h;
    if (chain_health_init(&h, c) < 0)
        return;
    uint64_t rng = size;
    for (size_t i = 0; i < size && i < 64; i++)
        chain_mark_down(&h, data[i] % (c->proxy_count + 1), (long long)(data[i] & 0x0f) * 10);
    for (size_t i = 0; i < c->chain_count; i++) {
        const struct chain *ch = &c->chains[i];
        for (long long now = 0; now < 200; now += 50) {
            size_t out[PROXY_CHAIN_MAX];
            size_t n = chain_pick(c, ch, &h, now, &rng, out);
            size_t want = ch->mode == CHAIN_STRICT ? ch->hop_count : ch->mode == CHAIN_DYNAMIC ? 0 : ch->length;
            if (n < 1 || n > ch->hop_count || (want && n != want))
                abort();
            for (size_t j = 0; j < n; j++)
                if (out[j] >= c->proxy_count)
                    abort();
        }
    }
    chain_health_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t text_len = strlen(text);
    struct config c = { 0 };
    config_init(&c);
    char err[512] = "";
    int r = config_parse(&c, text, "fuzz.conf", err, sizeof(err));
    if (r < 0 && strncmp(err, "fuzz.conf:", 10) != 0)
        abort();
    if (r == 0) {
        check_tables(&c);
        static const char *const addrs[] = { "10.1.2.3", "127.0.0.1", "::1", "2001:db8::1", "::ffff:10.0.0.1", "0.0.0.0" };
        for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
            char buf[64];
            char out[256];
            for (uint16_t port = 0; port < 3; port++) {
                snprintf(buf, sizeof(buf), strchr(addrs[i], ':') ? "[%s]:%u" : "%s:%u", addrs[i], 25 * port + 1);
                if (explain(&c, buf, NULL, out, sizeof(out)) != 0 || strnlen(out, sizeof(out)) >= sizeof(out))
                    abort();
            }
        }
        /* The destinations after the NUL: each as a name behind a fake address, and explained. */
        char *dests = text_len < size ? text + text_len + 1 : NULL;
        for (char *d = dests, *nl; d && d < text + size; d = nl + 1) {
            nl = memchr(d, '\n', (size_t)(text + size - d));
            if (!nl)
                nl = text + size;
            *nl = '\0';
            union sockaddr_any fake = { 0 };
            fake.in4.sin_family = AF_INET;
            fake.in4.sin_port = htons((uint16_t)(nl - d));
            struct route rt = route_decide(&c, &fake, d);
            check_route(&c, &rt);
            rt = route_decide(&c, &fake, NULL);
            check_route(&c, &rt);
            char out[1024];
            int e = explain(&c, d, "10.0.0.1 intranet\n", out, sizeof(out));
            if ((e != 0 && e != -EINVAL) || strnlen(out, sizeof(out)) >= sizeof(out))
                abort();
        }
        check_picks(&c, data, size);
    }
    config_free(&c);
    free(text);
    return 0;
}
