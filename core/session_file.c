#include "session_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filetrust.h"
#include "log.h"
#include "rawsys.h"

/* Whether st (of what) is the user's own and closed to others; logs why not. */
static bool trusted(const struct stat *st, const char *what, bool want_dir)
{
    enum filetrust t = filetrust_secret(st, geteuid());
    if (t == FILETRUST_OK && (want_dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode)))
        return true;
    log_msg(LOG_ERROR, "session %s %s refused: %s", want_dir ? "directory" : "file", what,
            t != FILETRUST_OK ? filetrust_describe(t) : want_dir ? "is not a directory" : "is not a regular file");
    return false;
}

/* Makes path hold new_size zero bytes unless it exists: the file is written in full under a
 * private name, then linked into place, which fails if another process got there first. */
static int create(const char *dir, const char *path, size_t new_size)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/.new.%ld.%ld", dir, (long)getpid(), (long)gettid());
    int fd = rawsys_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fd;
    int r = ftruncate(fd, (off_t)new_size) < 0 ? -errno : 0;
    rawsys_close(fd);
    if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
        r = -errno;
    unlink(tmp);
    return r;
}

/* Opens path, creating it first if needed: a descriptor or -errno. */
static int open_or_create(const char *dir, const char *path, size_t new_size)
{
    int fd = rawsys_open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd != -ENOENT)
        return fd;
    int r = create(dir, path, new_size);
    return r < 0 ? r : rawsys_open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
}

/* Maps fd (the file at path) after checking it: 0 or -errno. */
static int map_checked(int fd, const char *path, size_t min_size, void **region, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!trusted(&st, path, false))
        return -EPERM;
    if ((size_t)st.st_size < min_size) {
        log_msg(LOG_ERROR, "session file %s refused: %lld bytes, too small", path, (long long)st.st_size);
        return -EPERM;
    }
    void *r = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (r == MAP_FAILED)
        return -errno;
    *region = r;
    *size = (size_t)st.st_size;
    return 0;
}

int session_file_map(const char *dir, const char *name, size_t new_size, size_t min_size, void **region, size_t *size)
{
    struct stat st;
    if (lstat(dir, &st) < 0) {
        int r = -errno;
        log_msg(LOG_ERROR, "session directory %s: %s", dir, strerror(-r));
        return r;
    }
    if (!trusted(&st, dir, true))
        return -EPERM;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open_or_create(dir, path, new_size);
    if (fd < 0) {
        log_msg(LOG_ERROR, "session file %s: %s", path, strerror(-fd));
        return fd;
    }
    int r = map_checked(fd, path, min_size, region, size);
    rawsys_close(fd);
    if (r < 0 && r != -EPERM)
        log_msg(LOG_ERROR, "session file %s: %s", path, strerror(-r));
    return r;
}

int session_file_append(const char *dir, const char *name, const char *line)
{
    char path[PATH_MAX], text[512];
    int n = snprintf(text, sizeof(text), "%s\n", line);
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) || n <= 0 || n >= (int)sizeof(text))
        return -ENAMETOOLONG;
    int fd = rawsys_open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fd;
    ssize_t w = rawsys_write(fd, text, (size_t)n);
    rawsys_close(fd);
    return w == n ? 0 : w < 0 ? (int)w : -EIO;
}

bool session_file_has_line(const char *dir, const char *name, const char *line)
{
    static char buf[256 * 1024 + 1];
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = rawsys_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    ssize_t n = fstat(fd, &st) == 0 && filetrust_secret(&st, geteuid()) == FILETRUST_OK ? rawsys_read(fd, buf, sizeof(buf) - 1)
                                                                                       : -1;
    rawsys_close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    size_t len = strlen(line);
    for (const char *p = buf; (p = strstr(p, line)) != NULL; p += len)
        if ((p == buf || p[-1] == '\n') && p[len] == '\n')
            return true;
    return false;
}
