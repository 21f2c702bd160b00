/* Unit tests for core/config_net.c: `proxy`, `chain`, `route` and `direct` lines, the tables
 * they fill (proxies, chains, rules), -x replacing the default, and config_free/config_warn. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_line.h"
#include "chain.h"

#define ERR_SIZE 512

/* Each test's config, freed after the test. */
static struct config conf;

static void conf_init(void)
{
    config_init(&conf);
}

static void conf_free(void)
{
    config_free(&conf);
}

TestSuite(config_net, .init = conf_init, .fini = conf_free);

/* Parses text as "net.conf" into conf (fresh), asserting success. */
static void parse_ok(const char *text)
{
    char err[ERR_SIZE] = "";
    config_free(&conf);
    config_init(&conf);
    int r = config_parse(&conf, text, "net.conf", err, sizeof(err));
    cr_assert_eq(r, 0, "rejected (%d): %s\n--- text ---\n%s", r, err, text);
    cr_assert_str_empty(err, "an accepted config wrote an error: %s", err);
}

/* Asserts text fails with -EINVAL and "net.conf:LINE: ..." mentioning `mention` (case-insensitive). */
static void parse_bad(const char *text, int line, const char *mention)
{
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    int r = config_parse(&c, text, "net.conf", err, sizeof(err));
    config_free(&c);
    cr_assert_eq(r, -EINVAL, "accepted (%d):\n%s", r, text);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "net.conf:%d: ", line);
    cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "message \"%s\" does not start with \"%s\"\n--- text ---\n%s",
                 err, prefix, text);
    cr_assert_gt(strlen(err), strlen(prefix), "nothing after the location: \"%s\"", err);
    cr_assert_not_null(strcasestr(err, mention), "message \"%s\" does not mention \"%s\"\n--- text ---\n%s", err, mention,
                       text);
}

/* The index of the proxy called name in conf; asserts there is one. */
static size_t proxy_index(const char *name)
{
    for (size_t i = 0; i < conf.proxy_count; i++)
        if (strcmp(conf.proxies[i].name, name) == 0)
            return i;
    cr_assert_fail("no proxy called '%s'", name);
    return 0;
}

/* The chain called name in conf; asserts there is one. */
static const struct chain *chain_named(const char *name)
{
    const struct chain *ch = config_find_chain(&conf, name);
    cr_assert_not_null(ch, "no chain called '%s'", name);
    return ch;
}

