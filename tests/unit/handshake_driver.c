#include "handshake_driver.h"

#include <criterion/criterion.h>
#include <string.h>

struct proxy test_proxy(const char *url)
{
    struct proxy p;
    char why[256];
    cr_assert_eq(proxy_url_parse(url, &p, why, sizeof(why)), 0, "%s: %s", url, why);
    return p;
}

bool test_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Asserts the machine has nothing to send: a NULL output of length 0. */
static void assert_no_output(const struct handshake *h)
{
    size_t len = 99;
    cr_assert_null(handshake_output(h, &len));
    cr_assert_eq(len, 0);
}

void drive_expect_send(struct handshake *h, size_t hop, const uint8_t *want, size_t n)
{
    cr_assert_eq(handshake_status(h), HANDSHAKE_WRITE, "status %d (error %d), expected WRITE", handshake_status(h),
                 handshake_error(h));
    cr_assert_eq(h->hop, hop, "talking to hop %zu, expected %zu", h->hop, hop);
    cr_assert_eq(handshake_wants(h), 0, "wants input while writing");
    size_t len = 0;
    const uint8_t *out = handshake_output(h, &len);
    cr_assert_not_null(out);
    test_assert_bytes(out, len, want, n);
    handshake_sent(h, len);
    cr_assert_eq(handshake_status(h), HANDSHAKE_READ);
    cr_assert(test_all_zero(h->out, sizeof(h->out)), "the output buffer is not wiped after sending");
    assert_no_output(h);
}

enum handshake_status drive_feed_reply(struct handshake *h, const void *reply, size_t len, size_t chunk)
{
    const uint8_t *p = reply;
    size_t off = 0;
    enum handshake_status st = handshake_status(h);
    while (off < len) {
        cr_assert_eq(st, HANDSHAKE_READ, "stopped reading at byte %zu of %zu (status %d, error %d)", off, len, st,
                     handshake_error(h));
        size_t wants = handshake_wants(h);
        cr_assert_gt(wants, 0, "READ but wants nothing");
        cr_assert_leq(wants, len - off, "at byte %zu: wants %zu but only %zu remain of the reply", off, wants, len - off);
        size_t n = wants < chunk ? wants : chunk;
        st = handshake_feed(h, p + off, n);
        off += n;
    }
    return st;
}

void drive_feed_some(struct handshake *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t off = 0; off < len;) {
        cr_assert_eq(handshake_status(h), HANDSHAKE_READ);
        size_t n = handshake_wants(h);
        cr_assert_gt(n, 0);
        if (n > len - off)
            n = len - off;
        cr_assert_eq(handshake_feed(h, p + off, n), HANDSHAKE_READ);
        off += n;
    }
}

void drive_feed_until_failed(struct handshake *h, const void *reply, size_t len, size_t chunk)
{
    const uint8_t *p = reply;
    size_t off = 0;
    while (off < len && handshake_status(h) == HANDSHAKE_READ) {
        size_t wants = handshake_wants(h);
        size_t n = wants < chunk ? wants : chunk;
        if (n > len - off)
            n = len - off;
        handshake_feed(h, p + off, n);
        off += n;
    }
    cr_assert_eq(handshake_status(h), HANDSHAKE_FAILED, "status %d after the whole reply", handshake_status(h));
}

void drive_assert_done(const struct handshake *h)
{
    cr_assert_eq(handshake_status(h), HANDSHAKE_DONE, "status %d (error %d in %s at hop %zu)", handshake_status(h),
                 handshake_error(h), handshake_step_name(h), h->hop);
    cr_assert_eq(handshake_error(h), 0);
    cr_assert_eq(handshake_wants(h), 0, "wants bytes after the last reply");
    cr_assert_eq(handshake_blame(h), -1);
    cr_assert_str_eq(handshake_step_name(h), "done");
    assert_no_output(h);
}

void drive_assert_failed(const struct handshake *h, int err, const char *step, size_t hop)
{
    cr_assert_eq(handshake_status(h), HANDSHAKE_FAILED, "status %d, expected FAILED", handshake_status(h));
    cr_assert_eq(handshake_error(h), err, "error %d (%s), expected %d (%s)", handshake_error(h),
                 strerror(handshake_error(h)), err, strerror(err));
    cr_assert_str_eq(handshake_step_name(h), step);
    cr_assert_eq(h->hop, hop, "failed at hop %zu, expected %zu", h->hop, hop);
    cr_assert_eq(handshake_wants(h), 0);
    assert_no_output(h);
    cr_assert(test_all_zero(h->out, sizeof(h->out)), "a failed handshake keeps bytes in its output buffer");
}
