/* Unit tests for core/http_connect.c: the CONNECT request and the response-head parser. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "http_connect.h"
#include "helpers.h"

/* ---- the request ---- */

/* Encodes into a junk-filled buffer; asserts success, NUL termination and nothing written past it. */
static const char *encode_ok(const struct socks_target *t, const char *user, const char *pass)
{
    static char buf[HTTP_CONNECT_MSG_MAX + 16];
    memset(buf, 0xee, sizeof(buf));
    int n = http_connect_encode(buf, HTTP_CONNECT_MSG_MAX, t, user, pass);
    cr_assert_gt(n, 0, "returned %d", n);
    cr_assert_eq(buf[n], '\0', "not NUL-terminated");
    cr_assert_eq(strlen(buf), (size_t)n);
    for (size_t i = (size_t)n + 1; i < sizeof(buf); i++)
        cr_assert_eq((uint8_t)buf[i], 0xee, "byte %zu written past the NUL", i);
    return buf;
}

/* The request for authority with an optional Basic token, as the encoder must write it. */
static const char *expected(const char *authority, const char *token)
{
    static char want[HTTP_CONNECT_MSG_MAX];
    int n;
    if (token)
        n = snprintf(want, sizeof(want), "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n",
                     authority, authority, token);
    else
        n = snprintf(want, sizeof(want), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority);
    cr_assert_lt((size_t)n, sizeof(want));
    return want;
}

Test(http_request, encode_name)
{
    struct socks_target t = test_name_target("example.com", 443);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
}

Test(http_request, encode_ipv4)
{
    struct socks_target t = test_target("10.1.2.3", 80);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("10.1.2.3:80", NULL));
}

Test(http_request, encode_ipv6_in_brackets)
{
    struct socks_target t = test_target("fd00::1", 8080);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("[fd00::1]:8080", NULL));
    t = test_target("2001:db8:1:2:3:4:5:6", 443);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("[2001:db8:1:2:3:4:5:6]:443", NULL));
    t = test_target("::1", 1);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("[::1]:1", NULL));
}

Test(http_request, encode_v4mapped_as_ipv4)
{
    struct socks_target t = test_target("::ffff:192.0.2.1", 443);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("192.0.2.1:443", NULL));
}

Test(http_request, encode_port_extremes)
{
    struct socks_target t = test_name_target("h", 0);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("h:0", NULL));
    t = test_target("255.255.255.255", 65535);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("255.255.255.255:65535", NULL));
}

Test(http_request, encode_name_allowed_characters)
{
    static const char name[] = "Az09-._.example-host_1.COM";
    struct socks_target t = test_name_target(name, 80);
    cr_assert_str_eq(encode_ok(&t, NULL, NULL), expected("Az09-._.example-host_1.COM:80", NULL));
}

