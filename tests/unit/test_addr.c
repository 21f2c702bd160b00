/* Unit tests for core/addr.c: the sockaddr union and its helpers. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "helpers.h"

static const char *fmt(const char *ip, uint16_t port)
{
    static char buf[ADDR_TEXT_MAX];
    union sockaddr_any a = test_addr(ip, port);
    cr_assert_eq(addr_format(&a, buf, sizeof(buf)), buf);
    return buf;
}

static bool loopback(const char *ip)
{
    union sockaddr_any a = test_addr(ip, 1);
    return addr_is_loopback(&a);
}

Test(addr, from_sockaddr_v4)
{
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(80) };
    inet_pton(AF_INET, "1.2.3.4", &in.sin_addr);
    union sockaddr_any a;
    memset(&a, 0x5a, sizeof(a));
    cr_assert(addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in)));
    cr_assert_eq(a.sa.sa_family, AF_INET);
    cr_assert_eq(a.in4.sin_addr.s_addr, in.sin_addr.s_addr);
    cr_assert_eq(addr_port(&a), 80);
    cr_assert_eq(addr_len(&a), sizeof(struct sockaddr_in));
    /* The rest of the union is cleared. */
    const uint8_t *raw = (const uint8_t *)&a;
    for (size_t i = sizeof(struct sockaddr_in); i < sizeof(a); i++)
        cr_assert_eq(raw[i], 0, "byte %zu not cleared", i);
}

Test(addr, from_sockaddr_v6)
{
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443), .sin6_scope_id = 3 };
    inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
    union sockaddr_any a;
    cr_assert(addr_from_sockaddr(&a, (struct sockaddr *)&in6, sizeof(in6)));
    cr_assert_eq(a.sa.sa_family, AF_INET6);
    cr_assert_eq(memcmp(&a.in6.sin6_addr, &in6.sin6_addr, 16), 0);
    cr_assert_eq(a.in6.sin6_scope_id, 3);
    cr_assert_eq(addr_port(&a), 443);
    cr_assert_eq(addr_len(&a), sizeof(struct sockaddr_in6));
}

Test(addr, from_sockaddr_longer_length_ok)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(1);
    union sockaddr_any a;
    cr_assert(addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof(ss)));
    cr_assert_eq(addr_port(&a), 1);
}

Test(addr, from_sockaddr_short_lengths)
{
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    struct sockaddr_in in = { .sin_family = AF_INET };
    union sockaddr_any a;
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in) - 1));
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&in, 0));
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&in6, ADDR_IN6_MIN_LEN - 1));
    /* An AF_INET6 address in a sockaddr_in-sized length. */
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&in6, sizeof(struct sockaddr_in)));
}

Test(addr, from_sockaddr_rfc2133_ipv6)
{
    /* Linux takes a 24-byte sockaddr_in6 (no scope id): so must socksify, with scope id 0. */
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(53), .sin6_scope_id = 7 };
    inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
    union sockaddr_any a;
    cr_assert(addr_from_sockaddr(&a, (struct sockaddr *)&in6, ADDR_IN6_MIN_LEN));
    cr_assert_eq(a.in6.sin6_scope_id, 0);
    cr_assert_eq(addr_port(&a), 53);
    cr_assert(IN6_ARE_ADDR_EQUAL(&a.in6.sin6_addr, &in6.sin6_addr));
    cr_assert(addr_from_sockaddr(&a, (struct sockaddr *)&in6, ADDR_IN6_MIN_LEN + 2));
    cr_assert_eq(a.in6.sin6_scope_id, 0, "a partial scope id is not read");
    cr_assert(addr_from_sockaddr(&a, (struct sockaddr *)&in6, sizeof(in6)));
    cr_assert_eq(a.in6.sin6_scope_id, 7);
}

Test(addr, read_as_kernel_connect)
{
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(0x0a000001) };
    union sockaddr_any a;
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), -1, true), ADDR_FORM_INET);
    cr_assert_eq(addr_read_as_kernel(&a, NULL, 0, -1, true), ADDR_FORM_INVALID);
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in) - 1, -1, true), ADDR_FORM_INVALID);
    in.sin_family = AF_UNSPEC;   /* connect(AF_UNSPEC) dissolves an association: no destination */
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), AF_INET, true), ADDR_FORM_NONE);
    in.sin_family = AF_UNIX;
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), AF_INET, true), ADDR_FORM_INVALID);
}

