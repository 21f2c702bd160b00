/* The session's private directory (0700): the library keeps there what every process of the
 * session shares (DIR/names: the name <-> fake-address map and the dead-proxy marks, made by the
 * first process that needs it), and the -x URL goes there (DIR/proxy, 0600) instead of the
 * environment, which every descendant shows in /proc/PID/environ. The command removes it all when
 * the program ends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socksify.h"

/* mkdtemp makes the directory 0700: nobody else can even look up the file's name in it. Memory
 * file systems first: on a disk one (/tmp here is ext4) the directory costs journal writes per
 * run, and the first write to each page of the map file a fault of milliseconds. /dev/shm is,
 * like /tmp, shared and sticky: the random name and 0700 keep it private there too. */
static int make_private_dir(char *dir)
{
    const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/dev/shm", "/tmp" };
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (!bases[i] || !*bases[i])
            continue;
        snprintf(dir, PATH_MAX, "%s/socksify.XXXXXXXX", bases[i]);
        if (mkdtemp(dir))
            return 0;
    }
    dir[0] = '\0';
    return -errno;
}

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        text += n, len -= (size_t)n;
    }
    return 0;
}

int session_dir_create(char *dir)
{
    return make_private_dir(dir);
}

int session_dir_put_url(const char *dir, const char *url, char *file)
{
    snprintf(file, PATH_MAX, "%s/proxy", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, url, strlen(url));
    if (r == 0)
        r = write_all(fd, "\n", 1);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0)
        unlink(file);
    return r;
}

/* The files a session normally leaves: removed by name, the directory then goes without a listing. */
static const char *const usual_files[] = { "proxy", "names" };

/* Every file in the directory goes: the library's map, the files it made to create the map
 * atomically, the URL. Nothing in it is a directory (the library makes none). */
void session_dir_remove(const char *dir)
{
    if (!dir || !*dir)
        return;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    for (size_t i = 0; dfd >= 0 && i < sizeof(usual_files) / sizeof(usual_files[0]); i++)
        unlinkat(dfd, usual_files[i], 0);
    if (dfd >= 0)
        close(dfd);
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