/* RFC 7617 §2's example. */
Test(http_request, encode_auth_rfc7617_example)
{
    struct socks_target t = test_name_target("example.com", 443);
    cr_assert_str_eq(encode_ok(&t, "Aladdin", "open sesame"),
                     "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
                     "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
}

/* "user:pass" of 1, 2 and 0 bytes modulo 3: two, one and no padding characters. */
Test(http_request, encode_auth_base64_padding)
{
    static const struct { const char *user, *pass, *token; } vectors[] = {
        { "", "", "Og==" },            /* ":" */
        { "a", "", "YTo=" },           /* "a:" */
        { "a", "b", "YTpi" },          /* "a:b" */
        { "user", "", "dXNlcjo=" },    /* "user:" */
        { "user", "pass", "dXNlcjpwYXNz" },
        { "\xff\xfe", "\x80", "//46gA==" },   /* high bytes: no sign extension */
    };
    struct socks_target t = test_target("10.0.0.1", 3128);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        cr_assert_str_eq(encode_ok(&t, vectors[i].user, vectors[i].pass),
                         expected("10.0.0.1:3128", vectors[i].token), "vector %zu", i);
}

Test(http_request, encode_auth_null_pass_is_empty)
{
    struct socks_target t = test_target("10.0.0.1", 3128);
    cr_assert_str_eq(encode_ok(&t, "user", NULL), expected("10.0.0.1:3128", "dXNlcjo="));
    cr_assert_str_eq(encode_ok(&t, "", NULL), expected("10.0.0.1:3128", "Og=="));
}

Test(http_request, encode_no_auth_ignores_pass)
{
    struct socks_target t = test_target("10.0.0.1", 3128);
    cr_assert_str_eq(encode_ok(&t, NULL, "secret"), expected("10.0.0.1:3128", NULL));
}

/* The longest credentials a proxy URL holds, with the longest name: fits HTTP_CONNECT_MSG_MAX. */
Test(http_request, encode_auth_255_user_and_pass)
{
    char user[256], pass[256], name[256];
    memset(user, 'u', 255);
    user[255] = '\0';
    memset(pass, 'p', 255);
    pass[255] = '\0';
    memset(name, 'n', 255);
    name[255] = '\0';
    /* "uuu" x 85, ":pp", "ppp" x 84, "p": 684 characters, two of them padding. */
    char token[685] = "";
    for (int i = 0; i < 85; i++)
        strcat(token, "dXV1");
    strcat(token, "OnBw");
    for (int i = 0; i < 84; i++)
        strcat(token, "cHBw");
    strcat(token, "cA==");
    cr_assert_eq(strlen(token), 684);
    char authority[300];
    snprintf(authority, sizeof(authority), "%s:65535", name);
    struct socks_target t = test_name_target(name, 65535);
    const char *got = encode_ok(&t, user, pass);
    cr_assert_str_eq(got, expected(authority, token));
    cr_assert_lt(strlen(got), HTTP_CONNECT_MSG_MAX);
}

/* Anything that could end the line, add a header or change the target is refused, not escaped. */
Test(http_request, encode_injection_refused)
{
    static const char *const names[] = {
        "evil.com\r\nX-Injected: 1", "a\r\n", "a\n", "a\r", "a b", "a\tb", "a:80", "a/b", "a@b", "a?b", "a#b",
        "[::1]", "a%20b", "a\x7f", "caf\xc3\xa9", "a\"b", "a,b", "a;b", "\x01", " ",
    };
    char buf[HTTP_CONNECT_MSG_MAX];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct socks_target t = test_name_target(names[i], 80);
        memset(buf, 0x55, sizeof(buf));
        cr_assert_eq(http_connect_encode(buf, sizeof(buf), &t, NULL, NULL), -EINVAL, "name %zu", i);
        cr_assert_eq(buf[0], 0x55, "written on EINVAL (name %zu)", i);
    }
}

/* Credentials cannot inject: they only ever appear base64-encoded. */
Test(http_request, encode_credentials_with_crlf_are_encoded)
{
    struct socks_target t = test_name_target("example.com", 443);
    const char *got = encode_ok(&t, "a\r\nX-Evil: 1", "\r\n\r\n");
    cr_assert_null(strstr(got, "X-Evil"));
    cr_assert_eq(strstr(got, "\r\n\r\n"), got + strlen(got) - 4, "the head ends only at its end");
}

Test(http_request, encode_bad_names_einval)
{
    char buf[HTTP_CONNECT_MSG_MAX];
    struct socks_target t = test_name_target("", 80);
    cr_assert_eq(http_connect_encode(buf, sizeof(buf), &t, NULL, NULL), -EINVAL);
    memset(t.name, 'a', sizeof(t.name));   /* 256 bytes, no NUL */
    cr_assert_eq(http_connect_encode(buf, sizeof(buf), &t, NULL, NULL), -EINVAL);
    t.name[255] = '\0';                    /* 255: fine */
    cr_assert_gt(http_connect_encode(buf, sizeof(buf), &t, NULL, NULL), 0);
}

Test(http_request, encode_bad_family_einval)
{
    char buf[HTTP_CONNECT_MSG_MAX];
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.port = 80;
    t.addr.sa.sa_family = AF_UNSPEC;
    cr_assert_eq(http_connect_encode(buf, sizeof(buf), &t, NULL, NULL), -EINVAL);
    t.addr.sa.sa_family = AF_UNIX;
    cr_assert_eq(http_connect_encode(buf, sizeof(buf), &t, NULL, NULL), -EINVAL);
}

