/* Unit tests for core/route.c: which connections go direct and which through the proxy. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <string.h>

#include "route.h"
#include "helpers.h"

/* A config from socksify.conf text (caller frees). */
static void route_config(struct config *c, const char *text)
{
    char err[256] = "";
    config_init(c);
    cr_assert_eq(config_parse(c, text, "route.conf", err, sizeof(err)), 0, "%s", err);
}

static enum route_action decide(const struct config *c, const char *ip, uint16_t port)
{
    union sockaddr_any dst = test_addr(ip, port);
    struct route r = route_decide(c, &dst);
    cr_assert_not_null(r.reason);
    cr_assert_str_not_empty(r.reason);
    return r.action;
}

#define ASSERT_DIRECT(c, ip, port) cr_assert_eq(decide((c), (ip), (port)), ROUTE_DIRECT, "%s port %d should go direct", (ip), (port))
#define ASSERT_PROXY(c, ip, port) cr_assert_eq(decide((c), (ip), (port)), ROUTE_PROXY, "%s port %d should be proxied", (ip), (port))

Test(route, default_is_proxy)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\n");
    ASSERT_PROXY(&c, "8.8.8.8", 53);
    ASSERT_PROXY(&c, "10.1.2.3", 80);
    ASSERT_PROXY(&c, "2001:4860::8888", 443);
    ASSERT_PROXY(&c, "::ffff:8.8.8.8", 53);
    union sockaddr_any dst = test_addr("8.8.8.8", 53);
    struct route r = route_decide(&c, &dst);
    cr_assert_eq(r.action, ROUTE_PROXY);
    config_free(&c);
}

Test(route, proxy_itself_direct)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\n");
    ASSERT_DIRECT(&c, "192.0.2.10", 1080);
    ASSERT_DIRECT(&c, "::ffff:192.0.2.10", 1080);
    union sockaddr_any dst = test_addr("192.0.2.10", 1080);
    struct route r = route_decide(&c, &dst);
    cr_assert_not_null(strstr(r.reason, "proxy"), "reason '%s'", r.reason);
    /* Other ports on the proxy's host are ordinary destinations. */
    ASSERT_PROXY(&c, "192.0.2.10", 80);
    ASSERT_PROXY(&c, "192.0.2.11", 1080);
    config_free(&c);
}

Test(route, proxy_itself_v6)
{
    struct config c;
    route_config(&c, "proxy socks5://[2001:db8::10]:9050\n");
    ASSERT_DIRECT(&c, "2001:db8::10", 9050);
    ASSERT_PROXY(&c, "2001:db8::10", 9051);
    ASSERT_PROXY(&c, "2001:db8::11", 9050);
    config_free(&c);
}

Test(route, proxy_itself_with_loopback_proxied)
{
    struct config c;
    route_config(&c, "proxy socks5://127.0.0.1:1080\ndirect_loopback no\n");
    ASSERT_DIRECT(&c, "127.0.0.1", 1080);
    ASSERT_DIRECT(&c, "::ffff:127.0.0.1", 1080);
    ASSERT_PROXY(&c, "127.0.0.1", 8080);
    config_free(&c);
}

Test(route, proxy_by_name_is_not_matched)
{
    struct config c;
    route_config(&c, "proxy socks5h://proxy.example:1080\n");
    cr_assert_not(c.proxy.has_addr);
    ASSERT_PROXY(&c, "0.0.0.0", 1080);
    ASSERT_PROXY(&c, "192.0.2.10", 1080);
    config_free(&c);
}

Test(route, loopback_direct_by_default)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\n");
    cr_assert(c.direct_loopback);
    ASSERT_DIRECT(&c, "127.0.0.1", 80);
    ASSERT_DIRECT(&c, "127.8.9.10", 5432);
    ASSERT_DIRECT(&c, "::1", 80);
    ASSERT_DIRECT(&c, "::ffff:127.0.0.1", 80);
    union sockaddr_any dst = test_addr("127.0.0.1", 80);
    struct route r = route_decide(&c, &dst);
    cr_assert_not_null(strstr(r.reason, "loopback"), "reason '%s'", r.reason);
    ASSERT_PROXY(&c, "128.0.0.1", 80);
    config_free(&c);
}

Test(route, loopback_proxied_when_disabled)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\ndirect_loopback no\n");
    ASSERT_PROXY(&c, "127.0.0.1", 80);
    ASSERT_PROXY(&c, "127.8.9.10", 5432);
    ASSERT_PROXY(&c, "::1", 80);
    ASSERT_PROXY(&c, "::ffff:127.0.0.1", 80);
    config_free(&c);
}

Test(route, loopback_in_direct_range_still_direct)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\ndirect_loopback no\ndirect 127.0.0.0/8\n");
    ASSERT_DIRECT(&c, "127.0.0.1", 80);
    ASSERT_PROXY(&c, "::1", 80);
    config_free(&c);
}

Test(route, direct_ranges)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\n"
                     "direct 10.0.0.0/8 172.16.0.0/12\n"
                     "direct fd00::/8 192.168.1.7\n");
    ASSERT_DIRECT(&c, "10.1.2.3", 80);
    ASSERT_DIRECT(&c, "::ffff:10.1.2.3", 80);
    ASSERT_DIRECT(&c, "172.31.255.255", 22);
    ASSERT_PROXY(&c, "172.32.0.0", 22);
    ASSERT_DIRECT(&c, "fd12:3456::1", 443);
    ASSERT_PROXY(&c, "fc00::1", 443);
    ASSERT_DIRECT(&c, "192.168.1.7", 1);
    ASSERT_PROXY(&c, "192.168.1.8", 1);
    ASSERT_PROXY(&c, "11.0.0.1", 80);
    union sockaddr_any dst = test_addr("10.1.2.3", 80);
    struct route r = route_decide(&c, &dst);
    cr_assert_not_null(strstr(r.reason, "direct"), "reason '%s'", r.reason);
    config_free(&c);
}

Test(route, catch_all_direct_range)
{
    struct config c;
    route_config(&c, "proxy socks5://192.0.2.10:1080\ndirect 0.0.0.0/0\n");
    ASSERT_DIRECT(&c, "8.8.8.8", 53);
    ASSERT_DIRECT(&c, "::ffff:8.8.8.8", 53);
    ASSERT_PROXY(&c, "2001:db8::1", 53);
    config_free(&c);
}

Test(route, no_proxy_configured)
{
    struct config c;
    route_config(&c, "direct 10.0.0.0/8\n");
    ASSERT_DIRECT(&c, "10.0.0.1", 80);
    ASSERT_DIRECT(&c, "127.0.0.1", 80);
    ASSERT_PROXY(&c, "1.1.1.1", 80);
    config_free(&c);
}
