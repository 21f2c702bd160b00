/* Unit tests for core/route.c with `route` rules: matchers (addresses, globs, ports, '*'),
 * first-match order, actions, the default chain, and the built-in direct routes. */
#include <criterion/criterion.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "route.h"

static struct config conf;

static void rr_init(void)
{
    config_init(&conf);
}

static void rr_fini(void)
{
    config_free(&conf);
}

TestSuite(routes_rules, .init = rr_init, .fini = rr_fini);

/* Parses text into conf (fresh). */
static void rr_config(const char *text)
{
    char err[512] = "";
    config_free(&conf);
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, text, "rules.conf", err, sizeof(err)), 0, "%s\n--- text ---\n%s", err, text);
}

/* The route to ip:port, for the name behind it if name is not NULL. */
static struct route decide(const char *ip, uint16_t port, const char *name)
{
    union sockaddr_any dst = test_addr(ip, port);
    struct route r = route_decide(&conf, &dst, name);
    cr_assert_not_null(r.reason);
    cr_assert_str_not_empty(r.reason);
    if (r.action == ROUTE_VIA)
        cr_assert_not_null(r.chain);
    else
        cr_assert_null(r.chain, "%s:%u: a chain for a non-via route", ip, port);
    return r;
}

/* A fake address, as a program with dns remote would connect to for a name. */
#define FAKE "198.18.0.7"

/* Asserts the route to ip:port (name) is action via the chain called chain (NULL for direct/reject),
 * decided by the rule on line `line` (0: no rule). */
static void expect(const char *ip, uint16_t port, const char *name, enum route_action action, const char *chain, int line)
{
    struct route r = decide(ip, port, name);
    static const char *const names[] = { "direct", "reject", "via" };
    cr_assert_eq(r.action, action, "%s:%u (%s): %s, expected %s", ip, port, name ? name : "-", names[r.action],
                 names[action]);
    if (chain)
        cr_assert_str_eq(r.chain->name, chain, "%s:%u (%s)", ip, port, name ? name : "-");
    if (line) {
        cr_assert_not_null(r.rule, "%s:%u (%s): no rule, expected line %d", ip, port, name ? name : "-", line);
        cr_assert_eq(r.rule->line, line, "%s:%u (%s): rule of line %d, expected %d", ip, port, name ? name : "-",
                     r.rule->line, line);
        cr_assert_str_eq(r.reason, "route");
    } else {
        cr_assert_null(r.rule, "%s:%u (%s): rule of line %d, expected none", ip, port, name ? name : "-",
                       r.rule ? r.rule->line : 0);
    }
}

#define DIRECT(ip, port, name, line) expect((ip), (port), (name), ROUTE_DIRECT, NULL, (line))
#define REJECT(ip, port, name, line) expect((ip), (port), (name), ROUTE_REJECT, NULL, (line))
#define VIA(ip, port, name, chain, line) expect((ip), (port), (name), ROUTE_VIA, (chain), (line))

static const char HEAD[] = "proxy socks5h://192.0.2.1:1080\n"       /* 1: default */
                           "proxy corp http://192.0.2.2:3128\n";    /* 2 */

static void with_head(const char *rules)
{
    char text[8192];
    snprintf(text, sizeof(text), "%s%s", HEAD, rules);
    rr_config(text);
}

/* ---- addresses ---- */

Test(routes_rules, cidr_v4)
{
    with_head("route 10.0.0.0/8 reject\n"          /* 3 */
              "route 172.16.0.0/12 direct\n"       /* 4 */
              "route 100.64.0.0/10 via corp\n");   /* 5 */
    REJECT("10.0.0.0", 80, NULL, 3);
    REJECT("10.255.255.255", 80, NULL, 3);
    VIA("11.0.0.0", 80, NULL, "default", 0);
    VIA("9.255.255.255", 80, NULL, "default", 0);
    DIRECT("172.16.0.1", 22, NULL, 4);
    DIRECT("172.31.255.255", 22, NULL, 4);
    VIA("172.32.0.0", 22, NULL, "default", 0);
    VIA("100.64.0.1", 443, NULL, "corp", 5);
    VIA("100.127.255.255", 443, NULL, "corp", 5);
    VIA("100.128.0.0", 443, NULL, "default", 0);
    VIA("2001:db8::1", 80, NULL, "default", 0);
}

