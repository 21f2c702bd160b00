/* Unit tests for core/pcconf.c: proxychains.conf files read as socksify configuration. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_line.h"
#include "helpers.h"
#include "route.h"

#define ERR_SIZE 512

/* Each test's config: set by pc_parse, freed after the test. */
static struct config conf;

static void conf_free(void)
{
    config_free(&conf);
}

TestSuite(pcconf, .fini = conf_free);

/* Parses text as "pc.conf" into conf through config_parse (so detection is on the way), asserting success. */
static void pc_parse(const char *text)
{
    char err[ERR_SIZE] = "";
    config_free(&conf);
    config_init(&conf);
    int r = config_parse(&conf, text, "pc.conf", err, sizeof(err));
    cr_assert_eq(r, 0, "rejected (%d): %s\n--- text ---\n%s", r, err, text);
}

/* Asserts text fails with -EINVAL and "pc.conf:LINE: ..." mentioning `mention`. */
static void pc_bad(const char *text, int line, const char *mention)
{
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    cr_assert(pcconf_detect(text), "not detected as proxychains.conf:\n%s", text);
    int r = config_parse(&c, text, "pc.conf", err, sizeof(err));
    config_free(&c);
    cr_assert_eq(r, -EINVAL, "accepted (%d):\n%s", r, text);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "pc.conf:%d: ", line);
    cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "message \"%s\" does not start with \"%s\"", err, prefix);
    cr_assert_gt(strlen(err), strlen(prefix), "nothing after the location: \"%s\"", err);
    cr_assert_not_null(strcasestr(err, mention), "message \"%s\" does not mention \"%s\"", err, mention);
}

/* Asserts conf's warnings have a line "pc.conf:LINE: ..." mentioning `mention`. */
static void assert_warned(int line, const char *mention)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "pc.conf:%d: ", line);
    for (const char *w = conf.warnings; *w;) {
        const char *nl = strchr(w, '\n');
        size_t len = nl ? (size_t)(nl - w) : strlen(w);
        char one[CONFIG_WARNINGS_MAX];
        snprintf(one, sizeof(one), "%.*s", (int)len, w);
        if (strncmp(one, prefix, strlen(prefix)) == 0 && strcasestr(one, mention))
            return;
        w += len + (nl ? 1 : 0);
    }
    cr_assert_fail("no warning \"%s...%s\" in:\n%s", prefix, mention, conf.warnings);
}

static void assert_cidr(const struct cidr *c, const char *text)
{
    struct cidr want;
    cr_assert_eq(cidr_parse(text, &want), 0, "%s", text);
    cr_assert_eq(c->family, want.family, "%s: family", text);
    cr_assert_eq(c->prefix, want.prefix, "%s: prefix %u", text, c->prefix);
    cr_assert_eq(memcmp(c->addr, want.addr, sizeof(want.addr)), 0, "%s: address", text);
}

/* Asserts proxy i is named pcN (N = i + 1) with this kind, host, port and remote_dns. */
static const struct proxy *assert_proxy(size_t i, enum proxy_kind kind, const char *host, uint16_t port, bool remote_dns)
{
    cr_assert_lt(i, conf.proxy_count, "only %zu proxies", conf.proxy_count);
    const struct proxy *p = &conf.proxies[i];
    char name[16];
    snprintf(name, sizeof(name), "pc%zu", i + 1);
    cr_assert_str_eq(p->name, name);
    cr_assert_eq(p->kind, kind, "%s: kind %d", name, p->kind);
    cr_assert_str_eq(p->host, host, "%s", name);
    cr_assert_eq(p->port, port, "%s: port %u", name, p->port);
    cr_assert_eq(p->remote_dns, remote_dns, "%s: remote_dns", name);
    return p;
}

static const struct chain *default_chain(void)
{
    const struct chain *ch = config_default_chain(&conf);
    cr_assert_not_null(ch, "no default chain");
    return ch;
}

/* ---- detection ---- */

Test(pcconf, detect)
{
    cr_assert(pcconf_detect("[ProxyList]\nsocks5 127.0.0.1 1080\n"));
    cr_assert(pcconf_detect("strict_chain\n\n[ProxyList]"));
    cr_assert(pcconf_detect("  \t[ProxyList]  \n"));
    cr_assert(pcconf_detect("[proxylist]\n"), "case-insensitive");
    cr_assert(pcconf_detect("[PROXYLIST]\r\nsocks4 1.2.3.4 9050\r\n"), "CRLF");
    cr_assert(pcconf_detect("[ProxyList] # the proxies\n"));
    cr_assert_not(pcconf_detect(""));
    cr_assert_not(pcconf_detect("proxy socks5://127.0.0.1:1080\n"));
    cr_assert_not(pcconf_detect("#[ProxyList]\nsocks5 127.0.0.1 1080\n"), "commented-out section");
    cr_assert_not(pcconf_detect("  # [ProxyList]\n"), "indented comment");
    cr_assert_not(pcconf_detect("[ProxyList]x\n"));
    cr_assert_not(pcconf_detect("[ProxyList]#x\n"), "one word, not the header");
    cr_assert_not(pcconf_detect("[ProxyList] socks5 1.2.3.4 1080\n"));
    cr_assert_not(pcconf_detect("x [ProxyList]\n"));
    cr_assert_not(pcconf_detect("[Proxy List]\n"));
}

Test(pcconf, socksify_conf_is_not_taken_for_one)
{
    pc_parse("proxy socks5h://10.0.0.1:1080\n# [ProxyList]\n");
    cr_assert_eq(conf.proxy_count, 1);
    cr_assert_str_eq(conf.proxies[0].name, "default", "read as socksify.conf");
}

/* ---- the file Debian ships ---- */

