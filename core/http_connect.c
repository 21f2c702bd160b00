#include "http_connect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- the request ---- */

/* "[" + IPv6 text + "]" + ":" + port, or a 255-byte name + ":" + port, plus NUL. */
#define HOSTPORT_MAX (SOCKS5_NAME_MAX + 1 + 5 + 1)

/* Bytes accumulated by the base64 encoder until a group of 3 is complete. */
struct base64 {
    char *out;
    uint8_t group[3];
    size_t n;
};

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Length of the base64 text (RFC 4648, padded) for n input bytes. */
static size_t base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Emits the 4 characters for the first n (1..3) bytes of the group, '='-padded. */
static void base64_flush(struct base64 *b)
{
    uint32_t v = (uint32_t)b->group[0] << 16 | (uint32_t)(b->n > 1 ? b->group[1] : 0) << 8 |
                 (uint32_t)(b->n > 2 ? b->group[2] : 0);
    *b->out++ = base64_alphabet[v >> 18 & 63];
    *b->out++ = base64_alphabet[v >> 12 & 63];
    *b->out++ = b->n > 1 ? base64_alphabet[v >> 6 & 63] : '=';
    *b->out++ = b->n > 2 ? base64_alphabet[v & 63] : '=';
    b->n = 0;
}

/* Encodes the string s. Streaming, so that "user:pass" never needs a temporary copy of unbounded size. */
static void base64_put(struct base64 *b, const char *s)
{
    for (; *s; s++) {
        b->group[b->n++] = (uint8_t)*s;
        if (b->n == 3)
            base64_flush(b);
    }
}

/* Pads out a partial final group. */
static void base64_finish(struct base64 *b)
{
    if (b->n > 0)
        base64_flush(b);
}

/* A name goes into the request line and the Host header verbatim, so anything that could end a
 * line, add a header or change the request target is refused rather than escaped. */
static bool name_is_safe(const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '.' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Writes the authority "host:port" (IPv6 in brackets, v4-mapped as IPv4) into out[HOSTPORT_MAX];
 * returns its length or -EINVAL. */
static int format_authority(char *out, const struct socks_target *t)
{
    char host[INET6_ADDRSTRLEN + 2];
    if (t->is_name) {
        /* strnlen past the limit catches a name array with no NUL. */
        size_t n = strnlen(t->name, SOCKS5_NAME_MAX + 1);
        if (n == 0 || n > SOCKS5_NAME_MAX || !name_is_safe(t->name, n))
            return -EINVAL;
        return snprintf(out, HOSTPORT_MAX, "%s:%u", t->name, t->port);
    }
    if (t->addr.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &t->addr.in4.sin_addr, host, sizeof(host));
    } else if (t->addr.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&t->addr.in6.sin6_addr)) {
        inet_ntop(AF_INET, &t->addr.in6.sin6_addr.s6_addr[12], host, sizeof(host));
    } else if (t->addr.sa.sa_family == AF_INET6) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &t->addr.in6.sin6_addr, text, sizeof(text));
        snprintf(host, sizeof(host), "[%s]", text);
    } else {
        return -EINVAL;
    }
    return snprintf(out, HOSTPORT_MAX, "%s:%u", host, t->port);
}