Test(routes_rules, cidr_v6)
{
    with_head("route fd00::/8 direct\n"           /* 3 */
              "route 2001:db8::/32 reject\n"      /* 4 */
              "route 2001:db9:0:1::/64 via corp\n"); /* 5 */
    DIRECT("fd12:3456::1", 80, NULL, 3);
    DIRECT("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 80, NULL, 3);
    VIA("fc00::1", 80, NULL, "default", 0);
    REJECT("2001:db8::", 443, NULL, 4);
    REJECT("2001:db8:ffff::1", 443, NULL, 4);
    VIA("2001:db9::1", 443, NULL, "default", 0);
    VIA("2001:db9:0:1::7", 443, NULL, "corp", 5);
    VIA("2001:db9:0:2::7", 443, NULL, "default", 0);
    VIA("10.0.0.1", 80, NULL, "default", 0);
}

Test(routes_rules, v4_rules_match_mapped_v6)
{
    with_head("route 10.0.0.0/8 direct\nroute 203.0.113.9 reject\n");
    DIRECT("::ffff:10.1.2.3", 80, NULL, 3);
    REJECT("::ffff:203.0.113.9", 80, NULL, 4);
    VIA("::ffff:203.0.113.10", 80, NULL, "default", 0);
    VIA("::ffff:11.0.0.1", 80, NULL, "default", 0);
    /* Not mapped: the IPv4-compatible form and NAT64 are other addresses. */
    VIA("::10.1.2.3", 80, NULL, "default", 0);
    VIA("64:ff9b::10.1.2.3", 80, NULL, "default", 0);
}

Test(routes_rules, v6_catch_all_and_mapped)
{
    with_head("route ::/0 reject\n");
    REJECT("2001:db8::1", 80, NULL, 3);
    REJECT("::ffff:8.8.8.8", 53, NULL, 3);   /* a mapped address is an IPv6 address too */
    VIA("8.8.8.8", 53, NULL, "default", 0);  /* but an IPv4 one is not */
}

Test(routes_rules, single_addresses)
{
    with_head("route 192.0.2.55 reject\nroute 2001:db8::1 direct\n");
    REJECT("192.0.2.55", 1, NULL, 3);
    REJECT("192.0.2.55", 65535, NULL, 3);
    VIA("192.0.2.54", 1, NULL, "default", 0);
    VIA("192.0.2.56", 1, NULL, "default", 0);
    DIRECT("2001:db8::1", 80, NULL, 4);
    VIA("2001:db8::2", 80, NULL, "default", 0);
    VIA("2001:db8::1:0:0:1", 80, NULL, "default", 0);
}

/* ---- names ---- */

Test(routes_rules, suffix_glob)
{
    with_head("route *.corp.example via corp\n");
    VIA(FAKE, 443, "a.corp.example", "corp", 3);
    VIA(FAKE, 443, "a.b.corp.example", "corp", 3);
    VIA(FAKE, 443, "A.B.CORP.EXAMPLE", "corp", 3);
    VIA(FAKE, 443, "x.Corp.Example", "corp", 3);
    VIA(FAKE, 443, "corp.example", "default", 0);
    VIA(FAKE, 443, "xcorp.example", "default", 0);
    VIA(FAKE, 443, "a.corp.example.org", "default", 0);
    VIA(FAKE, 443, "a.corp.exampl", "default", 0);
    VIA(FAKE, 443, "example", "default", 0);
    VIA(FAKE, 443, "", "default", 0);
}

Test(routes_rules, exact_and_pattern_globs)
{
    with_head("route intranet direct\n"            /* 3 */
              "route host?.lan reject\n"           /* 4 */
              "route [ab]*.example via corp\n"     /* 5 */
              "route [!x]y.test reject\n"          /* 6 */
              "route *corp* direct\n"              /* 7 */
              "route www.*.org reject\n");         /* 8 */
    DIRECT(FAKE, 80, "intranet", 3);
    DIRECT(FAKE, 80, "INTRANET", 3);
    VIA(FAKE, 80, "intranet.lan", "default", 0);
    VIA(FAKE, 80, "my-intranet", "default", 0);
    REJECT(FAKE, 80, "host1.lan", 4);
    REJECT(FAKE, 80, "HostZ.LAN", 4);
    VIA(FAKE, 80, "host12.lan", "default", 0);
    VIA(FAKE, 80, "host.lan", "default", 0);
    VIA(FAKE, 80, "a1.example", "corp", 5);
    VIA(FAKE, 80, "B.example", "corp", 5);
    VIA(FAKE, 80, "b.x.example", "corp", 5);
    VIA(FAKE, 80, "c1.example", "default", 0);
    REJECT(FAKE, 80, "zy.test", 6);
    VIA(FAKE, 80, "xy.test", "default", 0);
    VIA(FAKE, 80, "zzy.test", "default", 0);
    DIRECT(FAKE, 80, "mycorporation.net", 7);
    DIRECT(FAKE, 80, "CORP", 7);
    REJECT(FAKE, 80, "www.a.b.org", 8);
    VIA(FAKE, 80, "www.org", "default", 0);
}

/* The fast paths for plain names and "*.suffix" must say what fnmatch says. */
Test(routes_rules, globs_agree_with_fnmatch)
{
    static const char *const globs[] = { "example.com", "*.example.com", "*example.com", "*.com", "a*", "*a", "?.x",
                                         "*.*", "[a-c].x", "x.[!a]", "*.EXAMPLE.com", "e*e.com", "*.example.com*" };
    static const char *const names[] = { "example.com", "EXAMPLE.COM", "a.example.com", "xexample.com", "com",
                                         ".com", "a", "ba", "ab", "b.x", "x.b", "x.a", "example.com.", "a.b.c",
                                         "", "eee.com", "www.Example.Com", "example.comx" };
    for (size_t g = 0; g < sizeof(globs) / sizeof(globs[0]); g++) {
        char text[256];
        snprintf(text, sizeof(text), "proxy socks5h://192.0.2.1\nroute %s reject\n", globs[g]);
        rr_config(text);
        for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
            bool want = fnmatch(globs[g], names[n], FNM_CASEFOLD) == 0;
            union sockaddr_any dst = test_addr(FAKE, 80);
            bool got = rule_match(&conf.rules[0], &dst, names[n]);
            cr_assert_eq(got, want, "glob '%s' (kind %d) and name '%s': %d, fnmatch says %d", globs[g],
                         conf.rules[0].glob_kind, names[n], got, want);
            cr_assert_eq(decide(FAKE, 80, names[n]).action, want ? ROUTE_REJECT : ROUTE_VIA, "glob '%s', name '%s'",
                         globs[g], names[n]);
        }
    }
}