/* Every buffer too small for the request and its NUL gives -ENOSPC and is left untouched. */
static void check_enospc_every_size(const struct socks_target *t, const char *user, const char *pass)
{
    char buf[HTTP_CONNECT_MSG_MAX];
    int full = http_connect_encode(buf, sizeof(buf), t, user, pass);
    cr_assert_gt(full, 0);
    for (size_t size = 0; size <= (size_t)full; size++) {
        memset(buf, 0x55, sizeof(buf));
        int got = http_connect_encode(buf, size, t, user, pass);
        cr_assert_eq(got, -ENOSPC, "buffer of %zu for %d bytes + NUL: returned %d", size, full, got);
        for (size_t i = 0; i < sizeof(buf); i++)
            cr_assert_eq(buf[i], 0x55, "byte %zu written on ENOSPC (size %zu)", i, size);
    }
    cr_assert_eq(http_connect_encode(buf, (size_t)full + 1, t, user, pass), full);
    cr_assert_eq(buf[full], '\0');
}

Test(http_request, enospc_every_size)
{
    struct socks_target name = test_name_target("example.com", 443), v4 = test_target("10.0.0.1", 80),
                        v6 = test_target("fd00::1", 80);
    check_enospc_every_size(&name, NULL, NULL);
    check_enospc_every_size(&name, "user", "pass");
    check_enospc_every_size(&v4, "a", NULL);
    check_enospc_every_size(&v6, "ab", "");
}

/* ---- the response ---- */

static const char ok_head[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char head_with_headers[] = "HTTP/1.0 200 OK\r\nProxy-Agent: test/1.0\r\nVia: 1.1 p\r\n\r\n";
static const char tunnel[] = "SSH-2.0-OpenSSH_9.2\r\n\r\n";

/* Feeds text[0..len) from a heap copy of exactly len bytes (so ASan sees any over-read). */
static int feed(struct http_response *r, const char *text, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, text, len);
    int got = http_response_feed(r, copy, len);
    free(copy);
    return got;
}

/* Feeds all of text in one call; returns the result. */
static int feed_str(struct http_response *r, const char *text)
{
    http_response_init(r);
    return feed(r, text, strlen(text));
}

/* Asserts text is a complete, valid head with the given status. */
static void assert_head_ok(const char *text, int status)
{
    struct http_response r;
    cr_assert_eq(feed_str(&r, text), (int)strlen(text), "%s", text);
    cr_assert(http_response_done(&r));
    cr_assert_eq(r.status, status);
    cr_assert_eq(http_response_wants(&r), 0);
}

/* Asserts text fails with err, and keeps failing with it. */
static void assert_head_fails(const char *text, size_t len, int err)
{
    struct http_response r;
    http_response_init(&r);
    cr_assert_eq(feed(&r, text, len), err, "%.*s", (int)len, text);
    cr_assert_not(http_response_done(&r));
    cr_assert_eq(http_response_wants(&r), 0);
    cr_assert_eq(feed(&r, "\r\n\r\n", 4), err, "error not sticky");
    cr_assert_eq(feed(&r, "", 0), err, "error not sticky on an empty feed");
}

#define ASSERT_FAILS(lit, err) assert_head_fails((lit), sizeof(lit) - 1, (err))

Test(http_response, fed_whole)
{
    struct http_response r;
    cr_assert_eq(feed_str(&r, ok_head), (int)strlen(ok_head));
    cr_assert(http_response_done(&r));
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.status_line, "HTTP/1.1 200 Connection established");
    cr_assert_eq(http_response_wants(&r), 0);
}

Test(http_response, fed_whole_with_headers)
{
    struct http_response r;
    cr_assert_eq(feed_str(&r, head_with_headers), (int)strlen(head_with_headers));
    cr_assert(http_response_done(&r));
    cr_assert_str_eq(r.status_line, "HTTP/1.0 200 OK");
}

Test(http_response, init_state)
{
    struct http_response r;
    memset(&r, 0x5a, sizeof(r));
    http_response_init(&r);
    cr_assert_not(http_response_done(&r));
    cr_assert_eq(http_response_wants(&r), 4);
    cr_assert_eq(r.status, 0);
    cr_assert_str_empty(r.status_line);
    cr_assert_eq(feed(&r, "", 0), 0);
    cr_assert_eq(http_response_wants(&r), 4);
}