/* Appends s (n bytes) at *p. */
static void put(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

#define PUT_LITERAL(p, lit) put((p), (lit), sizeof(lit) - 1)

static const char req_connect[] = "CONNECT ";
static const char req_version_host[] = " HTTP/1.1\r\nHost: ";
static const char req_auth[] = "Proxy-Authorization: Basic ";
static const char req_crlf[] = "\r\n";

int http_connect_encode(char *buf, size_t size, const struct socks_target *t, const char *user, const char *pass)
{
    char authority[HOSTPORT_MAX];
    int alen = format_authority(authority, t);
    if (alen < 0)
        return alen;
    if (!pass)
        pass = "";
    /* Everything is measured first, so that nothing is written on -ENOSPC. */
    size_t total = sizeof(req_connect) - 1 + (size_t)alen + sizeof(req_version_host) - 1 + (size_t)alen +
                   sizeof(req_crlf) - 1 + sizeof(req_crlf) - 1;
    if (user)
        total += sizeof(req_auth) - 1 + base64_len(strlen(user) + 1 + strlen(pass)) + sizeof(req_crlf) - 1;
    /* The length is returned as an int, and the NUL needs a byte of its own. */
    if (total > INT_MAX || total >= size)
        return -ENOSPC;

    char *p = buf;
    PUT_LITERAL(&p, req_connect);
    put(&p, authority, (size_t)alen);
    PUT_LITERAL(&p, req_version_host);
    put(&p, authority, (size_t)alen);
    PUT_LITERAL(&p, req_crlf);
    if (user) {
        PUT_LITERAL(&p, req_auth);
        struct base64 b = { .out = p };
        base64_put(&b, user);
        base64_put(&b, ":");
        base64_put(&b, pass);
        base64_finish(&b);
        p = b.out;
        PUT_LITERAL(&p, req_crlf);
    }
    PUT_LITERAL(&p, req_crlf);
    *p = '\0';
    return (int)(p - buf);
}

/* ---- the response ---- */

/* "HTTP/1.x NNN" is 12 characters; the 13th ends the line or starts the reason phrase. */
#define STATUS_CODE_END 12

void http_response_init(struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    r->in_status_line = true;
}

size_t http_response_wants(const struct http_response *r)
{
    if (r->error || r->crlf == 4)
        return 0;
    /* Any fewer bytes than the rest of "\r\n\r\n" cannot complete it and so cannot pass it. */
    return 4 - (size_t)r->crlf;
}

bool http_response_done(const struct http_response *r)
{
    return r->error == 0 && r->crlf == 4;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Checks byte c at position pos of the status line against "HTTP/1.x NNN[ reason]", judging
 * each byte as it comes so a peer speaking another protocol fails at once, not after 64 KiB. */
static bool status_char_ok(size_t pos, uint8_t c)
{
    static const char prefix[] = "HTTP/1.";
    if (pos < sizeof(prefix) - 1)
        return c == (uint8_t)prefix[pos];
    if (pos == 7 || (pos >= 9 && pos < STATUS_CODE_END))
        return is_digit(c);
    if (pos == 8 || pos == STATUS_CODE_END)
        return c == ' ';
    return true;
}

/* Takes one byte of the status line (not its CR or LF). */
static int status_line_byte(struct http_response *r, uint8_t c)
{
    if (!status_char_ok(r->line_len, c))
        return -EPROTO;
    if (r->line_len < HTTP_STATUS_LINE_MAX)
        r->status_line[r->line_len] = (char)c;   /* the array was zeroed, so it stays terminated */
    r->line_len++;
    if (r->line_len == STATUS_CODE_END) {
        const char *code = r->status_line + 9;
        r->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    }
    return 0;
}

/* Advances the match against "\r\n\r\n". Line endings are strictly CRLF: a bare LF or a CR not
 * followed by LF is refused, since a proxy and this parser disagreeing on where the head ends
 * would hand head bytes to the program or swallow tunnel bytes. */
static int track_crlf(struct http_response *r, uint8_t c)
{
    bool after_cr = r->crlf == 1 || r->crlf == 3;
    if (c == '\n') {
        if (!after_cr)
            return -EPROTO;
        r->crlf++;
    } else if (after_cr) {
        return -EPROTO;
    } else if (c == '\r') {
        r->crlf = r->crlf == 2 ? 3 : 1;
    } else {
        r->crlf = 0;
    }
    return 0;
}

/* Takes one byte of the head. */
static int response_byte(struct http_response *r, uint8_t c)
{
    if (c == '\0')
        return -EPROTO;
    int err = track_crlf(r, c);
    if (err)
        return err;
    if (r->in_status_line) {
        if (c == '\r') {
            if (r->line_len < STATUS_CODE_END)
                return -EPROTO;
            r->in_status_line = false;
        } else if ((err = status_line_byte(r, c)) != 0) {
            return err;
        }
    }
    r->total++;
    /* Fail as soon as the cap is reached without the end: one more byte would exceed it. */
    if (r->crlf != 4 && r->total >= HTTP_HEADERS_MAX)
        return -EMSGSIZE;
    return 0;
}

int http_response_feed(struct http_response *r, const uint8_t *data, size_t len)
{
    if (r->error)
        return r->error;
    size_t i;
    /* Bounded by HTTP_HEADERS_MAX: the loop ends at the terminator or fails at the cap. */
    for (i = 0; i < len && r->crlf != 4; i++) {
        int err = response_byte(r, data[i]);
        if (err) {
            r->error = err;
            return err;
        }
    }
    return (int)i;
}

int http_status_errno(int status)
{
    if (status >= 200 && status <= 299)
        return 0;
    switch (status) {
    case 400: return EPROTO;
    case 401:
    case 403:
    case 407: return EACCES;
    case 404: return EHOSTUNREACH;
    case 405:
    case 501: return EOPNOTSUPP;
    case 408:
    case 504: return ETIMEDOUT;
    case 502:
    case 503:
    default: return ECONNREFUSED;
    }
}
