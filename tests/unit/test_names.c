/* Unit tests for core/names.c: which names stay with the local resolver. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

static const char HOSTS[] =
    "127.0.0.1\tlocalhost\n"
    "# 10.0.0.9 commented.example\n"
    "10.0.0.1   intranet.corp   wiki  # trailing comment names.after.hash\n"
    "\n"
    "::1 ip6-localhost ip6-loopback\r\n"
    "192.0.2.7 dotted.example.\n"
    "10.0.0.2";   /* an address with no name, and no final newline */

Test(names, numeric_addresses_are_local)
{
    cr_assert(names_resolve_locally("10.1.2.3", NULL));
    cr_assert(names_resolve_locally("127.1", NULL), "inet_aton forms, as getaddrinfo accepts them");
    cr_assert(names_resolve_locally("0x7f000001", NULL));
    cr_assert(names_resolve_locally("::1", NULL));
    cr_assert(names_resolve_locally("fd00::5", NULL));
    cr_assert(names_resolve_locally(NULL, NULL), "no name at all is libc's business");
}

Test(names, numeric_with_trailing_text_is_a_name)
{
    /* inet_aton accepts these; the resolver would look them up as names, so they are not local. */
    cr_assert_not(names_resolve_locally("0\t?", NULL));
    cr_assert_not(names_resolve_locally("1.2.3.4 x", NULL));
    cr_assert_not(names_resolve_locally("10.1.2.3.example", NULL));
}

Test(names, localhost_names_are_local)
{
    cr_assert(names_resolve_locally("localhost", NULL));
    cr_assert(names_resolve_locally("LocalHost.", NULL));
    cr_assert(names_resolve_locally("foo.localhost", NULL));
    cr_assert_not(names_resolve_locally("localhost.example.com", NULL));
    cr_assert_not(names_resolve_locally("notlocalhost", NULL));
}

Test(names, hosts_file_names_are_local)
{
    cr_assert(names_resolve_locally("intranet.corp", HOSTS));
    cr_assert(names_resolve_locally("WIKI", HOSTS), "case-insensitive");
    cr_assert(names_resolve_locally("wiki.", HOSTS), "trailing dot ignored");
    cr_assert(names_resolve_locally("ip6-loopback", HOSTS), "CRLF lines");
    cr_assert(names_resolve_locally("dotted.example", HOSTS), "a trailing dot in the file");
}

Test(names, other_names_are_not_local)
{
    cr_assert_not(names_resolve_locally("example.com", HOSTS));
    cr_assert_not(names_resolve_locally("commented.example", HOSTS), "commented-out line");
    cr_assert_not(names_resolve_locally("names.after.hash", HOSTS), "words after '#'");
    cr_assert_not(names_resolve_locally("10.0.0.1x", HOSTS));
    cr_assert_not(names_resolve_locally("intranet", HOSTS), "whole names only");
    cr_assert_not(names_resolve_locally("example.com", NULL));
    cr_assert_not(names_resolve_locally("example.com", ""));
}

Test(names, addresses_in_hosts_are_not_names)
{
    /* "10.0.0.2" is numeric anyway; a name equal to an address column must not match as a name. */
    cr_assert_not(names_resolve_locally("192.0.2.7x", HOSTS));
}

/* ----- the answers socksify gives itself while names are remote ----- */

static const char HOSTS2[] =
    "127.0.0.1 localhost\n"
    "10.0.0.1 only4.example alias4\n"
    "fd00::1 only6.example\n"
    "10.0.0.5 both.example\n"
    "2001:db8::5 both.example\n"
    "10.0.0.5 both.example both-again\n"          /* the same address twice: answered once */
    "fe80::1%eth0 scoped.example\n";               /* no address socksify reads: listed, no answer */

static void assert_addr(const struct names_address *a, int family, const char *text)
{
    unsigned char want[16] = { 0 };
    cr_assert_eq(inet_pton(family, text, want), 1);
    cr_assert_eq(a->family, family, "family of %s", text);
    cr_assert_eq(memcmp(a->bytes, want, family == AF_INET ? 4 : 16), 0, "expected %s", text);
}

Test(names, decide_by_mode)
{
    cr_assert_eq(names_decide("example.com", DNS_REMOTE, HOSTS2), NAMES_REMOTE);
    cr_assert_eq(names_decide("example.com", DNS_OFF, HOSTS2), NAMES_REFUSED);
    cr_assert_eq(names_decide("example.com", DNS_LOCAL, HOSTS2), NAMES_LIBC);
    cr_assert_eq(names_decide("only4.example", DNS_LOCAL, HOSTS2), NAMES_LIBC, "dns local: libc answers all");
    const enum dns_mode remote_modes[] = { DNS_REMOTE, DNS_OFF };
    for (size_t i = 0; i < 2; i++) {
        enum dns_mode m = remote_modes[i];
        cr_assert_eq(names_decide("only4.example", m, HOSTS2), NAMES_LOCAL, "hosts names: answered by socksify");
        cr_assert_eq(names_decide("localhost.", m, HOSTS2), NAMES_LOCAL);
        cr_assert_eq(names_decide("wpad.localhost", m, HOSTS2), NAMES_LOCAL);
        cr_assert_eq(names_decide("10.1.2.3", m, HOSTS2), NAMES_LIBC, "numeric: libc parses it, no resolver");
        cr_assert_eq(names_decide("fe80::1%eth0", m, HOSTS2), NAMES_LIBC, "a scoped IPv6 address is numeric");
        cr_assert_eq(names_decide(NULL, m, HOSTS2), NAMES_LIBC);
    }
}