Test(http_response, byte_by_byte)
{
    struct http_response r;
    http_response_init(&r);
    size_t len = strlen(head_with_headers);
    for (size_t i = 0; i < len; i++) {
        cr_assert_not(http_response_done(&r), "done early at byte %zu", i);
        cr_assert_geq(http_response_wants(&r), 1);
        cr_assert_eq(feed(&r, head_with_headers + i, 1), 1, "byte %zu", i);
    }
    cr_assert(http_response_done(&r));
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.status_line, "HTTP/1.0 200 OK");
    cr_assert_eq(feed(&r, "x", 1), 0, "consumed after done");
}

/* wants() follows how much of "\r\n\r\n" the stream ends with. */
Test(http_response, wants_tracks_terminator)
{
    static const char text[] = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    static const size_t want_after[] = {
        /* H T T P / 1 . 1 _ 2 0 0 _ O K */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
        /* \r \n */ 3, 2, /* A : _ b */ 4, 4, 4, 4, /* \r \n \r \n */ 3, 2, 1, 0,
    };
    cr_assert_eq(sizeof(want_after) / sizeof(want_after[0]), sizeof(text) - 1);
    struct http_response r;
    http_response_init(&r);
    for (size_t i = 0; i < sizeof(text) - 1; i++) {
        cr_assert_eq(feed(&r, text + i, 1), 1);
        cr_assert_eq(http_response_wants(&r), want_after[i], "after byte %zu: wants %zu, expected %zu", i,
                     http_response_wants(&r), want_after[i]);
    }
    cr_assert(http_response_done(&r));
}

/* A driver reading min(k, wants()) bytes at a time from head + tunnel never takes a tunnel byte. */
static void drive_in_chunks(const char *head, size_t chunk_max)
{
    char stream[4096];
    size_t head_len = strlen(head);
    cr_assert_lt(head_len + sizeof(tunnel), sizeof(stream));
    memcpy(stream, head, head_len);
    memcpy(stream + head_len, tunnel, sizeof(tunnel));
    size_t stream_len = head_len + sizeof(tunnel);

    struct http_response r;
    http_response_init(&r);
    size_t off = 0;
    while (!http_response_done(&r)) {
        size_t want = http_response_wants(&r);
        cr_assert(want >= 1 && want <= 4, "wants %zu at %zu", want, off);
        size_t n = want < chunk_max ? want : chunk_max;
        cr_assert_leq(off + n, head_len, "chunk %zu would read a tunnel byte at %zu", chunk_max, off);
        int got = feed(&r, stream + off, n);
        cr_assert_eq(got, (int)n, "chunk %zu at %zu: consumed %d of %zu", chunk_max, off, got, n);
        off += (size_t)got;
        cr_assert_leq(off, stream_len);
    }
    cr_assert_eq(off, head_len);
    cr_assert_eq(http_response_wants(&r), 0);
}

Test(http_response, chunks_honouring_wants)
{
    static const char *const heads[] = {
        ok_head, head_with_headers, "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                    "Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
    };
    for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++)
        for (size_t k = 1; k <= 7; k++)
            drive_in_chunks(heads[h], k);
}

/* Given more than it wants, the parser still stops exactly after the terminator. */
Test(http_response, tunnel_bytes_never_consumed)
{
    char stream[256];
    size_t head_len = strlen(ok_head);
    memcpy(stream, ok_head, head_len);
    memcpy(stream + head_len, tunnel, sizeof(tunnel));
    size_t stream_len = head_len + sizeof(tunnel);
    /* Every split point: first part, then the rest in one call. */
    for (size_t split = 0; split <= head_len; split++) {
        struct http_response r;
        http_response_init(&r);
        int first = feed(&r, stream, split);
        cr_assert_eq(first, (int)split, "split %zu", split);
        int second = feed(&r, stream + split, stream_len - split);
        cr_assert_eq(second, (int)(head_len - split), "split %zu: consumed %d", split, second);
        cr_assert(http_response_done(&r));
        cr_assert_eq(feed(&r, stream + head_len, stream_len - head_len), 0);
    }
}

/* A tunnel that starts with what looks like more headers or a blank line is still left alone. */
Test(http_response, tunnel_that_looks_like_http)
{
    static const char stream[] = "HTTP/1.1 200 OK\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    struct http_response r;
    http_response_init(&r);
    cr_assert_eq(feed(&r, stream, sizeof(stream) - 1), 19);
    cr_assert(http_response_done(&r));
}