/* /etc/proxychains4.conf from Debian's proxychains4 package (4.16), verbatim. */
static const char debian_conf[] =
    "# proxychains.conf  VER 4.x\n"
    "#\n"
    "#        HTTP, SOCKS4a, SOCKS5 tunneling proxifier with DNS.\n"
    "\n"
    "\n"
    "# The option below identifies how the ProxyList is treated.\n"
    "# only one option should be uncommented at time,\n"
    "# otherwise the last appearing option will be accepted\n"
    "#\n"
    "#dynamic_chain\n"
    "#\n"
    "# Dynamic - Each connection will be done via chained proxies\n"
    "# all proxies chained in the order as they appear in the list\n"
    "# at least one proxy must be online to play in chain\n"
    "# (dead proxies are skipped)\n"
    "# otherwise EINTR is returned to the app\n"
    "#\n"
    "strict_chain\n"
    "#\n"
    "# Strict - Each connection will be done via chained proxies\n"
    "# all proxies chained in the order as they appear in the list\n"
    "# all proxies must be online to play in chain\n"
    "# otherwise EINTR is returned to the app\n"
    "#\n"
    "#round_robin_chain\n"
    "#\n"
    "# Round Robin - Each connection will be done via chained proxies\n"
    "# of chain_len length\n"
    "# all proxies chained in the order as they appear in the list\n"
    "# at least one proxy must be online to play in chain\n"
    "# (dead proxies are skipped).\n"
    "# the start of the current proxy chain is the proxy after the last\n"
    "# proxy in the previously invoked proxy chain.\n"
    "# if the end of the proxy chain is reached while looking for proxies\n"
    "# start at the beginning again.\n"
    "# otherwise EINTR is returned to the app\n"
    "# These semantics are not guaranteed in a multithreaded environment.\n"
    "#\n"
    "#random_chain\n"
    "#\n"
    "# Random - Each connection will be done via random proxy\n"
    "# (or proxy chain, see  chain_len) from the list.\n"
    "# this option is good to test your IDS :)\n"
    "\n"
    "# Make sense only if random_chain or round_robin_chain\n"
    "#chain_len = 2\n"
    "\n"
    "# Quiet mode (no output from library)\n"
    "#quiet_mode\n"
    "\n"
    "## Proxy DNS requests - no leak for DNS data\n"
    "# (disable all of the 3 items below to not proxy your DNS requests)\n"
    "\n"
    "# method 1. this uses the proxychains4 style method to do remote dns:\n"
    "# a thread is spawned that serves DNS requests and hands down an ip\n"
    "# assigned from an internal list (via remote_dns_subnet).\n"
    "# this is the easiest (setup-wise) and fastest method, however on\n"
    "# systems with buggy libcs and very complex software like webbrowsers\n"
    "# this might not work and/or cause crashes.\n"
    "proxy_dns\n"
    "\n"
    "# method 2. use the old proxyresolv script to proxy DNS requests\n"
    "# in proxychains 3.1 style. requires `proxyresolv` in $PATH\n"
    "# plus a dynamically linked `dig` binary.\n"
    "# this is a lot slower than `proxy_dns`, doesn't support .onion URLs,\n"
    "# but might be more compatible with complex software like webbrowsers.\n"
    "#proxy_dns_old\n"
    "\n"
    "# method 3. use proxychains4-daemon process to serve remote DNS requests.\n"
    "# this is similar to the threaded `proxy_dns` method, however it requires\n"
    "# that proxychains4-daemon is already running on the specified address.\n"
    "# on the plus side it doesn't do malloc/threads so it should be quite\n"
    "# compatible with complex, async-unsafe software.\n"
    "# note that if you don't start proxychains4-daemon before using this,\n"
    "# the process will simply hang.\n"
    "#proxy_dns_daemon 127.0.0.1:1053\n"
    "\n"
    "# set the class A subnet number to use for the internal remote DNS mapping\n"
    "# we use the reserved 224.x.x.x range by default,\n"
    "# if the proxified app does a DNS request, we will return an IP from that range.\n"
    "# on further accesses to this ip we will send the saved DNS name to the proxy.\n"
    "# in case some control-freak app checks the returned ip, and denies to \n"
    "# connect, you can use another subnet, e.g. 10.x.x.x or 127.x.x.x.\n"
    "# of course you should make sure that the proxified app does not need\n"
    "# *real* access to this subnet. \n"
    "# i.e. dont use the same subnet then in the localnet section\n"
    "#remote_dns_subnet 127 \n"
    "#remote_dns_subnet 10\n"
    "remote_dns_subnet 224\n"
    "\n"
    "# Some timeouts in milliseconds\n"
    "tcp_read_time_out 15000\n"
    "tcp_connect_time_out 8000\n"
    "\n"
    "### Examples for localnet exclusion\n"
    "## localnet ranges will *not* use a proxy to connect.\n"
    "## note that localnet works only when plain IP addresses are passed to the app,\n"
    "## the hostname resolves via /etc/hosts, or proxy_dns is disabled or proxy_dns_old used.\n"
    "\n"
    "## Exclude connections to 192.168.1.0/24 with port 80\n"
    "# localnet 192.168.1.0:80/255.255.255.0\n"
    "\n"
    "## Exclude connections to 192.168.100.0/24\n"
    "# localnet 192.168.100.0/255.255.255.0\n"
    "\n"
    "## Exclude connections to ANYwhere with port 80\n"
    "# localnet 0.0.0.0:80/0.0.0.0\n"
    "# localnet [::]:80/0\n"
    "\n"
    "## RFC6890 Loopback address range\n"
    "## if you enable this, you have to make sure remote_dns_subnet is not 127\n"
    "## you'll need to enable it if you want to use an application that \n"
    "## connects to localhost.\n"
    "# localnet 127.0.0.0/255.0.0.0\n"
    "# localnet ::1/128\n"
    "\n"
    "## RFC1918 Private Address Ranges\n"
    "# localnet 10.0.0.0/255.0.0.0\n"
    "# localnet 172.16.0.0/255.240.0.0\n"
    "# localnet 192.168.0.0/255.255.0.0\n"
    "\n"
    "### Examples for dnat\n"
    "## Trying to proxy connections to destinations which are dnatted,\n"
    "## will result in proxying connections to the new given destinations.\n"
    "## Whenever I connect to 1.1.1.1 on port 1234 actually connect to 1.1.1.2 on port 443\n"
    "# dnat 1.1.1.1:1234  1.1.1.2:443\n"
    "\n"
    "## Whenever I connect to 1.1.1.1 on port 443 actually connect to 1.1.1.2 on port 443\n"
    "## (no need to write :443 again)\n"
    "# dnat 1.1.1.2:443  1.1.1.2\n"
    "\n"
    "## No matter what port I connect to on 1.1.1.1 port actually connect to 1.1.1.2 on port 443\n"
    "# dnat 1.1.1.1  1.1.1.2:443\n"
    "\n"
    "## Always, instead of connecting to 1.1.1.1, connect to 1.1.1.2\n"
    "# dnat 1.1.1.1  1.1.1.2\n"
    "\n"
    "# ProxyList format\n"
    "#       type  ip  port [user pass]\n"
    "#       (values separated by 'tab' or 'blank')\n"
    "#\n"
    "#       only numeric ipv4 addresses are valid\n"
    "#\n"
    "#\n"
    "#        Examples:\n"
    "#\n"
    "#            \tsocks5\t192.168.67.78\t1080\tlamer\tsecret\n"
    "#\t\thttp\t192.168.89.3\t8080\tjustu\thidden\n"
    "#\t \tsocks4\t192.168.1.49\t1080\n"
    "#\t        http\t192.168.39.93\t8080\t\n"
    "#\t\t\n"
    "#\n"
    "#       proxy types: http, socks4, socks5, raw\n"
    "#         * raw: The traffic is simply forwarded to the proxy without modification.\n"
    "#        ( auth types supported: \"basic\"-http  \"user/pass\"-socks )\n"
    "#\n"
    "[ProxyList]\n"
    "# add proxy here ...\n"
    "# meanwile\n"
    "# defaults set to \"tor\"\n"
    "socks4 \t127.0.0.1 9050\n";

