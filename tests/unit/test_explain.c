/* Unit tests for core/explain.c: `socksify --explain HOST[:PORT]`, and the rule and chain text
 * it is made of. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"

static struct config conf;

#define SOURCE "/etc/socksify-test.conf"

static const char CONF[] =
    "proxy corp socks5://alice:S3cretPw@10.0.0.1:1080\n"                  /* 1 */
    "proxy tor socks5h://127.0.0.1:9050\n"                                /* 2 */
    "proxy socks5h://bob:Hunter2pw@192.0.2.1:1080\n"                      /* 3 */
    "chain out dynamic corp http://carol:Pa55word@proxy.example:3128\n"   /* 4 */
    "chain rnd random length 1 corp tor\n"                                /* 5 */
    "route 10.0.0.0/8 direct\n"                                           /* 6 */
    "route *.corp.example port 443 via corp\n"                            /* 7 */
    "route port 25 reject\n"                                              /* 8 */
    "route *.onion via tor\n"                                             /* 9 */
    "route 203.0.113.0/24 via out\n"                                      /* 10 */
    "route fd00::/8 port 80,443,8000-8100 via rnd\n"                      /* 11 */
    "direct 192.168.1.7\n"                                                /* 12 */
    "route * port 6667 reject\n";                                         /* 13 */

static const char *const PASSWORDS[] = { "S3cretPw", "Hunter2pw", "Pa55word", "c2VjcmV0" };

static void explain_setup(void)
{
    char err[256] = "";
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, CONF, "explain.conf", err, sizeof(err)), 0, "%s", err);
    snprintf(conf.source, sizeof(conf.source), "%s", SOURCE);
    conf.has_source = true;   /* as config_load sets it */
}

static void explain_teardown(void)
{
    config_free(&conf);
}

TestSuite(explain, .init = explain_setup, .fini = explain_teardown);

/* Replaces conf with text (source left empty). */
static void reconfigure(const char *text)
{
    char err[256] = "";
    config_free(&conf);
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, text, "other.conf", err, sizeof(err)), 0, "%s", err);
}

static void assert_no_password(const char *text)
{
    for (size_t i = 0; i < sizeof(PASSWORDS) / sizeof(PASSWORDS[0]); i++)
        cr_assert_null(strstr(text, PASSWORDS[i]), "a password in the output:\n%s", text);
}

/* explain(dest) with no hosts file, asserting it returns 0; the text, valid until the next call. */
static const char *explained(const char *dest, const char *hosts)
{
    static char out[8192];
    memset(out, 'x', sizeof(out));
    int r = explain(&conf, dest, hosts, out, sizeof(out));
    cr_assert_eq(r, 0, "explain('%s') gave %d: %s", dest, r, out);
    cr_assert_lt(strnlen(out, sizeof(out)), sizeof(out));
    assert_no_password(out);
    return out;
}

static void expect_text(const char *dest, const char *want)
{
    const char *got = explained(dest, NULL);
    cr_assert_str_eq(got, want, "explain('%s'):\n--- got ---\n%s--- want ---\n%s", dest, got, want);
}

/* ---- whole outputs ---- */

Test(explain, address_hits_a_cidr_rule)
{
    expect_text("10.1.2.3:22",
                "config:      " SOURCE "\n"
                "destination: 10.1.2.3:22 (an address)\n"
                "route:       " SOURCE ":6: route 10.0.0.0/8 direct\n"
                "action:      direct: connect() goes straight to 10.1.2.3:22, not through a proxy\n");
}

Test(explain, name_with_dns_remote_hits_a_glob)
{
    expect_text("www.corp.example:443",
                "config:      " SOURCE "\n"
                "destination: www.corp.example:443 (a name; dns remote: the program gets a fake address and the proxy "
                "resolves the name)\n"
                "route:       " SOURCE ":7: route *.corp.example port 443 via corp\n"
                "action:      via proxy corp: socks5://alice@10.0.0.1:1080, which connects to www.corp.example:443\n"
                "auth:        socks5://alice@10.0.0.1:1080 is offered no authentication or username/password (user alice)\n"
                "udp:         datagrams go through an association with the last proxy (if it allows UDP ASSOCIATE)\n"
                "bind:        while this connection is open, a TCP listener bound to port 0 of a non-loopback address "
                "goes through the last proxy with BIND (accept within 60000 ms of listen)\n");
}