Test(routes_rules, address_rules_never_match_names)
{
    with_head("route 0.0.0.0/0 reject\nroute ::/0 reject\nroute 198.18.0.7 reject\ndirect 198.18.0.0/15\n");
    /* The address behind a name is a fake one: it means nothing, only the name does. */
    VIA(FAKE, 80, "example.com", "default", 0);
    VIA("fd53:6f63:6b73::7", 80, "example.com", "default", 0);
    REJECT(FAKE, 80, NULL, 3);
}

Test(routes_rules, globs_never_match_addresses)
{
    with_head("route * port 1 reject\nroute *.example reject\nroute 10.0.0.1.example reject\nroute ?* reject\n");
    VIA("10.0.0.1", 80, NULL, "default", 0);
    VIA("2001:db8::1", 80, NULL, "default", 0);
    REJECT(FAKE, 80, "a.example", 4);
    REJECT(FAKE, 80, "x", 6);
    REJECT("10.0.0.1", 1, NULL, 3);
}

/* ---- ports ---- */

Test(routes_rules, ports_ranges_lists)
{
    with_head("route port 25 reject\n"                    /* 3 */
              "route port 8000-8100 direct\n"             /* 4 */
              "route port 80,443,9000-9001 via corp\n"    /* 5 */
              "route port 0 reject\n"                     /* 6 */
              "route port 65535 direct\n");               /* 7 */
    REJECT("203.0.113.1", 25, NULL, 3);
    REJECT(FAKE, 25, "mail.example", 3);
    VIA("203.0.113.1", 24, NULL, "default", 0);
    VIA("203.0.113.1", 26, NULL, "default", 0);
    DIRECT("203.0.113.1", 8000, NULL, 4);
    DIRECT("203.0.113.1", 8050, NULL, 4);
    DIRECT("2001:db8::1", 8100, NULL, 4);
    VIA("203.0.113.1", 7999, NULL, "default", 0);
    VIA("203.0.113.1", 8101, NULL, "default", 0);
    VIA("203.0.113.1", 80, NULL, "corp", 5);
    VIA("203.0.113.1", 443, NULL, "corp", 5);
    VIA("203.0.113.1", 9000, NULL, "corp", 5);
    VIA(FAKE, 9001, "x.example", "corp", 5);
    VIA("203.0.113.1", 9002, NULL, "default", 0);
    VIA("203.0.113.1", 81, NULL, "default", 0);
    VIA("203.0.113.1", 442, NULL, "default", 0);
    REJECT("203.0.113.1", 0, NULL, 6);
    DIRECT("203.0.113.1", 65535, NULL, 7);
    VIA("203.0.113.1", 65534, NULL, "default", 0);
}