Test(http_response, status_without_reason)
{
    assert_head_ok("HTTP/1.1 200\r\n\r\n", 200);
    assert_head_ok("HTTP/1.1 200 \r\n\r\n", 200);
    assert_head_ok("HTTP/1.0 204 \r\nX: y\r\n\r\n", 204);
}

Test(http_response, status_codes_parsed)
{
    static const int codes[] = { 100, 200, 201, 299, 301, 400, 407, 502, 599, 999 };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "HTTP/1.1 %03d Whatever\r\n\r\n", codes[i]);
        assert_head_ok(text, codes[i]);
    }
    assert_head_ok("HTTP/1.1 000 zero\r\n\r\n", 0);
}

Test(http_response, reason_may_hold_anything_but_nul_cr_lf)
{
    assert_head_ok("HTTP/1.1 200 OK: \"fine\" \t\x01\x7f\xff HTTP/1.1 999\r\n\r\n", 200);
}

Test(http_response, long_status_line_truncated_but_parsed)
{
    char text[2048];
    int n = snprintf(text, sizeof(text), "HTTP/1.1 403 ");
    memset(text + n, 'r', 1000);
    strcpy(text + n + 1000, "\r\nX: y\r\n\r\n");
    struct http_response r;
    cr_assert_eq(feed_str(&r, text), (int)strlen(text));
    cr_assert(http_response_done(&r));
    cr_assert_eq(r.status, 403);
    cr_assert_eq(strlen(r.status_line), HTTP_STATUS_LINE_MAX);
    cr_assert_eq(strncmp(r.status_line, text, HTTP_STATUS_LINE_MAX), 0);
}

Test(http_response, status_line_at_the_truncation_edge)
{
    for (size_t len = HTTP_STATUS_LINE_MAX - 1; len <= HTTP_STATUS_LINE_MAX + 1; len++) {
        char line[HTTP_STATUS_LINE_MAX + 2];
        memcpy(line, "HTTP/1.1 200 ", 13);
        memset(line + 13, 'x', len - 13);
        line[len] = '\0';
        char text[HTTP_STATUS_LINE_MAX + 16];
        snprintf(text, sizeof(text), "%s\r\n\r\n", line);
        struct http_response r;
        cr_assert_eq(feed_str(&r, text), (int)strlen(text));
        cr_assert(http_response_done(&r));
        size_t kept = len < HTTP_STATUS_LINE_MAX ? len : HTTP_STATUS_LINE_MAX;
        cr_assert_eq(strlen(r.status_line), kept, "line of %zu", len);
        cr_assert_eq(strncmp(r.status_line, line, kept), 0);
    }
}

Test(http_response, many_headers)
{
    static char text[HTTP_HEADERS_MAX];
    size_t n = (size_t)snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "X-Header-%d: value %d\r\n", i, i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n");
    cr_assert_lt(n, sizeof(text) - 1);
    struct http_response r;
    cr_assert_eq(feed_str(&r, text), (int)n);
    cr_assert(http_response_done(&r));
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.status_line, "HTTP/1.1 200 OK");
}

/* A head of total bytes (status line, one padded header, terminator), in a heap buffer. */
static char *head_of_size(size_t total)
{
    static const char start[] = "HTTP/1.1 200 OK\r\nX-Pad: ";
    static const char end[] = "\r\n\r\n";
    size_t fixed = sizeof(start) - 1 + sizeof(end) - 1;
    cr_assert_gt(total, fixed);
    char *text = malloc(total + 1);
    cr_assert_not_null(text);
    memcpy(text, start, sizeof(start) - 1);
    memset(text + sizeof(start) - 1, 'p', total - fixed);
    memcpy(text + total - (sizeof(end) - 1), end, sizeof(end));
    cr_assert_eq(strlen(text), total);
    return text;
}

Test(http_response, headers_exactly_at_cap)
{
    char *text = head_of_size(HTTP_HEADERS_MAX);
    struct http_response r;
    cr_assert_eq(feed_str(&r, text), HTTP_HEADERS_MAX);
    cr_assert(http_response_done(&r));
    free(text);
}

