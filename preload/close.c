/* close(): a closed descriptor stops being managed before its number can be reused. */
#include "real.h"
#include "registry.h"

SOCKSIFY_EXPORT int close(int fd)
{
    registry_remove(fd);
    return libc()->close(fd);
}