/* Asserts ch's hops are the proxies named in names[0..n), in order. */
static void assert_hops(const struct chain *ch, const char *const *names, size_t n)
{
    cr_assert_eq(ch->hop_count, n, "chain %s has %zu hops, expected %zu", ch->name, ch->hop_count, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(conf.proxies[ch->hops[i]].name, names[i], "chain %s hop %zu", ch->name, i);
}
#define ASSERT_HOPS(ch, ...)                                                                                           \
    assert_hops((ch), (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

static void assert_cidr(const struct cidr *c, const char *text)
{
    struct cidr want;
    cr_assert_eq(cidr_parse(text, &want), 0, "%s", text);
    cr_assert_eq(c->family, want.family, "%s: family %d", text, c->family);
    cr_assert_eq(c->prefix, want.prefix, "%s: prefix %u", text, c->prefix);
    cr_assert_eq(memcmp(c->addr, want.addr, sizeof(want.addr)), 0, "%s: address", text);
}

/* ---- proxy lines ---- */

Test(config_net, unnamed_proxy_is_default)
{
    parse_ok("# first line\nproxy socks5://192.0.2.1:1080\n");
    cr_assert_eq(conf.proxy_count, 1);
    cr_assert_str_eq(conf.proxies[0].name, "default");
    cr_assert_str_eq(conf.proxies[0].host, "192.0.2.1");
    cr_assert_eq(conf.proxies[0].port, 1080);
    cr_assert_eq(conf.chain_count, 1, "every proxy gets a one-hop chain of its name");
    const struct chain *ch = &conf.chains[0];
    cr_assert_str_eq(ch->name, "default");
    cr_assert_eq(ch->mode, CHAIN_STRICT);
    cr_assert_eq(ch->hop_count, 1);
    cr_assert_eq(ch->length, 1);
    cr_assert_eq(ch->hops[0], 0);
    cr_assert_eq(ch->line, 2);
    cr_assert_eq(config_default_chain(&conf), ch);
    cr_assert_eq(config_default_proxy(&conf), &conf.proxies[0]);
    cr_assert_eq(config_find_chain(&conf, "default"), ch);
    cr_assert_null(config_find_chain(&conf, "Default"), "names are case-sensitive");
    cr_assert_null(config_find_chain(&conf, ""));
}

Test(config_net, named_proxy_is_not_default)
{
    parse_ok("\nproxy tor socks5h://127.0.0.1:9050\n");
    cr_assert_eq(conf.proxy_count, 1);
    cr_assert_str_eq(conf.proxies[0].name, "tor");
    cr_assert(conf.proxies[0].remote_dns);
    cr_assert_null(config_default_chain(&conf));
    cr_assert_null(config_default_proxy(&conf));
    const struct chain *ch = chain_named("tor");
    cr_assert_eq(ch->line, 2);
    cr_assert_eq(ch->hops[0], 0);
    cr_assert_eq(ch->mode, CHAIN_STRICT);
}

Test(config_net, named_and_unnamed_mixed)
{
    parse_ok("proxy a socks5://10.0.0.1\n"
             "proxy socks5://10.0.0.2:1082\n"
             "proxy b http://10.0.0.3:3128\n"
             "proxy default.x-y_z socks4://10.0.0.4\n");
    cr_assert_eq(conf.proxy_count, 4);
    cr_assert_eq(conf.chain_count, 4);
    cr_assert_eq(proxy_index("a"), 0);
    cr_assert_eq(proxy_index("default"), 1);
    cr_assert_eq(proxy_index("b"), 2);
    cr_assert_eq(proxy_index("default.x-y_z"), 3);
    cr_assert_eq(config_default_proxy(&conf), &conf.proxies[1]);
    cr_assert_eq(config_default_chain(&conf)->hops[0], 1);
    cr_assert_eq(chain_named("b")->hops[0], 2);
    cr_assert_eq(chain_named("b")->line, 3);
    cr_assert_eq(chain_named("default.x-y_z")->hops[0], 3);
}

Test(config_net, explicitly_named_default)
{
    parse_ok("proxy default socks5://1.2.3.4:1111\n");
    cr_assert_not_null(config_default_chain(&conf));
    cr_assert_str_eq(config_default_proxy(&conf)->host, "1.2.3.4");
}

Test(config_net, name_of_63_characters)
{
    char name[64], text[160];
    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(text, sizeof(text), "proxy %s socks5://h\n", name);
    parse_ok(text);
    cr_assert_str_eq(conf.proxies[0].name, name);
    cr_assert_not_null(config_find_chain(&conf, name));
}

Test(config_net, duplicate_names_give_the_first_line)
{
    parse_bad("proxy a socks5://h1\n# c\nproxy a socks5://h2\n", 3, "'a' is already used on line 1");
    parse_bad("proxy a socks5://h\nchain c strict a\n\nproxy c socks5://h2\n", 4, "'c' is already used on line 2");
    parse_bad("proxy a socks5://h\nchain a strict a\n", 2, "'a' is already used on line 1");
    parse_bad("proxy a socks5://h\nchain c strict a\nchain c dynamic a\n", 3, "'c' is already used on line 2");
    parse_bad("proxy socks5://h\nproxy default socks5://h2\n", 2, "'default' is already used on line 1");
    parse_bad("proxy socks5://a\n\nproxy socks5://b\n", 3, "second unnamed");
    parse_bad("proxy default socks5://a\nproxy socks5://b\n", 2, "unnamed");
    parse_bad("proxy a socks5://h\nchain default strict a\nproxy socks5://b\n", 3, "unnamed");
}

Test(config_net, bad_proxy_names)
{
    static const char *const bad[] = { "bad/name", "a:b", "a*b", "a#b", "caf\xc3\xa9", "a@b", "a,b", "[x]", "a+b" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "# c\nproxy %s socks5://h\n", bad[i]);
        parse_bad(text, 2, "bad proxy name");
    }
    char text[200], name[65];
    memset(name, 'n', 64);
    name[64] = '\0';
    snprintf(text, sizeof(text), "proxy %s socks5://h\n", name);
    parse_bad(text, 1, "at most 63");
    parse_bad("proxy socks5://a socks5://b\n", 1, "bad proxy name");
    parse_bad("proxy a b socks5://h\n", 1, "'proxy' takes [NAME] URL");
    parse_bad("proxy\n", 1, "'proxy' takes");
}

/* A proxy line with url, parsed alone: the one proxy. */
static const struct proxy *only_proxy(const char *url)
{
    char text[300];
    snprintf(text, sizeof(text), "proxy p %s\n", url);
    parse_ok(text);
    cr_assert_eq(conf.proxy_count, 1);
    return &conf.proxies[0];
}

Test(config_net, every_scheme)
{
    static const struct {
        const char *url;
        enum proxy_kind kind;
        bool remote_dns;
        const char *scheme;
        uint16_t port;
    } cases[] = {
        { "socks5://10.0.0.1", PROXY_SOCKS5, false, "socks5", 1080 },
        { "socks5h://10.0.0.1:9050", PROXY_SOCKS5, true, "socks5h", 9050 },
        { "socks4://10.0.0.1:1081", PROXY_SOCKS4, false, "socks4", 1081 },
        { "socks4a://10.0.0.1", PROXY_SOCKS4, true, "socks4a", 1080 },
        { "http://10.0.0.1:3128", PROXY_HTTP, true, "http", 3128 },
        { "HTTP://10.0.0.1:8080", PROXY_HTTP, true, "http", 8080 },
        { "SOCKS5H://[2001:db8::1]:1", PROXY_SOCKS5, true, "socks5h", 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct proxy *p = only_proxy(cases[i].url);
        cr_assert_eq(p->kind, cases[i].kind, "%s", cases[i].url);
        cr_assert_eq(p->remote_dns, cases[i].remote_dns, "%s", cases[i].url);
        cr_assert_str_eq(proxy_scheme(p), cases[i].scheme, "%s", cases[i].url);
        cr_assert_eq(p->port, cases[i].port, "%s", cases[i].url);
        cr_assert(p->has_addr, "%s", cases[i].url);
        cr_assert_not(p->has_auth, "%s", cases[i].url);
    }
}

Test(config_net, scheme_credentials)
{
    const struct proxy *p = only_proxy("socks4://alice@10.0.0.1:1080");
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "alice");
    cr_assert_str_empty(p->pass);
    p = only_proxy("socks4a://bob@gw.example");
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "bob");
    cr_assert_not(p->has_addr);
    cr_assert_str_eq(p->host, "gw.example");
    p = only_proxy("http://u%40x:p%3Aw@10.0.0.1:3128");
    cr_assert_str_eq(p->user, "u@x");
    cr_assert_str_eq(p->pass, "p:w");
    p = only_proxy("socks5://u:pw@10.0.0.1");
    cr_assert_str_eq(p->user, "u");
    cr_assert_str_eq(p->pass, "pw");
}

Test(config_net, bad_proxy_urls)
{
    parse_bad("proxy a socks4://u:pw@10.0.0.1\n", 1, "user id only");
    parse_bad("# x\nproxy socks4a://u:pw@10.0.0.1\n", 2, "user id only");
    parse_bad("proxy a https://10.0.0.1\n", 1, "scheme");
    parse_bad("proxy a socks5://10.0.0.1:0\n", 1, "port");
    parse_bad("proxy a 10.0.0.1:1080\n", 1, "scheme");
    parse_bad("proxy a socks5://::1\n", 1, "brackets");
}

/* ---- chain lines ---- */

static const char PROXIES[] = "proxy a socks5://10.0.0.1\n"       /* 1 */
                              "proxy b socks4://10.0.0.2\n"       /* 2 */
                              "proxy c http://10.0.0.3:3128\n"    /* 3 */
                              "proxy d socks5h://10.0.0.4:9050\n"; /* 4 */

/* PROXIES then more. */
static void parse_with_proxies(const char *more)
{
    char text[8192];
    snprintf(text, sizeof(text), "%s%s", PROXIES, more);
    parse_ok(text);
}

static void bad_with_proxies(const char *more, int line, const char *mention)
{
    char text[8192];
    snprintf(text, sizeof(text), "%s%s", PROXIES, more);
    parse_bad(text, line + 4, mention);
}

Test(config_net, chain_of_every_mode)
{
    parse_with_proxies("chain s strict a b c\n"                /* 5 */
                       "chain dyn dynamic c a\n"               /* 6 */
                       "chain r random length 2 a b c d\n"     /* 7 */
                       "chain rr round-robin a b\n"            /* 8 */
                       "chain r2 random d c b\n"               /* 9 */
                       "chain rr3 round-robin length 3 d c b a\n" /* 10 */
                       "chain one strict d\n");                /* 11 */
    cr_assert_eq(conf.proxy_count, 4, "named hops add no proxies");
    cr_assert_eq(conf.chain_count, 11);
    const struct chain *ch = chain_named("s");
    cr_assert_eq(ch->mode, CHAIN_STRICT);
    ASSERT_HOPS(ch, "a", "b", "c");
    cr_assert_eq(ch->length, 3);
    cr_assert_eq(ch->line, 5);
    ch = chain_named("dyn");
    cr_assert_eq(ch->mode, CHAIN_DYNAMIC);
    ASSERT_HOPS(ch, "c", "a");
    cr_assert_eq(ch->length, 2);
    cr_assert_eq(ch->line, 6);
    ch = chain_named("r");
    cr_assert_eq(ch->mode, CHAIN_RANDOM);
    ASSERT_HOPS(ch, "a", "b", "c", "d");
    cr_assert_eq(ch->length, 2);
    cr_assert_eq(ch->line, 7);
    ch = chain_named("rr");
    cr_assert_eq(ch->mode, CHAIN_ROUND_ROBIN);
    ASSERT_HOPS(ch, "a", "b");
    cr_assert_eq(ch->length, 2, "without length, all the hops");
    ch = chain_named("r2");
    cr_assert_eq(ch->mode, CHAIN_RANDOM);
    ASSERT_HOPS(ch, "d", "c", "b");
    cr_assert_eq(ch->length, 3, "without length, all the hops");
    ch = chain_named("rr3");
    ASSERT_HOPS(ch, "d", "c", "b", "a");
    cr_assert_eq(ch->length, 3);
    cr_assert_eq(ch->line, 10);
    ch = chain_named("one");
    ASSERT_HOPS(ch, "d");
    cr_assert_eq(ch->length, 1);
    cr_assert_null(config_default_chain(&conf));
}

Test(config_net, chain_repeats_a_proxy)
{
    parse_with_proxies("chain twice strict a a\n");
    ASSERT_HOPS(chain_named("twice"), "a", "a");
}

Test(config_net, chain_with_inline_urls)
{
    parse_with_proxies("chain out strict a socks5h://u:pw@10.0.0.9:1081 http://proxy.example:3128 d\n");
    cr_assert_eq(conf.proxy_count, 6);
    const struct chain *ch = chain_named("out");
    ASSERT_HOPS(ch, "a", "out#2", "out#3", "d");
    cr_assert_eq(ch->line, 5);
    const struct proxy *p = &conf.proxies[proxy_index("out#2")];
    cr_assert_eq(p->kind, PROXY_SOCKS5);
    cr_assert(p->remote_dns);
    cr_assert_str_eq(p->user, "u");
    cr_assert_str_eq(p->pass, "pw");
    cr_assert_eq(p->port, 1081);
    cr_assert(p->has_addr);
    p = &conf.proxies[proxy_index("out#3")];
    cr_assert_eq(p->kind, PROXY_HTTP);
    cr_assert_not(p->has_addr);
    cr_assert_str_eq(p->host, "proxy.example");
    /* An inline hop is a proxy like any other, with its own one-hop chain. */
    cr_assert_eq(chain_named("out#2")->hop_count, 1);
    cr_assert_eq(chain_named("out#2")->line, 5);
}

Test(config_net, chain_called_default_is_the_default)
{
    parse_with_proxies("chain default dynamic socks5://10.0.0.8 b\n");
    const struct chain *ch = config_default_chain(&conf);
    cr_assert_not_null(ch);
    cr_assert_eq(ch->mode, CHAIN_DYNAMIC);
    ASSERT_HOPS(ch, "default#1", "b");
    cr_assert_null(config_default_proxy(&conf), "the chain is the default, not a proxy");
}

Test(config_net, chain_all_inline)
{
    parse_ok("chain x round-robin length 1 socks4a://id@10.0.0.1 socks5://10.0.0.2 http://u:p@10.0.0.3\n");
    ASSERT_HOPS(chain_named("x"), "x#1", "x#2", "x#3");
    cr_assert_eq(chain_named("x")->length, 1);
    cr_assert_eq(conf.proxies[0].kind, PROXY_SOCKS4);
    cr_assert(conf.proxies[0].remote_dns);
    cr_assert_str_eq(conf.proxies[0].user, "id");
    cr_assert_eq(conf.proxies[2].kind, PROXY_HTTP);
    cr_assert_str_eq(conf.proxies[2].pass, "p");
}

Test(config_net, chain_length_rules)
{
    bad_with_proxies("chain s strict length 2 a b\n", 1, "random and round-robin");
    bad_with_proxies("chain s dynamic length 1 a b\n", 1, "random and round-robin");
    bad_with_proxies("\nchain r random length 3 a b\n", 2, "length 3 is more than the 2 hops");
    bad_with_proxies("chain r round-robin length 5 a b c d\n", 1, "more than");
    bad_with_proxies("chain r random length 0 a b\n", 1, "'length' takes");
    bad_with_proxies("chain r random length x a b\n", 1, "'length' takes");
    bad_with_proxies("chain r random length -1 a b\n", 1, "'length' takes");
    bad_with_proxies("chain r random length 17 a b\n", 1, "'length' takes");
    bad_with_proxies("chain r random length 2x a b\n", 1, "'length' takes");
    bad_with_proxies("chain r random length 2\n", 1, "'length' takes");
    bad_with_proxies("chain r random length\n", 1, "takes");
    /* Without length a random chain goes through all its hops: more than 16 would overrun the
     * handshake's hops (chain_pick writes PROXY_CHAIN_MAX at most). */
    bad_with_proxies("chain r random a b c d a b c d a b c d a b c d a\n", 1, "needs 'length N'");
    bad_with_proxies("chain r round-robin a b c d a b c d a b c d a b c d a\n", 1, "needs 'length N'");
    parse_with_proxies("chain r random length 16 a b c d a b c d a b c d a b c d a\n");
    /* length equal to the hop count, and 1, are fine */
    parse_with_proxies("chain r random length 4 a b c d\nchain rr round-robin length 1 a b\n");
    cr_assert_eq(chain_named("r")->length, 4);
    cr_assert_eq(chain_named("rr")->length, 1);
}

Test(config_net, chain_errors)
{
    bad_with_proxies("chain cx strict a nope\n", 1, "no proxy called 'nope'");
    bad_with_proxies("chain c1 strict a\nchain c2 strict c1\n", 2, "'c1'");   /* a hop is a proxy, not a chain */
    bad_with_proxies("chain cx fast a b\n", 1, "bad chain mode 'fast'");
    bad_with_proxies("chain cx Strict a\n", 1, "bad chain mode");
    bad_with_proxies("chain cx strict\n", 1, "'chain' takes");
    bad_with_proxies("chain cx\n", 1, "'chain' takes");
    bad_with_proxies("chain\n", 1, "'chain' takes");
    bad_with_proxies("chain bad/name strict a\n", 1, "bad chain name");
    bad_with_proxies("chain socks5://h strict a\n", 1, "bad chain name");
    bad_with_proxies("chain cx strict a socks5://h:0\n", 1, "hop 2");
    bad_with_proxies("chain cx strict socks4://u:p@h\n", 1, "hop 1");
    bad_with_proxies("chain cx strict ftp://h\n", 1, "scheme");
}

/* "chain cx strict " + n hops (names a..d in turn, or inline URLs). */
static void chain_of(char *text, size_t size, int n, bool inline_urls)
{
    int used = snprintf(text, size, "chain x strict");
    for (int i = 0; i < n; i++) {
        if (inline_urls)
            used += snprintf(text + used, size - (size_t)used, " socks5://10.1.0.%d:%d", i + 1, 1000 + i);
        else
            used += snprintf(text + used, size - (size_t)used, " %c", 'a' + i % 4);
    }
    snprintf(text + used, size - (size_t)used, "\n");
}

Test(config_net, chain_hop_limit)
{
    char text[2048];
    chain_of(text, sizeof(text), 16, false);
    parse_with_proxies(text);
    cr_assert_eq(chain_named("x")->hop_count, 16);
    cr_assert_str_eq(conf.proxies[chain_named("x")->hops[15]].name, "d");
    chain_of(text, sizeof(text), 16, true);
    parse_ok(text);
    cr_assert_eq(chain_named("x")->hop_count, 16);
    cr_assert_str_eq(conf.proxies[chain_named("x")->hops[15]].name, "x#16");
    cr_assert_eq(conf.proxies[chain_named("x")->hops[15]].port, 1015);
    chain_of(text, sizeof(text), 17, false);
    bad_with_proxies(text, 1, "at most 16 hops");
    chain_of(text, sizeof(text), 17, true);
    parse_bad(text, 1, "at most 16 hops");
}

/* ---- config_add_* directly ---- */

Test(config_net, add_chain_api)
{
    parse_with_proxies("");
    size_t hops[CHAIN_HOPS_MAX + 1] = { 0, 1, 2 };
    size_t before = conf.chain_count;
    cr_assert_eq(config_add_chain(&conf, "x", CHAIN_STRICT, 0, hops, 0, 9), -EINVAL, "no hops");
    cr_assert_eq(config_add_chain(&conf, "x", CHAIN_STRICT, 0, hops, CHAIN_HOPS_MAX + 1, 9), -EINVAL, "17 hops");
    cr_assert_eq(config_add_chain(&conf, "x", CHAIN_RANDOM, 4, hops, 3, 9), -EINVAL, "length over the hops");
    cr_assert_eq(config_add_chain(&conf, "x", CHAIN_RANDOM, 0, hops, PROXY_CHAIN_MAX + 1, 9), -EINVAL,
                 "no length: all 17 hops per connection");
    char long_name[PROXY_NAME_MAX + 2];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    cr_assert_eq(config_add_chain(&conf, long_name, CHAIN_STRICT, 0, hops, 1, 9), -EINVAL, "64-character name");
    cr_assert_eq(config_add_chain(&conf, "a", CHAIN_STRICT, 0, hops, 1, 9), -EEXIST);
    cr_assert_eq(conf.chain_count, before, "failed adds add nothing");
    int r = config_add_chain(&conf, "x", CHAIN_RANDOM, 0, hops, 3, 9);
    cr_assert_eq(r, (int)before);
    cr_assert_eq(conf.chains[r].length, 3, "length 0 means all");
    cr_assert_eq(conf.chains[r].line, 9);
    cr_assert_eq(conf.chains[r].hops[2], 2);
}

Test(config_net, add_proxy_api)
{
    struct proxy p;
    char why[128];
    cr_assert_eq(proxy_url_parse("socks5://10.0.0.1", &p, why, sizeof(why)), 0);
    cr_assert_eq(config_add_proxy(&conf, &p, 3), 0);
    cr_assert_str_eq(conf.proxies[0].name, "default", "an empty name means default");
    cr_assert_eq(config_add_proxy(&conf, &p, 4), -EEXIST);
    strcpy(p.name, "n");
    cr_assert_eq(config_add_proxy(&conf, &p, 5), 1);
    cr_assert_eq(config_add_proxy(&conf, &p, 6), -EEXIST);
    cr_assert_eq(conf.proxy_count, 2);
    cr_assert_eq(conf.chain_count, 2);
    cr_assert_eq(chain_named("n")->line, 5);
    /* Grows past its first allocation. */
    for (int i = 0; i < 40; i++) {
        snprintf(p.name, sizeof(p.name), "p%d", i);
        cr_assert_eq(config_add_proxy(&conf, &p, 10 + i), 2 + i);
    }
    cr_assert_eq(conf.proxy_count, 42);
    cr_assert_geq(conf.proxy_capacity, 42);
    cr_assert_eq(chain_named("p39")->hops[0], 41);
}

/* ---- route lines ---- */

/* What a route line's matchers should have produced. */
struct want_rule {
    const char *match;       /* the MATCH words */
    const char *cidr;        /* NULL: none */
    const char *glob;        /* NULL: none */
    enum glob_kind kind;
    struct port_range ports[4];
    size_t port_count;
};

static const struct want_rule MATCHERS[] = {
    { "10.0.0.0/8", "10.0.0.0/8", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "10.1.2.3/8", "10.0.0.0/8", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "192.0.2.7", "192.0.2.7/32", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "fd00::/8", "fd00::/8", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "2001:db8::1", "2001:db8::1/128", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "0.0.0.0/0", "0.0.0.0/0", NULL, GLOB_NONE, { { 0 } }, 0 },
    { "*.corp.example", NULL, "*.corp.example", GLOB_SUFFIX, { { 0 } }, 0 },
    { "host?.lan", NULL, "host?.lan", GLOB_PATTERN, { { 0 } }, 0 },
    { "[ab]*.Example", NULL, "[ab]*.Example", GLOB_PATTERN, { { 0 } }, 0 },
    { "[!x]_y-z.example", NULL, "[!x]_y-z.example", GLOB_PATTERN, { { 0 } }, 0 },
    { "localhost", NULL, "localhost", GLOB_EXACT, { { 0 } }, 0 },
    { "port 80", NULL, NULL, GLOB_NONE, { { 80, 80 } }, 1 },
    { "port 8000-8100", NULL, NULL, GLOB_NONE, { { 8000, 8100 } }, 1 },
    { "port 80,443,8000-8100", NULL, NULL, GLOB_NONE, { { 80, 80 }, { 443, 443 }, { 8000, 8100 } }, 3 },
    { "port 0-65535", NULL, NULL, GLOB_NONE, { { 0, 65535 } }, 1 },
    { "*", NULL, NULL, GLOB_NONE, { { 0 } }, 0 },
    { "* *", NULL, NULL, GLOB_NONE, { { 0 } }, 0 },
    { "10.0.0.0/8 port 22", "10.0.0.0/8", NULL, GLOB_NONE, { { 22, 22 } }, 1 },
    { "port 22 10.0.0.0/8", "10.0.0.0/8", NULL, GLOB_NONE, { { 22, 22 } }, 1 },
    { "fd00::/8 port 443,8443", "fd00::/8", NULL, GLOB_NONE, { { 443, 443 }, { 8443, 8443 } }, 2 },
    { "*.corp.example port 443", NULL, "*.corp.example", GLOB_SUFFIX, { { 443, 443 } }, 1 },
    { "port 1-1024 *.corp.example", NULL, "*.corp.example", GLOB_SUFFIX, { { 1, 1024 } }, 1 },
    { "* port 25", NULL, NULL, GLOB_NONE, { { 25, 25 } }, 1 },
};

/* Asserts rule r is what w describes. */
static void assert_rule(const struct rule *r, const struct want_rule *w)
{
    cr_assert_eq(r->has_cidr, w->cidr != NULL, "'%s': has_cidr", w->match);
    if (w->cidr)
        assert_cidr(&r->cidr, w->cidr);
    if (w->glob)
        cr_assert_str_eq(r->glob ? r->glob : "(null)", w->glob, "'%s': glob", w->match);
    else
        cr_assert_null(r->glob, "'%s': glob '%s'", w->match, r->glob);
    cr_assert_eq(r->glob_kind, w->kind, "'%s': glob kind %d", w->match, r->glob_kind);
    cr_assert_eq(r->port_count, w->port_count, "'%s': %zu ports", w->match, r->port_count);
    for (size_t i = 0; i < w->port_count; i++) {
        cr_assert_eq(r->ports[i].lo, w->ports[i].lo, "'%s': port %zu lo %u", w->match, i, r->ports[i].lo);
        cr_assert_eq(r->ports[i].hi, w->ports[i].hi, "'%s': port %zu hi %u", w->match, i, r->ports[i].hi);
    }
}

Test(config_net, route_every_matcher_and_action)
{
    static const char *const actions[] = { "direct", "reject", "via corp", "via out", "via default", "via out#2" };
    for (size_t m = 0; m < sizeof(MATCHERS) / sizeof(MATCHERS[0]); m++) {
        for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
            char text[512];
            snprintf(text, sizeof(text),
                     "proxy corp socks5://10.0.0.1\n"
                     "proxy socks5h://10.0.0.2\n"
                     "chain out dynamic corp socks5://10.0.0.3\n"
                     "\n"
                     "route %s %s\n",
                     MATCHERS[m].match, actions[a]);
            parse_ok(text);
            cr_assert_eq(conf.rule_count, 1, "'%s'", text);
            const struct rule *r = &conf.rules[0];
            assert_rule(r, &MATCHERS[m]);
            cr_assert_eq(r->line, 5, "'%s': line %d", text, r->line);
            if (a == 0) {
                cr_assert_eq(r->action, ROUTE_DIRECT);
            } else if (a == 1) {
                cr_assert_eq(r->action, ROUTE_REJECT);
            } else {
                cr_assert_eq(r->action, ROUTE_VIA, "'%s'", text);
                const char *name = actions[a] + 4;
                cr_assert_lt(r->chain, conf.chain_count);
                cr_assert_str_eq(conf.chains[r->chain].name, name, "'%s'", text);
                cr_assert_eq(&conf.chains[r->chain], config_find_chain(&conf, name));
            }
        }
    }
}

