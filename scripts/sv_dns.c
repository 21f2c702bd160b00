/* The supervisor's DNS responder. Programs with a resolver of their own (Go's, busybox's, static
 * glibc's) read /etc/resolv.conf and send their queries to the nameserver's port 53 themselves.
 * While names are meant for the proxy, no such packet may leave: the supervisor connects their
 * socket to this responder instead (or sends their datagram here), which answers as the library
 * answers getaddrinfo (core/names.c): local names from /etc/hosts, a fake address from the
 * session's map for the others (A only; AAAA gets no address, as the library gives an unspecified
 * lookup IPv4 only, so programs keep IPv4 sockets), and a refusal under dns off. A later connect
 * to the fake address is proxied by name. One question per query, UDP only; anything else gets
 * NOTIMP or FORMERR.
 *
 * A name that routes direct (a route with a host glob and no port) is the local resolver's, as
 * for the library (which resolves such names itself, with libc's resolver, whose queries the
 * filter catches too): its query is forwarded to the nameserver the program asked for, from the
 * command, and the answer passed back (SERVFAIL if it does not come within 5 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../preload/tunnel.h"
#include "file.h"
#include "log.h"
#include "names.h"
#include "route.h"
#include "supervisor.h"
#include "verdict.h"

#define DNS_MSG_MAX 512
#define DNS_HEADER 12
enum { TYPE_A = 1, TYPE_AAAA = 28, CLASS_IN = 1 };
enum { RCODE_OK = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3, RCODE_NOTIMP = 4, RCODE_REFUSED = 5 };
#define FORWARD_TIMEOUT_MS 5000
/* Which nameserver each redirected program socket asked for (its local address -> the server):
 * the most recent ones. */
#define NOTES_MAX 256

struct dns_note {
    union sockaddr_any local, server;
};
static struct dns_note notes[NOTES_MAX];
static unsigned notes_next;

/* A query forwarded to the program's nameserver, waiting for the answer. */
struct dns_forward {
    struct dns_forward *next;
    int sock;                       /* ours, connected to the server */
    int responder;                  /* the responder socket the query came in on */
    union sockaddr_any client;
    socklen_t client_len;
    uint8_t query[DNS_MSG_MAX];     /* for a SERVFAIL if no answer comes */
    size_t query_len;
    long long deadline_ms;
};
#define ANSWER_TTL 60

static int open_one(int family, union sockaddr_any *addr)
{
    memset(addr, 0, sizeof(*addr));
    if (family == AF_INET) {
        addr->in4.sin_family = AF_INET;
        addr->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        addr->in6.sin6_family = AF_INET6;
        addr->in6.sin6_addr = in6addr_loopback;
    }
    int s = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t len = addr_len(addr);
    if (s >= 0 && (bind(s, &addr->sa, len) < 0 || getsockname(s, &addr->sa, &len) < 0)) {
        close(s);
        s = -1;
    }
    return s;
}

int sv_dns_open(struct supervisor *sv)
{
    sv->hosts = file_read_hosts();
    sv->dns4 = open_one(AF_INET, &sv->dns4_addr);
    sv->dns6 = open_one(AF_INET6, &sv->dns6_addr);   /* none where IPv6 is off: fine */
    int r = sv->dns4 < 0 ? -EADDRNOTAVAIL : supervisor_watch_dns(sv);
    if (r < 0)
        log_msg(LOG_ERROR, "the DNS responder cannot start: %s; programs' own DNS queries fail", strerror(-r));
    return r;
}

bool sv_dns_redirect(const struct supervisor *sv, const union sockaddr_any *dst, int family, bool v6only,
                     union sockaddr_any *to)
{
    if (!verdict_dns_leak(sv->config, dst))
        return false;
    if (family == AF_INET6 && (v6only || sv->dns4 < 0) && sv->dns6 >= 0) {
        *to = sv->dns6_addr;
        return true;
    }
    /* On a v6-only socket with no IPv6 responder the program's call fails: never out. */
    *to = sv->dns4_addr;
    addr_fit_family(to, family);
    return true;
}

void sv_dns_note(int fd, const union sockaddr_any *server)
{
    union sockaddr_any local;
    socklen_t len = sizeof(local);
    if (getsockname(fd, &local.sa, &len) < 0)
        return;
    struct dns_note *n = &notes[notes_next++ % NOTES_MAX];
    n->local = local;
    n->server = *server;
}

