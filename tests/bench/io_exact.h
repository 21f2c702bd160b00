/* Blocking whole-buffer reads and writes for the benchmark clients' SOCKS5 code. */
#ifndef SOCKSIFY_BENCH_IO_EXACT_H
#define SOCKSIFY_BENCH_IO_EXACT_H

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

/* Writes all of buf, retrying after signals; -1 on error. */
static inline int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes; -1 on error or early EOF (errno 0 for EOF). */
static inline int read_exact(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

#endif
