/* Unit tests for core/cidr.c: CIDR ranges and matching. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cidr.h"
#include "helpers.h"

static struct cidr cidr_ok(const char *text)
{
    struct cidr c;
    cr_assert_eq(cidr_parse(text, &c), 0, "'%s' rejected", text);
    return c;
}

static bool matches(const char *range, const char *ip)
{
    struct cidr c = cidr_ok(range);
    union sockaddr_any a = test_addr(ip, 80);
    return cidr_match(&c, &a);
}

#define ASSERT_MATCH(range, ip) cr_assert(matches(range, ip), "%s should contain %s", range, ip)
#define ASSERT_NO_MATCH(range, ip) cr_assert_not(matches(range, ip), "%s should not contain %s", range, ip)

static void assert_addr(const struct cidr *c, const char *ip)
{
    uint8_t want[16] = { 0 };
    cr_assert_eq(inet_pton(c->family, ip, want), 1);
    cr_assert_eq(memcmp(c->addr, want, sizeof(want)), 0, "network address is not %s", ip);
}

Test(cidr, parse_v4)
{
    struct cidr c = cidr_ok("10.0.0.0/8");
    cr_assert_eq(c.family, AF_INET);
    cr_assert_eq(c.prefix, 8);
    assert_addr(&c, "10.0.0.0");
}

Test(cidr, parse_v6)
{
    struct cidr c = cidr_ok("fd00::/8");
    cr_assert_eq(c.family, AF_INET6);
    cr_assert_eq(c.prefix, 8);
    assert_addr(&c, "fd00::");
}

Test(cidr, bare_address_is_host_range)
{
    struct cidr c = cidr_ok("192.168.1.7");
    cr_assert_eq(c.prefix, 32);
    assert_addr(&c, "192.168.1.7");
    c = cidr_ok("2001:db8::1");
    cr_assert_eq(c.prefix, 128);
    assert_addr(&c, "2001:db8::1");
}

Test(cidr, host_bits_masked)
{
    static const char *const cases[][2] = {   /* range, its network address */
        { "10.1.2.3/8", "10.0.0.0" },
        { "192.168.255.255/13", "192.168.0.0" },
        { "192.175.255.255/13", "192.168.0.0" },
        { "255.255.255.255/0", "0.0.0.0" },
        { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/67", "2001:db8:ffff:ffff:e000::" },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0", "::" },
        { "fe80::1/10", "fe80::" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cidr c = cidr_ok(cases[i][0]);
        assert_addr(&c, cases[i][1]);
    }
}

Test(cidr, longest_text_accepted)
{
    struct cidr c = cidr_ok("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128");
    cr_assert_eq(c.prefix, 128);
    c = cidr_ok("0000:0000:0000:0000:0000:ffff:255.255.255.255/96");
    cr_assert_eq(c.prefix, 96);
}

Test(cidr, match_v4)
{
    ASSERT_MATCH("10.0.0.0/8", "10.0.0.0");
    ASSERT_MATCH("10.0.0.0/8", "10.255.255.255");
    ASSERT_MATCH("10.0.0.0/8", "10.1.2.3");
    ASSERT_NO_MATCH("10.0.0.0/8", "11.0.0.0");
    ASSERT_NO_MATCH("10.0.0.0/8", "9.255.255.255");
    ASSERT_MATCH("192.168.1.0/24", "192.168.1.200");
    ASSERT_NO_MATCH("192.168.1.0/24", "192.168.2.1");
}

Test(cidr, match_v4_prefix_0_and_32)
{
    ASSERT_MATCH("0.0.0.0/0", "0.0.0.0");
    ASSERT_MATCH("0.0.0.0/0", "255.255.255.255");
    ASSERT_MATCH("0.0.0.0/0", "8.8.8.8");
    ASSERT_MATCH("1.2.3.4/32", "1.2.3.4");
    ASSERT_NO_MATCH("1.2.3.4/32", "1.2.3.5");
    ASSERT_NO_MATCH("1.2.3.4/32", "0.2.3.4");
}

Test(cidr, match_v4_unaligned_13)
{
    /* 172.16.0.0/13 covers 172.16.0.0 - 172.23.255.255. */
    ASSERT_MATCH("172.16.0.0/13", "172.16.0.0");
    ASSERT_MATCH("172.16.0.0/13", "172.23.255.255");
    ASSERT_NO_MATCH("172.16.0.0/13", "172.24.0.0");
    ASSERT_NO_MATCH("172.16.0.0/13", "172.15.255.255");
    ASSERT_MATCH("100.64.0.0/10", "100.127.255.255");
    ASSERT_NO_MATCH("100.64.0.0/10", "100.128.0.0");
    ASSERT_MATCH("1.2.3.4/31", "1.2.3.5");
    ASSERT_NO_MATCH("1.2.3.4/31", "1.2.3.6");
    ASSERT_MATCH("128.0.0.0/1", "200.0.0.1");
    ASSERT_NO_MATCH("128.0.0.0/1", "127.255.255.255");
}

