/* bench-fakedns: the fake-address map as the library sets it up (65536 names, a shared
 * anonymous mapping), fed 100 000 distinct names; prints its virtual and resident size and the
 * cost of a lookup each way. */
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
    if (!vec || mincore(p, len, vec) < 0)
        return 0;
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    return n * page;
}

int main(void)
{
    struct cidr r4, r6;
    cidr_parse("198.18.0.0/15", &r4);
    cidr_parse("fd53:6f63:6b73::/96", &r6);
    size_t size = fakedns_region_size(CAPACITY);
    void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct fakedns *map = region == MAP_FAILED ? NULL : fakedns_create(region, CAPACITY, &r4, &r6);
    if (!map) {
        fprintf(stderr, "bench-fakedns: cannot set up the map\n");
        return 1;
    }
    printf("fake-address map: capacity %u names, %.1f MiB virtual, %.1f MiB resident when empty\n",
           fakedns_capacity(map), size / 1048576.0, resident(region, size) / 1048576.0);
    char name[64];
    union sockaddr_any a;
    double t0 = now();
    for (int i = 0; i < NAMES; i++) {
        snprintf(name, sizeof(name), "host%d.example.com", i);
        if (fakedns_address_for(map, name, AF_INET, &a) != 0)
            return 1;
    }
    double t1 = now();
    char back[FAKEDNS_NAME_MAX + 1];
    int live = 0;
    for (int i = NAMES - CAPACITY; i < NAMES; i++) {
        snprintf(name, sizeof(name), "host%d.example.com", i);
        fakedns_address_for(map, name, AF_INET, &a);
        live += fakedns_name_for(map, &a, back) == 0 && strcmp(back, name) == 0;
    }
    double t2 = now();
    printf("after %d distinct names: %u mapped, %.1f MiB resident; %.0f ns per new name, "
           "%.0f ns per lookup of a live name both ways; %d of the last %d names answer correctly\n",
           NAMES, fakedns_count(map), resident(region, size) / 1048576.0, (t1 - t0) / NAMES * 1e9,
           (t2 - t1) / CAPACITY * 1e9, live, CAPACITY);
    return live == CAPACITY ? 0 : 1;
}
