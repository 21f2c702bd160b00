/* HTTP CONNECT tunnels (RFC 9110 §9.3.6, RFC 9112): the request, and an incremental parser for
 * the response head. Sans-I/O like socks5.h: the encoder writes into a caller buffer, the parser
 * takes whatever bytes the caller has and keeps its own small state.
 *
 * The response head ends at the first "\r\n\r\n"; every byte after it belongs to the tunnel and
 * must stay in the socket for the program. http_response_wants() says how many bytes can be read
 * without any chance of reading past that point. */
#ifndef SOCKSIFY_HTTP_CONNECT_H
#define SOCKSIFY_HTTP_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socks5.h"

/* Room for the longest request: a 255-byte name, and base64 of 255-byte user and password. */
#define HTTP_CONNECT_MSG_MAX 2048
/* kept for logs; longer lines are truncated for the log but still parsed */
#define HTTP_STATUS_LINE_MAX 200
/* a response whose headers exceed this fails with -EMSGSIZE */
#define HTTP_HEADERS_MAX 65536

/* Parser state; set up with http_response_init, then only read status and status_line. */
struct http_response {
    int status;                                   /* the 3-digit code, once the status line has it */
    char status_line[HTTP_STATUS_LINE_MAX + 1];   /* without CRLF, truncated, NUL-terminated */
    size_t total;                                 /* bytes consumed so far */
    size_t line_len;                              /* bytes of the status line seen (not truncated) */
    bool in_status_line;
    uint8_t crlf;                                 /* how much of "\r\n\r\n" the stream ends with */
    int error;                                    /* negative errno once failed, else 0 */
};

/* Writes the CONNECT request for t, with Basic credentials if user is not NULL (pass NULL means
 * empty), NUL-terminated; returns its length without the NUL, -EINVAL for a bad target, -ENOSPC. */
int http_connect_encode(char *buf, size_t size, const struct socks_target *t, const char *user, const char *pass);
/* Resets r to expect the first byte of a response. */
void http_response_init(struct http_response *r);
/* How many bytes can be fed now without passing the end of the head (1..4); 0 once done or failed. */
size_t http_response_wants(const struct http_response *r);
/* Consumes bytes up to the end of the head; returns how many, or -EPROTO / -EMSGSIZE (sticky). */
int http_response_feed(struct http_response *r, const uint8_t *data, size_t len);
/* True once the whole head has been read; r->status then holds the code. */
bool http_response_done(const struct http_response *r);
/* The errno a program expects for a status code: 0 for 2xx, ECONNREFUSED for codes with no better match. */
int http_status_errno(int status);

#endif
