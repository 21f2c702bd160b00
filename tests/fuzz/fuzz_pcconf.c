/* libFuzzer target: arbitrary proxychains.conf text. Parsing either succeeds with a coherent
 * config (proxies pc1..pcN, one default chain over them, direct localnet routes) or fails with a
 * message that names the file; it never crashes or leaks. Each input is read twice: as it is, and
 * below a [ProxyList] header, so that the proxy-list parser sees every input too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_line.h"

#define HEADER "[ProxyList]\n"

/* The invariants of a config pcconf_parse accepted. */
static void check(const struct config *c)
{
    if (c->proxy_count > CHAIN_HOPS_MAX || strlen(c->warnings) >= sizeof(c->warnings))
        abort();
    for (size_t i = 0; i < c->proxy_count; i++) {
        char name[16];
        snprintf(name, sizeof(name), "pc%zu", i + 1);
        if (strcmp(c->proxies[i].name, name) != 0 || c->proxies[i].port == 0)
            abort();
    }
    const struct chain *ch = config_default_chain(c);
    if (c->proxy_count == 0 ? ch != NULL : !ch || ch->hop_count != c->proxy_count || ch->length < 1 ||
                                                ch->length > ch->hop_count)
        abort();
    for (size_t i = 0; i < c->rule_count; i++)
        if (!c->rules[i].has_cidr || c->rules[i].action != ROUTE_DIRECT || c->rules[i].port_count > 1)
            abort();
    if (c->dns != DNS_REMOTE && c->dns != DNS_LOCAL)
        abort();
}

static void parse(const char *text)
{
    struct config c = { 0 };
    config_init(&c);
    char err[512] = "";
    if (pcconf_parse(&c, text, "fuzz.conf", err, sizeof(err)) < 0) {
        if (strncmp(err, "fuzz.conf:", 10) != 0)
            abort();
    } else {
        check(&c);
    }
    config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(strlen(HEADER) + size + 1);
    if (!text)
        return 0;
    memcpy(text, HEADER, strlen(HEADER));
    memcpy(text + strlen(HEADER), data, size);
    text[strlen(HEADER) + size] = '\0';
    (void)pcconf_detect(text + strlen(HEADER));
    parse(text + strlen(HEADER));
    parse(text);
    free(text);
    return 0;
}
