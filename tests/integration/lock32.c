/* A file lock through fcntl, as a program built with large-file support takes it: on i386 its
 * fcntl() is libc's fcntl64, whose lock commands take struct flock64. Under socksify the lock must
 * be exactly the one asked for. Prints "LOCK type start len" as another open file sees it (an
 * open-file-description lock conflicts with it), or "ERRNO NAME". usage: lock32 FILE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int a = open(argv[1], O_RDWR | O_CREAT, 0600), b = open(argv[1], O_RDWR);
    struct flock set = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 10 };
    struct flock get = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    if (a < 0 || b < 0 || fcntl(a, F_OFD_SETLK, &set) < 0 || fcntl(b, F_OFD_GETLK, &get) < 0) {
        printf("ERRNO %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
        return 3;
    }
    printf("BITS %d LOCK %s %lld %lld\n", (int)(8 * sizeof(void *)), get.l_type == F_WRLCK ? "write" : "other",
           (long long)get.l_start, (long long)get.l_len);
    return 0;
}