Test(explain, default_chain)
{
    expect_text("example.org",
                "config:      " SOURCE "\n"
                "destination: example.org:80 (a name; dns remote: the program gets a fake address and the proxy "
                "resolves the name)\n"
                "route:       no route matched: the default\n"
                "action:      via proxy default: socks5h://bob@192.0.2.1:1080, which connects to example.org:80\n"
                "auth:        socks5h://bob@192.0.2.1:1080 is offered no authentication or username/password (user bob)\n"
                "udp:         datagrams go through an association with the last proxy (if it allows UDP ASSOCIATE)\n"
                "bind:        while this connection is open, a TCP listener bound to port 0 of a non-loopback address "
                "goes through the last proxy with BIND (accept within 60000 ms of listen)\n");
    const char *out = explained("198.51.100.1:8443", NULL);
    cr_assert_not_null(strstr(out, "route:       no route matched: the default\n"), "%s", out);
    cr_assert_not_null(strstr(out, "which connects to 198.51.100.1:8443\n"), "%s", out);
}

/* BIND needs a SOCKS5 last hop too (always: a listener cannot try its luck), and `bind no` turns it
 * off; direct and rejected destinations have no bind line. */
Test(explain, bind_line)
{
    reconfigure("proxy a socks5://10.0.0.1:1080\n"
                "proxy b http://10.0.0.2:3128\n"
                "chain mixed random length 1 a b\n"
                "route 10.9.0.0/16 via mixed\n"
                "route 10.8.0.0/16 via a\n"
                "route 10.7.0.0/16 direct\n"
                "bind_timeout 5s\n");
    const char *out = explained("10.9.1.1:21", NULL);
    cr_assert_not_null(strstr(out, "bind:        none: only a SOCKS5 last proxy can BIND; listeners stay local\n"), "%s", out);
    out = explained("10.8.1.1:21", NULL);
    cr_assert_not_null(strstr(out, "goes through the last proxy with BIND (accept within 5000 ms of listen)\n"), "%s", out);
    out = explained("10.7.1.1:21", NULL);
    cr_assert_null(strstr(out, "bind:"), "%s", out);
    reconfigure("proxy socks5://10.0.0.1:1080\nbind no\n");
    out = explained("10.8.1.1:21", NULL);
    cr_assert_not_null(strstr(out, "bind:        none (bind no): listeners stay local\n"), "%s", out);
}

/* UDP needs a SOCKS5 last hop: a random chain that may end with an HTTP proxy carries it only
 * sometimes; direct and rejected destinations have no UDP line. */
Test(explain, udp_line)
{
    reconfigure("proxy a socks5://10.0.0.1:1080\n"
                "proxy b http://10.0.0.2:3128\n"
                "chain mixed random length 1 a b\n"
                "chain tail strict b a\n"
                "route 10.9.0.0/16 via mixed\n"
                "route 10.8.0.0/16 via tail\n"
                "route 10.7.0.0/16 direct\n"
                "route 10.6.0.0/16 reject\n");
    const char *out = explained("10.9.1.1:53", NULL);
    cr_assert_not_null(strstr(out, "udp:         only when the chain ends with one of its SOCKS5 proxies; otherwise "
                                   "datagrams fail with EOPNOTSUPP\n"), "%s", out);
    out = explained("10.8.1.1:53", NULL);
    cr_assert_not_null(strstr(out, "udp:         datagrams go through an association with the last proxy (if it allows UDP ASSOCIATE)\n"), "%s", out);
    cr_assert_null(strstr(explained("10.7.1.1:53", NULL), "udp:"));
    cr_assert_null(strstr(explained("10.6.1.1:53", NULL), "udp:"));
}

Test(explain, reject)
{
    expect_text("mail.example:25",
                "config:      " SOURCE "\n"
                "destination: mail.example:25 (a name; dns remote: the program gets a fake address and the proxy "
                "resolves the name)\n"
                "route:       " SOURCE ":8: route port 25 reject\n"
                "action:      reject: connect() fails with ECONNREFUSED (\"Connection refused\")\n");
    const char *out = explained("1.2.3.4:6667", NULL);
    cr_assert_not_null(strstr(out, SOURCE ":13: route port 6667 reject\n"), "%s", out);
}

Test(explain, loopback_built_in)
{
    expect_text("127.0.0.1:5432",
                "config:      " SOURCE "\n"
                "destination: 127.0.0.1:5432 (an address)\n"
                "route:       built in: loopback\n"
                "action:      direct: connect() goes straight to 127.0.0.1:5432, not through a proxy\n");
    expect_text("[::1]:8080",
                "config:      " SOURCE "\n"
                "destination: [::1]:8080 (an address)\n"
                "route:       built in: loopback\n"
                "action:      direct: connect() goes straight to [::1]:8080, not through a proxy\n");
}

