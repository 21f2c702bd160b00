#include "shared_region.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define SHARED_MAGIC 0x534b5352u   /* "SKSR" */
#define SHARED_VERSION 1u
#define HEAD_SIZE 64

enum { REGION_BLANK, REGION_FORMATTING, REGION_READY };

/* Written once by the formatting process, before it publishes REGION_READY; read-only after. */
struct shared_head {
    _Atomic uint32_t state;
    uint32_t magic, version;
    uint32_t has_names, has_marks;
    uint64_t proxy_count, chain_count;
};

_Static_assert(sizeof(struct shared_head) <= HEAD_SIZE, "the header outgrew its place");

static size_t names_size(void)
{
    return fakedns_region_size(SHARED_REGION_NAMES);
}

/* The marks follow the map, 8-aligned (chain_health_attach wants it). */
static size_t marks_offset(void)
{
    return (HEAD_SIZE + names_size() + 7) / 8 * 8;
}

size_t shared_region_min_size(void)
{
    return marks_offset();
}

size_t shared_region_size(const struct config *c, bool with_marks)
{
    return marks_offset() + (with_marks ? chain_health_area_size(c->proxy_count, c->chain_count) : 0);
}

bool shared_region_claim(void *region)
{
    struct shared_head *head = region;
    uint32_t blank = REGION_BLANK;
    return atomic_compare_exchange_strong(&head->state, &blank, REGION_FORMATTING);
}

void shared_region_format(void *region, const struct config *c, bool with_marks)
{
    struct shared_head *head = region;
    head->magic = SHARED_MAGIC;
    head->version = SHARED_VERSION;
    head->has_names = fakedns_create((char *)region + HEAD_SIZE, SHARED_REGION_NAMES, &c->fake_range,
                                     &c->fake_range6) != NULL;
    head->has_marks = with_marks;
    head->proxy_count = c->proxy_count;
    head->chain_count = c->chain_count;
    /* A zero-filled area is every proxy up: nothing to write for the marks. */
    atomic_store(&head->state, REGION_READY);   /* publishes everything above */
}

bool shared_region_prepare(void *region, const struct config *c, bool with_marks)
{
    if (shared_region_claim(region))
        shared_region_format(region, c, with_marks);
    for (int i = 0; i < 2000; i++) {
        if (shared_region_ready(region))
            return true;
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    return false;
}

bool shared_region_ready(const void *region)
{
    const struct shared_head *head = region;
    return atomic_load(&((struct shared_head *)head)->state) == REGION_READY;
}

/* The header of a ready, well-formed region: 0, -EAGAIN, -EPROTO. */
static int check_head(const struct shared_head *head, size_t size)
{
    if (size < shared_region_min_size())
        return -EPROTO;
    if (!shared_region_ready(head))
        return -EAGAIN;
    return head->magic == SHARED_MAGIC && head->version == SHARED_VERSION ? 0 : -EPROTO;
}

int shared_region_names(void *region, size_t size, const struct config *c, struct fakedns **out)
{
    struct shared_head *head = region;
    int r = check_head(head, size);
    if (r < 0)
        return r;
    if (!head->has_names)
        return -EINVAL;
    struct fakedns *map = fakedns_attach((char *)region + HEAD_SIZE);
    if (!map)
        return -EPROTO;
    if (!fakedns_has_ranges(map, &c->fake_range, &c->fake_range6))
        return -ESTALE;
    *out = map;
    return 0;
}

int shared_region_marks(void *region, size_t size, const struct config *c, struct chain_health *out)
{
    struct shared_head *head = region;
    int r = check_head(head, size);
    if (r < 0)
        return r;
    if (!head->has_marks)
        return -ENOENT;
    if (head->proxy_count != c->proxy_count || head->chain_count != c->chain_count)
        return -ESTALE;
    if (size < marks_offset() + chain_health_area_size(c->proxy_count, c->chain_count))
        return -EPROTO;
    chain_health_attach(out, (char *)region + marks_offset(), c->proxy_count, c->chain_count);
    return 0;
}