Test(config_net, route_via_an_inline_hop)
{
    parse_ok("chain out strict socks5://10.0.0.1 socks5://10.0.0.2\nroute * via out#2\n");
    cr_assert_eq(conf.rules[0].action, ROUTE_VIA);
    cr_assert_str_eq(conf.chains[conf.rules[0].chain].name, "out#2");
}

/* Host names may start with a digit (163.com, 1password.com, 4chan.org): a glob for one is a glob. */
Test(config_net, route_glob_starting_with_a_digit)
{
    parse_ok("route 1password.com direct\nroute *.163.com reject\nroute 9gag.* reject\n");
    cr_assert_eq(conf.rule_count, 3);
    cr_assert_str_eq(conf.rules[0].glob, "1password.com");
    cr_assert_not(conf.rules[0].has_cidr);
    cr_assert_str_eq(conf.rules[1].glob, "*.163.com");
    cr_assert_str_eq(conf.rules[2].glob, "9gag.*");
}

Test(config_net, route_errors)
{
    static const struct { const char *line; const char *mention; } cases[] = {
        { "route", "'route' takes MATCH... ACTION" },
        { "route direct", "'route' takes" },
        { "route via corp", "'route' takes" },
        { "route *", "'route' takes" },
        { "route 10.0.0.0/8", "'route' takes" },
        { "route port 80", "'route' takes" },
        { "route * via", "'via' takes" },
        { "route * via nope", "no proxy or chain called 'nope'" },
        { "route * via Corp", "'Corp'" },
        { "route * direct now", "unexpected 'now'" },
        { "route * reject via corp", "unexpected 'via'" },
        { "route * via corp corp", "unexpected 'corp'" },
        { "route * direct direct", "unexpected 'direct'" },
        { "route port direct", "'port' takes" },
        { "route port", "'port' takes" },
        { "route port x direct", "'port' takes" },
        { "route port 0x50 direct", "'port' takes" },
        { "route port 80- direct", "'port' takes" },
        { "route port -80 direct", "'port' takes" },
        { "route port 90-80 direct", "'port' takes" },
        { "route port 65536 direct", "'port' takes" },
        { "route port 100000 direct", "'port' takes" },
        { "route port 80,,443 direct", "'port' takes" },
        { "route port 80, direct", "'port' takes" },
        { "route port ,80 direct", "'port' takes" },
        { "route port 80-90-100 direct", "'port' takes" },
        { "route port +80 direct", "'port' takes" },
        { "route port 80 443 direct", "bad match '443'" },
        { "route port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 direct", "'port' takes" },
        { "route 10.0.0.0/33 direct", "bad match '10.0.0.0/33'" },
        { "route 1.2.3 direct", "bad match '1.2.3'" },
        { "route 10.0.0.0/8/8 direct", "bad match" },
        { "route 10.0.0.0/8 192.168.0.0/16 direct", "bad match '192.168.0.0/16'" },
        { "route *.a.example *.b.example direct", "bad match '*.b.example'" },
        { "route 10.0.0.0/8 *.a.example direct", "bad match '*.a.example'" },
        { "route *.a.example 10.0.0.0/8 direct", "bad match '10.0.0.0/8'" },
        { "route fd00::/8 host.example direct", "bad match" },
        { "route a%b.example direct", "bad match 'a%b.example'" },
        { "route a/b direct", "bad match" },
        { "route fe80::1%eth0 direct", "bad match" },
        { "route fe80::1/200 direct", "bad match" },
        { "route a:b direct", "bad match" },
        { "route 10.0.0.* direct", "bad match '10.0.0.*'" },   /* an address, mistyped: not a name */
        { "route 192.168.1 direct", "bad match" },
        { "route ** direct", NULL },   /* fine: globs */
        { "route *.* direct", NULL },
        { "route 4chan.org direct", NULL },
        { "route 1e100.net port 443 reject", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "proxy corp socks5://10.0.0.1\n# comment\n%s\n", cases[i].line);
        if (!cases[i].mention) {
            parse_ok(text);
            continue;
        }
        parse_bad(text, 3, cases[i].mention);
    }
}