Test(routes_rules, matchers_combine)
{
    with_head("route 10.0.0.0/8 port 22 direct\n"          /* 3 */
              "route *.corp.example port 443 via corp\n"   /* 4 */
              "route fd00::/8 port 80,8080 reject\n");     /* 5 */
    DIRECT("10.1.1.1", 22, NULL, 3);
    VIA("10.1.1.1", 23, NULL, "default", 0);
    VIA("11.1.1.1", 22, NULL, "default", 0);
    VIA(FAKE, 443, "git.corp.example", "corp", 4);
    VIA(FAKE, 80, "git.corp.example", "default", 0);
    VIA(FAKE, 443, "git.example", "default", 0);
    REJECT("fd00::1", 8080, NULL, 5);
    VIA("fd00::1", 8081, NULL, "default", 0);
    VIA("fe00::1", 80, NULL, "default", 0);
}

Test(routes_rules, star_matches_everything)
{
    with_head("route * reject\n");
    REJECT("8.8.8.8", 53, NULL, 3);
    REJECT("2001:db8::1", 443, NULL, 3);
    REJECT(FAKE, 80, "anything.example", 3);
    REJECT(FAKE, 80, "localhost", 3);
    REJECT("192.0.2.1", 1081, NULL, 3);   /* a proxy's host, but not its port */
}

/* ---- order and actions ---- */

Test(routes_rules, first_match_wins)
{
    with_head("route 10.1.0.0/16 reject\n"    /* 3 */
              "route 10.0.0.0/8 direct\n"     /* 4 */
              "route 10.1.2.3 via corp\n"     /* 5: never reached */
              "route *.a.example reject\n"    /* 6 */
              "route x.a.example direct\n"    /* 7: never reached */
              "route * via corp\n"            /* 8 */
              "route * reject\n");            /* 9: never reached */
    REJECT("10.1.2.3", 80, NULL, 3);
    DIRECT("10.2.0.1", 80, NULL, 4);
    REJECT(FAKE, 80, "x.a.example", 6);
    VIA("11.0.0.1", 80, NULL, "corp", 8);
    VIA(FAKE, 80, "b.example", "corp", 8);
    struct route r = decide("11.0.0.1", 80, NULL);
    cr_assert_eq(r.rule, &conf.rules[5], "the rule itself, not a copy");
}

Test(routes_rules, via_names_the_right_chain)
{
    rr_config("proxy a socks5://192.0.2.11\n"
              "proxy b socks4://192.0.2.12\n"
              "chain both dynamic a b\n"
              "chain rr round-robin length 1 a b\n"
              "route 1.0.0.0/8 via a\n"
              "route 2.0.0.0/8 via both\n"
              "route 3.0.0.0/8 via b\n"
              "route 4.0.0.0/8 via rr\n");
    VIA("1.1.1.1", 80, NULL, "a", 5);
    VIA("2.2.2.2", 80, NULL, "both", 6);
    VIA("3.3.3.3", 80, NULL, "b", 7);
    VIA("4.4.4.4", 80, NULL, "rr", 8);
    cr_assert_eq(decide("2.2.2.2", 80, NULL).chain, config_find_chain(&conf, "both"));
    cr_assert_eq(decide("2.2.2.2", 80, NULL).chain->hop_count, 2);
    cr_assert_eq(decide("1.1.1.1", 80, NULL).chain, config_find_chain(&conf, "a"));
    /* No default: everything else is refused, with a reason. */
    struct route r = decide("5.5.5.5", 80, NULL);
    cr_assert_eq(r.action, ROUTE_REJECT);
    cr_assert_null(r.rule);
    cr_assert_not_null(strstr(r.reason, "no route matched"), "reason '%s'", r.reason);
    cr_assert_not_null(strstr(r.reason, "default"), "reason '%s'", r.reason);
    r = decide(FAKE, 80, "x.example");
    cr_assert_eq(r.action, ROUTE_REJECT);
    cr_assert_null(r.rule);
}

