/* Facts about a descriptor that socksify reads for itself, straight from the kernel.
 *
 * Which open file a number holds: socksify keeps state per descriptor number (its own internal
 * descriptors, the program's managed sockets); a program may close or replace one behind our back
 * (close_range, dup2, a raw syscall) and the number be reused: comparing the file's identity
 * tells. One fstat per check. */
#ifndef SOCKSIFY_DESCRIPTOR_H
#define SOCKSIFY_DESCRIPTOR_H

#include <stdbool.h>
#include <sys/types.h>

struct file_id {
    dev_t dev;
    ino_t ino;
};

/* The identity of the file fd holds; false (id untouched) if fd is not open. */
bool file_id_of(int fd, struct file_id *id);
/* Whether fd still holds the file id names. */
bool file_id_is(int fd, const struct file_id *id);
/* One integer socket option of fd (family, type, protocol, IPV6_V6ONLY, ...) from libc's real
 * getsockopt; fallback (errno set) if it cannot be read. */
int socket_int(int fd, int level, int name, int fallback);

#endif
