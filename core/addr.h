/* Socket addresses: one union for IPv4/IPv6 and small helpers, so that the rest of the code
 * never casts sockaddr pointers by hand. */
#ifndef SOCKSIFY_ADDR_H
#define SOCKSIFY_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

union sockaddr_any {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr_storage storage;
};

/* Longest text addr_format writes: "[v6 address]:65535" plus NUL. */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN + 9)

/* The shortest sockaddr_in6 Linux accepts: RFC 2133's, without sin6_scope_id. */
#define ADDR_IN6_MIN_LEN 24

/* Copies an AF_INET/AF_INET6 address of length len into out; false if family or length is wrong
 * (IPv6 accepts the 24-byte form, as the kernel does: its scope id is then 0). */
bool addr_from_sockaddr(union sockaddr_any *out, const struct sockaddr *sa, socklen_t len);

/* What the kernel makes of the address of a connect() or send on an inet socket. */
enum addr_form {
    ADDR_FORM_INET,      /* an IPv4 or IPv6 destination (copied out, in its usual form) */
    ADDR_FORM_NONE,      /* no destination: none given, or AF_UNSPEC (a disconnect, or "no address") */
    ADDR_FORM_INVALID,   /* the kernel refuses it (too short, a family inet sockets do not take) */
    ADDR_FORM_UNKNOWN,   /* depends on the socket's family, which the caller does not know */
};
/* Reads sa as the kernel would for a socket of sock_family (AF_INET, AF_INET6, or -1 if unknown):
 * for connect(), AF_UNSPEC disconnects; for a send, an IPv4 socket reads AF_UNSPEC as AF_INET and
 * an IPv6 one as no address. */
enum addr_form addr_read_as_kernel(union sockaddr_any *out, const struct sockaddr *sa, socklen_t len, int sock_family,
                                   bool is_connect);
/* Length of the sockaddr for the union's family (0 for anything but AF_INET/AF_INET6). */
socklen_t addr_len(const union sockaddr_any *a);
/* Port in host byte order. */
uint16_t addr_port(const union sockaddr_any *a);
/* Sets the port (host byte order) of an AF_INET or AF_INET6 address; others stay. */
void addr_set_port(union sockaddr_any *a, uint16_t port);
/* Writes "1.2.3.4:80" or "[::1]:80" into buf (at least ADDR_TEXT_MAX bytes); returns buf. */
char *addr_format(const union sockaddr_any *a, char *buf, size_t size);
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool addr_is_loopback(const union sockaddr_any *a);
/* True for loopback and for the unspecified addresses 0.0.0.0, :: and ::ffff:0.0.0.0, which
 * Linux takes as a destination on this host. */
bool addr_is_this_host(const union sockaddr_any *a);
/* True if both hold the same family, address and port. */
bool addr_equal(const union sockaddr_any *a, const union sockaddr_any *b);
/* Rewrites an IPv4 address as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), keeping the port. */
void addr_to_v4mapped(union sockaddr_any *a);
/* The reverse: an IPv4-mapped IPv6 address becomes the IPv4 address it holds; others stay. */
void addr_from_v4mapped(union sockaddr_any *a);
/* Makes a reachable from a socket of family: as it is, or v4-mapped on an IPv6 socket. 0, or
 * -EAFNOSUPPORT when an IPv4 socket cannot reach it (an IPv6 address). */
int addr_fit_family(union sockaddr_any *a, int family);
/* Copies a into out as getpeername()/recvfrom() do: at most room bytes (truncated if out is
 * smaller); returns a's full length, for the caller's length argument. */
socklen_t addr_copy_out(const union sockaddr_any *a, void *out, socklen_t room);

/* "host[:port]" as written by a user (a proxy URL's authority, socksify --explain's argument), in
 * parts that point into that text. */
struct addr_hostport {
    const char *host;   /* host_len bytes, without brackets, not NUL-terminated */
    size_t host_len;
    const char *port;   /* the text after the port's ':' (perhaps empty), or NULL if none was written */
    bool bracketed;     /* written "[...]": an IPv6 address by convention */
    bool bare_ipv6;     /* no brackets but two ':' or more: all of it is the host, and there is no port */
};
/* Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address into out, checking neither
 * host nor port; -EINVAL if a '[' is not closed, -EBADMSG if text other than ":port" follows the ']'. */
int addr_split_hostport(const char *text, struct addr_hostport *out);
/* Reads a port, decimal digits only, into *port; -EINVAL if text is empty or holds anything else,
 * -ERANGE outside 1-65535. */
int addr_parse_port(const char *text, uint16_t *port);

#endif