Test(addr, read_as_kernel_send_unspec)
{
    /* udp_sendmsg reads AF_UNSPEC as AF_INET; udpv6_sendmsg as "no address". */
    struct sockaddr_in in = { .sin_family = AF_UNSPEC, .sin_port = htons(53), .sin_addr.s_addr = htonl(0x0a000001) };
    union sockaddr_any a;
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), -1, false), ADDR_FORM_UNKNOWN);
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), AF_INET, false), ADDR_FORM_INET);
    cr_assert_eq(a.sa.sa_family, AF_INET);
    cr_assert_eq(addr_port(&a), 53);
    cr_assert_eq(a.in4.sin_addr.s_addr, htonl(0x0a000001));
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in) - 1, AF_INET, false), ADDR_FORM_INVALID);
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), AF_INET6, false), ADDR_FORM_NONE);
    cr_assert_eq(addr_read_as_kernel(&a, (struct sockaddr *)&in, sizeof(in), AF_UNIX, false), ADDR_FORM_NONE);
    cr_assert_eq(addr_read_as_kernel(&a, NULL, 0, AF_INET, false), ADDR_FORM_NONE);
}

Test(addr, this_host)
{
    const char *yes[] = { "127.0.0.1", "0.0.0.0", "::", "::1", "::ffff:0.0.0.0", "::ffff:127.0.0.2" };
    const char *no[] = { "10.0.0.1", "::2", "::ffff:10.0.0.1", "0.0.0.1" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        union sockaddr_any a = {0};
        cr_assert(inet_pton(strchr(yes[i], ':') ? AF_INET6 : AF_INET, yes[i],
                            strchr(yes[i], ':') ? (void *)&a.in6.sin6_addr : (void *)&a.in4.sin_addr) == 1);
        a.sa.sa_family = strchr(yes[i], ':') ? AF_INET6 : AF_INET;
        cr_assert(addr_is_this_host(&a), "%s", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        union sockaddr_any a = {0};
        inet_pton(strchr(no[i], ':') ? AF_INET6 : AF_INET, no[i],
                  strchr(no[i], ':') ? (void *)&a.in6.sin6_addr : (void *)&a.in4.sin_addr);
        a.sa.sa_family = strchr(no[i], ':') ? AF_INET6 : AF_INET;
        cr_assert_not(addr_is_this_host(&a), "%s", no[i]);
    }
}

Test(addr, from_sockaddr_wrong_family)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/tmp/sock" };
    union sockaddr_any a;
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&un, sizeof(un)));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof(ss)));
    ss.ss_family = AF_PACKET;
    cr_assert_not(addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof(ss)));
    cr_assert_not(addr_from_sockaddr(&a, NULL, sizeof(ss)));
}

Test(addr, len_and_port)
{
    union sockaddr_any a = test_addr("1.2.3.4", 65535);
    cr_assert_eq(addr_len(&a), sizeof(struct sockaddr_in));
    cr_assert_eq(addr_port(&a), 65535);
    a = test_addr("::1", 8080);
    cr_assert_eq(addr_len(&a), sizeof(struct sockaddr_in6));
    cr_assert_eq(addr_port(&a), 8080);
    memset(&a, 0, sizeof(a));
    cr_assert_eq(addr_len(&a), 0);
    a.sa.sa_family = AF_UNIX;
    cr_assert_eq(addr_len(&a), 0);
}

Test(addr, format_v4)
{
    cr_assert_str_eq(fmt("1.2.3.4", 80), "1.2.3.4:80");
    cr_assert_str_eq(fmt("0.0.0.0", 0), "0.0.0.0:0");
    cr_assert_str_eq(fmt("255.255.255.255", 65535), "255.255.255.255:65535");
}

