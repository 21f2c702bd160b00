/* libFuzzer target: a hostile HTTP proxy's response, fed to the incremental parser in chunks
 * sized by http_response_wants() and by the input's own first bytes, sometimes larger than wanted.
 * The parser must never consume more than it was given, never more than wants() allowed when the
 * driver honours it, stop exactly at the first "\r\n\r\n", and agree with a plain whole-buffer
 * reading of the rules (strict CRLF, no NUL, "HTTP/1.x NNN" status line, HTTP_HEADERS_MAX cap). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_connect.h"

#define CHECK(cond) \
    do { \
        if (!(cond)) \
            abort(); \
    } while (0)

/* Inputs are normally at most 4096 bytes (make fuzz's -max_len); longer ones are cut here. A
 * head that reaches HTTP_HEADERS_MAX takes ~10 ms under the fuzzer's instrumentation, and the
 * fuzzer would favour such rare inputs, so the cap is left to the unit tests. */
#define STREAM_MAX (HTTP_HEADERS_MAX + 4096)
/* Room for the longest opening before the input. */
#define OPENING_MAX 128

enum chunking {
    CHUNK_WANTS,        /* exactly wants() */
    CHUNK_UNDER_WANTS,  /* 1..wants(), from the schedule */
    CHUNK_FREE,         /* 1..256 from the schedule, often more than wants() */
    CHUNK_ALL,          /* everything left at once */
};

/* What the rules say about a whole stream: where the head ends, or where and how it breaks. */
struct verdict {
    int error;       /* 0, -EPROTO or -EMSGSIZE */
    size_t at;       /* the end of the head (error 0), or the offset of the offending byte */
};

/* Is byte c right at position pos of a status line? Template: "HTTP/1.# ###" then a space. */
static bool status_byte_ok(size_t pos, uint8_t c)
{
    static const char tmpl[] = "HTTP/1.# ### ";
    if (pos >= sizeof(tmpl) - 1)
        return true;
    if (tmpl[pos] == '#')
        return c >= '0' && c <= '9';
    return c == (uint8_t)tmpl[pos];
}

/* Judges s[0..len) byte by byte with look-behind instead of the parser's state. */
static struct verdict judge(const uint8_t *s, size_t len)
{
    bool in_status = true;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        bool prev_cr = i > 0 && s[i - 1] == '\r';
        if (c == 0 || (c == '\n' && !prev_cr) || (prev_cr && c != '\n'))
            return (struct verdict){ -EPROTO, i };
        if (in_status && c == '\r') {
            if (i < 12)
                return (struct verdict){ -EPROTO, i };
            in_status = false;
        } else if (in_status && !status_byte_ok(i, c)) {
            return (struct verdict){ -EPROTO, i };
        }
        if (c == '\n' && i >= 3 && s[i - 1] == '\r' && s[i - 2] == '\n' && s[i - 3] == '\r')
            return (struct verdict){ 0, i + 1 };
        if (i + 1 >= HTTP_HEADERS_MAX)
            return (struct verdict){ -EMSGSIZE, i };
    }
    return (struct verdict){ 0, SIZE_MAX };   /* neither complete nor broken yet */
}

/* The next chunk size for the chosen chunking; sched holds nsched bytes of the input. */
static size_t chunk_size(enum chunking how, size_t wants, const uint8_t *sched, size_t nsched, size_t step,
                         size_t left)
{
    size_t n;
    uint8_t b = nsched ? sched[step % nsched] : 0;
    switch (how) {
    case CHUNK_WANTS: n = wants; break;
    case CHUNK_UNDER_WANTS: n = 1 + b % wants; break;
    case CHUNK_FREE: n = 1 + (size_t)b; break;
    default: n = left; break;
    }
    return n < left ? n : left;
}

/* Checks the fields a caller may read: status_line terminated and bounded, status a 3-digit code. */
static void check_fields(const struct http_response *r, const uint8_t *stream)
{
    size_t n = strnlen(r->status_line, sizeof(r->status_line));
    CHECK(n <= HTTP_STATUS_LINE_MAX);
    CHECK(r->status >= 0 && r->status <= 999);
    if (http_response_done(r)) {
        CHECK(n >= 12 && memcmp(r->status_line, stream, n) == 0);
        CHECK(r->status == (stream[9] - '0') * 100 + (stream[10] - '0') * 10 + (stream[11] - '0'));
    }
}

/* The same input as a name to CONNECT to: refused unless every byte is safe, and when accepted the
 * request's head ends only at its end, with one line per header and nothing else. */
