/* Fixtures shared by the unit tests: addresses, SOCKS targets and byte comparisons. */
#ifndef SOCKSIFY_TEST_HELPERS_H
#define SOCKSIFY_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "socks5.h"

/* A byte array literal and its length: BYTES(0x05, 0x00), NBYTES(0x05, 0x00). */
#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...) sizeof((const uint8_t[]){ __VA_ARGS__ })

/* "1.2.3.4" or "::1" (the family follows the text) with port, as a socket address; asserts it parses. */
union sockaddr_any test_addr(const char *ip, uint16_t port);
/* The same address as a SOCKS target (address and port both set). */
struct socks_target test_target(const char *ip, uint16_t port);
/* A target naming a host for the proxy to resolve; asserts the name fits. */
struct socks_target test_name_target(const char *name, uint16_t port);
/* Asserts got[0..got_len) equals want[0..want_len), naming the first differing byte. */
void test_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len);

#endif