Test(pcconf, debian_default_file)
{
    cr_assert(pcconf_detect(debian_conf));
    pc_parse(debian_conf);
    cr_assert_str_empty(conf.warnings, "warnings: %s", conf.warnings);
    cr_assert_eq(conf.proxy_count, 1);
    const struct proxy *p = assert_proxy(0, PROXY_SOCKS4, "127.0.0.1", 9050, true);
    cr_assert(p->has_addr);
    cr_assert_not(p->has_auth);
    cr_assert_str_eq(proxy_scheme(p), "socks4a", "proxy_dns: names go to the proxy, as proxychains does");
    const struct chain *ch = default_chain();
    cr_assert_eq(ch->mode, CHAIN_STRICT);
    cr_assert_eq(ch->hop_count, 1);
    cr_assert_eq(ch->hops[0], 0);
    cr_assert_eq(ch->length, 1);
    cr_assert_eq(conf.dns, DNS_REMOTE);
    cr_assert_eq(config_dns_mode(&conf), DNS_REMOTE);
    assert_cidr(&conf.fake_range, "224.0.0.0/8");
    cr_assert_eq(conf.handshake_timeout_ms, 15000);
    cr_assert_eq(conf.connect_timeout_ms, 8000);
    cr_assert_eq(conf.rule_count, 0, "every localnet is commented out");
    cr_assert_eq(conf.log_level, LOG_ERROR, "quiet_mode is commented out");
}

/* ---- options ---- */

Test(pcconf, chain_mode_default_is_dynamic)
{
    pc_parse("[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 1080\n");
    const struct chain *ch = default_chain();
    cr_assert_eq(ch->mode, CHAIN_DYNAMIC);
    cr_assert_eq(ch->hop_count, 2);
    cr_assert_eq(ch->length, 2);
}

Test(pcconf, chain_mode_keys)
{
    static const struct { const char *key; enum chain_mode mode; } cases[] = {
        { "strict_chain", CHAIN_STRICT },
        { "dynamic_chain", CHAIN_DYNAMIC },
        { "random_chain", CHAIN_RANDOM },
        { "round_robin_chain", CHAIN_ROUND_ROBIN },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "  %s  # the mode\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 1080\n",
                 cases[i].key);
        pc_parse(text);
        cr_assert_eq(default_chain()->mode, cases[i].mode, "%s", cases[i].key);
        cr_assert_str_empty(conf.warnings, "%s: %s", cases[i].key, conf.warnings);
    }
}

Test(pcconf, chain_mode_last_wins)
{
    pc_parse("random_chain\nstrict_chain\nround_robin_chain\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(default_chain()->mode, CHAIN_ROUND_ROBIN);
    pc_parse("round_robin_chain\nstrict_chain\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(default_chain()->mode, CHAIN_STRICT);
}

static const char three_proxies[] = "[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 1080\nhttp 10.0.0.3 3128\n";

Test(pcconf, chain_len_forms)
{
    static const char *const forms[] = { "chain_len = 2", "chain_len=2", "chain_len 2", "chain_len =2", "chain_len= 2",
                                         "chain_len\t=\t2" };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "random_chain\n%s\n%s", forms[i], three_proxies);
        pc_parse(text);
        const struct chain *ch = default_chain();
        cr_assert_eq(ch->mode, CHAIN_RANDOM, "%s", forms[i]);
        cr_assert_eq(ch->length, 2, "%s: length %zu", forms[i], ch->length);
        cr_assert_eq(ch->hop_count, 3, "%s", forms[i]);
    }
}

