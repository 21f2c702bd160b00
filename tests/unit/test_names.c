/* Unit tests for core/names.c: which names stay with the local resolver. */
#include <criterion/criterion.h>

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