Test(config_net, route_glob_too_long)
{
    char glob[RULE_GLOB_MAX + 2], text[600];
    memset(glob, 'a', sizeof(glob) - 1);
    glob[sizeof(glob) - 1] = '\0';
    snprintf(text, sizeof(text), "route %s direct\n", glob);
    parse_bad(text, 1, "bad match");
    glob[RULE_GLOB_MAX] = '\0';   /* 255 characters: fits */
    snprintf(text, sizeof(text), "route %s direct\n", glob);
    parse_ok(text);
    cr_assert_eq(strlen(conf.rules[0].glob), RULE_GLOB_MAX);
}

Test(config_net, route_via_undeclared_name)
{
    parse_bad("route * via later\nproxy later socks5://10.0.0.1\n", 1, "'later' is declared above");
    parse_bad("proxy a socks5://10.0.0.1\n\nroute *.x via default\n", 3, "'default'");
    parse_bad("route * via default\nproxy socks5://10.0.0.1\n", 1, "'default'");
}

Test(config_net, route_port_16_entries)
{
    parse_ok("route port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16-20 reject\n");
    cr_assert_eq(conf.rules[0].port_count, 16);
    cr_assert_eq(conf.rules[0].ports[15].lo, 16);
    cr_assert_eq(conf.rules[0].ports[15].hi, 20);
}

