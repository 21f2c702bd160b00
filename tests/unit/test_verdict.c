/* Unit tests for core/verdict.c: what becomes of an outgoing call, for every kind of socket, in
 * every case the hooks (and the seccomp supervisor after them) meet. */
#include <criterion/criterion.h>

#include <errno.h>

#include "helpers.h"
#include "verdict.h"

static struct config conf;

static void conf_free(void)
{
    config_free(&conf);
}

TestSuite(verdict, .fini = conf_free);

/* Replaces the suite's config (a test may load several in turn). */
static void verdict_config(const char *text)
{
    char err[256] = "";
    config_free(&conf);
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, text, "verdict.conf", err, sizeof(err)), 0, "%s", err);
}

static struct verdict of(const char *ip, uint16_t port, bool fake, enum verdict_protocol protocol)
{
    union sockaddr_any dst = test_addr(ip, port);
    return route_verdict(&conf, &dst, fake, protocol);
}

#define EXPECT(v, act, why) \
    do { \
        struct verdict v_ = (v); \
        cr_assert_eq(v_.action, (act), "action %d, expected %d", v_.action, (act)); \
        cr_assert_eq(v_.reason, (why), "reason %d, expected %d", v_.reason, (why)); \
    } while (0)

Test(verdict, routed_via_a_proxy_by_kind)
{
    verdict_config("proxy socks5://192.0.2.1:1080\n");
    EXPECT(of("10.1.2.3", 80, false, VERDICT_TCP_SOCKET), VERDICT_PROXY, VERDICT_ROUTED);
    EXPECT(of("10.1.2.3", 53, false, VERDICT_UDP_SOCKET), VERDICT_UDP, VERDICT_ROUTED);
    EXPECT(of("10.1.2.3", 7, false, VERDICT_OTHER_SOCKET), VERDICT_REFUSE, VERDICT_UNCARRIED);
}

Test(verdict, direct_and_the_dns_guard)
{
    verdict_config("proxy socks5h://192.0.2.1:1080\nroute 10.0.0.0/8 direct\n");
    EXPECT(of("10.1.2.3", 80, false, VERDICT_TCP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
    EXPECT(of("10.1.2.3", 53, false, VERDICT_UDP_SOCKET), VERDICT_REFUSE, VERDICT_DNS_LEAK);
    EXPECT(of("10.1.2.3", 53, false, VERDICT_TCP_SOCKET), VERDICT_REFUSE, VERDICT_DNS_LEAK);
    EXPECT(of("10.1.2.3", 53, false, VERDICT_OTHER_SOCKET), VERDICT_REFUSE, VERDICT_DNS_LEAK);
    EXPECT(of("10.1.2.3", 7, false, VERDICT_OTHER_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
    cr_assert_not_null(of("10.1.2.3", 80, false, VERDICT_TCP_SOCKET).route.rule, "the route line is known");
    /* Names local, or direct_dns yes: port 53 may go direct. */
    verdict_config("proxy socks5://192.0.2.1:1080\nroute 10.0.0.0/8 direct\n");
    EXPECT(of("10.1.2.3", 53, false, VERDICT_UDP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
    verdict_config("proxy socks5h://192.0.2.1:1080\nroute 10.0.0.0/8 direct\ndirect_dns yes\n");
    EXPECT(of("10.1.2.3", 53, false, VERDICT_UDP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
}

Test(verdict, reject_routes)
{
    verdict_config("proxy socks5://192.0.2.1:1080\nroute port 25 reject\n");
    EXPECT(of("10.1.2.3", 25, false, VERDICT_TCP_SOCKET), VERDICT_REJECT, VERDICT_ROUTED);
    EXPECT(of("10.1.2.3", 25, false, VERDICT_OTHER_SOCKET), VERDICT_REJECT, VERDICT_ROUTED);
    cr_assert_eq(verdict_errno(VERDICT_REJECT), ECONNREFUSED);
    cr_assert_eq(verdict_errno(VERDICT_REFUSE), EACCES);
    cr_assert_eq(verdict_errno(VERDICT_PASS), 0);
}

Test(verdict, fake_addresses_always_go_to_the_proxy)
{
    /* Even where a route would say direct: the name behind it can only be resolved by the proxy. */
    verdict_config("proxy socks5h://192.0.2.1:1080\nroute 198.18.0.0/15 direct\n");
    EXPECT(of("198.18.0.5", 443, true, VERDICT_TCP_SOCKET), VERDICT_PROXY, VERDICT_FAKE_ADDRESS);
    EXPECT(of("198.18.0.5", 53, true, VERDICT_UDP_SOCKET), VERDICT_UDP, VERDICT_FAKE_ADDRESS);
    EXPECT(of("198.18.0.5", 53, true, VERDICT_OTHER_SOCKET), VERDICT_REFUSE, VERDICT_UNCARRIED);
}

Test(verdict, no_configuration_fails_closed)
{
    union sockaddr_any dst = test_addr("10.1.2.3", 80);
    EXPECT(route_verdict(NULL, &dst, false, VERDICT_TCP_SOCKET), VERDICT_PROXY, VERDICT_NO_CONFIG);
    EXPECT(route_verdict(NULL, &dst, false, VERDICT_UDP_SOCKET), VERDICT_UDP, VERDICT_NO_CONFIG);
    EXPECT(route_verdict(NULL, &dst, false, VERDICT_OTHER_SOCKET), VERDICT_REFUSE, VERDICT_UNCARRIED);
    cr_assert(verdict_dns_leak(NULL, &(union sockaddr_any){ .in4 = test_addr("10.1.2.3", 53).in4 }));
}

Test(verdict, loopback_and_this_host_stay_here)
{
    verdict_config("proxy socks5://192.0.2.1:1080\n");
    EXPECT(of("127.0.0.1", 80, false, VERDICT_TCP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
    EXPECT(of("0.0.0.0", 80, false, VERDICT_TCP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
    EXPECT(of("::", 80, false, VERDICT_UDP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
    EXPECT(of("192.0.2.1", 1080, false, VERDICT_TCP_SOCKET), VERDICT_PASS, VERDICT_ROUTED);
}
