#include "helpers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

union sockaddr_any test_addr(const char *ip, uint16_t port)
{
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    if (strchr(ip, ':')) {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_port = htons(port);
        cr_assert_eq(inet_pton(AF_INET6, ip, &a.in6.sin6_addr), 1, "%s", ip);
    } else {
        a.in4.sin_family = AF_INET;
        a.in4.sin_port = htons(port);
        cr_assert_eq(inet_pton(AF_INET, ip, &a.in4.sin_addr), 1, "%s", ip);
    }
    return a;
}

struct socks_target test_target(const char *ip, uint16_t port)
{
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.addr = test_addr(ip, port);
    t.port = port;
    return t;
}

struct socks_target test_name_target(const char *name, uint16_t port)
{
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    cr_assert_lt(strlen(name), sizeof(t.name));
    t.is_name = true;
    strcpy(t.name, name);
    t.port = port;
    return t;
}

void test_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
    cr_assert_eq(got_len, want_len, "length is %zu, expected %zu", got_len, want_len);
    for (size_t i = 0; i < want_len; i++)
        cr_assert_eq(got[i], want[i], "byte %zu is 0x%02x, expected 0x%02x", i, got[i], want[i]);
}
