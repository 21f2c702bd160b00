/* The read, write and close that core code uses on its own files (config, log, the proxy file).
 * The library points them at the real libc functions before anything else runs, so that its own
 * file I/O never enters its hooks; the checker and the tests keep libc's. */
#ifndef SOCKSIFY_FILEIO_H
#define SOCKSIFY_FILEIO_H

#include <sys/types.h>

struct fileio {
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    int (*close)(int fd);
};

/* The calls in use; replace the whole table at start-up, before any thread exists. */
extern struct fileio fileio;

#endif
