#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "rawsys.h"

/* First buffer size for a file whose size fstat does not tell (/proc files say 0). */
#define FILE_FIRST_CAP 4096

/* Grows *buf (cap bytes) to hold up to max + 1 bytes of data and a NUL: the byte past max is how
 * read_to_end learns the file is too long. Returns the new capacity, or -ENOMEM (*buf unchanged). */
static ssize_t grow(char **buf, size_t cap, size_t max)
{
    size_t want = cap > (max + 2) / 2 ? max + 2 : cap * 2;
    char *bigger = realloc(*buf, want);
    if (!bigger)
        return -ENOMEM;
    *buf = bigger;
    return (ssize_t)want;
}

/* Reads fd to its end into a fresh buffer, first sized for size_hint bytes; returns the length
 * read (*out set, NUL-terminated) or -errno (nothing allocated): -EFBIG past max bytes. */
static ssize_t read_to_end(int fd, size_t size_hint, size_t max, char **out)
{
    size_t hint = size_hint ? size_hint : FILE_FIRST_CAP;
    size_t cap = (hint < max ? hint : max) + 2;
    size_t len = 0;
    ssize_t r;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len + 1 == cap) {   /* full: len <= max here, so cap < max + 2 and it can grow */
            if ((r = grow(&buf, cap, max)) < 0)
                goto error;
            cap = (size_t)r;
        }
        ssize_t n = rawsys_read(fd, buf + len, cap - 1 - len);
        if (n == -EINTR)
            continue;
        if ((r = n) < 0)
            goto error;
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            r = -EFBIG;
            goto error;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return (ssize_t)len;
error:
    free(buf);
    return r;
}

ssize_t file_read_all(const char *path, size_t max, char **text, struct stat *st)
{
    struct stat own;
    st = st ? st : &own;
    *text = NULL;
    int fd = rawsys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    ssize_t r = fstat(fd, st) == 0 ? read_to_end(fd, (size_t)st->st_size, max, text) : -errno;
    rawsys_close(fd);
    return r;
}

ssize_t file_read_into(const char *path, char *buf, size_t size, struct stat *st)
{
    int fd = rawsys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    ssize_t len = fstat(fd, st) == 0 ? 0 : -errno;
    while (len >= 0 && (size_t)len < size - 1) {
        ssize_t n = rawsys_read(fd, buf + len, size - 1 - (size_t)len);
        if (n == -EINTR)
            continue;
        if (n <= 0) {
            len = n < 0 ? n : len;
            break;
        }
        len += n;
    }
    if (len >= 0)
        buf[len] = '\0';
    char extra;
    if (len >= 0 && (size_t)len == size - 1 && rawsys_read(fd, &extra, 1) > 0)
        len = -EFBIG;
    rawsys_close(fd);
    return len;
}

char *file_read_hosts(void)
{
    char *text;
    return file_read_all("/etc/hosts", FILE_HOSTS_MAX, &text, NULL) < 0 ? NULL : text;
}