/* The nameserver the program socket at client asked for: true with *server. */
static bool noted_server(const union sockaddr_any *client, union sockaddr_any *server)
{
    union sockaddr_any c = *client;
    addr_from_v4mapped(&c);
    for (unsigned i = 0; i < NOTES_MAX; i++) {
        union sockaddr_any l = notes[i].local;
        addr_from_v4mapped(&l);
        if (l.sa.sa_family && addr_port(&l) == addr_port(&c) &&
            (addr_equal(&l, &c) || addr_is_this_host(&l))) {   /* bound to 0.0.0.0: any local address */
            *server = notes[i].server;
            return true;
        }
    }
    return false;
}

/* Reads the question's name at q (len bytes left) into name as dotted text: the bytes it took, or -1. */
static int read_qname(const uint8_t *q, size_t len, char *name)
{
    size_t at = 0, out = 0;
    while (at < len && q[at]) {
        size_t label = q[at];
        if (label > 63 || at + 1 + label > len || out + label + 1 > NAMES_NAME_MAX)
            return -1;
        if (out)
            name[out++] = '.';
        memcpy(name + out, q + at + 1, label);
        out += label;
        at += 1 + label;
    }
    if (at >= len)
        return -1;
    name[out] = '\0';
    return (int)at + 1;
}

/* Appends one answer record (pointing back to the question's name) for addr to msg at *at. */
static void put_answer(uint8_t *msg, size_t *at, int type, const unsigned char *addr, size_t addr_len)
{
    uint8_t rr[12] = { 0xc0, DNS_HEADER, 0, (uint8_t)type, 0, CLASS_IN, 0, 0, 0, ANSWER_TTL, 0, (uint8_t)addr_len };
    memcpy(msg + *at, rr, sizeof(rr));
    memcpy(msg + *at + sizeof(rr), addr, addr_len);
    *at += sizeof(rr) + addr_len;
}

/* answer_name's word for "the local resolver's: forward it". */
#define FORWARD (-100)

/* The answers for name and qtype into msg at *at: the count, -rcode, or FORWARD. */
static int answer_name(struct supervisor *sv, const char *name, int qtype, uint8_t *msg, size_t *at)
{
    const struct config *c = sv->config;
    int family = qtype == TYPE_A ? AF_INET : qtype == TYPE_AAAA ? AF_INET6 : 0;
    switch (names_decide(name, config_dns_mode(c), sv->hosts)) {
    case NAMES_LOCAL: {
        struct names_answer a;
        int n = family ? names_local_answer(name, family, sv->hosts, &a) : 0;
        for (int i = 0; i < n && i < 8; i++)
            put_answer(msg, at, qtype, a.addrs[i].bytes, family == AF_INET ? 4 : 16);
        return n < 0 ? 0 : n > 8 ? 8 : n;
    }
    case NAMES_REMOTE: {
        union sockaddr_any fake, any = { .in4 = { .sin_family = AF_INET } };
        if (route_decide(c, &any, name).action == ROUTE_DIRECT)
            return FORWARD;
        if (!sv->names)
            return -RCODE_REFUSED;
        if (qtype != TYPE_A || fakedns_address_for(sv->names, name, AF_INET, &fake) < 0)
            return 0;
        put_answer(msg, at, qtype, (const unsigned char *)&fake.in4.sin_addr, 4);
        log_msg(LOG_DEBUG, "DNS query for %s: %s, to be resolved by the proxy", name, inet_ntoa(fake.in4.sin_addr));
        return 1;
    }
    case NAMES_LIBC: return -RCODE_NXDOMAIN;   /* a numeric "name": no such name */
    default: return -RCODE_REFUSED;
    }
}

/* Builds the response to the query q (n bytes) in msg: its length, 0 to stay silent, or
 * (size_t)-1 when the query is to be forwarded. */
