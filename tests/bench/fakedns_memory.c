/* bench-fakedns: the fake-address map as the library sets it up (65536 names in a shared
 * anonymous MAP_NORESERVE mapping), fed 100 000 distinct names; prints the region's virtual
 * and resident size and the cost of an insert and of a lookup each way. Exits 1 if any live
 * name does not map both ways. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fakedns.h"

#define CAPACITY 65536
#define NAMES 100000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident bytes of [p, p+len), from mincore. */
static size_t resident(void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (len + page - 1) / page, n = 0;
    unsigned char *vec = malloc(pages);
    if (!vec || mincore(p, len, vec) < 0) {
        free(vec);
        return 0;
    }
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    return n * page;
}

static double mib(size_t bytes)
{
    return (double)bytes / 1048576.0;
}

int main(void)
{
    struct cidr r4, r6;
    if (cidr_parse("198.18.0.0/15", &r4) != 0 || cidr_parse("fd53:6f63:6b73::/96", &r6) != 0)
        return 1;
    size_t size = fakedns_region_size(CAPACITY);
    void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct fakedns *map = region == MAP_FAILED ? NULL : fakedns_create(region, CAPACITY, &r4, &r6);
    if (!map) {
        fprintf(stderr, "bench-fakedns: cannot set up the map\n");
        return 1;
    }
    uint32_t cap = fakedns_capacity(map);
    printf("fake-address map: capacity %u names, region %.1f MiB virtual, %.2f MiB resident when empty\n",
           cap, mib(size), mib(resident(region, size)));

    char name[64];
    union sockaddr_any a;
    double t0 = now();
    for (int i = 0; i < NAMES; i++) {
        snprintf(name, sizeof(name), "host%d.example.com", i);
        if (fakedns_address_for(map, name, AF_INET, &a) != 0)
            return 1;
    }
    double t1 = now();
    printf("after %d distinct names: %u mapped, %.2f MiB resident\n", NAMES, fakedns_count(map),
           mib(resident(region, size)));

    /* By address: every address the map can hand out, in order. */
    char (*live)[FAKEDNS_NAME_MAX + 1] = calloc(cap, FAKEDNS_NAME_MAX + 1);
    uint32_t *at = calloc(cap, sizeof(*at));   /* entry number each live name was found at */
    if (!live || !at)
        return 1;
    memset(live, 1, (size_t)cap * sizeof(*live));   /* fault the buffer in outside the timing */
    uint32_t base = (uint32_t)r4.addr[0] << 24 | (uint32_t)r4.addr[1] << 16 | (uint32_t)r4.addr[2] << 8 | r4.addr[3];
    uint32_t nlive = 0;
    double t2 = now();
    for (uint32_t n = 0; n < cap; n++) {
        memset(&a, 0, sizeof(a));
        a.in4.sin_family = AF_INET;
        a.in4.sin_addr.s_addr = htonl(base + 1 + n);
        if (fakedns_name_for(map, &a, live[nlive]) == 0)
            at[nlive++] = n;
    }
    double t3 = now();
    /* By name: each live name must come back to the address it was found at. */
    uint32_t wrong = 0;
    double t4 = now();
    for (uint32_t i = 0; i < nlive; i++)
        if (fakedns_address_for(map, live[i], AF_INET, &a) != 0 || ntohl(a.in4.sin_addr.s_addr) != base + 1 + at[i])
            wrong++;
    double t5 = now();
    printf("%.0f ns per insert (%d names, %d of them evicting), %.0f ns per lookup by address, "
           "%.0f ns per lookup by name\n",
           (t1 - t0) / NAMES * 1e9, NAMES, NAMES > (int)cap ? NAMES - (int)cap : 0,
           (t3 - t2) / cap * 1e9, (t5 - t4) / (nlive ? nlive : 1) * 1e9);
    printf("%u live names, %u of them mapping back to another address\n", nlive, wrong);
    free(live);
    free(at);
    return nlive == cap && nlive == fakedns_count(map) && wrong == 0 ? 0 : 1;
}
