/* UDP calls through socksify from C, against udpecho.py (datagrams come back unchanged).
 * Built by test_udp.py with cc into the test's temp dir.
 *
 * usage: udp_mmsg HOST PORT CASE...   (CASE "all" runs every case)
 * HOST is a literal IPv4 or IPv6 address; every case uses a fresh socket of HOST's family.
 * Cases:
 *   mmsg        sendmmsg of N datagrams (a msg_name each), recvmmsg with MSG_WAITFORONE until all
 *               N are back, then again with a blocking recvmmsg of vlen N: payloads, lengths
 *               (msg_len) and every source address (the target)
 *   sysmmsg     the same through syscall(SYS_sendmmsg) and syscall(SYS_recvmmsg)
 *   peek        recv MSG_PEEK, then recvfrom: the same datagram and source
 *   trunc       a 100-byte datagram into a 10-byte buffer: recvmsg without MSG_TRUNC returns 10,
 *               with MSG_TRUNC returns 100; MSG_TRUNC set in msg_flags both times; recv(MSG_TRUNC)
 *               returns 100
 *   eagain      after one exchange: recv(MSG_DONTWAIT) and a non-blocking recvfrom on nothing
 *               -> EAGAIN; recvmmsg(MSG_DONTWAIT) -> EAGAIN
 *   iov         sendmsg of 3 iovecs, recvmsg into 2 iovecs (split payload), msg_name = target
 *   rwv         connect(), write/read, writev/readv with 2 iovecs, send/recv, getpeername
 *   big         65500 bytes -> EMSGSIZE (nothing sent); the socket still works afterwards
 *   8k          an 8000-byte datagram round trip
 * Output: "OK CASE" or "FAIL CASE: why" per case, then "END"; exit 1 if any case failed.
 * Every socket has SO_RCVTIMEO of 5 s and the program an alarm of 30 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define N 8

static struct sockaddr_storage dest;
static socklen_t destlen;
static int family;
static int failed_case;

static void fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    failed_case = 1;
}

static int new_socket(void)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    struct timeval tv = {5, 0};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static const char *show(const struct sockaddr_storage *ss, socklen_t len)
{
    static char buf[INET6_ADDRSTRLEN + 64];
    char a[INET6_ADDRSTRLEN] = "?";
    int port = -1;
    if (len == 0)
        return "(no address)";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)ss;
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
        port = ntohs(s->sin6_port);
    } else {
        snprintf(buf, sizeof buf, "(family %d, len %u)", ss->ss_family, (unsigned)len);
        return buf;
    }
    snprintf(buf, sizeof buf, "%s port %d (len %u)", a, port, (unsigned)len);
    return buf;
}

/* The source equals the target: same family, address and port, and the right length. */
static int is_dest(const struct sockaddr_storage *ss, socklen_t len)
{
    if (len != destlen || ss->ss_family != dest.ss_family)
        return 0;
    if (family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss, *b = (const void *)&dest;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *a = (const void *)ss, *b = (const void *)&dest;
    return a->sin6_port == b->sin6_port && !memcmp(&a->sin6_addr, &b->sin6_addr, 16);
}

static int send_one(int fd, const void *data, size_t len)
{
    return (int)sendto(fd, data, len, 0, (const struct sockaddr *)&dest, destlen);
}

/* ----- sendmmsg / recvmmsg ----- */

static int do_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int via_syscall)
{
    if (via_syscall)
        return (int)syscall(SYS_sendmmsg, fd, m, n, 0);
    return sendmmsg(fd, m, n, 0);
}

static int do_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int flags, int via_syscall)
{
    if (via_syscall)
        return (int)syscall(SYS_recvmmsg, fd, m, n, flags, NULL);
    return recvmmsg(fd, m, n, flags, NULL);
}

