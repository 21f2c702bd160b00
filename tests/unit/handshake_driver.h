/* Drives core/handshake.c's machine step by step in the unit tests, as the real drivers do, and
 * asserts each step: shared by test_handshake.c, test_handshake_chain.c and test_handshake_udp.c. */
#ifndef SOCKSIFY_TEST_HANDSHAKE_DRIVER_H
#define SOCKSIFY_TEST_HANDSHAKE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handshake.h"
#include "helpers.h"

/* A proxy from its URL; asserts it parses. */
struct proxy test_proxy(const char *url);
/* True if p[0..n) is all zero bytes (a wiped buffer). */
bool test_all_zero(const uint8_t *p, size_t n);

/* Asserts the machine sends exactly want[0..n) now, to hop `hop`, then reports it sent; after that
 * it must be reading, with its output buffer wiped (credentials) and nothing more to send. */
void drive_expect_send(struct handshake *h, size_t hop, const uint8_t *want, size_t n);
#define EXPECT_SEND(h, hop, ...) drive_expect_send((h), (hop), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))
#define EXPECT_SEND_TEXT(h, hop, text) drive_expect_send((h), (hop), (const uint8_t *)(text), strlen(text))

/* Feeds reply[0..len) chunk bytes at a time, never more than the machine wants; the machine must take
 * the whole reply, neither stopping before its end nor asking for a byte past it. Returns the status
 * after the last byte. */
enum handshake_status drive_feed_reply(struct handshake *h, const void *reply, size_t len, size_t chunk);
/* Feeds exactly data[0..len) (part of a reply), never more than the machine wants at once; asserts it
 * is still reading after each piece. */
void drive_feed_some(struct handshake *h, const void *data, size_t len);
/* For a reply the machine refuses partway: feeds chunk bytes at a time until it fails; asserts it did. */
void drive_feed_until_failed(struct handshake *h, const void *reply, size_t len, size_t chunk);

/* Asserts the handshake is done: no error, no blame, nothing to read or send, step "done". */
void drive_assert_done(const struct handshake *h);
/* Asserts the handshake failed with err in step `step` at hop `hop`, wants nothing, sends nothing
 * and kept no bytes in its output buffer. */
void drive_assert_failed(const struct handshake *h, int err, const char *step, size_t hop);

#endif