Test(routes_rules, default_is_a_chain)
{
    rr_config("proxy a socks5://192.0.2.11\nchain default random length 1 a socks5://192.0.2.12\nroute 10.0.0.0/8 direct\n");
    struct route r = decide("8.8.8.8", 53, NULL);
    cr_assert_eq(r.action, ROUTE_VIA);
    cr_assert_eq(r.chain, config_default_chain(&conf));
    cr_assert_eq(r.chain->mode, CHAIN_RANDOM);
    cr_assert_null(r.rule);
    cr_assert_str_eq(r.reason, "default");
    DIRECT("10.0.0.1", 80, NULL, 3);
}

Test(routes_rules, no_rules_no_default_rejects)
{
    rr_config("proxy a socks5://192.0.2.11\n");
    struct route r = decide("8.8.8.8", 53, NULL);
    cr_assert_eq(r.action, ROUTE_REJECT);
    cr_assert_null(r.rule);
    cr_assert_null(r.chain);
    cr_assert_str_eq(r.reason, "no route matched and no default proxy");
    /* Built-ins still apply. */
    DIRECT("192.0.2.11", 1080, NULL, 0);
    DIRECT("127.0.0.1", 80, NULL, 0);
}

Test(routes_rules, empty_config_rejects)
{
    union sockaddr_any dst = test_addr("8.8.8.8", 53);
    struct route r = route_decide(&conf, &dst, NULL);
    cr_assert_eq(r.action, ROUTE_REJECT);
    cr_assert_str_not_empty(r.reason);
}

/* ---- built-in routes ---- */

Test(routes_rules, every_proxy_of_every_chain_goes_direct_first)
{
    rr_config("proxy a socks5://192.0.2.1:1080\n"
              "proxy b socks4://192.0.2.3:1090\n"
              "proxy named socks5h://gw.example:1080\n"
              "chain c strict a socks5://192.0.2.2:1081 http://[2001:db8::3]:3128 b\n"
              "route * reject\n"                     /* 5 */
              "route 192.0.2.0/24 reject\n");
    DIRECT("192.0.2.1", 1080, NULL, 0);
    DIRECT("192.0.2.2", 1081, NULL, 0);
    DIRECT("2001:db8::3", 3128, NULL, 0);
    DIRECT("192.0.2.3", 1090, NULL, 0);
    DIRECT("::ffff:192.0.2.2", 1081, NULL, 0);
    DIRECT("::ffff:192.0.2.3", 1090, NULL, 0);
    cr_assert_str_eq(decide("192.0.2.2", 1081, NULL).reason, "the proxy itself");
    /* Same host, other port; other host, same port: ordinary destinations. */
    REJECT("192.0.2.2", 1082, NULL, 5);
    REJECT("192.0.2.4", 1081, NULL, 5);
    REJECT("2001:db8::3", 3129, NULL, 5);
    /* A proxy known by name only has no address to compare with. */
    REJECT("198.51.100.1", 1080, NULL, 5);
    /* A fake address is never a proxy: the name decides. */
    REJECT("192.0.2.1", 1080, "x.example", 5);
}

Test(routes_rules, any_address_is_this_host)
{
    /* Linux connects 0.0.0.0 and :: to this host: they are loopback, not a place for the proxy. */
    rr_config("proxy a socks5://192.0.2.1:1080\nroute * via a\n");
    DIRECT("0.0.0.0", 80, NULL, 0);
    DIRECT("::", 80, NULL, 0);
    DIRECT("::ffff:0.0.0.0", 80, NULL, 0);
    cr_assert_str_eq(decide("0.0.0.0", 80, NULL).reason, "loopback");
    rr_config("proxy a socks5://192.0.2.1:1080\nroute * via a\ndirect_loopback no\n");
    VIA("0.0.0.0", 80, NULL, "a", 2);
}