Test(pcconf, chain_len_default_and_modes)
{
    char text[256];
    snprintf(text, sizeof(text), "random_chain\n%s", three_proxies);
    pc_parse(text);
    cr_assert_eq(default_chain()->length, 1, "proxychains' default chain_len");
    snprintf(text, sizeof(text), "round_robin_chain\nchain_len = 3\n%s", three_proxies);
    pc_parse(text);
    cr_assert_eq(default_chain()->mode, CHAIN_ROUND_ROBIN);
    cr_assert_eq(default_chain()->length, 3);
    snprintf(text, sizeof(text), "strict_chain\nchain_len = 2\n%s", three_proxies);
    pc_parse(text);
    cr_assert_eq(default_chain()->length, 3, "strict chains use every proxy, whatever chain_len says");
    cr_assert_str_empty(conf.warnings);
}

Test(pcconf, chain_len_longer_than_the_list_is_clamped)
{
    pc_parse("random_chain\n\nchain_len = 5\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 1080\n");
    const struct chain *ch = default_chain();
    cr_assert_eq(ch->length, 2);
    cr_assert_eq(ch->hop_count, 2);
    assert_warned(3, "chain_len");
    pc_parse("round_robin_chain\nchain_len = 5\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(default_chain()->length, 1, "one proxy: any mode works");
    assert_warned(2, "chain_len");
}

Test(pcconf, proxy_dns_on)
{
    pc_parse("proxy_dns\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks4 10.0.0.2 1080\nhttp 10.0.0.3 3128\n");
    cr_assert_eq(conf.dns, DNS_REMOTE);
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, true);
    cr_assert_str_eq(proxy_scheme(&conf.proxies[0]), "socks5h");
    assert_proxy(1, PROXY_SOCKS4, "10.0.0.2", 1080, true);
    cr_assert_str_eq(proxy_scheme(&conf.proxies[1]), "socks4a");
    assert_proxy(2, PROXY_HTTP, "10.0.0.3", 3128, true);
}

Test(pcconf, proxy_dns_off)
{
    pc_parse("strict_chain\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks4 10.0.0.2 1080\nhttp 10.0.0.3 3128\n");
    cr_assert_eq(conf.dns, DNS_LOCAL, "proxychains resolves locally without proxy_dns");
    cr_assert_eq(config_dns_mode(&conf), DNS_LOCAL);
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, false);
    assert_proxy(1, PROXY_SOCKS4, "10.0.0.2", 1080, false);
    assert_proxy(2, PROXY_HTTP, "10.0.0.3", 3128, true);
}

Test(pcconf, proxy_dns_after_the_list)
{
    pc_parse("[ProxyList]\nsocks5 10.0.0.1 1080\nproxy_dns\nsocks5 10.0.0.2 1080\n");
    cr_assert_eq(conf.dns, DNS_REMOTE);
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, true);
    assert_proxy(1, PROXY_SOCKS5, "10.0.0.2", 1080, true);
}