Test(names, resolver_allowed_only_when_local_dns_is)
{
    struct config c = { 0 };
    config_init(&c);
    cr_assert_not(names_resolver_allowed(NULL), "no configuration: nobody may see names");
    c.dns = DNS_REMOTE;
    cr_assert_not(names_resolver_allowed(&c));
    c.dns = DNS_OFF;
    cr_assert_not(names_resolver_allowed(&c));
    c.direct_dns = true;
    cr_assert(names_resolver_allowed(&c), "direct_dns yes allows it");
    c.direct_dns = false;
    c.dns = DNS_LOCAL;
    cr_assert(names_resolver_allowed(&c));
    config_free(&c);
}

Test(names, local_answer_right_family_or_none)
{
    struct names_answer a;
    cr_assert_eq(names_local_answer("only4.example", AF_INET, HOSTS2, &a), 1);
    assert_addr(&a.addrs[0], AF_INET, "10.0.0.1");
    cr_assert_str_eq(a.canon, "only4.example");
    cr_assert_eq(names_local_answer("ALIAS4.", AF_INET, HOSTS2, &a), 1, "an alias, any case, trailing dot");
    cr_assert_str_eq(a.canon, "only4.example", "the official name is the line's first");
    cr_assert_eq(names_local_answer("only4.example", AF_INET6, HOSTS2, &a), 0, "listed, but not for IPv6");
    cr_assert_eq(names_local_answer("only6.example", AF_INET, HOSTS2, &a), 0);
    cr_assert_eq(names_local_answer("only6.example", AF_INET6, HOSTS2, &a), 1);
    assert_addr(&a.addrs[0], AF_INET6, "fd00::1");
    cr_assert_eq(names_local_answer("scoped.example", AF_UNSPEC, HOSTS2, &a), 0);
    cr_assert_eq(names_local_answer("example.com", AF_INET, HOSTS2, &a), -ENOENT, "not local at all");
    cr_assert_eq(names_local_answer(NULL, AF_INET, HOSTS2, &a), -ENOENT);
}

Test(names, local_answer_unspec_in_glibc_order)
{
    struct names_answer a;
    cr_assert_eq(names_local_answer("both.example", AF_UNSPEC, HOSTS2, &a), 2, "duplicates answered once");
    assert_addr(&a.addrs[0], AF_INET6, "2001:db8::5");   /* precedence 40 before IPv4's 35 */
    assert_addr(&a.addrs[1], AF_INET, "10.0.0.5");
    cr_assert_eq(names_local_answer("only6.example", AF_UNSPEC, "fd00::1 only6.example\n10.0.0.6 only6.example\n", &a), 2);
    assert_addr(&a.addrs[0], AF_INET, "10.0.0.6");       /* ULA (precedence 3) after IPv4 */
    assert_addr(&a.addrs[1], AF_INET6, "fd00::1");
}

Test(names, localhost_names_are_loopback)
{
    struct names_answer a;
    cr_assert_eq(names_local_answer("localhost", AF_INET, HOSTS2, &a), 1);
    assert_addr(&a.addrs[0], AF_INET, "127.0.0.1");
    cr_assert_eq(names_local_answer("localhost", AF_INET6, HOSTS2, &a), 1, "hosts lacks ::1: RFC 6761 loopback");
    assert_addr(&a.addrs[0], AF_INET6, "::1");
    cr_assert_eq(names_local_answer("localhost", AF_INET, "127.0.1.1 localhost\n", &a), 1, "hosts wins");
    assert_addr(&a.addrs[0], AF_INET, "127.0.1.1");
    const char *names[] = { "localhost.", "foo.localhost", "wpad.localhost.", "A.B.LocalHost" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cr_assert_eq(names_local_answer(names[i], AF_UNSPEC, NULL, &a), 2, "%s", names[i]);
        assert_addr(&a.addrs[0], AF_INET6, "::1");
        assert_addr(&a.addrs[1], AF_INET, "127.0.0.1");
        cr_assert_str_eq(a.canon, names[i]);
    }
}

Test(names, local_answer_keeps_at_most_the_limit)
{
    char text[NAMES_ADDRS_MAX * 2 * 32] = "";
    for (int i = 0; i < NAMES_ADDRS_MAX * 2; i++)
        sprintf(text + strlen(text), "10.0.1.%d many.example\n", i);
    struct names_answer a;
    cr_assert_eq(names_local_answer("many.example", AF_INET, text, &a), NAMES_ADDRS_MAX);
    assert_addr(&a.addrs[0], AF_INET, "10.0.1.0");
}

Test(names, reverse_from_hosts)
{
    char name[64];
    unsigned char a4[4] = { 10, 0, 0, 5 }, a6[16];
    inet_pton(AF_INET6, "2001:db8::5", a6);
    cr_assert_eq(names_hosts_name_for(HOSTS2, AF_INET, a4, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "both.example", "the first line's first name");
    cr_assert_eq(names_hosts_name_for(HOSTS2, AF_INET6, a6, name, sizeof(name)), 0);
    cr_assert_str_eq(name, "both.example");
    unsigned char other[4] = { 10, 0, 0, 9 };
    cr_assert_eq(names_hosts_name_for(HOSTS2, AF_INET, other, name, sizeof(name)), -ENOENT);
    cr_assert_eq(names_hosts_name_for(HOSTS2, AF_INET, a4, name, 5), -ERANGE);
    cr_assert_eq(names_hosts_name_for("10.0.0.5\n10.0.0.5 second\n", AF_INET, a4, name, sizeof(name)), 0,
                 "a line without names is skipped");
    cr_assert_str_eq(name, "second");
    cr_assert_eq(names_hosts_name_for(NULL, AF_INET, a4, name, sizeof(name)), -ENOENT);
}
