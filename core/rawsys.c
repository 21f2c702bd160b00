#include "rawsys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__i386__)
/* i386: `int $0x80`, the kernel's entry that needs nothing from the process: a 64-bit kernel
 * running 32-bit programs and qemu-user both have it. The faster sysenter through the vDSO's
 * __kernel_vsyscall would need its address (the auxiliary vector, or glibc's private TCB
 * slot %gs:16) and a call through memory with every register taken; the calls made here
 * (the log, the config file, fallbacks for missing libc functions) are not hot enough to pay
 * for that. The arguments go in ebx, ecx, edx, esi, edi, ebp, but ebx may be the PIC register
 * and ebp the frame pointer, so neither can be an asm operand: both are saved on the stack,
 * and the first, fifth and sixth arguments are loaded from the array edi points to, edi last. */
static long rawsys_call_i386(long nr, const long args[6])
{
    long ret;
    const long *p = args;
    __asm__ volatile("push %%ebp\n\t"
                     "push %%ebx\n\t"
                     "mov 20(%%edi), %%ebp\n\t"
                     "mov 0(%%edi), %%ebx\n\t"
                     "mov 16(%%edi), %%edi\n\t"
                     "int $0x80\n\t"
                     "pop %%ebx\n\t"
                     "pop %%ebp"
                     : "=a"(ret), "+D"(p)
                     : "a"(nr), "c"(args[1]), "d"(args[2]), "S"(args[3])
                     : "memory");
    return ret;
}
#endif

long rawsys_call(long nr, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#elif defined(__i386__)
    return rawsys_call_i386(nr, (const long[6]){a, b, c, d, e, f});
#else
    /* Elsewhere libc's syscall() stands in; socksify's own syscall() hook passes every number
     * this file uses straight through, so it cannot recurse. */
    int saved = errno;
    long r = syscall(nr, a, b, c, d, e, f);
    if (r == -1) {
        r = -errno;
        errno = saved;
    }
    return r;
#endif
}

long rawsys_errno(long result)
{
    if (result < 0 && result > -4096) {
        errno = (int)-result;
        return -1;
    }
    return result;
}

int rawsys_open(const char *path, int flags, unsigned mode)
{
    return (int)rawsys_call(SYS_openat, AT_FDCWD, (long)path, flags, mode, 0, 0);
}

ssize_t rawsys_read(int fd, void *buf, size_t n)
{
    return rawsys_call(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);
}

ssize_t rawsys_write(int fd, const void *buf, size_t n)
{
    return rawsys_call(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
}

int rawsys_close(int fd)
{
    return (int)rawsys_call(SYS_close, fd, 0, 0, 0, 0, 0);
}
