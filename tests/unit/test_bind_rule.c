/* Unit tests for core/bind_rule.c (when a listening socket goes through the proxy with BIND) and
 * the config keys behind it (bind, bind_timeout). */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "bind_rule.h"
#include "helpers.h"

static struct config conf;

static void conf_free(void)
{
    config_free(&conf);
}

TestSuite(bind_rule, .fini = conf_free);

static void rule_config(const char *text)
{
    char err[256] = "";
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, text, "bind.conf", err, sizeof(err)), 0, "%s", err);
}

/* The verdict for a TCP socket bound to ip:port while a connection to the tunnel's address is open. */
static struct bind_verdict of(const char *ip, uint16_t port, const char *tunnel)
{
    union sockaddr_any local = test_addr(ip, port);
    if (!tunnel)
        return bind_rule_decide(&conf, true, &local, NULL);
    union sockaddr_any dst = test_addr(tunnel, 21);
    struct route r = route_decide(&conf, &dst, NULL);
    return bind_rule_decide(&conf, true, &local, &r);
}

#define EXPECT(v, via, why) \
    do { \
        struct bind_verdict v_ = (v); \
        cr_assert_eq(v_.via_proxy, (via), "via %d (%s)", v_.via_proxy, v_.reason); \
        cr_assert_str_eq(v_.reason, (why)); \
    } while (0)

Test(bind_rule, any_or_host_address_port_0_with_a_tunnel_binds)
{
    rule_config("proxy socks5://10.0.0.1:1080\n");
    EXPECT(of("0.0.0.0", 0, "192.0.2.20"), true, "proxied connection open");
    EXPECT(of("10.200.1.2", 0, "192.0.2.20"), true, "proxied connection open");
    EXPECT(of("::", 0, "192.0.2.20"), true, "proxied connection open");
    EXPECT(of("2001:db8::5", 0, "2001:db8::20"), true, "proxied connection open");
}

Test(bind_rule, local_listeners_stay_local)
{
    rule_config("proxy socks5://10.0.0.1:1080\n");
    EXPECT(of("127.0.0.1", 0, "192.0.2.20"), false, "loopback");
    EXPECT(of("::1", 0, "192.0.2.20"), false, "loopback");
    EXPECT(of("::ffff:127.0.0.1", 0, "192.0.2.20"), false, "loopback");
    EXPECT(of("0.0.0.0", 8080, "192.0.2.20"), false, "a fixed port: a server of the program's own");
    EXPECT(of("0.0.0.0", 0, NULL), false, "no proxied connection open");
}

Test(bind_rule, not_tcp_stays_local)
{
    rule_config("proxy socks5://10.0.0.1:1080\n");
    union sockaddr_any local = test_addr("0.0.0.0", 0), dst = test_addr("192.0.2.20", 21);
    struct route r = route_decide(&conf, &dst, NULL);
    EXPECT(bind_rule_decide(&conf, false, &local, &r), false, "not a TCP socket");
}

Test(bind_rule, bind_no_keeps_everything_local)
{
    rule_config("proxy socks5://10.0.0.1:1080\nbind no\n");
    EXPECT(of("0.0.0.0", 0, "192.0.2.20"), false, "bind no");
    EXPECT(bind_rule_decide(NULL, true, &(union sockaddr_any){ 0 }, NULL), false, "bind no");
}

Test(bind_rule, direct_route_of_the_tunnel_stays_local)
{
    rule_config("proxy socks5://10.0.0.1:1080\nroute 192.0.2.0/24 direct\n");
    EXPECT(of("0.0.0.0", 0, "192.0.2.20"), false, "the proxied connection's route is not via a proxy");
}

Test(bind_rule, only_socks5_last_hops_bind)
{
    rule_config("proxy a socks4://10.0.0.1:1080\nproxy b socks5://10.0.0.2:1080\nproxy c http://10.0.0.3:3128\n"
                "chain s4last strict b a\nchain s5last strict a b\nchain mixed dynamic b c\n"
                "route 192.0.2.1 via s4last\nroute 192.0.2.2 via s5last\nroute 192.0.2.3 via mixed\n"
                "route 192.0.2.4 via c\nroute 192.0.2.5 via b\n");
    const char *why = "the chain's last proxy cannot BIND (SOCKS5 only)";
    EXPECT(of("0.0.0.0", 0, "192.0.2.1"), false, why);
    EXPECT(of("0.0.0.0", 0, "192.0.2.2"), true, "proxied connection open");
    EXPECT(of("0.0.0.0", 0, "192.0.2.3"), false, why);
    EXPECT(of("0.0.0.0", 0, "192.0.2.4"), false, why);
    EXPECT(of("0.0.0.0", 0, "192.0.2.5"), true, "proxied connection open");
}

Test(bind_rule, config_keys)
{
    rule_config("proxy socks5://10.0.0.1:1080\n");
    cr_assert(conf.bind_auto);
    cr_assert_eq(conf.bind_timeout_ms, CONFIG_DEFAULT_BIND_TIMEOUT_MS);
    config_free(&conf);
    rule_config("proxy socks5://10.0.0.1:1080\nbind no\nbind auto\nbind_timeout 2500ms\n");
    cr_assert(conf.bind_auto);
    cr_assert_eq(conf.bind_timeout_ms, 2500);
}

Test(bind_rule, config_errors_name_the_line)
{
    static const struct { const char *text, *mention; } bad[] = {
        { "proxy socks5://h:1\nbind yes\n", "test.conf:2: bad value 'yes' for bind: expected auto or no" },
        { "proxy socks5://h:1\nbind\n", "test.conf:2: 'bind' takes auto or no" },
        { "proxy socks5://h:1\n\nbind_timeout soon\n", "test.conf:3: bad duration 'soon'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config c = { 0 };
        char err[256] = "";
        config_init(&c);
        cr_assert_eq(config_parse(&c, bad[i].text, "test.conf", err, sizeof(err)), -EINVAL, "%s", bad[i].text);
        config_free(&c);
        cr_assert(strstr(err, bad[i].mention), "%s\ndoes not mention\n%s", err, bad[i].mention);
    }
}
