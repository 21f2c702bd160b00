/* The session's shared region, made by the command when it supervises: the supervisor hands out
 * fake addresses (its DNS responder) and reads the names behind them (connects of static
 * programs), and the library's processes do the same in the same file, DIR/names (see
 * preload/shared.c, which opens it if it exists). The command creates it before the program
 * starts, so no process can find it half made. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "shared_region.h"
#include "supervisor.h"

static int map_new(const char *path, size_t size, void **region)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
    void *m = r == 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0) : MAP_FAILED;
    if (r == 0 && m == MAP_FAILED)
        r = -errno;
    close(fd);
    if (r < 0) {
        unlink(path);
        return r;
    }
    *region = m;
    return 0;
}

int sv_session_map(struct supervisor *sv, const char *dir)
{
    const struct config *c = sv->config;
    char path[PATH_MAX];
    void *region = NULL;
    size_t size = shared_region_size(c, true);
    if (snprintf(path, sizeof(path), "%s/names", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int r = map_new(path, size, &region);
    if (r < 0)
        return r;
    if (shared_region_claim(region))
        shared_region_format(region, c, true);
    if (shared_region_marks(region, size, c, &sv->health) < 0)
        chain_health_init(&sv->health, c);
    if (config_dns_mode(c) == DNS_REMOTE && shared_region_names(region, size, c, &sv->names) < 0) {
        sv->names = NULL;
        log_msg(LOG_ERROR, "no fake-address map: names meant for the proxy will fail");
    }
    return 0;
}
