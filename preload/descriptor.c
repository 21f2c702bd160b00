#include "descriptor.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include "libc.h"

bool file_id_of(int fd, struct file_id *id)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return false;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return true;
}

bool file_id_is(int fd, const struct file_id *id)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino;
}

int socket_int(int fd, int level, int name, int fallback)
{
    int value = 0;
    socklen_t len = sizeof(value);
    return libc()->getsockopt(fd, level, name, &value, &len) == 0 ? value : fallback;
}