Test(explain, bare_ipv6_takes_port_80)
{
    const char *out = explained("::1", NULL);
    cr_assert_not_null(strstr(out, "destination: [::1]:80 (an address)\n"), "%s", out);
    cr_assert_not_null(strstr(out, "built in: loopback"), "%s", out);
    out = explained("[::1]", NULL);
    cr_assert_not_null(strstr(out, "destination: [::1]:80 (an address)\n"), "%s", out);
    out = explained("fd00::5", NULL);
    cr_assert_not_null(strstr(out, "destination: [fd00::5]:80 (an address)\n"), "%s", out);
    cr_assert_not_null(strstr(out, ":11: route fd00::/8 port 80,443,8000-8100 via rnd\n"), "%s", out);
}

Test(explain, the_proxy_itself)
{
    const char *out = explained("10.0.0.1:1080", NULL);
    cr_assert_not_null(strstr(out, "route:       built in: the proxy itself\n"), "%s", out);
    cr_assert_not_null(strstr(out, "direct: connect() goes straight to 10.0.0.1:1080"), "%s", out);
    out = explained("10.0.0.1:1081", NULL);
    cr_assert_not_null(strstr(out, ":6: route 10.0.0.0/8 direct"), "%s", out);
}

Test(explain, via_a_chain)
{
    expect_text("203.0.113.9:443",
                "config:      " SOURCE "\n"
                "destination: 203.0.113.9:443 (an address)\n"
                "route:       " SOURCE ":10: route 203.0.113.0/24 via out\n"
                "action:      via chain out (dynamic): socks5://alice@10.0.0.1:1080 -> http://carol@proxy.example:3128, "
                "which connects to 203.0.113.9:443\n"
                "auth:        socks5://alice@10.0.0.1:1080 is offered no authentication or username/password (user alice)\n"
                "udp:         none: only a SOCKS5 last proxy carries UDP; datagrams fail with EOPNOTSUPP\n"
                "bind:        none: only a SOCKS5 last proxy can BIND; listeners stay local\n");
    expect_text("[fd00::5]:8050",
                "config:      " SOURCE "\n"
                "destination: [fd00::5]:8050 (an address)\n"
                "route:       " SOURCE ":11: route fd00::/8 port 80,443,8000-8100 via rnd\n"
                "action:      via chain rnd (random, 1 of these per connection): socks5://alice@10.0.0.1:1080 -> "
                "socks5h://127.0.0.1:9050, which connects to [fd00::5]:8050\n"
                "auth:        socks5://alice@10.0.0.1:1080 is offered no authentication or username/password (user alice)\n"
                "auth:        socks5h://127.0.0.1:9050 is offered no authentication\n"
                "udp:         datagrams go through an association with the last proxy (if it allows UDP ASSOCIATE)\n"
                "bind:        while this connection is open, a TCP listener bound to port 0 of a non-loopback address "
                "goes through the last proxy with BIND (accept within 60000 ms of listen)\n");
}

Test(explain, direct_line_and_glob_order)
{
    const char *out = explained("192.168.1.7", NULL);
    cr_assert_not_null(strstr(out, "route:       " SOURCE ":12: route 192.168.1.7/32 direct\n"), "%s", out);
    out = explained("abc.onion:6667", NULL);
    cr_assert_not_null(strstr(out, ":9: route *.onion via tor\n"), "the first match: %s", out);
    cr_assert_not_null(strstr(out, "via proxy tor: socks5h://127.0.0.1:9050, which connects to abc.onion:6667\n"), "%s",
                       out);
}

Test(explain, no_default_rejects)
{
    reconfigure("proxy a socks5://10.0.0.1\ndns remote\nroute 10.0.0.0/8 direct\n");
    expect_text("example.org:443",
                "config:      (none: from the environment)\n"
                "destination: example.org:443 (a name; dns remote: the program gets a fake address and the proxy "
                "resolves the name)\n"
                "route:       built in: no route matched and no default proxy\n"
                "action:      reject: connect() fails with ECONNREFUSED (\"Connection refused\")\n");
    const char *out = explained("10.9.9.9:80", NULL);
    cr_assert_not_null(strstr(out, "route:       (config):3: route 10.0.0.0/8 direct\n"), "no source: %s", out);
}

/* ---- names the program resolves itself ---- */

Test(explain, name_with_dns_local)
{
    reconfigure("proxy socks5://10.0.0.1\n");
    expect_text("example.org:443",
                "config:      (none: from the environment)\n"
                "destination: example.org:443 (a name the program resolves locally: dns local); the connection then "
                "goes to an address, and address rules decide; name rules do not apply. Give an address to see "
                "which.\n");
}