Test(config_net, ports_parse_direct)
{
    struct rule r;
    memset(&r, 0, sizeof(r));
    cr_assert_eq(ports_parse("443", &r), 0);
    cr_assert_eq(r.port_count, 1);
    cr_assert_eq(r.ports[0].lo, 443);
    cr_assert_eq(r.ports[0].hi, 443);
    cr_assert_eq(ports_parse("8000-8100,22", &r), 0);
    cr_assert_eq(r.port_count, 2, "a second parse replaces the first");
    cr_assert_eq(r.ports[0].lo, 8000);
    cr_assert_eq(r.ports[0].hi, 8100);
    cr_assert_eq(r.ports[1].lo, 22);
    cr_assert_eq(ports_parse("65535", &r), 0);
    cr_assert_eq(r.ports[0].hi, 65535);
    cr_assert_eq(ports_parse("00080", &r), 0);
    cr_assert_eq(r.ports[0].lo, 80);
    static const char *const bad[] = { "", ",", "-", "a", "80-", "-80", "80--90", "90-80", "65536", "000080", "1 2", "80;443", "80,443," };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(ports_parse(bad[i], &r), -EINVAL, "'%s' accepted", bad[i]);
}

/* ---- direct lines ---- */

Test(config_net, direct_lines_become_rules_in_order)
{
    parse_ok("proxy socks5://10.0.0.1\n"
             "route 10.1.0.0/16 reject\n"
             "direct 10.0.0.0/8 fd00::/8 192.168.1.7\n"
             "route * via default\n"
             "direct ::1\n");
    cr_assert_eq(conf.rule_count, 6);
    static const struct { const char *cidr; enum route_action action; int line; } want[] = {
        { "10.1.0.0/16", ROUTE_REJECT, 2 }, { "10.0.0.0/8", ROUTE_DIRECT, 3 }, { "fd00::/8", ROUTE_DIRECT, 3 },
        { "192.168.1.7/32", ROUTE_DIRECT, 3 }, { NULL, ROUTE_VIA, 4 }, { "::1/128", ROUTE_DIRECT, 5 },
    };
    for (size_t i = 0; i < 6; i++) {
        const struct rule *r = &conf.rules[i];
        cr_assert_eq(r->action, want[i].action, "rule %zu", i);
        cr_assert_eq(r->line, want[i].line, "rule %zu", i);
        cr_assert_eq(r->has_cidr, want[i].cidr != NULL, "rule %zu", i);
        if (want[i].cidr)
            assert_cidr(&r->cidr, want[i].cidr);
        cr_assert_null(r->glob, "rule %zu", i);
        cr_assert_eq(r->glob_kind, GLOB_NONE);
        cr_assert_eq(r->port_count, 0);
    }
    cr_assert_eq(&conf.chains[conf.rules[4].chain], config_default_chain(&conf));
}

