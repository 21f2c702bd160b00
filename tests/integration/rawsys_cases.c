/* core/rawsys.c on its own, built with -m32 by test_lib32.py (and natively): each system call
 * made without libc reaches the kernel with every argument in place. mmap with a file offset
 * is the six-argument call whose last argument is the one the i386 path passes in ebp.
 * Prints "OK" and exits 0, or names the first check that failed and exits 1.
 * usage: rawsys_cases SCRATCH_FILE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rawsys.h"

#define PAGE 4096

static int check(int ok, const char *what)
{
    if (!ok)
        printf("FAIL %s\n", what);
    return ok;
}

/* mmap of the file's second page: the offset is the 6th argument (in pages for i386's mmap2). */
static long map_second_page(int fd)
{
#if defined(SYS_mmap2)
    return rawsys_call(SYS_mmap2, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, 1);
#else
    return rawsys_call(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
#endif
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char page[PAGE];
    int fd = rawsys_open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!check(fd >= 0, "open"))
        return 1;
    memset(page, 'A', sizeof page);
    int ok = check(rawsys_write(fd, page, PAGE) == PAGE, "write page 1");
    memset(page, 'B', sizeof page);
    ok &= check(rawsys_write(fd, page, PAGE) == PAGE, "write page 2");
    long addr = map_second_page(fd);
    ok &= check(addr > 0 || addr < -4095, "mmap of page 2");
    if (ok)
        ok &= check(((const char *)addr)[0] == 'B' && ((const char *)addr)[PAGE - 1] == 'B', "page 2 mapped (6th argument)");
    ok &= check(rawsys_call(SYS_lseek, fd, 0, SEEK_SET, 0, 0, 0) == 0, "lseek");
    ok &= check(rawsys_read(fd, page, 10) == 10 && page[0] == 'A', "read back");
    ok &= check(rawsys_close(fd) == 0, "close");
    errno = 0;
    ok &= check(rawsys_close(fd) == -EBADF && errno == 0, "close again: -EBADF, errno untouched");
    ok &= check(rawsys_errno(-EBADF) == -1 && errno == EBADF, "rawsys_errno");
    if (ok)
        printf("OK\n");
    return ok ? 0 : 1;
}