Test(pcconf, proxy_dns_old_and_daemon_mean_remote)
{
    pc_parse("proxy_dns_old\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.dns, DNS_REMOTE);
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, true);
    assert_warned(1, "proxy_dns_old");
    pc_parse("# resolver\nproxy_dns_daemon 127.0.0.1:1053\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.dns, DNS_REMOTE, "ignoring it would leak the names proxychains kept");
    assert_warned(2, "proxy_dns_daemon");
}

Test(pcconf, remote_dns_subnet)
{
    pc_parse("proxy_dns\nremote_dns_subnet 10\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    assert_cidr(&conf.fake_range, "10.0.0.0/8");
    pc_parse("remote_dns_subnet 0\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    assert_cidr(&conf.fake_range, "0.0.0.0/8");
    pc_parse("remote_dns_subnet 255\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    assert_cidr(&conf.fake_range, "255.0.0.0/8");
    pc_parse("proxy_dns\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    assert_cidr(&conf.fake_range, CONFIG_DEFAULT_FAKE_RANGE);
    assert_cidr(&conf.fake_range6, CONFIG_DEFAULT_FAKE_RANGE6);
}

Test(pcconf, timeouts)
{
    pc_parse("tcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.handshake_timeout_ms, 15000);
    cr_assert_eq(conf.connect_timeout_ms, 8000);
    pc_parse("tcp_read_time_out 1\ntcp_connect_time_out 3600000\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.handshake_timeout_ms, 1);
    cr_assert_eq(conf.connect_timeout_ms, 3600000);
    pc_parse("[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.handshake_timeout_ms, CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS);
    cr_assert_eq(conf.connect_timeout_ms, CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);
}

Test(pcconf, quiet_mode)
{
    pc_parse("[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.log_level, LOG_ERROR);
    pc_parse("quiet_mode\n[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.log_level, LOG_NONE);
}

/* Asserts rule i is a direct route over range, on port (0: any), from line. */
static void assert_localnet(size_t i, const char *range, uint16_t port, int line)
{
    cr_assert_lt(i, conf.rule_count, "only %zu rules", conf.rule_count);
    const struct rule *r = &conf.rules[i];
    cr_assert(r->has_cidr, "rule %zu", i);
    assert_cidr(&r->cidr, range);
    cr_assert_eq(r->action, ROUTE_DIRECT, "rule %zu", i);
    cr_assert(!r->glob || !*r->glob, "rule %zu: no name glob", i);
    cr_assert_eq(r->line, line, "rule %zu: line %d", i, r->line);
    if (port == 0) {
        cr_assert_eq(r->port_count, 0, "rule %zu: ports", i);
        return;
    }
    cr_assert_eq(r->port_count, 1, "rule %zu: ports", i);
    cr_assert_eq(r->ports[0].lo, port);
    cr_assert_eq(r->ports[0].hi, port);
}

Test(pcconf, localnet_forms_in_order)
{
    pc_parse("localnet 192.168.0.0/255.255.0.0\n"
             "localnet 10.0.0.0/8\n"
             "localnet 127.0.0.1:8000/255.255.255.255\n"
             "localnet 192.168.1.0:80/24\n"
             "localnet 0.0.0.0:80/0.0.0.0\n"
             "localnet 172.16.0.0/255.240.0.0\n"
             "localnet ::1/128\n"
             "localnet [fd00::]:443/8\n"
             "localnet [::]/0\n"
             "localnet 10.1.2.3:0/32\n"
             "localnet 10.9.8.7/255.255.255.0\n"
             "[ProxyList]\nsocks5 10.0.0.1 1080\n");
    cr_assert_eq(conf.rule_count, 11);
    assert_localnet(0, "192.168.0.0/16", 0, 1);
    assert_localnet(1, "10.0.0.0/8", 0, 2);
    assert_localnet(2, "127.0.0.1/32", 8000, 3);
    assert_localnet(3, "192.168.1.0/24", 80, 4);
    assert_localnet(4, "0.0.0.0/0", 80, 5);
    assert_localnet(5, "172.16.0.0/12", 0, 6);
    assert_localnet(6, "::1/128", 0, 7);
    assert_localnet(7, "fd00::/8", 443, 8);
    assert_localnet(8, "::/0", 0, 9);
    assert_localnet(9, "10.1.2.3/32", 0, 10);
    assert_localnet(10, "10.9.8.0/24", 0, 11);
    cr_assert_str_empty(conf.warnings);
}

/* ---- the proxy list ---- */

Test(pcconf, proxy_types)
{
    pc_parse("[proxylist]\n"
             "socks4 10.0.0.4 1080\n"
             "socks5 10.0.0.5 1081\n"
             "http 10.0.0.6 3128\n"
             "SOCKS5\t10.0.0.7\t1082\n"
             "Http 10.0.0.8 8080 # corporate\n");
    cr_assert_eq(conf.proxy_count, 5);
    assert_proxy(0, PROXY_SOCKS4, "10.0.0.4", 1080, false);
    assert_proxy(1, PROXY_SOCKS5, "10.0.0.5", 1081, false);
    assert_proxy(2, PROXY_HTTP, "10.0.0.6", 3128, true);
    assert_proxy(3, PROXY_SOCKS5, "10.0.0.7", 1082, false);
    assert_proxy(4, PROXY_HTTP, "10.0.0.8", 8080, true);
    for (size_t i = 0; i < 5; i++) {
        cr_assert(conf.proxies[i].has_addr);
        cr_assert_not(conf.proxies[i].has_auth);
    }
}

Test(pcconf, raw_is_skipped_with_a_warning)
{
    pc_parse("[ProxyList]\nsocks5 10.0.0.1 1080\nraw 10.0.0.2 8080\nhttp 10.0.0.3 3128\n");
    cr_assert_eq(conf.proxy_count, 2);
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, false);
    assert_proxy(1, PROXY_HTTP, "10.0.0.3", 3128, true);
    assert_warned(3, "raw");
    cr_assert_eq(default_chain()->hop_count, 2);
}

Test(pcconf, auth)
{
    pc_parse("[ProxyList]\n"
             "socks5 10.0.0.1 1080 alice s3cret\n"
             "http 10.0.0.2 3128 dom\\user p:a@s%20s/w?#rd\n"
             "socks5 10.0.0.3 1080 us:er@x %41%\n"
             "socks4 10.0.0.4 1080 ident\n"
             "socks5 10.0.0.5 1080 onlyuser\n");
    const struct proxy *p = assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, false);
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "alice");
    cr_assert_str_eq(p->pass, "s3cret");
    p = assert_proxy(1, PROXY_HTTP, "10.0.0.2", 3128, true);
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "dom\\user");
    cr_assert_str_eq(p->pass, "p:a@s%20s/w?#rd", "taken literally, not %%-decoded");
    p = assert_proxy(2, PROXY_SOCKS5, "10.0.0.3", 1080, false);
    cr_assert_str_eq(p->user, "us:er@x");
    cr_assert_str_eq(p->pass, "%41%");
    p = assert_proxy(3, PROXY_SOCKS4, "10.0.0.4", 1080, false);
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "ident");
    cr_assert_str_empty(p->pass);
    p = assert_proxy(4, PROXY_SOCKS5, "10.0.0.5", 1080, false);
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "onlyuser");
    cr_assert_str_empty(p->pass);
    cr_assert_str_empty(conf.warnings);
}

Test(pcconf, auth_at_the_length_limit)
{
    /* 255 characters each, some of which must be escaped on the way through a URL. */
    char text[1200], user[PROXY_CRED_MAX + 1], pass[PROXY_CRED_MAX + 1];
    memset(user, 'u', PROXY_CRED_MAX);
    user[PROXY_CRED_MAX] = '\0';
    memset(pass, 'p', PROXY_CRED_MAX);
    memset(pass, ':', 40);
    memset(pass + 100, '%', 40);
    pass[PROXY_CRED_MAX] = '\0';
    snprintf(text, sizeof(text), "[ProxyList]\nsocks5 10.0.0.1 1080 %s %s\n", user, pass);
    pc_parse(text);
    cr_assert_str_eq(conf.proxies[0].user, user);
    cr_assert_str_eq(conf.proxies[0].pass, pass);
}

Test(pcconf, socks4_password_is_dropped)
{
    pc_parse("[ProxyList]\nsocks4 10.0.0.4 1080 ident secret\n");
    const struct proxy *p = assert_proxy(0, PROXY_SOCKS4, "10.0.0.4", 1080, false);
    cr_assert(p->has_auth);
    cr_assert_str_eq(p->user, "ident");
    cr_assert_str_empty(p->pass);
    assert_warned(2, "password");
}

Test(pcconf, ipv6_and_named_proxies)
{
    pc_parse("proxy_dns\n[ProxyList]\n"
             "socks5 ::1 1080\n"
             "socks5 2001:db8::10 1081\n"
             "http [fd00::2] 3128\n"
             "socks5 proxy.example.com 1080\n"
             "socks4 tor-gw_1 9050\n");
    const struct proxy *p = assert_proxy(0, PROXY_SOCKS5, "::1", 1080, true);
    cr_assert(p->has_addr);
    cr_assert_eq(p->addr.sa.sa_family, AF_INET6);
    p = assert_proxy(1, PROXY_SOCKS5, "2001:db8::10", 1081, true);
    cr_assert_eq(p->addr.sa.sa_family, AF_INET6);
    cr_assert_eq(ntohs(p->addr.in6.sin6_port), 1081);
    p = assert_proxy(2, PROXY_HTTP, "fd00::2", 3128, true);
    cr_assert_eq(p->addr.sa.sa_family, AF_INET6);
    p = assert_proxy(3, PROXY_SOCKS5, "proxy.example.com", 1080, true);
    cr_assert_not(p->has_addr, "a name is resolved later");
    assert_proxy(4, PROXY_SOCKS4, "tor-gw_1", 9050, true);
}

Test(pcconf, url_form)
{
    pc_parse("[ProxyList]\nsocks5://user:pw@10.0.0.1:1080\nhttp://10.0.0.2:3128\n");
    const struct proxy *p = assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, false);
    cr_assert_str_eq(p->user, "user");
    cr_assert_str_eq(p->pass, "pw");
    assert_proxy(1, PROXY_HTTP, "10.0.0.2", 3128, true);
}

Test(pcconf, names_and_default_chain)
{
    pc_parse("dynamic_chain\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks4 10.0.0.2 1080\nhttp 10.0.0.3 3128\n");
    cr_assert_eq(conf.proxy_count, 3);
    for (size_t i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "pc%zu", i + 1);
        const struct chain *own = config_find_chain(&conf, name);
        cr_assert_not_null(own, "%s has its one-hop chain", name);
        cr_assert_eq(own->hop_count, 1);
        cr_assert_eq(own->hops[0], i);
    }
    cr_assert_null(config_default_proxy(&conf), "no proxy is called default");
    const struct chain *ch = default_chain();
    cr_assert_eq(ch->mode, CHAIN_DYNAMIC);
    cr_assert_eq(ch->hop_count, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(ch->hops[i], i, "hop %zu in file order", i);
    cr_assert_eq(ch->line, 2, "the chain is the [ProxyList] section");
    cr_assert_eq(conf.chain_count, 4);
}

Test(pcconf, sixty_four_proxies_fit_a_random_chain)
{
    char text[4096] = "random_chain\n[ProxyList]\n";
    for (int i = 1; i <= CHAIN_HOPS_MAX; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, "socks5 10.0.0.%d 1080\n", i);
    }
    pc_parse(text);
    cr_assert_eq(conf.proxy_count, CHAIN_HOPS_MAX);
    cr_assert_eq(default_chain()->hop_count, CHAIN_HOPS_MAX);
    cr_assert_str_eq(conf.proxies[CHAIN_HOPS_MAX - 1].name, "pc64");
    cr_assert_eq(default_chain()->length, 1, "chain_len's default");
}

Test(pcconf, no_proxy_at_all)
{
    pc_parse("strict_chain\nproxy_dns\n[ProxyList]\n# none yet\n");
    cr_assert_eq(conf.proxy_count, 0);
    cr_assert_eq(conf.chain_count, 0);
    cr_assert_null(config_default_chain(&conf));
}

Test(pcconf, options_after_the_list_and_crlf)
{
    pc_parse("strict_chain\r\n[ProxyList]\r\nsocks5 10.0.0.1 1080\r\nquiet_mode\r\nlocalnet 10.0.0.0/8\r\n");
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, false);
    cr_assert_eq(conf.log_level, LOG_NONE);
    assert_localnet(0, "10.0.0.0/8", 0, 5);
    cr_assert_eq(default_chain()->mode, CHAIN_STRICT);
    pc_parse("[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 1080\nrandom_chain\nchain_len=2\n");
    cr_assert_eq(default_chain()->mode, CHAIN_RANDOM);
    cr_assert_eq(default_chain()->length, 2, "chain_len=2, glued, below the list");
}

/* ---- warnings ---- */

Test(pcconf, unsupported_options_warn)
{
    pc_parse("strict_chain\n"
             "dnat 1.1.1.1:1234 1.1.1.2:443\n"
             "socks5_ignore_unknown\n"
             "\n"
             "[Options]\n"
             "socks5 10.0.0.9 1080\n"
             "[ProxyList]\n"
             "socks5 10.0.0.1 1080\n");
    assert_warned(2, "'dnat'");
    assert_warned(3, "'socks5_ignore_unknown'");
    assert_warned(5, "'[Options]'");
    assert_warned(6, "[ProxyList]");
    assert_warned(2, "not supported");
    cr_assert_eq(conf.proxy_count, 1, "the proxy above the list is not taken");
    assert_proxy(0, PROXY_SOCKS5, "10.0.0.1", 1080, false);
}

/* ---- errors ---- */

Test(pcconf, malformed_proxy_lines)
{
    pc_bad("[ProxyList]\nsocks5 10.0.0.1\n", 2, "TYPE HOST PORT");
    pc_bad("[ProxyList]\nsocks5\n", 2, "TYPE HOST PORT");
    pc_bad("# c\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 0\n", 4, "bad proxy port '0'");
    pc_bad("[ProxyList]\nsocks5 10.0.0.1 65536\n", 2, "port '65536'");
    pc_bad("[ProxyList]\nsocks5 10.0.0.1 http\n", 2, "port 'http'");
    pc_bad("[ProxyList]\nsocks5 10.0.0.1 -1\n", 2, "port");
    pc_bad("[ProxyList]\nsocks5 10.0.0.1 99999999999999999999\n", 2, "port");
    pc_bad("[ProxyList]\nsocks6 10.0.0.1 1080\n", 2, "unknown proxy type 'socks6'");
    pc_bad("[ProxyList]\nsocks5h 10.0.0.1 1080\n", 2, "unknown proxy type");
    pc_bad("[ProxyList]\n\n\nstrict_chain_typo\n", 4, "unknown proxy type");
    pc_bad("[ProxyList]\nsocks5 user@10.0.0.1 1080\n", 2, "bad proxy host");
    pc_bad("[ProxyList]\nsocks5 10.0.0.1/x 1080\n", 2, "bad proxy host");
    pc_bad("[ProxyList]\nsocks5 ::zz 1080\n", 2, "bad proxy host");
    pc_bad("[ProxyList]\nsocks5 [10.0.0.1] 1080\n", 2, "bad proxy host");
    pc_bad("[ProxyList]\nsocks5 [] 1080\n", 2, "bad proxy host");
    pc_bad("[ProxyList]\nraw 10.0.0.1 x\n", 2, "port");
    pc_bad("[ProxyList]\nsocks5 10.0.0.1 1080 user pass extra\n", 2, "TYPE HOST PORT");
    pc_bad("[ProxyList]\nsocks5:/10.0.0.1:1080\n", 2, "unknown proxy type");
    pc_bad("[ProxyList]\nftp://10.0.0.1:21\n", 2, "scheme");
    pc_bad("[ProxyList] extra\n[ProxyList]\n", 1, "extra");
}

Test(pcconf, credentials_too_long)
{
    char text[700], user[PROXY_CRED_MAX + 2];
    memset(user, 'u', PROXY_CRED_MAX + 1);
    user[PROXY_CRED_MAX + 1] = '\0';
    snprintf(text, sizeof(text), "[ProxyList]\nsocks5 10.0.0.1 1080 %s pw\n", user);
    pc_bad(text, 2, "longer than 255");
    snprintf(text, sizeof(text), "[ProxyList]\nsocks5 10.0.0.1 1080 me %s\n", user);
    pc_bad(text, 2, "longer than 255");
}

Test(pcconf, too_many_proxies)
{
    char text[4096] = "random_chain\n[ProxyList]\n";
    for (int i = 1; i <= CHAIN_HOPS_MAX + 1; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, "socks5 10.0.%d.%d 1080\n", i / 200, i % 200);
    }
    pc_bad(text, CHAIN_HOPS_MAX + 3, "at most 64");
}