static size_t respond(struct supervisor *sv, const uint8_t *q, size_t n, uint8_t *msg)
{
    if (n < DNS_HEADER || (q[2] & 0x80))
        return 0;   /* too short, or a response */
    char name[NAMES_NAME_MAX + 1];
    int qlen = (q[4] << 8 | q[5]) == 1 ? read_qname(q + DNS_HEADER, n - DNS_HEADER, name) : -1;
    int rcode = qlen < 0 || (size_t)(DNS_HEADER + qlen + 4) > n ? RCODE_FORMERR : (q[2] & 0x78) ? RCODE_NOTIMP : RCODE_OK;
    size_t qend = rcode == RCODE_FORMERR ? DNS_HEADER : DNS_HEADER + (size_t)qlen + 4;
    memcpy(msg, q, qend);
    int count = 0;
    size_t at = qend;
    if (rcode == RCODE_OK) {
        int qtype = q[DNS_HEADER + qlen] << 8 | q[DNS_HEADER + qlen + 1];
        int qclass = q[DNS_HEADER + qlen + 2] << 8 | q[DNS_HEADER + qlen + 3];
        count = qclass == CLASS_IN ? answer_name(sv, name, qtype, msg, &at) : -RCODE_NOTIMP;
        if (count == FORWARD)
            return (size_t)-1;
        rcode = count < 0 ? -count : RCODE_OK;
        count = count < 0 ? 0 : count;
    }
    msg[2] = (uint8_t)(0x80 | (q[2] & 0x79));    /* QR, the opcode and RD as asked */
    msg[3] = (uint8_t)(0x80 | rcode);            /* RA: Go takes a reply without it for a lame referral */
    msg[4] = 0, msg[5] = rcode == RCODE_FORMERR ? 0 : 1;
    msg[6] = 0, msg[7] = (uint8_t)count;
    memset(msg + 8, 0, 4);                       /* no authority, no additional records */
    return at;
}

/* A SERVFAIL for query q (n bytes) to the client of f. */
static void servfail(struct dns_forward *f)
{
    uint8_t msg[DNS_MSG_MAX];
    memcpy(msg, f->query, f->query_len);
    msg[2] = (uint8_t)(0x80 | (msg[2] & 0x79));
    msg[3] = 0x80 | RCODE_SERVFAIL;
    sendto(f->responder, msg, f->query_len, MSG_DONTWAIT, &f->client.sa, f->client_len);
}

static void forward_free(struct supervisor *sv, struct dns_forward *f)
{
    for (struct dns_forward **p = &sv->forwards; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    close(f->sock);
    free(f);
}

/* Sends the query q (n bytes) from client to the nameserver the client's socket asked for. */
static void forward(struct supervisor *sv, int responder, const uint8_t *q, size_t n, const union sockaddr_any *client,
                    socklen_t client_len)
{
    struct dns_forward *f = calloc(1, sizeof(*f));
    if (!f)
        return;
    f->responder = responder;
    f->client = *client;
    f->client_len = client_len;
    memcpy(f->query, q, n);
    f->query_len = n;
    f->deadline_ms = tunnel_now_ms() + FORWARD_TIMEOUT_MS;
    union sockaddr_any server;
    f->sock = noted_server(client, &server) ? socket(server.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
    f->next = sv->forwards;
    sv->forwards = f;
    if (f->sock < 0 || connect(f->sock, &server.sa, addr_len(&server)) < 0 || send(f->sock, q, n, 0) < 0 ||
        supervisor_watch(sv, f->sock, EPOLLIN, (struct sv_job *)((uintptr_t)f | 1)) < 0) {
        servfail(f);
        forward_free(sv, f);
    }
}

void sv_dns_forward_event(struct supervisor *sv, void *forward)
{
    struct dns_forward *f = forward;
    uint8_t msg[4096];
    ssize_t n = recv(f->sock, msg, sizeof(msg), MSG_DONTWAIT);
    if (n > 0)
        sendto(f->responder, msg, (size_t)n, MSG_DONTWAIT, &f->client.sa, f->client_len);
    else
        servfail(f);   /* the server refused (ICMP unreachable) */
    forward_free(sv, f);
}

long long sv_dns_deadline(const struct supervisor *sv)
{
    long long earliest = -1;
    for (const struct dns_forward *f = sv->forwards; f; f = f->next)
        if (earliest < 0 || f->deadline_ms < earliest)
            earliest = f->deadline_ms;
    return earliest;
}

void sv_dns_expire(struct supervisor *sv, long long now_ms)
{
    for (struct dns_forward *f = sv->forwards, *next; f; f = next) {
        next = f->next;
        if (f->deadline_ms <= now_ms) {
            servfail(f);
            forward_free(sv, f);
        }
    }
}

void sv_dns_serve(struct supervisor *sv, int sock)
{
    sv_session_attach(sv);
    for (;;) {
        uint8_t q[DNS_MSG_MAX], msg[DNS_MSG_MAX + 8 * 28];
        union sockaddr_any from;
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(sock, q, sizeof(q), MSG_DONTWAIT, &from.sa, &from_len);
        if (n < 0)
            return;
        size_t len = respond(sv, q, (size_t)n, msg);
        if (len == (size_t)-1)
            forward(sv, sock, q, (size_t)n, &from, from_len);
        else if (len)
            sendto(sock, msg, len, MSG_DONTWAIT, &from.sa, from_len);
    }
}
