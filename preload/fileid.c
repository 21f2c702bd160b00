#include "fileid.h"

#include <sys/stat.h>

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