static void case_mmsg(const char *name, int via_syscall)
{
    int fd = new_socket();
    char out[N][32], in[N][64];
    struct iovec oiov[N], iiov[N];
    struct mmsghdr om[N], im[N];
    struct sockaddr_storage src[N];
    int seen[N];
    for (int round = 0; round < 2; round++) {
        memset(om, 0, sizeof om);
        for (int i = 0; i < N; i++) {
            snprintf(out[i], sizeof out[i], "mmsg-%d-%d-%s", round, i, i % 2 ? "odd" : "even-longer");
            oiov[i].iov_base = out[i];
            oiov[i].iov_len = strlen(out[i]);
            om[i].msg_hdr.msg_iov = &oiov[i];
            om[i].msg_hdr.msg_iovlen = 1;
            om[i].msg_hdr.msg_name = &dest;
            om[i].msg_hdr.msg_namelen = destlen;
        }
        int sent = do_sendmmsg(fd, om, N, via_syscall);
        if (sent != N) {
            fail(name, "round %d: sendmmsg returned %d (%s), expected %d", round, sent, strerror(errno), N);
            close(fd);
            return;
        }
        for (int i = 0; i < N; i++)
            if (om[i].msg_len != oiov[i].iov_len) {
                fail(name, "round %d: sendmmsg msg_len[%d] = %u, expected %zu", round, i, om[i].msg_len,
                     oiov[i].iov_len);
                close(fd);
                return;
            }
        memset(seen, 0, sizeof seen);
        int got = 0, calls = 0;
        while (got < N) {
            memset(im, 0, sizeof im);
            for (int i = 0; i < N; i++) {
                iiov[i].iov_base = in[i];
                iiov[i].iov_len = sizeof in[i] - 1;
                im[i].msg_hdr.msg_iov = &iiov[i];
                im[i].msg_hdr.msg_iovlen = 1;
                im[i].msg_hdr.msg_name = &src[i];
                im[i].msg_hdr.msg_namelen = sizeof src[i];
            }
            /* round 0: MSG_WAITFORONE, as many calls as needed; round 1: one blocking call for all N */
            int r = do_recvmmsg(fd, im, N - got, round == 0 ? MSG_WAITFORONE : 0, via_syscall);
            calls++;
            if (r <= 0) {
                fail(name, "round %d: recvmmsg returned %d (%s) after %d of %d datagrams", round, r,
                     r < 0 ? strerror(errno) : "nothing", got, N);
                close(fd);
                return;
            }
            for (int i = 0; i < r; i++) {
                in[i][im[i].msg_len < sizeof in[i] ? im[i].msg_len : sizeof in[i] - 1] = 0;
                if (!is_dest(&src[i], im[i].msg_hdr.msg_namelen)) {
                    fail(name, "round %d: datagram %d came from %s, expected the target", round, got + i,
                         show(&src[i], im[i].msg_hdr.msg_namelen));
                    close(fd);
                    return;
                }
                int k = -1;
                for (int j = 0; j < N; j++)
                    if (!strcmp(in[i], out[j]) && im[i].msg_len == strlen(out[j]))
                        k = j;
                if (k < 0 || seen[k]) {
                    fail(name, "round %d: unexpected or repeated datagram %.40s (msg_len %u)", round, in[i],
                         im[i].msg_len);
                    close(fd);
                    return;
                }
                seen[k] = 1;
            }
            got += r;
        }
        if (round == 1 && calls != 1) {
            fail(name, "blocking recvmmsg of vlen %d took %d calls", N, calls);
            close(fd);
            return;
        }
    }
    close(fd);
    printf("OK %s\n", name);
}

/* ----- MSG_PEEK ----- */

static void case_peek(void)
{
    const char *name = "peek";
    int fd = new_socket();
    char a[64] = {0}, b[64] = {0};
    struct sockaddr_storage s1, s2;
    socklen_t l1 = sizeof s1, l2 = sizeof s2;
    if (send_one(fd, "peek me", 7) != 7) {
        fail(name, "sendto: %s", strerror(errno));
        goto out;
    }
    ssize_t n1 = recvfrom(fd, a, sizeof a, MSG_PEEK, (struct sockaddr *)&s1, &l1);
    ssize_t n2 = recvfrom(fd, b, sizeof b, 0, (struct sockaddr *)&s2, &l2);
    if (n1 != 7 || memcmp(a, "peek me", 7))
        fail(name, "MSG_PEEK returned %zd (%s) %.20s", n1, n1 < 0 ? strerror(errno) : "", a);
    else if (n2 != 7 || memcmp(b, "peek me", 7))
        fail(name, "recvfrom after MSG_PEEK returned %zd (%s) %.20s", n2, n2 < 0 ? strerror(errno) : "", b);
    else if (!is_dest(&s1, l1))
        fail(name, "MSG_PEEK source %s", show(&s1, l1));
    else if (!is_dest(&s2, l2))
        fail(name, "source after MSG_PEEK %s", show(&s2, l2));
    else {
        /* nothing left: the peeked datagram was the only one */
        ssize_t n3 = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n3 >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            fail(name, "a third recv returned %zd (%s): the peeked datagram was delivered twice?", n3,
                 n3 < 0 ? strerror(errno) : "data");
        else
            printf("OK %s\n", name);
    }
out:
    close(fd);
}

