#include "sockint.h"

#include "real.h"

int socket_int(int fd, int level, int name, int fallback)
{
    int value = 0;
    socklen_t len = sizeof(value);
    return libc()->getsockopt(fd, level, name, &value, &len) == 0 ? value : fallback;
}
