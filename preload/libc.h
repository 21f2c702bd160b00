/* The libc functions socksify wraps, found once with dlsym(RTLD_NEXT, ...). Internal code calls
 * these, never the hooked names, so socksify's own I/O never re-enters its hooks (a build check,
 * tests/check-internal-calls.sh, keeps it so). The table is generated from hooks.def. */
#ifndef SOCKSIFY_LIBC_H
#define SOCKSIFY_LIBC_H

#include <netdb.h>
#include <stdarg.h>
#include <resolv.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct libc_calls {
#define HOOK(name, ret, params) ret (*name) params;
#include "hooks.def"
};

/* Resolves every real function once (thread-safe, idempotent) and returns the table. */
const struct libc_calls *libc(void);

/* Reads the six register-sized arguments of a syscall()-like variadic call, after `last`, into
 * long a[6], as libc's own syscall() does, whatever the call uses. */
#define LIBC_SYSCALL_ARGS(last, a) \
    do { \
        va_list ap_; \
        va_start(ap_, last); \
        for (int i_ = 0; i_ < 6; i_++) \
            (a)[i_] = va_arg(ap_, long); \
        va_end(ap_); \
    } while (0)

/* Reads the one optional argument of an fcntl()-like variadic call, after `last`, into void *arg,
 * as libc reads it: one pointer-sized argument, or none. */
#define LIBC_FCNTL_ARG(last, arg) \
    do { \
        va_list ap_; \
        va_start(ap_, last); \
        (arg) = va_arg(ap_, void *); \
        va_end(ap_); \
    } while (0)

/* Marks a hook as one of the few symbols the library exports. */
#define SOCKSIFY_EXPORT __attribute__((visibility("default")))
/* Exports name as another name of hook `of` (glibc's __connect, __read, ...); in of's file. */
#define SOCKSIFY_ALIAS(of, name) extern __typeof__(of) name __attribute__((alias(#of), visibility("default")))
/* hook_NAME: the library's own way to call hook NAME (syscall() passing SYS_connect on, say),
 * bound inside the library, never through the PLT; declared in of's file. */
#define SOCKSIFY_INTERNAL(of) extern __typeof__(of) hook_##of __attribute__((alias(#of), visibility("hidden")))

#endif