/* ----- MSG_TRUNC ----- */

static void case_trunc(void)
{
    const char *name = "trunc";
    int fd = new_socket();
    char payload[100], small[10];
    struct sockaddr_storage s;
    for (int i = 0; i < 100; i++)
        payload[i] = (char)('a' + i % 26);
    for (int flags_i = 0; flags_i < 3; flags_i++) {
        if (send_one(fd, payload, sizeof payload) != (int)sizeof payload) {
            fail(name, "sendto: %s", strerror(errno));
            goto out;
        }
        memset(small, 0, sizeof small);
        if (flags_i == 2) {
            ssize_t n = recv(fd, small, sizeof small, MSG_TRUNC);
            if (n != 100 || memcmp(small, payload, sizeof small)) {
                fail(name, "recv(MSG_TRUNC) into 10 bytes returned %zd (%s), expected 100", n,
                     n < 0 ? strerror(errno) : "");
                goto out;
            }
            break;
        }
        struct iovec iov = {small, sizeof small};
        struct msghdr m = {.msg_name = &s, .msg_namelen = sizeof s, .msg_iov = &iov, .msg_iovlen = 1};
        int flags = flags_i ? MSG_TRUNC : 0;
        ssize_t n = recvmsg(fd, &m, flags);
        ssize_t want = flags ? 100 : 10;
        if (n != want || memcmp(small, payload, sizeof small)) {
            fail(name, "recvmsg(%s) into 10 bytes returned %zd (%s), expected %zd", flags ? "MSG_TRUNC" : "0", n,
                 n < 0 ? strerror(errno) : "", want);
            goto out;
        }
        if (!(m.msg_flags & MSG_TRUNC)) {
            fail(name, "recvmsg(%s): MSG_TRUNC not set in msg_flags (0x%x)", flags ? "MSG_TRUNC" : "0", m.msg_flags);
            goto out;
        }
        if (!is_dest(&s, m.msg_namelen)) {
            fail(name, "source %s", show(&s, m.msg_namelen));
            goto out;
        }
    }
    printf("OK %s\n", name);
out:
    close(fd);
}

/* ----- EAGAIN ----- */

static void case_eagain(void)
{
    const char *name = "eagain";
    int fd = new_socket();
    char buf[64];
    if (send_one(fd, "x", 1) != 1 || recv(fd, buf, sizeof buf, 0) != 1) {
        fail(name, "exchange before the checks failed: %s", strerror(errno));
        goto out;
    }
    errno = 0;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        fail(name, "recv(MSG_DONTWAIT) on nothing: %zd, %s", n, strerror(errno));
        goto out;
    }
    struct mmsghdr mm;
    struct iovec iov = {buf, sizeof buf};
    memset(&mm, 0, sizeof mm);
    mm.msg_hdr.msg_iov = &iov;
    mm.msg_hdr.msg_iovlen = 1;
    errno = 0;
    int r = recvmmsg(fd, &mm, 1, MSG_DONTWAIT, NULL);
    if (r != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        fail(name, "recvmmsg(MSG_DONTWAIT) on nothing: %d, %s", r, strerror(errno));
        goto out;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        fail(name, "fcntl O_NONBLOCK: %s", strerror(errno));
        goto out;
    }
    struct sockaddr_storage s;
    socklen_t l = sizeof s;
    errno = 0;
    n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&s, &l);
    if (n != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        fail(name, "non-blocking recvfrom on nothing: %zd, %s", n, strerror(errno));
        goto out;
    }
    /* still works non-blocking: send, wait for readability, read */
    if (send_one(fd, "y", 1) != 1) {
        fail(name, "non-blocking sendto: %s", strerror(errno));
        goto out;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, 5000);
    n = recv(fd, buf, sizeof buf, 0);
    if (pr != 1 || n != 1 || buf[0] != 'y') {
        fail(name, "non-blocking echo: poll %d (revents 0x%x), recv %zd (%s)", pr, p.revents, n,
             n < 0 ? strerror(errno) : "");
        goto out;
    }
    printf("OK %s\n", name);
out:
    close(fd);
}