Test(pcconf, dynamic_chain_goes_through_at_most_sixteen)
{
    char text[4096] = "[ProxyList]\n";
    for (int i = 1; i <= PROXY_CHAIN_MAX; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, "socks5 10.0.0.%d 1080\n", i);
    }
    pc_parse(text);
    cr_assert_eq(default_chain()->hop_count, PROXY_CHAIN_MAX);
    config_free(&conf);
    strcat(text, "socks5 10.0.1.1 1080\n");
    pc_bad(text, 1, "at most 16");
    char strict[4096] = "strict_chain\n";
    strcat(strict, text);
    pc_bad(strict, 2, "strict chain");
}

Test(pcconf, malformed_options)
{
    pc_bad("strict_chain yes\n[ProxyList]\n", 1, "no value");
    pc_bad("\nproxy_dns on\n[ProxyList]\n", 2, "no value");
    pc_bad("quiet_mode 1\n[ProxyList]\n", 1, "no value");
    pc_bad("chain_len\n[ProxyList]\n", 1, "chain_len");
    pc_bad("chain_len =\n[ProxyList]\n", 1, "chain_len");
    pc_bad("chain_len = 0\n[ProxyList]\n", 1, "'0'");
    pc_bad("chain_len = two\n[ProxyList]\n", 1, "'two'");
    pc_bad("chain_len = 2 3\n[ProxyList]\n", 1, "chain_len");
    pc_bad("remote_dns_subnet 256\n[ProxyList]\n", 1, "0 to 255");
    pc_bad("remote_dns_subnet -1\n[ProxyList]\n", 1, "remote_dns_subnet");
    pc_bad("remote_dns_subnet\n[ProxyList]\n", 1, "remote_dns_subnet");
    pc_bad("remote_dns_subnet 10.0.0.0\n[ProxyList]\n", 1, "0 to 255");
    pc_bad("tcp_read_time_out 0\n[ProxyList]\n", 1, "milliseconds");
    pc_bad("tcp_read_time_out 15s\n[ProxyList]\n", 1, "milliseconds");
    pc_bad("tcp_connect_time_out 3600001\n[ProxyList]\n", 1, "milliseconds");
    pc_bad("tcp_connect_time_out\n[ProxyList]\n", 1, "milliseconds");
}

