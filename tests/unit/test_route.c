/* Unit tests for core/route.c: which connections go direct and which through the proxy. */
#include <criterion/criterion.h>

#include <string.h>

#include "route.h"
#include "helpers.h"

/* Each test's config: set by route_config, freed after the test. */
static struct config conf;

static void conf_free(void)
{
    config_free(&conf);
}

TestSuite(route, .fini = conf_free);

/* Parses socksify.conf text into conf. */
static void route_config(const char *text)
{
    char err[256] = "";
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, text, "route.conf", err, sizeof(err)), 0, "%s", err);
}

/* The route conf gives to ip:port. */
static struct route route_of(const char *ip, uint16_t port)
{
    union sockaddr_any dst = test_addr(ip, port);
    return route_decide(&conf, &dst, NULL);
}

static enum route_action decide(const char *ip, uint16_t port)
{
    struct route r = route_of(ip, port);
    cr_assert_not_null(r.reason);
    cr_assert_str_not_empty(r.reason);
    return r.action;
}

/* Asserts the reason given for ip:port mentions word. */
static void assert_reason(const char *ip, uint16_t port, const char *word)
{
    struct route r = route_of(ip, port);
    cr_assert_not_null(strstr(r.reason, word), "reason '%s'", r.reason);
}

#define ASSERT_DIRECT(ip, port) cr_assert_eq(decide((ip), (port)), ROUTE_DIRECT, "%s port %d should go direct", (ip), (port))
#define ASSERT_PROXY(ip, port) cr_assert_eq(decide((ip), (port)), ROUTE_VIA, "%s port %d should be proxied", (ip), (port))

Test(route, default_is_proxy)
{
    route_config("proxy socks5://192.0.2.10:1080\n");
    ASSERT_PROXY("8.8.8.8", 53);
    ASSERT_PROXY("10.1.2.3", 80);
    ASSERT_PROXY("2001:4860::8888", 443);
    ASSERT_PROXY("::ffff:8.8.8.8", 53);
    cr_assert_eq(route_of("8.8.8.8", 53).action, ROUTE_VIA);
}

Test(route, proxy_itself_direct)
{
    route_config("proxy socks5://192.0.2.10:1080\n");
    ASSERT_DIRECT("192.0.2.10", 1080);
    ASSERT_DIRECT("::ffff:192.0.2.10", 1080);
    assert_reason("192.0.2.10", 1080, "proxy");
    cr_assert(route_of("192.0.2.10", 1080).to_proxy, "the library's own connect to its proxy");
    cr_assert_not(route_of("127.0.0.1", 1080).to_proxy, "loopback is direct, but not a proxy");
    /* Other ports on the proxy's host are ordinary destinations. */
    ASSERT_PROXY("192.0.2.10", 80);
    ASSERT_PROXY("192.0.2.11", 1080);
}

Test(route, proxy_itself_v6)
{
    route_config("proxy socks5://[2001:db8::10]:9050\n");
    ASSERT_DIRECT("2001:db8::10", 9050);
    ASSERT_PROXY("2001:db8::10", 9051);
    ASSERT_PROXY("2001:db8::11", 9050);
}

Test(route, proxy_itself_with_loopback_proxied)
{
    route_config("proxy socks5://127.0.0.1:1080\ndirect_loopback no\n");
    ASSERT_DIRECT("127.0.0.1", 1080);
    ASSERT_DIRECT("::ffff:127.0.0.1", 1080);
    ASSERT_PROXY("127.0.0.1", 8080);
}

Test(route, proxy_by_name_is_not_matched)
{
    route_config("proxy socks5h://proxy.example:1080\n");
    cr_assert_not(config_default_proxy(&conf)->has_addr);
    ASSERT_PROXY("198.51.100.1", 1080);
    ASSERT_PROXY("192.0.2.10", 1080);
}

Test(route, loopback_direct_by_default)
{
    route_config("proxy socks5://192.0.2.10:1080\n");
    cr_assert(conf.direct_loopback);
    ASSERT_DIRECT("127.0.0.1", 80);
    ASSERT_DIRECT("127.8.9.10", 5432);
    ASSERT_DIRECT("::1", 80);
    ASSERT_DIRECT("::ffff:127.0.0.1", 80);
    assert_reason("127.0.0.1", 80, "loopback");
    ASSERT_PROXY("128.0.0.1", 80);
}

Test(route, loopback_proxied_when_disabled)
{
    route_config("proxy socks5://192.0.2.10:1080\ndirect_loopback no\n");
    ASSERT_PROXY("127.0.0.1", 80);
    ASSERT_PROXY("127.8.9.10", 5432);
    ASSERT_PROXY("::1", 80);
    ASSERT_PROXY("::ffff:127.0.0.1", 80);
}

Test(route, loopback_in_direct_range_still_direct)
{
    route_config("proxy socks5://192.0.2.10:1080\ndirect_loopback no\ndirect 127.0.0.0/8\n");
    ASSERT_DIRECT("127.0.0.1", 80);
    ASSERT_PROXY("::1", 80);
}

Test(route, direct_ranges)
{
    route_config("proxy socks5://192.0.2.10:1080\n"
                 "direct 10.0.0.0/8 172.16.0.0/12\n"
                 "direct fd00::/8 192.168.1.7\n");
    ASSERT_DIRECT("10.1.2.3", 80);
    ASSERT_DIRECT("::ffff:10.1.2.3", 80);
    ASSERT_DIRECT("172.31.255.255", 22);
    ASSERT_PROXY("172.32.0.0", 22);
    ASSERT_DIRECT("fd12:3456::1", 443);
    ASSERT_PROXY("fc00::1", 443);
    ASSERT_DIRECT("192.168.1.7", 1);
    ASSERT_PROXY("192.168.1.8", 1);
    ASSERT_PROXY("11.0.0.1", 80);
    assert_reason("10.1.2.3", 80, "route");
    cr_assert_not_null(route_of("10.1.2.3", 80).rule, "a direct line is a rule");
}

Test(route, catch_all_direct_range)
{
    route_config("proxy socks5://192.0.2.10:1080\ndirect 0.0.0.0/0\n");
    ASSERT_DIRECT("8.8.8.8", 53);
    ASSERT_DIRECT("::ffff:8.8.8.8", 53);
    ASSERT_PROXY("2001:db8::1", 53);
}

Test(route, no_proxy_configured_rejects)
{
    route_config("direct 10.0.0.0/8\n");
    ASSERT_DIRECT("10.0.0.1", 80);
    ASSERT_DIRECT("127.0.0.1", 80);
    cr_assert_eq(decide("1.1.1.1", 80), ROUTE_REJECT, "no default proxy: fail closed");
    assert_reason("1.1.1.1", 80, "no default");
}