/* ----- sendmsg / recvmsg with several iovecs ----- */

static void case_iov(void)
{
    const char *name = "iov";
    int fd = new_socket();
    char p1[] = "first-part|", p2[] = "second-part|", p3[] = "third";
    struct iovec o[3] = {{p1, strlen(p1)}, {p2, strlen(p2)}, {p3, strlen(p3)}};
    struct msghdr m = {.msg_name = &dest, .msg_namelen = destlen, .msg_iov = o, .msg_iovlen = 3};
    size_t total = o[0].iov_len + o[1].iov_len + o[2].iov_len;
    ssize_t n = sendmsg(fd, &m, 0);
    if (n != (ssize_t)total) {
        fail(name, "sendmsg of 3 iovecs returned %zd (%s), expected %zu", n, n < 0 ? strerror(errno) : "", total);
        goto out;
    }
    char a[7] = {0}, b[64] = {0};
    struct sockaddr_storage s;
    struct iovec i[2] = {{a, sizeof a}, {b, sizeof b}};
    struct msghdr r = {.msg_name = &s, .msg_namelen = sizeof s, .msg_iov = i, .msg_iovlen = 2};
    n = recvmsg(fd, &r, 0);
    char whole[128];
    snprintf(whole, sizeof whole, "%.7s%s", a, b);
    if (n != (ssize_t)total || strcmp(whole, "first-part|second-part|third") || memcmp(a, "first-p", 7)) {
        fail(name, "recvmsg into 2 iovecs returned %zd (%s): %s", n, n < 0 ? strerror(errno) : "", whole);
        goto out;
    }
    if (r.msg_flags & MSG_TRUNC) {
        fail(name, "MSG_TRUNC set for a datagram that fit");
        goto out;
    }
    if (!is_dest(&s, r.msg_namelen)) {
        fail(name, "source %s", show(&s, r.msg_namelen));
        goto out;
    }
    printf("OK %s\n", name);
out:
    close(fd);
}

/* ----- connected: write/read, writev/readv, send/recv, getpeername ----- */

static void case_rwv(void)
{
    const char *name = "rwv";
    int fd = new_socket();
    char buf[64] = {0};
    struct sockaddr_storage s;
    socklen_t l = sizeof s;
    if (getpeername(fd, (struct sockaddr *)&s, &l) == 0 || errno != ENOTCONN) {
        fail(name, "getpeername before connect: %s, expected ENOTCONN", strerror(errno));
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)&dest, destlen) != 0) {
        fail(name, "connect: %s", strerror(errno));
        goto out;
    }
    l = sizeof s;
    if (getpeername(fd, (struct sockaddr *)&s, &l) != 0 || !is_dest(&s, l)) {
        fail(name, "getpeername after connect: %s (%s)", show(&s, l), strerror(errno));
        goto out;
    }
    ssize_t n = write(fd, "written", 7);
    ssize_t m = read(fd, buf, sizeof buf);
    if (n != 7 || m != 7 || memcmp(buf, "written", 7)) {
        fail(name, "write/read: %zd, %zd (%s) %.20s", n, m, strerror(errno), buf);
        goto out;
    }
    char w1[] = "vec-one/", w2[] = "vec-two";
    struct iovec wv[2] = {{w1, strlen(w1)}, {w2, strlen(w2)}};
    char r1[5] = {0}, r2[32] = {0};
    struct iovec rv[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
    n = writev(fd, wv, 2);
    m = readv(fd, rv, 2);
    if (n != 15 || m != 15 || memcmp(r1, "vec-o", 5) || memcmp(r2, "ne/vec-two", 10)) {
        fail(name, "writev/readv: %zd, %zd (%s) %.5s|%.20s", n, m, strerror(errno), r1, r2);
        goto out;
    }
    memset(buf, 0, sizeof buf);
    n = send(fd, "sent", 4, 0);
    m = recv(fd, buf, sizeof buf, 0);
    if (n != 4 || m != 4 || memcmp(buf, "sent", 4)) {
        fail(name, "send/recv: %zd, %zd (%s) %.20s", n, m, strerror(errno), buf);
        goto out;
    }
    printf("OK %s\n", name);
out:
    close(fd);
}

/* ----- sizes ----- */