Test(explain, name_with_dns_off)
{
    reconfigure("proxy socks5h://10.0.0.1\ndns off\n");
    const char *out = explained("example.org", NULL);
    cr_assert_not_null(strstr(out, "dns off"), "%s", out);
    cr_assert_null(strstr(out, "route:"), "%s", out);
}

Test(explain, local_names_under_dns_remote)
{
    const char *out = explained("intranet:8080", "127.0.0.1 localhost\n10.0.0.5 intranet intranet.lan\n");
    cr_assert_not_null(strstr(out, "destination: intranet:8080 (a name the program resolves locally: it is localhost "
                                   "or in /etc/hosts)"),
                       "%s", out);
    cr_assert_null(strstr(out, "route:"), "%s", out);
    out = explained("localhost:631", NULL);
    cr_assert_not_null(strstr(out, "resolves locally: it is localhost or in /etc/hosts"), "%s", out);
    out = explained("intranet:8080", NULL);   /* not in any hosts file now */
    cr_assert_not_null(strstr(out, "(a name; dns remote"), "%s", out);
}

/* ---- bad destinations ---- */

Test(explain, bad_destinations)
{
    char long_name[400];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *const bad[] = { "", "host:0", "host:99999", "host:65536", "[::1", "host:", "host:abc", "host:80x",
                                "[::1]x", "[::1]:", "[]:80", "host:-1", "host:+80", ":80", "[::1]:0", long_name };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[1024];
        memset(out, 'x', sizeof(out));
        cr_assert_eq(explain(&conf, bad[i], NULL, out, sizeof(out)), -EINVAL, "'%.40s' accepted: %s", bad[i], out);
        char want[1024];
        snprintf(want, sizeof(want), "cannot explain '%s': expected HOST, HOST:PORT, an address, or [IPv6]:PORT", bad[i]);
        cr_assert_str_eq(out, want);
    }
}

Test(explain, port_bounds)
{
    cr_assert_not_null(strstr(explained("host:1", NULL), "host:1 (a name"));
    cr_assert_not_null(strstr(explained("host:65535", NULL), "host:65535 (a name"));
    cr_assert_not_null(strstr(explained("[2001:db8::1]:65535", NULL), "[2001:db8::1]:65535 (an address)"));
    cr_assert_not_null(strstr(explained("1.2.3.4:00080", NULL), "1.2.3.4:80 (an address)"));
}