Test(pcconf, malformed_localnet)
{
    pc_bad("localnet 192.168.0.0/255.0.255.0\n[ProxyList]\n", 1, "contiguous");
    pc_bad("# x\nlocalnet 10.0.0.0/255.255.255.1\n[ProxyList]\n", 2, "netmask");
    pc_bad("localnet 10.0.0.0/33\n[ProxyList]\n", 1, "netmask '33'");
    pc_bad("localnet ::1/129\n[ProxyList]\n", 1, "netmask");
    pc_bad("localnet ::1/ffff::\n[ProxyList]\n", 1, "prefix length 0-128");
    pc_bad("localnet 10.0.0.0\n[ProxyList]\n", 1, "ADDRESS[:PORT]/NETMASK");
    pc_bad("localnet 10.0.0/8\n[ProxyList]\n", 1, "address");
    pc_bad("localnet example.com/8\n[ProxyList]\n", 1, "address");
    pc_bad("localnet [10.0.0.1]:80/32\n[ProxyList]\n", 1, "address");
    pc_bad("localnet [::1/128\n[ProxyList]\n", 1, "address");
    pc_bad("localnet [::1]x/128\n[ProxyList]\n", 1, "address");
    pc_bad("localnet 10.0.0.1:70000/32\n[ProxyList]\n", 1, "port '70000'");
    pc_bad("localnet 10.0.0.1:/32\n[ProxyList]\n", 1, "port");
    pc_bad("localnet 10.0.0.1:http/32\n[ProxyList]\n", 1, "port");
    pc_bad("localnet 10.0.0.0/8 10.1.0.0/16\n[ProxyList]\n", 1, "ADDRESS[:PORT]/NETMASK");
    pc_bad("localnet\n[ProxyList]\n", 1, "ADDRESS[:PORT]/NETMASK");
}

