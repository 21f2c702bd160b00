/* The -x URL (a password, perhaps) must not travel in the environment, which every descendant
 * shows in /proc/PID/environ: it goes to a file only the user can read, whose path the program's
 * library finds in SOCKSIFY_PROXY_FILE. The session removes it when the program ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socksify.h"

/* mkdtemp makes the directory 0700: nobody else can even look up the file's name in it. */
static int make_private_dir(char *dir)
{
    const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/tmp" };
    for (size_t i = 0; i < 2; i++) {
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

int secret_create(const char *url, char *dir, char *file)
{
    int r = make_private_dir(dir);
    if (r < 0)
        return r;
    snprintf(file, PATH_MAX, "%s/proxy", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        goto error;
    }
    r = write_all(fd, url, strlen(url));
    if (r == 0)
        r = write_all(fd, "\n", 1);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0)
        return 0;
error:
    secret_remove(dir);
    return r;
}

void secret_remove(const char *dir)
{
    char file[PATH_MAX];
    if (!dir || !*dir)
        return;
    snprintf(file, sizeof(file), "%s/proxy", dir);
    unlink(file);
    rmdir(dir);
}
