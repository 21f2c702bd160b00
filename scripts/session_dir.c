/* The session's private directory (0700): the library keeps there what every process of the
 * session shares (DIR/names: the name <-> fake-address map and the dead-proxy marks, made by the
 * first process that needs it), and a -x URL with credentials goes there (DIR/proxy, 0600)
 * instead of the environment, which every descendant shows in /proc/PID/environ. The command
 * removes it all when the program ends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "socksify.h"
#include "text.h"

/* base/socksify.RANDOM, made 0700 (as mkdtemp would: nobody else can even look up a file's name
 * in it), with 64 random bits from getrandom: mkdtemp's clock and letter table cost three page
 * faults per run here. 0, or -errno (EEXIST only after a collision repeated 8 times). */
static int make_random_dir(char *dir, const char *base)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = text_join(dir, PATH_MAX, base, "/socksify.", (const char *)NULL);
    if (len + 16 >= PATH_MAX)
        return -ENAMETOOLONG;
    char *name = dir + len;
    for (int attempt = 0; attempt < 8; attempt++) {
        unsigned char r[8];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return -errno;
        for (size_t i = 0; i < sizeof(r); i++) {
            name[2 * i] = hex[r[i] >> 4];
            name[2 * i + 1] = hex[r[i] & 15];
        }
        name[16] = '\0';
        if (mkdir(dir, 0700) == 0)
            return 0;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Memory file systems first: on a disk one (/tmp here is ext4) the directory costs journal writes
 * per run, and the first write to each page of the map file a fault of milliseconds. /dev/shm is,
 * like /tmp, shared and sticky: the random name and 0700 keep it private there too. */
static int make_private_dir(char *dir)
{
    const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/dev/shm", "/tmp" };
    int r = -ENOENT;
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (bases[i] && *bases[i] && (r = make_random_dir(dir, bases[i])) == 0)
            return 0;
    }
    dir[0] = '\0';
    return r;
}

/* The URL and a newline, in one call where the kernel takes it all (a file on a memory file
 * system does). */
static int write_line(int fd, const char *text)
{
    struct iovec v[2] = { { (void *)text, strlen(text) }, { "\n", 1 } };
    for (int i = 0; i < 2;) {
        ssize_t n = writev(fd, v + i, 2 - i);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (; i < 2 && (size_t)n >= v[i].iov_len; i++)
            n -= (ssize_t)v[i].iov_len;
        if (i < 2) {
            v[i].iov_base = (char *)v[i].iov_base + n;
            v[i].iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* dir/name into path (PATH_MAX); false if it does not fit. */
static bool file_in(char *path, const char *dir, const char *name)
{
    return text_join(path, PATH_MAX, dir, "/", name, (const char *)NULL) < PATH_MAX;
}

int session_dir_create(char *dir)
{
    return make_private_dir(dir);
}

int session_dir_put_url(const char *dir, const char *url, char *file)
{
    if (!file_in(file, dir, "proxy"))
        return -ENAMETOOLONG;
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int r = write_line(fd, url);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0)
        unlink(file);
    return r;
}

/* The files a session normally leaves, removed by name (each then tried with rmdir), before the
 * directory is listed for the rest. */
static const char *const usual_files[] = { "proxy", "names" };

/* Every file in the directory goes: the library's map, the files it made to create the map
 * atomically, the URL. Nothing in it is a directory (the library makes none). Often it is empty
 * (a program that looked no name up, a URL without credentials): one rmdir then. */
void session_dir_remove(const char *dir)
{
    if (!dir || !*dir || rmdir(dir) == 0)
        return;
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(usual_files) / sizeof(usual_files[0]); i++)
        if (file_in(path, dir, usual_files[i]) && unlink(path) == 0 && rmdir(dir) == 0)
            return;
    if (rmdir(dir) == 0 || errno != ENOTEMPTY)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0)
        close(fd);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
}