Test(config_net, direct_errors)
{
    parse_bad("direct\n", 1, "'direct' takes");
    parse_bad("\ndirect 10.0.0.0/8 *.example\n", 2, "'*.example'");
    parse_bad("direct 10.0.0.0/8 port 80\n", 1, "'port'");
}

/* ---- -x: config_load with env.proxy_url ---- */

static char tmp_dir[64];
static char tmp_files[4][128];
static int tmp_file_count;


static void tmp_setup(void)
{
    config_init(&conf);
    tmp_file_count = 0;
    strcpy(tmp_dir, "/tmp/socksify-net-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir));
}

static void tmp_teardown(void)
{
    config_free(&conf);
    for (int i = 0; i < tmp_file_count; i++)
        unlink(tmp_files[i]);
    rmdir(tmp_dir);
}

TestSuite(config_net_x, .init = tmp_setup, .fini = tmp_teardown);

/* Writes text to a new file under tmp_dir (mode 0600) and returns its path. */
static const char *conf_file(const char *text)
{
    cr_assert_lt(tmp_file_count, 4);
    char *path = tmp_files[tmp_file_count];
    snprintf(path, sizeof(tmp_files[0]), "%s/f%d.conf", tmp_dir, tmp_file_count);
    tmp_file_count++;
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0600), 0);
    return path;
}

