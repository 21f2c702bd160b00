#include "shared.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "context.h"
#include "session.h"
#include "shared_region.h"

/* The family's region is mapped when the library loads, before the program can fork, so that
 * every process of the family sees one map; a session's is mapped at first use instead, from its
 * file. The first process to need a region formats it. */
static void *region STARTUP_DATA;
static size_t region_size STARTUP_DATA;
static struct fakedns *names;
static struct chain_health health;
static bool health_shared;
static pthread_once_t set_up_once = PTHREAD_ONCE_INIT;

__attribute__((constructor)) static void map_family_region(void)
{
    if (session_dir())
        return;
    size_t size = shared_region_min_size();
    void *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r != MAP_FAILED) {
        region = r;
        region_size = size;
    }
}

/* Formats the region, or waits (at most 2 s) for another process to finish formatting it. */
static bool ready(const struct config *c, bool with_marks)
{
    if (shared_region_prepare(region, c, with_marks))
        return true;
    log_msg(LOG_ERROR, "the shared region was never formatted");
    return false;
}

/* The session's marks, if its region agrees with our configuration. */
static void attach_health(const struct config *c)
{
    int r = shared_region_marks(region, region_size, c, &health);
    if (r == 0)
        health_shared = true;
    else
        log_msg(LOG_WARN, "the session's dead-proxy marks are not shared with this process: %s",
                r == -ESTALE ? "its configuration has other proxies or chains" : "the region has none");
}

static void attach_names(const struct config *c)
{
    int r = shared_region_names(region, region_size, c, &names);
    if (r < 0)
        log_msg(LOG_ERROR, "cannot use the fake-address map: %s; names meant for the proxy will fail",
                r == -ESTALE ? "it was made for other fake ranges than this process's configuration"
                             : "the fake ranges are unusable");
}

static void set_up(void)
{
    const struct config *c = context_config();
    if (!c)
        return;
    bool remote = config_dns_mode(c) == DNS_REMOTE;
    if (session_dir()) {
        size_t min = shared_region_min_size();
        if (session_map("names", shared_region_size(c, true), min, &region, &region_size) < 0) {
            if (remote)
                log_msg(LOG_ERROR, "no fake-address map: names meant for the proxy will fail");
            return;
        }
    } else if (!region || !remote) {
        return;
    }
    if (!ready(c, session_dir() != NULL))
        return;
    if (session_dir())
        attach_health(c);
    if (remote)
        attach_names(c);
}

struct fakedns *shared_names(void)
{
    pthread_once(&set_up_once, set_up);
    return names;
}

struct chain_health *shared_health(void)
{
    pthread_once(&set_up_once, set_up);
    return health_shared ? &health : NULL;
}