Test(http_response, headers_over_cap_emsgsize)
{
    char *text = head_of_size(HTTP_HEADERS_MAX + 1);
    assert_head_fails(text, HTTP_HEADERS_MAX + 1, -EMSGSIZE);
    free(text);
}

/* The cap is hit as the 65536th byte goes in without the end, without waiting for another read. */
Test(http_response, endless_head_fails_at_cap)
{
    char *text = head_of_size(HTTP_HEADERS_MAX + 100);
    struct http_response r;
    http_response_init(&r);
    cr_assert_eq(feed(&r, text, HTTP_HEADERS_MAX - 1), HTTP_HEADERS_MAX - 1);
    cr_assert_eq(http_response_wants(&r), 4);
    cr_assert_eq(feed(&r, text + HTTP_HEADERS_MAX - 1, 1), -EMSGSIZE);
    cr_assert_eq(http_response_wants(&r), 0);
    cr_assert_eq(feed(&r, "\r\n\r\n", 4), -EMSGSIZE);
    free(text);
}

/* Feeds text in chunks of min(k, wants()); returns the first error, or how many bytes were consumed. */
static long drive_wants(const char *text, size_t len, size_t k, size_t *fed)
{
    struct http_response r;
    http_response_init(&r);
    size_t off = 0;
    while (off < len && !http_response_done(&r)) {
        size_t want = http_response_wants(&r);
        size_t n = want < k ? want : k;
        if (n > len - off)
            n = len - off;
        int got = http_response_feed(&r, (const uint8_t *)text + off, n);
        *fed = off + n;
        if (got < 0)
            return got;
        cr_assert_eq(got, (int)n);
        off += n;
    }
    return (long)off;
}

/* The cap holds whatever the chunking: a head of exactly the cap ends, one byte more fails in the
 * chunk that holds byte 65536, and a head that never ends fails there too. */
Test(http_response, cap_in_chunks_honouring_wants)
{
    char *exact = head_of_size(HTTP_HEADERS_MAX), *over = head_of_size(HTTP_HEADERS_MAX + 1);
    char *endless = head_of_size(HTTP_HEADERS_MAX + 100);
    for (size_t k = 1; k <= 7; k++) {
        size_t fed = 0;
        cr_assert_eq(drive_wants(exact, HTTP_HEADERS_MAX, k, &fed), HTTP_HEADERS_MAX, "chunk %zu", k);
        cr_assert_eq(drive_wants(over, HTTP_HEADERS_MAX + 1, k, &fed), -EMSGSIZE, "chunk %zu", k);
        cr_assert(fed >= HTTP_HEADERS_MAX && fed < HTTP_HEADERS_MAX + 4, "chunk %zu: failed after %zu", k, fed);
        cr_assert_eq(drive_wants(endless, HTTP_HEADERS_MAX - 100, k, &fed), HTTP_HEADERS_MAX - 100, "chunk %zu", k);
        cr_assert_eq(drive_wants(endless, HTTP_HEADERS_MAX + 100, k, &fed), -EMSGSIZE, "chunk %zu", k);
        cr_assert(fed >= HTTP_HEADERS_MAX && fed < HTTP_HEADERS_MAX + 4, "chunk %zu: failed after %zu", k, fed);
    }
    free(exact);
    free(over);
    free(endless);
}

/* A status line longer than the cap: truncated for the log all along, then refused at the cap. */
Test(http_response, status_line_over_cap)
{
    size_t len = HTTP_HEADERS_MAX + 10;
    char *text = malloc(len);
    cr_assert_not_null(text);
    memcpy(text, "HTTP/1.1 200 ", 13);
    memset(text + 13, 'r', len - 13);
    struct http_response r;
    http_response_init(&r);
    cr_assert_eq(feed(&r, text, HTTP_HEADERS_MAX - 1), HTTP_HEADERS_MAX - 1);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(strlen(r.status_line), HTTP_STATUS_LINE_MAX);
    cr_assert_eq(feed(&r, text + HTTP_HEADERS_MAX - 1, 11), -EMSGSIZE);
    free(text);
}