static void check_request(const uint8_t *body, size_t body_len)
{
    struct socks_target t = { .is_name = true, .port = 443 };
    size_t n = body_len < sizeof(t.name) ? body_len : sizeof(t.name);
    memcpy(t.name, body, n);   /* may hold a NUL, or fill the array unterminated */
    char buf[HTTP_CONNECT_MSG_MAX];
    int got = http_connect_encode(buf, sizeof(buf), &t, "user", NULL);
    size_t name_len = strnlen(t.name, sizeof(t.name));
    bool safe = name_len >= 1 && name_len <= 255 && strspn(t.name, "abcdefghijklmnopqrstuvwxyz"
                                                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == name_len;
    if (!safe) {
        CHECK(got == -EINVAL);
        return;
    }
    CHECK(got > 0 && (size_t)got == strlen(buf));
    CHECK(strstr(buf, "\r\n\r\n") == buf + got - 4);
    size_t lines = 0;
    for (const char *p = buf; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    CHECK(lines == 4);   /* request line, Host, Proxy-Authorization, blank */
}

/* Stream openings the fuzzer may choose: a byte-by-byte parser gives it no comparison to learn
 * "HTTP/1." from, so without these it would rarely get past the status line. */
static const char *const openings[] = {
    "",
    "HTTP/1.1 200 Connection established\r\n",
    "HTTP/1.1 ",
    "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[OPENING_MAX + STREAM_MAX];
    if (size < 1)
        return 0;
    /* data[0]: bits 0-1 the chunking, 2-4 the schedule's length, 5-6 the opening; then the
     * schedule of chunk sizes; the rest is the stream after the opening. */
    enum chunking how = (enum chunking)(data[0] & 3);
    size_t nsched = (size_t)(data[0] >> 2) & 7;
    const uint8_t *sched = data + 1;
    if (nsched > size - 1)
        nsched = size - 1;
    const uint8_t *body = data + 1 + nsched;
    size_t body_len = size - 1 - nsched;
    if (body_len > STREAM_MAX)
        body_len = STREAM_MAX;
    const char *opening = openings[(data[0] >> 5) & 3];
    size_t open_len = strlen(opening);
    memcpy(stream, opening, open_len);
    memcpy(stream + open_len, body, body_len);
    size_t len = open_len + body_len;
    check_request(body, body_len);
    struct verdict v = judge(stream, len);
    bool honours_wants = how == CHUNK_WANTS || how == CHUNK_UNDER_WANTS;

    /* Each chunk is copied to the very end of this block, so ASan sees a read past the chunk. */
    uint8_t *scratch = malloc(len ? len : 1);
    CHECK(scratch);
    struct http_response r;
    http_response_init(&r);
    size_t off = 0, step = 0;
    int err = 0;
    while (off < len && !http_response_done(&r) && err == 0) {
        size_t wants = http_response_wants(&r);
        CHECK(wants >= 1 && wants <= 4);
        size_t n = chunk_size(how, wants, sched, nsched, step++, len - off);
        if (honours_wants)
            CHECK(n <= wants);
        /* A driver that honours wants() never reads a byte after the head. */
        if (honours_wants && v.error == 0)
            CHECK(off + n <= v.at);
        uint8_t *chunk = scratch + len - n;
        memcpy(chunk, stream + off, n);
        int got = http_response_feed(&r, chunk, n);
        if (got < 0) {
            err = got;
            /* The offending byte is in this chunk, and it is the one the rules name. */
            CHECK(got == v.error && v.at >= off && v.at < off + n);
            CHECK(http_response_wants(&r) == 0 && !http_response_done(&r));
            CHECK(http_response_feed(&r, (const uint8_t *)"\r\n\r\n", 4) == got);
            break;
        }
        CHECK((size_t)got <= n);
        /* Short only when the head ended inside the chunk. */
        CHECK((size_t)got == n || http_response_done(&r));
        if (honours_wants)
            CHECK((size_t)got <= wants);
        off += (size_t)got;
        check_fields(&r, stream);
    }
    if (http_response_done(&r)) {
        CHECK(v.error == 0 && off == v.at);
        CHECK(off >= 4 && memcmp(stream + off - 4, "\r\n\r\n", 4) == 0);
        CHECK(off <= HTTP_HEADERS_MAX);
        CHECK(http_response_wants(&r) == 0);
        CHECK(http_response_feed(&r, (const uint8_t *)"x", 1) == 0);
        CHECK(http_status_errno(r.status) >= 0);
    } else if (err == 0) {
        /* Input ran out: the rules must see neither an end nor a fault in it. */
        CHECK(off == len && v.error == 0 && v.at == SIZE_MAX);
    }
    free(scratch);
    return 0;
}