static void case_big(void)
{
    const char *name = "big";
    int fd = new_socket();
    static char big[65500];
    char buf[64];
    memset(big, 'B', sizeof big);
    /* make the association first, so EMSGSIZE comes from the size check, not from creating it */
    if (send_one(fd, "small", 5) != 5 || recv(fd, buf, sizeof buf, 0) != 5) {
        fail(name, "exchange before the big datagram failed: %s", strerror(errno));
        goto out;
    }
    errno = 0;
    int n = send_one(fd, big, sizeof big);
    if (n != -1 || errno != EMSGSIZE) {
        fail(name, "sendto of %zu bytes returned %d (%s), expected -1 EMSGSIZE", sizeof big, n, strerror(errno));
        goto out;
    }
    struct iovec iov = {big, sizeof big};
    struct msghdr m = {.msg_name = &dest, .msg_namelen = destlen, .msg_iov = &iov, .msg_iovlen = 1};
    errno = 0;
    ssize_t s = sendmsg(fd, &m, 0);
    if (s != -1 || errno != EMSGSIZE) {
        fail(name, "sendmsg of %zu bytes returned %zd (%s), expected -1 EMSGSIZE", sizeof big, s, strerror(errno));
        goto out;
    }
    /* the next datagram that comes back is the small one sent now: the big one never went out */
    if (send_one(fd, "after", 5) != 5) {
        fail(name, "sendto after EMSGSIZE: %s", strerror(errno));
        goto out;
    }
    ssize_t r = recv(fd, buf, sizeof buf, MSG_TRUNC);
    if (r != 5 || memcmp(buf, "after", 5)) {
        fail(name, "after EMSGSIZE the echo was %zd bytes (%s), expected the 5-byte datagram", r,
             r < 0 ? strerror(errno) : "");
        goto out;
    }
    printf("OK %s\n", name);
out:
    close(fd);
}

static void case_8k(void)
{
    const char *name = "8k";
    int fd = new_socket();
    static char out[8000], in[9000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + 3);
    struct sockaddr_storage s;
    socklen_t l = sizeof s;
    int n = send_one(fd, out, sizeof out);
    ssize_t r = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&s, &l);
    if (n != (int)sizeof out || r != (ssize_t)sizeof out || memcmp(in, out, sizeof out))
        fail(name, "sendto %d, recvfrom %zd (%s), expected 8000 identical bytes", n, r, r < 0 ? strerror(errno) : "");
    else if (!is_dest(&s, l))
        fail(name, "source %s", show(&s, l));
    else
        printf("OK %s\n", name);
    close(fd);
}

static int run_case(const char *c)
{
    int all = !strcmp(c, "all"), known = 0;
    if (all || !strcmp(c, "mmsg"))
        known = 1, case_mmsg("mmsg", 0);
    if (all || !strcmp(c, "sysmmsg"))
        known = 1, case_mmsg("sysmmsg", 1);
    if (all || !strcmp(c, "peek"))
        known = 1, case_peek();
    if (all || !strcmp(c, "trunc"))
        known = 1, case_trunc();
    if (all || !strcmp(c, "eagain"))
        known = 1, case_eagain();
    if (all || !strcmp(c, "iov"))
        known = 1, case_iov();
    if (all || !strcmp(c, "rwv"))
        known = 1, case_rwv();
    if (all || !strcmp(c, "big"))
        known = 1, case_big();
    if (all || !strcmp(c, "8k"))
        known = 1, case_8k();
    fflush(stdout);
    return known;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT CASE...\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(30);
    memset(&dest, 0, sizeof dest);
    int port = atoi(argv[2]);
    struct sockaddr_in *d4 = (void *)&dest;
    struct sockaddr_in6 *d6 = (void *)&dest;
    if (inet_pton(AF_INET, argv[1], &d4->sin_addr) == 1) {
        family = AF_INET;
        d4->sin_family = AF_INET;
        d4->sin_port = htons((unsigned short)port);
        destlen = sizeof *d4;
    } else if (inet_pton(AF_INET6, argv[1], &d6->sin6_addr) == 1) {
        family = AF_INET6;
        d6->sin6_family = AF_INET6;
        d6->sin6_port = htons((unsigned short)port);
        destlen = sizeof *d6;
    } else {
        fprintf(stderr, "not an address: %s\n", argv[1]);
        return 2;
    }
    for (int i = 3; i < argc; i++)
        if (!run_case(argv[i])) {
            fprintf(stderr, "unknown case %s\n", argv[i]);
            return 2;
        }
    printf("END\n");
    return failed_case ? 1 : 0;
}
