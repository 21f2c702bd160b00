#include "fakemap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "context.h"

/* Enough names for any long-running program; the pages are touched only as names arrive. */
#define FAKEMAP_CAPACITY 65536
#define HEAD_SIZE 64

/* The region is mapped when the library loads, before the program can fork, so that every
 * process of the family sees one map; the first of them to need it formats it. */
enum { REGION_BLANK, REGION_FORMATTING, REGION_READY };

struct region_head {
    _Atomic unsigned state;
};

static void *region;
static struct fakedns *map;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;

__attribute__((constructor)) static void map_region(void)
{
    size_t size = HEAD_SIZE + fakedns_region_size(FAKEMAP_CAPACITY);
    void *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    region = r == MAP_FAILED ? NULL : r;
}

/* Waits (at most 2 s) for another process of the family to finish formatting. */
static bool wait_ready(struct region_head *head)
{
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(&head->state) == REGION_READY)
            return true;
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    return false;
}

static void set_up(void)
{
    const struct config *c = context_config();
    if (!c || config_dns_mode(c) != DNS_REMOTE || !region)
        return;
    struct region_head *head = region;
    void *body = (char *)region + HEAD_SIZE;
    unsigned blank = REGION_BLANK;
    if (atomic_compare_exchange_strong(&head->state, &blank, REGION_FORMATTING)) {
        map = fakedns_create(body, FAKEMAP_CAPACITY, &c->fake_range, &c->fake_range6);
        atomic_store(&head->state, REGION_READY);
    } else if (wait_ready(head)) {
        map = fakedns_attach(body);
    }
    if (!map)
        log_msg(LOG_ERROR, "cannot set up the fake-address map: names meant for the proxy will fail");
}

struct fakedns *fakemap(void)
{
    pthread_once(&map_once, set_up);
    return map;
}