Test(http_response, malformed_status_lines)
{
    static const char *const lines[] = {
        "\r\n\r\n", "HTTP/1.1\r\n\r\n", "HTTP/1.1 \r\n\r\n", "HTTP/1.1 20\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 -20 OK\r\n\r\n",
        "HTTP/2 200\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.x 200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1\t200 OK\r\n\r\n", " HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.11 200 OK\r\n\r\n", "HTTP 200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n\r\n", "ICY 200 OK\r\n\r\n", "RTSP/1.0 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        assert_head_fails(lines[i], strlen(lines[i]), -EPROTO);
}

/* A peer speaking another protocol is refused at its first wrong byte, not after a blank line. */
Test(http_response, wrong_protocol_fails_early)
{
    ASSERT_FAILS("\x05", -EPROTO);        /* a SOCKS5 server's method reply */
    ASSERT_FAILS("\x00\x5a", -EPROTO);    /* a SOCKS4 reply */
    ASSERT_FAILS("S", -EPROTO);
    ASSERT_FAILS("HTTP/2", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 2O", -EPROTO);
    /* The valid prefix itself is only waiting for more. */
    struct http_response r;
    cr_assert_eq(feed_str(&r, "HTTP/1.1 20"), 11);
    cr_assert_not(http_response_done(&r));
    cr_assert_eq(http_response_wants(&r), 4);
}

Test(http_response, nul_byte_refused)
{
    ASSERT_FAILS("HTTP/1.1 200 O\0K\r\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\n\0\r\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\n\r\0\n", -EPROTO);
    ASSERT_FAILS("\0", -EPROTO);
}

Test(http_response, bare_lf_refused)
{
    ASSERT_FAILS("HTTP/1.1 200 OK\n\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\n\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\nX: y\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\nX: y\r\n\n", -EPROTO);
    ASSERT_FAILS("\n", -EPROTO);
}

/* A CR not followed by LF is refused too: with strict "\r\n\r\n", it can only confuse where the head ends. */
Test(http_response, bare_cr_refused)
{
    ASSERT_FAILS("HTTP/1.1 200 OK\r\r\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\rX: y\r\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", -EPROTO);
    ASSERT_FAILS("HTTP/1.1 200 OK\r\n\rX\r\n", -EPROTO);
}

Test(http_response, error_response_parsed_to_the_end)
{
    static const char text[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                               "Proxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 5\r\n\r\nnope!";
    struct http_response r;
    http_response_init(&r);
    cr_assert_eq(feed(&r, text, sizeof(text) - 1), (int)(sizeof(text) - 1 - 5));
    cr_assert(http_response_done(&r));
    cr_assert_eq(r.status, 407);
    cr_assert_str_eq(r.status_line, "HTTP/1.1 407 Proxy Authentication Required");
    cr_assert_eq(http_status_errno(r.status), EACCES);
}

/* ---- status codes ---- */

Test(http_status, errno_mapping)
{
    static const struct { int status, err; } map[] = {
        { 200, 0 }, { 201, 0 }, { 204, 0 }, { 299, 0 },
        { 400, EPROTO },
        { 401, EACCES }, { 403, EACCES }, { 407, EACCES },
        { 404, EHOSTUNREACH },
        { 405, EOPNOTSUPP }, { 501, EOPNOTSUPP },
        { 502, ECONNREFUSED }, { 503, ECONNREFUSED },
        { 504, ETIMEDOUT }, { 408, ETIMEDOUT },
        { 0, ECONNREFUSED }, { 100, ECONNREFUSED }, { 101, ECONNREFUSED }, { 199, ECONNREFUSED },
        { 300, ECONNREFUSED }, { 301, ECONNREFUSED }, { 302, ECONNREFUSED }, { 402, ECONNREFUSED },
        { 406, ECONNREFUSED }, { 409, ECONNREFUSED }, { 429, ECONNREFUSED }, { 500, ECONNREFUSED },
        { 505, ECONNREFUSED }, { 599, ECONNREFUSED }, { 999, ECONNREFUSED }, { -1, ECONNREFUSED },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        cr_assert_eq(http_status_errno(map[i].status), map[i].err, "status %d gives %d, expected %d", map[i].status,
                     http_status_errno(map[i].status), map[i].err);
}

Test(http_status, every_2xx_succeeds_and_nothing_else)
{
    for (int status = 0; status <= 999; status++) {
        int err = http_status_errno(status);
        if (status >= 200 && status <= 299)
            cr_assert_eq(err, 0, "status %d", status);
        else
            cr_assert_gt(err, 0, "status %d", status);
    }
}