/* config_load with the file holding text and -x url; asserts it returns want. */
static void load_x(const char *text, const char *url, int want, char *err, size_t errsize)
{
    char system_conf[128];
    snprintf(system_conf, sizeof(system_conf), "%s/none.conf", tmp_dir);
    struct config_env env = { .proxy_url = url, .proxy_label = "-x", .conf_path = text ? conf_file(text) : NULL,
                              .home = tmp_dir, .system_conf = system_conf };
    err[0] = '\0';
    int r = config_load(&conf, &env, err, errsize);
    cr_assert_eq(r, want, "config_load gave %d: %s", r, err);
}

Test(config_net_x, replaces_the_default_proxy_in_place)
{
    char err[ERR_SIZE];
    load_x("proxy socks5://1.1.1.1:1111\n"
           "proxy other socks5://3.3.3.3\n"
           "chain both dynamic default other\n"
           "route 10.0.0.0/8 via default\n",
           "socks5h://u:pw@2.2.2.2:2222", 0, err, sizeof(err));
    cr_assert_eq(conf.proxy_count, 2, "-x replaces; it adds no proxy");
    const struct proxy *p = config_default_proxy(&conf);
    cr_assert_eq(p, &conf.proxies[0], "same slot, so chains and routes that name it follow");
    cr_assert_str_eq(p->name, "default");
    cr_assert_str_eq(p->host, "2.2.2.2");
    cr_assert_eq(p->port, 2222);
    cr_assert(p->remote_dns);
    cr_assert_str_eq(p->pass, "pw");
    cr_assert_eq(config_default_chain(&conf)->hops[0], 0);
    cr_assert_eq(config_default_chain(&conf)->hop_count, 1);
    cr_assert_str_eq(conf.proxies[1].host, "3.3.3.3", "other proxies stay");
    cr_assert_eq(conf.proxies[config_find_chain(&conf, "both")->hops[0]].port, 2222);
    cr_assert_eq(&conf.chains[conf.rules[0].chain], config_default_chain(&conf));
}

Test(config_net_x, replaces_a_default_chain)
{
    char err[ERR_SIZE];
    load_x("proxy a socks5://1.1.1.1\n"
           "proxy b socks5://3.3.3.3\n"
           "chain default dynamic a b\n"
           "route 10.0.0.0/8 via a\n"
           "route 11.0.0.0/8 via default\n",
           "http://2.2.2.2:3128", 0, err, sizeof(err));
    cr_assert_eq(conf.proxy_count, 3);
    const struct chain *ch = config_default_chain(&conf);
    cr_assert_not_null(ch);
    cr_assert_eq(ch->mode, CHAIN_STRICT, "-x means: through this one proxy");
    cr_assert_eq(ch->hop_count, 1);
    cr_assert_eq(ch->length, 1);
    cr_assert_eq(ch->hops[0], 2);
    cr_assert_str_eq(ch->name, "default");
    const struct proxy *x = &conf.proxies[2];
    cr_assert_str_eq(x->host, "2.2.2.2");
    cr_assert_eq(x->kind, PROXY_HTTP);
    cr_assert_str_eq(x->name, "-x");
    cr_assert_null(config_default_proxy(&conf), "no proxy is called default");
    cr_assert_str_eq(conf.proxies[config_find_chain(&conf, "a")->hops[0]].host, "1.1.1.1");
    cr_assert_eq(&conf.chains[conf.rules[1].chain], ch);
    cr_assert_str_eq(conf.chains[conf.rules[0].chain].name, "a");
}