Test(routes_rules, loopback_direct_before_rules)
{
    with_head("route * reject\nroute 127.0.0.0/8 via corp\n");
    DIRECT("127.0.0.1", 80, NULL, 0);
    DIRECT("127.255.255.254", 5432, NULL, 0);
    DIRECT("::1", 8080, NULL, 0);
    DIRECT("::ffff:127.0.0.1", 80, NULL, 0);
    cr_assert_str_eq(decide("::1", 8080, NULL).reason, "loopback");
    REJECT("128.0.0.1", 80, NULL, 3);
    REJECT("::2", 80, NULL, 3);
    /* "localhost" as a name under dns remote is not loopback by address: the rules decide. */
    REJECT("127.0.0.1", 80, "localhost", 3);
}

Test(routes_rules, direct_loopback_no)
{
    with_head("direct_loopback no\nroute 127.0.0.2 reject\n");
    VIA("127.0.0.1", 80, NULL, "default", 0);
    VIA("::1", 80, NULL, "default", 0);
    REJECT("127.0.0.2", 80, NULL, 4);
    /* The proxy itself stays direct, loopback or not. */
    rr_config("direct_loopback no\nproxy socks5://127.0.0.1:1080\nroute * reject\n");
    DIRECT("127.0.0.1", 1080, NULL, 0);
    DIRECT("::ffff:127.0.0.1", 1080, NULL, 0);
    REJECT("127.0.0.1", 1081, NULL, 3);
}

/* ---- rule_match directly ---- */

Test(routes_rules, rule_match_fields)
{
    struct rule r;
    memset(&r, 0, sizeof(r));
    union sockaddr_any a = test_addr("10.1.2.3", 80);
    cr_assert(rule_match(&r, &a, NULL), "an empty rule is '*'");
    cr_assert(rule_match(&r, &a, "x"));
    r.port_count = 1;
    r.ports[0] = (struct port_range){ 81, 90 };
    cr_assert_not(rule_match(&r, &a, NULL));
    r.ports[0] = (struct port_range){ 80, 80 };
    cr_assert(rule_match(&r, &a, NULL));
    cr_assert_eq(cidr_parse("10.0.0.0/8", &r.cidr), 0);
    r.has_cidr = true;
    cr_assert(rule_match(&r, &a, NULL));
    cr_assert_not(rule_match(&r, &a, "x.example"));
    union sockaddr_any other = test_addr("11.1.2.3", 80);
    cr_assert_not(rule_match(&r, &other, NULL));
}

/* ---- many rules ---- */

Test(routes_rules, thousand_rules)
{
    size_t size = 1000 * 48 + 256;
    char *text = malloc(size);
    cr_assert_not_null(text);
    int used = snprintf(text, size, "%s", HEAD);
    for (int i = 0; i < 999; i++)
        used += snprintf(text + used, size - (size_t)used, "route 10.%d.%d.0/24 port %d reject\n", i / 256, i % 256,
                         1000 + i);
    used += snprintf(text + used, size - (size_t)used, "route 203.0.113.0/24 via corp\n");
    cr_assert_lt((size_t)used, size);
    rr_config(text);
    free(text);
    cr_assert_eq(conf.rule_count, 1000);
    VIA("203.0.113.77", 443, NULL, "corp", 1002);
    VIA("10.1.244.5", 443, NULL, "default", 0);
    REJECT("10.1.244.5", 1500, NULL, 3 + 500);
    VIA("10.1.244.5", 1501, NULL, "default", 0);
    VIA("10.3.231.5", 1999, NULL, "default", 0);
    REJECT("10.0.0.9", 1000, NULL, 3);
    REJECT("10.3.230.9", 1998, NULL, 3 + 998);
    VIA("10.3.230.9", 1997, NULL, "default", 0);
}

Test(routes_rules, thousand_name_rules)
{
    size_t size = 1000 * 48 + 256;
    char *text = malloc(size);
    cr_assert_not_null(text);
    int used = snprintf(text, size, "%s", HEAD);
    for (int i = 0; i < 999; i++)
        used += snprintf(text + used, size - (size_t)used, "route h%d.example reject\n", i);
    used += snprintf(text + used, size - (size_t)used, "route *.last.example via corp\n");
    rr_config(text);
    free(text);
    cr_assert_eq(conf.rule_count, 1000);
    VIA(FAKE, 443, "x.last.example", "corp", 1002);
    REJECT(FAKE, 443, "H998.example", 1001);
    REJECT(FAKE, 443, "h0.example", 3);
    VIA(FAKE, 443, "h999.example", "default", 0);
    VIA("203.0.113.1", 443, NULL, "default", 0);
}