Test(cidr, match_v6)
{
    ASSERT_MATCH("fd00::/8", "fd00::1");
    ASSERT_MATCH("fd00::/8", "fdff:ffff::1");
    ASSERT_NO_MATCH("fd00::/8", "fc00::1");
    ASSERT_NO_MATCH("fd00::/8", "fe00::1");
    ASSERT_MATCH("2001:db8::/32", "2001:db8:1234::5");
    ASSERT_NO_MATCH("2001:db8::/32", "2001:db9::");
}

Test(cidr, match_v6_prefix_0_and_128)
{
    ASSERT_MATCH("::/0", "::");
    ASSERT_MATCH("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ASSERT_MATCH("::1/128", "::1");
    ASSERT_NO_MATCH("::1/128", "::2");
    ASSERT_NO_MATCH("::1/128", "8000::1");
}

Test(cidr, match_v6_unaligned_67)
{
    /* 2001:db8:0:0:0000::/67: the first 3 bits of the 5th group are fixed (0..1fff). */
    ASSERT_MATCH("2001:db8::/67", "2001:db8::1");
    ASSERT_MATCH("2001:db8::/67", "2001:db8:0:0:1fff:ffff:ffff:ffff");
    ASSERT_NO_MATCH("2001:db8::/67", "2001:db8:0:0:2000::");
    ASSERT_NO_MATCH("2001:db8::/67", "2001:db8:0:1::");
    ASSERT_MATCH("2001:db8:0:0:e000::/67", "2001:db8::ffff:1:2:3");
    ASSERT_NO_MATCH("2001:db8:0:0:e000::/67", "2001:db8::dfff:1:2:3");
    ASSERT_MATCH("fe80::/10", "febf::1");
    ASSERT_NO_MATCH("fe80::/10", "fec0::1");
    ASSERT_MATCH("::/127", "::1");
    ASSERT_NO_MATCH("::/127", "::2");
}

Test(cidr, v4_mapped_matches_v4_range)
{
    ASSERT_MATCH("10.0.0.0/8", "::ffff:10.1.2.3");
    ASSERT_NO_MATCH("10.0.0.0/8", "::ffff:11.1.2.3");
    ASSERT_MATCH("172.16.0.0/13", "::ffff:172.23.1.1");
    ASSERT_NO_MATCH("172.16.0.0/13", "::ffff:172.24.1.1");
    ASSERT_MATCH("0.0.0.0/0", "::ffff:1.2.3.4");
    ASSERT_MATCH("1.2.3.4", "::ffff:1.2.3.4");
    /* Only the mapped form: an IPv4-compatible or NAT64 address is not the IPv4 address. */
    ASSERT_NO_MATCH("1.2.3.4", "::1.2.3.4");
    ASSERT_NO_MATCH("1.2.3.4", "64:ff9b::1.2.3.4");
    ASSERT_NO_MATCH("0.0.0.0/0", "2001:db8::1");
}

Test(cidr, v4_mapped_range_matches_mapped_address)
{
    ASSERT_MATCH("::ffff:0:0/96", "::ffff:10.1.2.3");
    ASSERT_MATCH("::ffff:10.0.0.0/104", "::ffff:10.9.9.9");
}

Test(cidr, family_mismatch)
{
    ASSERT_NO_MATCH("::/0", "1.2.3.4");
    ASSERT_NO_MATCH("::ffff:0:0/96", "1.2.3.4");
    ASSERT_NO_MATCH("0.0.0.0/0", "::1");
    ASSERT_NO_MATCH("0.0.0.0/0", "fd00::1");
    struct cidr c = cidr_ok("0.0.0.0/0");
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    a.sa.sa_family = AF_UNIX;
    cr_assert_not(cidr_match(&c, &a));
    a.sa.sa_family = AF_UNSPEC;
    cr_assert_not(cidr_match(&c, &a));
}

Test(cidr, bad_input)
{
    static const char *const bad[] = {
        "", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8",
        "10.0.0.0//8", "10.0.0.0/8/8", "10.0.0.0/99999999999999999999", "::/129", "::/", "fd00::/1x", "1.2.3",
        "1.2.3.4.5", "256.0.0.0", "10.0.0.0 ", " 10.0.0.0", "host.example", "fd00:::1", "1.2.3.4/3 2",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128xxxxxxxxxx",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cidr c;
        cr_assert_eq(cidr_parse(bad[i], &c), -EINVAL, "'%s' accepted", bad[i]);
    }
}