Test(pcconf, limits_of_the_line_reader)
{
    char *text = malloc(5000);
    cr_assert_not_null(text);
    strcpy(text, "[ProxyList]\nsocks5 10.0.0.1 1080 ");
    size_t n = strlen(text);
    memset(text + n, 'x', 4500);
    strcpy(text + n + 4500, "\n");
    pc_bad(text, 2, "longer than");
    strcpy(text, "strict_chain\n[ProxyList]\nsocks5");
    for (int i = 0; i < 70; i++)
        strcat(text, " w");
    pc_bad(text, 3, "too many words");
    free(text);
}

/* ---- what it all does to routing ---- */

static struct route route_of(const char *ip, uint16_t port, const char *name)
{
    union sockaddr_any dst = test_addr(ip, port);
    return route_decide(&conf, &dst, name);
}

Test(pcconf, routes_localnet_direct_and_the_rest_through_the_chain)
{
    pc_parse("strict_chain\nproxy_dns\n"
             "localnet 192.168.0.0/255.255.0.0\n"
             "localnet 10.1.0.0:8080/16\n"
             "localnet [fd00::]/8\n"
             "[ProxyList]\nsocks5 203.0.113.1 1080\nsocks5 203.0.113.2 1080\n");
    const struct chain *def = default_chain();

    struct route r = route_of("192.168.7.9", 443, NULL);
    cr_assert_eq(r.action, ROUTE_DIRECT);
    cr_assert_not_null(r.rule);
    cr_assert_eq(r.rule->line, 3);

    r = route_of("10.1.2.3", 8080, NULL);
    cr_assert_eq(r.action, ROUTE_DIRECT, "localnet with its port");
    cr_assert_eq(r.rule->line, 4);
    r = route_of("10.1.2.3", 80, NULL);
    cr_assert_eq(r.action, ROUTE_VIA, "another port is proxied");
    cr_assert_eq(r.chain, def);

    r = route_of("fd00::5", 22, NULL);
    cr_assert_eq(r.action, ROUTE_DIRECT);
    cr_assert_eq(r.rule->line, 5);
    r = route_of("::ffff:192.168.1.1", 80, NULL);
    cr_assert_eq(r.action, ROUTE_DIRECT, "IPv4-mapped");

    r = route_of("8.8.8.8", 443, NULL);
    cr_assert_eq(r.action, ROUTE_VIA);
    cr_assert_eq(r.chain, def);
    cr_assert_eq(r.chain->hop_count, 2);
    cr_assert_eq(r.chain->mode, CHAIN_STRICT);

    r = route_of("192.168.7.9", 443, "intranet.example");
    cr_assert_eq(r.action, ROUTE_VIA, "a fake address stands for a name: localnet does not apply (as in proxychains)");

    r = route_of("203.0.113.2", 1080, NULL);
    cr_assert_eq(r.action, ROUTE_DIRECT, "the proxies themselves");
    cr_assert_null(r.rule);
}

Test(pcconf, config_load_reads_a_proxychains_file)
{
    char path[] = "/tmp/socksify-pcconf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char text[] = "random_chain\nchain_len = 1\n[ProxyList]\nsocks5 10.0.0.1 1080\nsocks5 10.0.0.2 1080\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct config_env env = { .conf_path = path };
    char err[ERR_SIZE] = "";
    config_free(&conf);
    int r = config_load(&conf, &env, err, sizeof(err));
    cr_assert_eq(r, 0, "%s", err);
    cr_assert_str_eq(conf.source, path);
    cr_assert_eq(default_chain()->mode, CHAIN_RANDOM);
    cr_assert_eq(default_chain()->length, 1);

    /* An empty list is config_load's "no proxy declared". */
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "[ProxyList]\n", 12), 12);
    close(fd);
    config_free(&conf);
    r = config_load(&conf, &env, err, sizeof(err));
    unlink(path);
    cr_assert_eq(r, -ENOENT);
    cr_assert_not_null(strstr(err, "no proxy"), "%s", err);
    config_init(&conf);
}
