/* System calls made without libc. socksify hooks read, write, close, syscall and their kin, so
 * code that runs inside the library and must not re-enter its own hooks (logging, reading the
 * config file, the stand-ins for libc functions that dlsym cannot find) makes the call itself.
 * Every function returns the kernel's answer: a count or 0, or -errno; errno is left alone. */
#ifndef SOCKSIFY_RAWSYS_H
#define SOCKSIFY_RAWSYS_H

#include <stddef.h>
#include <sys/types.h>

/* System call nr with six register-sized arguments (unused ones are ignored by the kernel). */
long rawsys_call(long nr, long a, long b, long c, long d, long e, long f);
/* rawsys_call's answer as libc gives it: -1 with errno set, or the result. */
long rawsys_errno(long result);
/* open(path, flags, mode), relative to the working directory. */
int rawsys_open(const char *path, int flags, unsigned mode);
ssize_t rawsys_read(int fd, void *buf, size_t n);
ssize_t rawsys_write(int fd, const void *buf, size_t n);
int rawsys_close(int fd);

#endif