Test(explain, output_truncated_safely)
{
    char small[24];
    memset(small, 'x', sizeof(small));
    cr_assert_eq(explain(&conf, "203.0.113.9:443", NULL, small, sizeof(small)), 0);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    cr_assert_eq(strncmp(small, "config:      /etc/socks", sizeof(small) - 1), 0, "%s", small);
    char one[1] = { 'x' };
    cr_assert_eq(explain(&conf, "203.0.113.9:443", NULL, one, 1), 0);
    cr_assert_eq(one[0], '\0');
    char err[10];
    cr_assert_eq(explain(&conf, "host:0", NULL, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "cannot ex");
}

/* ---- rule_format and chain_format ---- */

Test(explain, rule_format_every_kind)
{
    static const char *const want[] = {
        "route 10.0.0.0/8 direct",
        "route *.corp.example port 443 via corp",
        "route port 25 reject",
        "route *.onion via tor",
        "route 203.0.113.0/24 via out",
        "route fd00::/8 port 80,443,8000-8100 via rnd",
        "route 192.168.1.7/32 direct",
        "route port 6667 reject",
    };
    cr_assert_eq(conf.rule_count, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < conf.rule_count; i++) {
        char buf[512];
        cr_assert_eq(rule_format(&conf, &conf.rules[i], buf, sizeof(buf)), buf);
        cr_assert_str_eq(buf, want[i], "rule %zu", i);
    }
}

Test(explain, rule_format_more)
{
    reconfigure("proxy socks5://10.0.0.1\n"
                "route * reject\n");
    char buf[256];
    cr_assert_str_eq(rule_format(&conf, &conf.rules[0], buf, sizeof(buf)), "route * reject");
}

Test(explain, rule_format_round_trips)
{
    static const char *const lines[] = {
        "route 10.0.0.0/8 port 22 direct", "route 2001:db8::/32 reject", "route *.a.example port 1-1024,8080 via default",
        "route [ab]*.example reject", "route port 0-65535 direct", "route ::ffff:10.0.0.0/104 direct",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char text[256], buf[256];
        snprintf(text, sizeof(text), "proxy socks5://10.0.0.1\n%s\n", lines[i]);
        reconfigure(text);
        cr_assert_str_eq(rule_format(&conf, &conf.rules[0], buf, sizeof(buf)), lines[i]);
    }
}

Test(explain, rule_format_truncates)
{
    char buf[12];
    memset(buf, 'x', sizeof(buf));
    rule_format(&conf, &conf.rules[1], buf, sizeof(buf));
    cr_assert_str_eq(buf, "route *.cor");
}

Test(explain, chain_format_every_mode)
{
    reconfigure("proxy corp socks5://alice:S3cretPw@10.0.0.1:1080\n"
                "proxy tor socks5h://127.0.0.1:9050\n"
                "proxy v6 socks4a://id@[2001:db8::9]:1081\n"
                "proxy web http://carol:Pa55word@proxy.example:3128\n"
                "proxy old socks4://10.0.0.4\n"
                "chain s strict corp tor\n"
                "chain d dynamic v6 web old\n"
                "chain r random length 2 corp tor v6\n"
                "chain rr round-robin web corp\n");
    static const struct { const char *chain, *text; } want[] = {
        { "corp", "proxy corp: socks5://alice@10.0.0.1:1080" },
        { "tor", "proxy tor: socks5h://127.0.0.1:9050" },
        { "v6", "proxy v6: socks4a://id@[2001:db8::9]:1081" },
        { "web", "proxy web: http://carol@proxy.example:3128" },
        { "old", "proxy old: socks4://10.0.0.4:1080" },
        { "s", "chain s (strict): socks5://alice@10.0.0.1:1080 -> socks5h://127.0.0.1:9050" },
        { "d", "chain d (dynamic): socks4a://id@[2001:db8::9]:1081 -> http://carol@proxy.example:3128 -> "
               "socks4://10.0.0.4:1080" },
        { "r", "chain r (random, 2 of these per connection): socks5://alice@10.0.0.1:1080 -> socks5h://127.0.0.1:9050 "
               "-> socks4a://id@[2001:db8::9]:1081" },
        { "rr", "chain rr (round-robin, 2 of these per connection): http://carol@proxy.example:3128 -> "
                "socks5://alice@10.0.0.1:1080" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char buf[2048];
        const struct chain *ch = config_find_chain(&conf, want[i].chain);
        cr_assert_not_null(ch);
        cr_assert_eq(chain_format(&conf, ch, buf, sizeof(buf)), buf);
        cr_assert_str_eq(buf, want[i].text);
        assert_no_password(buf);
    }
    char small[16];
    chain_format(&conf, config_find_chain(&conf, "s"), small, sizeof(small));
    cr_assert_str_eq(small, "chain s (strict");
}

/* ---- passwords ---- */

Test(explain, never_a_password)
{
    static const char *const dests[] = { "10.0.0.1:1080", "192.0.2.1:1080", "203.0.113.1", "example.org",
                                         "x.corp.example:443", "[fd00::1]:443", "127.0.0.1", "mail.example:25",
                                         "proxy.example:3128", "x.onion" };
    for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++)
        explained(dests[i], NULL);   /* asserts no password */
    for (size_t i = 0; i < conf.chain_count; i++) {
        char buf[4096];
        chain_format(&conf, &conf.chains[i], buf, sizeof(buf));
        assert_no_password(buf);
        cr_assert_not_null(strstr(buf, "://"), "%s", buf);
    }
    /* The user names are shown: they say which account, not how to use it. */
    cr_assert_not_null(strstr(explained("x.corp.example:443", NULL), "alice@"));
}

/* A long chain of long names is cut, never overrun. */
Test(explain, sixteen_long_hops)
{
    char text[16384];
    int used = 0;
    for (int i = 0; i < 16; i++) {
        char host[200];
        memset(host, 'h', sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        host[0] = (char)('a' + i);
        used += snprintf(text + used, sizeof(text) - (size_t)used, "proxy p%d socks5h://%s:pw%d@%s:%d\n", i, host, i,
                         host, 1000 + i);
    }
    used += snprintf(text + used, sizeof(text) - (size_t)used,
                     "chain default strict p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13 p14 p15\n");
    reconfigure(text);
    const char *out = explained("example.org:443", NULL);
    cr_assert_not_null(strstr(out, "route:       no route matched: the default\n"), "%s", out);
    cr_assert_not_null(strstr(out, "action:      via chain default (strict): socks5h://"), "%s", out);
    cr_assert_null(strstr(out, ":pw"), "a password in the output");
}
