/* Unit tests for core/hostent.c: hostent answers built inside a caller buffer. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hostent.h"

Test(hostent, ipv4_answer)
{
    struct hostent he;
    char buf[256];
    struct in_addr a;
    inet_pton(AF_INET, "198.18.0.5", &a);
    cr_assert_eq(hostent_fill(&he, "example.com", AF_INET, &a, buf, sizeof(buf)), 0);
    cr_assert_str_eq(he.h_name, "example.com");
    cr_assert_eq(he.h_addrtype, AF_INET);
    cr_assert_eq(he.h_length, 4);
    cr_assert_null(he.h_aliases[0]);
    cr_assert_not_null(he.h_addr_list[0]);
    cr_assert_null(he.h_addr_list[1]);
    cr_assert_eq(memcmp(he.h_addr_list[0], &a, 4), 0);
    /* Everything lives in buf. */
    cr_assert(he.h_name >= buf && he.h_name < buf + sizeof(buf));
    cr_assert((char *)he.h_addr_list >= buf && (char *)he.h_addr_list < buf + sizeof(buf));
}

Test(hostent, ipv6_answer_with_unaligned_buffer)
{
    struct hostent he;
    char storage[300];
    char *buf = storage + 1;   /* the pointer arrays must still be aligned */
    struct in6_addr a;
    inet_pton(AF_INET6, "fd53:6f63:6b73::7", &a);
    cr_assert_eq(hostent_fill(&he, "v6.example", AF_INET6, &a, buf, sizeof(storage) - 1), 0);
    cr_assert_eq(((uintptr_t)he.h_addr_list) % sizeof(char *), 0);
    cr_assert_eq(he.h_length, 16);
    cr_assert_eq(memcmp(he.h_addr_list[0], &a, 16), 0);
    cr_assert_str_eq(he.h_name, "v6.example");
}

Test(hostent, too_small_buffer_is_erange)
{
    struct hostent he;
    struct in_addr a = { 0 };
    char buf[64];
    const char *name = "a-name-that-is-long-enough-not-to-fit.example.com";
    for (size_t len = 0; len < 40; len++)
        cr_assert_eq(hostent_fill(&he, name, AF_INET, &a, buf, len), ERANGE, "buflen %zu", len);
}

Test(hostent, several_addresses_in_order)
{
    struct hostent he;
    char storage[300];
    unsigned char addrs[3][4] = { { 10, 0, 0, 1 }, { 10, 0, 0, 2 }, { 10, 0, 0, 3 } };
    cr_assert_eq(hostent_fill_many(&he, "three.example", AF_INET, addrs, 3, storage + 3, sizeof(storage) - 3), 0);
    cr_assert_eq(((uintptr_t)he.h_addr_list) % sizeof(char *), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(memcmp(he.h_addr_list[i], addrs[i], 4), 0, "address %d", i);
    cr_assert_null(he.h_addr_list[3]);
    cr_assert_null(he.h_aliases[0]);
    cr_assert_str_eq(he.h_name, "three.example");
    size_t need = 5 * sizeof(char *) + 3 * 4 + sizeof("three.example");
    cr_assert_eq(hostent_fill_many(&he, "three.example", AF_INET, addrs, 3, storage, need - 1), ERANGE);
    cr_assert_eq(hostent_fill_many(&he, "three.example", AF_INET, addrs, 3, storage, need), 0, "exactly enough");
}