Test(addr, format_v6)
{
    cr_assert_str_eq(fmt("::1", 80), "[::1]:80");
    cr_assert_str_eq(fmt("2001:db8::1", 443), "[2001:db8::1]:443");
    cr_assert_str_eq(fmt("::ffff:1.2.3.4", 1), "[::ffff:1.2.3.4]:1");
    cr_assert_str_eq(fmt("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
                     "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

Test(addr, format_other_family)
{
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    a.sa.sa_family = AF_UNIX;
    char buf[ADDR_TEXT_MAX];
    addr_format(&a, buf, sizeof(buf));
    cr_assert_str_not_empty(buf);
    cr_assert_not_null(strstr(buf, "1"), "'%s' does not name family %d", buf, AF_UNIX);
}

Test(addr, format_truncates)
{
    union sockaddr_any a = test_addr("2001:db8::1", 443);
    char buf[6];
    memset(buf, 'x', sizeof(buf));
    cr_assert_eq(addr_format(&a, buf, sizeof(buf)), buf);
    cr_assert_str_eq(buf, "[2001");
}

Test(addr, is_loopback)
{
    cr_assert(loopback("127.0.0.1"));
    cr_assert(loopback("127.0.0.0"));
    cr_assert(loopback("127.1.2.3"));
    cr_assert(loopback("127.255.255.255"));
    cr_assert_not(loopback("128.0.0.1"));
    cr_assert_not(loopback("126.255.255.255"));
    cr_assert_not(loopback("0.0.0.0"));
    cr_assert_not(loopback("10.0.0.1"));
    cr_assert(loopback("::1"));
    cr_assert_not(loopback("::"));
    cr_assert_not(loopback("::2"));
    cr_assert_not(loopback("fe80::1"));
    cr_assert(loopback("::ffff:127.0.0.1"));
    cr_assert(loopback("::ffff:127.9.8.7"));
    cr_assert_not(loopback("::ffff:128.0.0.1"));
    cr_assert_not(loopback("::ffff:10.0.0.1"));
    cr_assert_not(loopback("::127.0.0.1"));   /* IPv4-compatible, not mapped */
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    a.sa.sa_family = AF_UNIX;
    cr_assert_not(addr_is_loopback(&a));
}

Test(addr, equal)
{
    union sockaddr_any a = test_addr("1.2.3.4", 80), b = test_addr("1.2.3.4", 80);
    cr_assert(addr_equal(&a, &b));
    b = test_addr("1.2.3.4", 81);
    cr_assert_not(addr_equal(&a, &b), "different port");
    b = test_addr("1.2.3.5", 80);
    cr_assert_not(addr_equal(&a, &b), "different address");
    b = test_addr("::ffff:1.2.3.4", 80);
    cr_assert_not(addr_equal(&a, &b), "different family");
    cr_assert_not(addr_equal(&b, &a), "different family");
    a = test_addr("fd00::1", 443);
    b = test_addr("fd00::1", 443);
    b.in6.sin6_flowinfo = 7;   /* only family, address and port count */
    cr_assert(addr_equal(&a, &b));
    b = test_addr("fd00::2", 443);
    cr_assert_not(addr_equal(&a, &b));
    b = test_addr("fd00::1", 444);
    cr_assert_not(addr_equal(&a, &b));
    union sockaddr_any u1, u2;
    memset(&u1, 0, sizeof(u1));
    memset(&u2, 0, sizeof(u2));
    u1.sa.sa_family = u2.sa.sa_family = AF_UNIX;
    cr_assert_not(addr_equal(&u1, &u2));
}

Test(addr, to_v4mapped)
{
    union sockaddr_any a = test_addr("1.2.3.4", 8080);
    addr_to_v4mapped(&a);
    cr_assert_eq(a.sa.sa_family, AF_INET6);
    cr_assert(IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr));
    cr_assert_eq(addr_port(&a), 8080);
    union sockaddr_any want = test_addr("::ffff:1.2.3.4", 8080);
    cr_assert(addr_equal(&a, &want));
    cr_assert_eq(a.in6.sin6_flowinfo, 0);
    cr_assert_eq(a.in6.sin6_scope_id, 0);
    char buf[ADDR_TEXT_MAX];
    cr_assert_str_eq(addr_format(&a, buf, sizeof(buf)), "[::ffff:1.2.3.4]:8080");
}

Test(addr, from_v4mapped_round_trip)
{
    union sockaddr_any a = test_addr("::ffff:1.2.3.4", 53), want = test_addr("1.2.3.4", 53);
    addr_from_v4mapped(&a);
    cr_assert(addr_equal(&a, &want));
    addr_to_v4mapped(&a);
    addr_from_v4mapped(&a);
    cr_assert_eq(memcmp(&a, &want, sizeof(a)), 0);
    union sockaddr_any v6 = test_addr("2001:db8::1", 1), before = v6;
    addr_from_v4mapped(&v6);
    cr_assert_eq(memcmp(&v6, &before, sizeof(v6)), 0);
    union sockaddr_any v4 = test_addr("9.8.7.6", 2);
    before = v4;
    addr_from_v4mapped(&v4);
    cr_assert_eq(memcmp(&v4, &before, sizeof(v4)), 0);
}

Test(addr, copy_out_truncates_and_tells_full_length)
{
    union sockaddr_any a = test_addr("2001:db8::1", 443);
    struct sockaddr_in6 whole;
    cr_assert_eq(addr_copy_out(&a, &whole, sizeof(whole)), sizeof(struct sockaddr_in6));
    cr_assert_eq(memcmp(&whole, &a.in6, sizeof(whole)), 0);
    unsigned char small[8];
    memset(small, 0xaa, sizeof(small));
    cr_assert_eq(addr_copy_out(&a, small, 4), sizeof(struct sockaddr_in6));
    cr_assert_eq(memcmp(small, &a.in6, 4), 0);
    cr_assert_eq(small[4], 0xaa, "wrote past the room given");
}

Test(addr, to_v4mapped_leaves_others)
{
    union sockaddr_any a = test_addr("2001:db8::1", 1), before = a;
    addr_to_v4mapped(&a);
    cr_assert_eq(memcmp(&a, &before, sizeof(a)), 0);
    memset(&a, 0, sizeof(a));
    a.sa.sa_family = AF_UNIX;
    before = a;
    addr_to_v4mapped(&a);
    cr_assert_eq(memcmp(&a, &before, sizeof(a)), 0);
}

Test(addr, fit_family)
{
    union sockaddr_any a = test_addr("10.0.0.1", 9);
    cr_assert_eq(addr_fit_family(&a, AF_INET), 0);
    cr_assert_eq(a.sa.sa_family, AF_INET);
    cr_assert_eq(addr_fit_family(&a, AF_INET6), 0);
    union sockaddr_any mapped = test_addr("::ffff:10.0.0.1", 9);
    cr_assert(addr_equal(&a, &mapped), "v4-mapped on an IPv6 socket");
    union sockaddr_any v6 = test_addr("2001:db8::1", 9);
    cr_assert_eq(addr_fit_family(&v6, AF_INET), -EAFNOSUPPORT, "an IPv4 socket cannot reach IPv6");
    cr_assert_eq(addr_fit_family(&v6, AF_INET6), 0);
}

/* addr_split_hostport(text) succeeds with this host (as a string), port text (NULL: none) and flags. */
static void split_ok(const char *text, const char *host, const char *port, bool bracketed, bool bare_ipv6)
{
    struct addr_hostport p;
    cr_assert_eq(addr_split_hostport(text, &p), 0, "'%s' refused", text);
    cr_assert_eq(p.host_len, strlen(host), "'%s': host of %zu bytes, expected '%s'", text, p.host_len, host);
    cr_assert_eq(memcmp(p.host, host, p.host_len), 0, "'%s': host '%.*s', expected '%s'", text, (int)p.host_len, p.host, host);
    if (port)
        cr_assert_str_eq(p.port, port, "'%s'", text);
    else
        cr_assert_null(p.port, "'%s': port '%s', expected none", text, p.port);
    cr_assert_eq(p.bracketed, bracketed, "'%s'", text);
    cr_assert_eq(p.bare_ipv6, bare_ipv6, "'%s'", text);
}

Test(addr, split_hostport_forms)
{
    split_ok("example.org", "example.org", NULL, false, false);
    split_ok("example.org:443", "example.org", "443", false, false);
    split_ok("10.1.2.3:80", "10.1.2.3", "80", false, false);
    split_ok("host:", "host", "", false, false);
    split_ok(":80", "", "80", false, false);
    split_ok("[fd00::1]", "fd00::1", NULL, true, false);
    split_ok("[fd00::1]:1080", "fd00::1", "1080", true, false);
    split_ok("[]:1", "", "1", true, false);
    split_ok("fe80::1", "fe80::1", NULL, false, true);
    split_ok("::1:80", "::1:80", NULL, false, true);
    split_ok("", "", NULL, false, false);
}

Test(addr, split_hostport_bad_brackets)
{
    struct addr_hostport p;
    cr_assert_eq(addr_split_hostport("[fd00::1", &p), -EINVAL);
    cr_assert_eq(addr_split_hostport("[fd00::1]80", &p), -EBADMSG);
    cr_assert_eq(addr_split_hostport("[fd00::1]/x", &p), -EBADMSG);
}

Test(addr, parse_port)
{
    uint16_t port = 7;
    cr_assert_eq(addr_parse_port("1", &port), 0);
    cr_assert_eq(port, 1);
    cr_assert_eq(addr_parse_port("65535", &port), 0);
    cr_assert_eq(port, 65535);
    cr_assert_eq(addr_parse_port("0080", &port), 0);
    cr_assert_eq(port, 80);
    const char *not_numbers[] = { "", "+80", "-1", " 80", "80 ", "8a", "0x50" };
    for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++)
        cr_assert_eq(addr_parse_port(not_numbers[i], &port), -EINVAL, "'%s'", not_numbers[i]);
    const char *out_of_range[] = { "0", "65536", "99999999999999999999999" };
    for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++)
        cr_assert_eq(addr_parse_port(out_of_range[i], &port), -ERANGE, "'%s'", out_of_range[i]);
    cr_assert_eq(port, 80, "a refused port leaves *port alone");
}