Test(config_net_x, adds_a_default_when_none)
{
    char err[ERR_SIZE];
    load_x("proxy a socks5://1.1.1.1\n", "socks4://9.9.9.9:1090", 0, err, sizeof(err));
    cr_assert_eq(conf.proxy_count, 2);
    const struct chain *ch = config_default_chain(&conf);
    cr_assert_not_null(ch);
    cr_assert_eq(ch->hops[0], 1);
    cr_assert_str_eq(conf.proxies[1].name, "default");
    cr_assert_eq(conf.proxies[1].kind, PROXY_SOCKS4);
    cr_assert_str_eq(conf.proxies[0].name, "a");
}

Test(config_net_x, bad_url_names_the_label)
{
    char err[ERR_SIZE];
    load_x("proxy a socks5://1.1.1.1\n", "socks4://u:p@9.9.9.9", -EINVAL, err, sizeof(err));
    cr_assert_eq(strncmp(err, "-x: ", 4), 0, "message \"%s\"", err);
    cr_assert_not_null(strstr(err, "user id only"), "message \"%s\"", err);
    cr_assert_null(conf.proxies, "a failed load frees what it parsed");
    cr_assert_eq(conf.proxy_count, 0);
    cr_assert_eq(conf.chain_count, 0);
}

Test(config_net_x, file_error_frees_everything)
{
    char err[ERR_SIZE];
    load_x("proxy a socks5://1.1.1.1\nchain c strict a\nroute * via c\nroute * via nope\n", NULL, -EINVAL, err, sizeof(err));
    cr_assert_not_null(strstr(err, ":4: "), "message \"%s\"", err);
    cr_assert_null(conf.proxies);
    cr_assert_null(conf.chains);
    cr_assert_null(conf.rules);
}

/* ---- config_free and warnings ---- */

Test(config_net, free_releases_and_allows_reuse)
{
    parse_with_proxies("chain out dynamic a socks5://u:secret@10.9.9.9 b\nroute * via out\ndirect 10.0.0.0/8\n");
    cr_assert_gt(conf.proxy_count, 0);
    config_free(&conf);
    cr_assert_null(conf.proxies);
    cr_assert_null(conf.chains);
    cr_assert_null(conf.rules);
    cr_assert_eq(conf.proxy_count + conf.proxy_capacity + conf.chain_count + conf.chain_capacity + conf.rule_count +
                     conf.rule_capacity, 0);
    config_free(&conf);   /* twice is harmless */
    cr_assert_null(config_default_chain(&conf));
    cr_assert_null(config_find_chain(&conf, "out"));
    /* Parsing again into the freed config works (parse_ok re-inits). */
    char err[ERR_SIZE] = "";
    cr_assert_eq(config_parse(&conf, "proxy z socks5://10.0.0.1\n", "net.conf", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(conf.proxy_count, 1);
    cr_assert_str_eq(conf.proxies[0].name, "z");
}

Test(config_net, warnings_accumulate_one_per_line)
{
    cr_assert_str_empty(conf.warnings);
    config_warn(&conf, "first %d", 1);
    cr_assert_str_eq(conf.warnings, "first 1");
    config_warn(&conf, "second");
    config_warn(&conf, "%s:%d: third", "f.conf", 3);
    cr_assert_str_eq(conf.warnings, "first 1\nsecond\nf.conf:3: third");
}

Test(config_net, warnings_never_overflow)
{
    char line[100];
    memset(line, 'w', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 100; i++)
        config_warn(&conf, "%d %s", i, line);
    size_t len = strnlen(conf.warnings, sizeof(conf.warnings));
    cr_assert_lt(len, sizeof(conf.warnings), "not NUL-terminated");
    cr_assert_gt(len, sizeof(conf.warnings) - 200, "the buffer is used up to near its end (%zu)", len);
    cr_assert_eq(strncmp(conf.warnings, "0 www", 5), 0, "the first warnings are kept");
    config_warn(&conf, "late");
    cr_assert_eq(strnlen(conf.warnings, sizeof(conf.warnings)), len, "a full buffer drops new warnings");
}

Test(config_net_x, readable_password_warns)
{
    const char *path = conf_file("proxy socks5://u:pw@10.0.0.1\n");
    cr_assert_eq(chmod(path, 0644), 0);
    char err[ERR_SIZE] = "";
    cr_assert_eq(config_parse_file(&conf, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(strstr(conf.warnings, "chmod 600"), "warnings \"%s\"", conf.warnings);
    cr_assert_not_null(strstr(conf.warnings, path));
    cr_assert_null(strchr(conf.warnings, '\n'), "one warning, one line");
    config_free(&conf);
    config_init(&conf);
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_eq(config_parse_file(&conf, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_empty(conf.warnings);
}

/* Random and round-robin chains pick a few proxies per connection, so their lists may be long. */
Test(config_net, random_chain_lists_more_than_sixteen)
{
    char text[4096];
    int used = snprintf(text, sizeof(text), "chain r random length 3");
    for (int i = 0; i < 40; i++)
        used += snprintf(text + used, sizeof(text) - (size_t)used, " socks5://10.2.0.%d:1080", i + 1);
    snprintf(text + used, sizeof(text) - (size_t)used, "\n");
    parse_ok(text);
    const struct chain *ch = chain_named("r");
    cr_assert_eq(ch->hop_count, 40);
    cr_assert_eq(ch->length, 3);
    struct chain_health h;
    cr_assert_eq(chain_health_init(&h, &conf), 0);
    uint64_t rng = 7;
    bool seen[40] = { false };
    for (int k = 0; k < 400; k++) {
        size_t out[PROXY_CHAIN_MAX];
        cr_assert_eq(chain_pick(&conf, ch, &h, 0, &rng, out), 3);
        for (int i = 0; i < 3; i++)
            seen[out[i] - ch->hops[0]] = true;
    }
    chain_health_free(&h);
    for (int i = 0; i < 40; i++)
        cr_assert(seen[i], "proxy %d of the 40 was never picked", i + 1);
    memcpy(text, "chain r dynamic", 15);   /* same list, but every proxy on every connection */
    memcpy(text + 15, "        ", 8);
    parse_bad(text, 1, "at most 16 hops");
}
