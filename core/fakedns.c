#include "fakedns.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define FAKEDNS_MAGIC 0x534b4644u   /* "SKFD" */
#define FAKEDNS_VERSION 2u
/* Beyond any range anyone configures; keeps the index size (2 * capacity, a power of two)
 * within 32 bits. */
#define FAKEDNS_CAPACITY_LIMIT (1u << 30)

struct entry {
    uint32_t hash;                    /* of name, so probes and index moves rarely read names */
    bool used;
    bool referenced;                  /* looked up since the clock hand last passed */
    char name[FAKEDNS_NAME_MAX + 1];  /* lower case, no trailing dot */
};

/* Everything lives in the caller's region: this header, then entries[capacity] (entry i is
 * address base + 1 + i in either range), then index[index_size] (entry number + 1 per slot,
 * 0 for empty; linear probing, backward-shift deletion). Only the lock and the fields below
 * it change after fakedns_create. */
struct fakedns {
    _Atomic uint32_t magic;
    uint32_t version;
    uint32_t capacity, index_size;
    struct cidr range4, range6;
    pthread_mutex_t lock;
    uint32_t taken;   /* entries 0..taken-1 have been handed out at least once */
    uint32_t count;   /* entries in use (names mapped) */
    uint32_t hand;    /* the clock */
};

static struct entry *entries(struct fakedns *m)
{
    return (struct entry *)(void *)((char *)m + sizeof(struct fakedns));
}

static uint32_t *index_slots(struct fakedns *m)
{
    return (uint32_t *)(void *)((char *)entries(m) + (size_t)m->capacity * sizeof(struct entry));
}

static uint32_t index_size_for(uint32_t capacity)
{
    uint32_t size = 16;
    while (size < 2 * (uint64_t)capacity)
        size *= 2;
    return size;
}

size_t fakedns_region_size(uint32_t capacity)
{
    if (capacity > FAKEDNS_CAPACITY_LIMIT)
        capacity = FAKEDNS_CAPACITY_LIMIT;
    return sizeof(struct fakedns) + (size_t)capacity * sizeof(struct entry) + (size_t)index_size_for(capacity) * sizeof(uint32_t);
}

/* Addresses a range can hand out: all but the network address (and IPv4's broadcast). */
static uint64_t usable(const struct cidr *r)
{
    unsigned host_bits = (r->family == AF_INET ? 32 : 128) - r->prefix;
    if (host_bits >= 33)
        return UINT32_MAX;
    uint64_t n = (1ull << host_bits) - (r->family == AF_INET ? 2 : 1);
    return n > UINT32_MAX ? UINT32_MAX : n;
}

struct fakedns *fakedns_create(void *region, uint32_t capacity, const struct cidr *range4, const struct cidr *range6)
{
    if (!region || !range4 || !range6 || range4->family != AF_INET || range6->family != AF_INET6 ||
        range4->prefix > 30 || range6->prefix > 127)
        return NULL;
    uint64_t fit = capacity < FAKEDNS_CAPACITY_LIMIT ? capacity : FAKEDNS_CAPACITY_LIMIT;
    fit = fit < usable(range4) ? fit : usable(range4);
    fit = fit < usable(range6) ? fit : usable(range6);
    if (fit == 0)
        return NULL;
    /* The region comes zero-filled (a fresh anonymous mapping): writing only the header keeps
     * the untouched entries and index out of memory until names arrive. */
    struct fakedns *m = region;
    m->version = FAKEDNS_VERSION;
    m->taken = m->count = m->hand = 0;
    m->capacity = (uint32_t)fit;
    m->index_size = index_size_for(m->capacity);
    m->range4 = *range4;
    m->range6 = *range6;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    atomic_store(&m->magic, FAKEDNS_MAGIC);   /* publishes the header to fakedns_attach */
    return m;
}

struct fakedns *fakedns_attach(void *region)
{
    struct fakedns *m = region;
    return m && atomic_load(&m->magic) == FAKEDNS_MAGIC && m->version == FAKEDNS_VERSION ? m : NULL;
}

uint32_t fakedns_capacity(const struct fakedns *map)
{
    return map->capacity;
}

/* Lower-cases name into out without its trailing dot; false if empty or too long. */
static bool normalize(const char *name, char *out)
{
    size_t n = strnlen(name, FAKEDNS_NAME_MAX + 2);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > FAKEDNS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[n] = '\0';
    return true;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The index slot holding name (of hash h), or the empty slot where it would go. */
static uint32_t find_slot(struct fakedns *m, const char *name, uint32_t h, bool *found)
{
    uint32_t *slots = index_slots(m), mask = m->index_size - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {   /* ends: at most half the slots are full */
        if (slots[i] == 0) {
            *found = false;
            return i;
        }
        const struct entry *e = &entries(m)[slots[i] - 1];
        if (e->hash == h && strcmp(e->name, name) == 0) {
            *found = true;
            return i;
        }
    }
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void index_remove(struct fakedns *m, uint32_t slot)
{
    uint32_t *slots = index_slots(m), mask = m->index_size - 1;
    uint32_t hole = slot;
    for (uint32_t i = (hole + 1) & mask; slots[i] != 0; i = (i + 1) & mask) {
        uint32_t home = entries(m)[slots[i] - 1].hash & mask;
        /* Move the entry into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            slots[hole] = slots[i];
            hole = i;
        }
    }
    slots[hole] = 0;
}

/* After a process died holding the lock, anything it was changing may be half done: rebuild
 * the index from the entries, dropping any entry that is not a whole, unique name. Inserts
 * clear `used` before touching an entry and set it last, so a used entry holds a whole name. */
static void recover(struct fakedns *m)
{
    if (m->taken > m->capacity)
        m->taken = m->capacity;
    if (m->hand >= m->capacity)
        m->hand = 0;
    m->count = 0;
    memset(index_slots(m), 0, (size_t)m->index_size * sizeof(uint32_t));
    for (uint32_t n = 0; n < m->taken; n++) {
        struct entry *e = &entries(m)[n];
        e->name[FAKEDNS_NAME_MAX] = '\0';
        if (!e->used || e->name[0] == '\0') {
            e->used = false;
            continue;
        }
        e->hash = hash(e->name);
        bool found;
        uint32_t slot = find_slot(m, e->name, e->hash, &found);
        if (found) {
            e->used = false;
        } else {
            index_slots(m)[slot] = n + 1;
            m->count++;
        }
    }
}

static void lock(struct fakedns *m)
{
    /* The mutex is robust and we always make it consistent again, so the only error left
     * (ENOTRECOVERABLE) cannot happen. */
    if (pthread_mutex_lock(&m->lock) == EOWNERDEAD) {
        recover(m);
        pthread_mutex_consistent(&m->lock);
    }
}

static void unlock(struct fakedns *m)
{
    pthread_mutex_unlock(&m->lock);
}

/* Keeps the compiler from reordering the stores around it, so a process killed in the middle
 * of an insert leaves what recover() expects. */
#define ORDERED() atomic_signal_fence(memory_order_seq_cst)

/* An entry to (re)use, out of the index and unused: a fresh one while there are any, then the
 * clock's first unreferenced one (the referenced ones it passes lose their mark). */
static uint32_t take_entry(struct fakedns *m)
{
    if (m->taken < m->capacity)
        return m->taken++;
    for (;;) {   /* ends within two turns: the first clears every mark */
        uint32_t n = m->hand;
        struct entry *e = &entries(m)[n];
        m->hand = n + 1 == m->capacity ? 0 : n + 1;
        if (e->referenced) {
            e->referenced = false;
            continue;
        }
        if (e->used) {
            e->used = false;
            ORDERED();
            bool found;
            uint32_t slot = find_slot(m, e->name, e->hash, &found);
            if (found)
                index_remove(m, slot);
            m->count--;
        }
        return n;
    }
}

static uint32_t v4_bits(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void address_of(const struct fakedns *m, uint32_t n, int family, union sockaddr_any *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t offset = (uint64_t)n + 1;   /* skip the network address */
    if (family == AF_INET) {
        out->in4.sin_family = AF_INET;
        uint32_t a = v4_bits(m->range4.addr) + (uint32_t)offset;
        uint8_t *b = (uint8_t *)&out->in4.sin_addr;
        b[0] = (uint8_t)(a >> 24), b[1] = (uint8_t)(a >> 16), b[2] = (uint8_t)(a >> 8), b[3] = (uint8_t)a;
        return;
    }
    out->in6.sin6_family = AF_INET6;
    uint8_t *b = out->in6.sin6_addr.s6_addr;
    memcpy(b, m->range6.addr, 16);
    /* The offset fits in the range's host bits (all zero in the base): add it with carry. */
    for (int i = 15; i >= 0 && offset; i--) {
        uint64_t sum = b[i] + (offset & 0xff);
        b[i] = (uint8_t)sum;
        offset = (offset >> 8) + (sum >> 8);
    }
}

/* The fake address of name, allocating one if it has none and allocate says so: 0, -ENOENT, -EINVAL. */
static int lookup(struct fakedns *map, const char *name, int family, bool allocate, union sockaddr_any *out)
{
    char norm[FAKEDNS_NAME_MAX + 1];
    if (!name || !normalize(name, norm) || (family != AF_INET && family != AF_INET6))
        return -EINVAL;
    uint32_t h = hash(norm);
    lock(map);
    bool found;
    uint32_t slot = find_slot(map, norm, h, &found);
    uint32_t n = found ? index_slots(map)[slot] - 1 : 0;
    if (!found && allocate) {
        n = take_entry(map);
        struct entry *e = &entries(map)[n];
        strcpy(e->name, norm);
        e->hash = h;
        ORDERED();
        e->used = true;
        ORDERED();
        map->count++;
        /* take_entry may have shifted slots: look for the empty slot again. */
        slot = find_slot(map, norm, h, &found);
        index_slots(map)[slot] = n + 1;
        found = true;
    }
    if (found) {
        entries(map)[n].referenced |= allocate;
        address_of(map, n, family, out);
    }
    unlock(map);
    return found ? 0 : -ENOENT;
}

int fakedns_address_for(struct fakedns *map, const char *name, int family, union sockaddr_any *out)
{
    return lookup(map, name, family, true, out);
}

int fakedns_find_address(struct fakedns *map, const char *name, int family, union sockaddr_any *out)
{
    return lookup(map, name, family, false, out);
}

bool fakedns_is_fake(const struct fakedns *map, const union sockaddr_any *addr)
{
    /* Reads only the ranges, which never change: no lock. cidr_match takes IPv4-mapped IPv6
     * addresses for range4; range6 must only match real IPv6 addresses. */
    return cidr_match(&map->range4, addr) || (addr->sa.sa_family == AF_INET6 && cidr_match(&map->range6, addr));
}

static bool same_range(const struct cidr *a, const struct cidr *b)
{
    return a->family == b->family && a->prefix == b->prefix && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

bool fakedns_has_ranges(const struct fakedns *map, const struct cidr *range4, const struct cidr *range6)
{
    return same_range(&map->range4, range4) && same_range(&map->range6, range6);
}

/* The entry number behind a fake address, or UINT32_MAX if it is outside what the map hands out. */
static uint32_t entry_number(const struct fakedns *m, const union sockaddr_any *addr)
{
    uint64_t off = 0;
    if (cidr_match(&m->range4, addr)) {
        const uint8_t *b = addr->sa.sa_family == AF_INET ? (const uint8_t *)&addr->in4.sin_addr : addr->in6.sin6_addr.s6_addr + 12;
        off = (uint64_t)v4_bits(b) - v4_bits(m->range4.addr);
    } else if (addr->sa.sa_family == AF_INET6 && cidr_match(&m->range6, addr)) {
        const uint8_t *b = addr->in6.sin6_addr.s6_addr;
        for (int i = 0; i < 16; i++) {
            uint8_t d = b[i] - m->range6.addr[i];   /* host bits only: the prefix matched */
            if (i < 11 && d)
                return UINT32_MAX;                  /* beyond 40 bits: more than we ever hand out */
            if (i >= 11)
                off = off << 8 | d;
        }
    } else {
        return UINT32_MAX;
    }
    return off >= 1 && off - 1 < m->capacity ? (uint32_t)(off - 1) : UINT32_MAX;
}

int fakedns_name_for(struct fakedns *map, const union sockaddr_any *addr, char *name)
{
    uint32_t n = entry_number(map, addr);
    if (n == UINT32_MAX)
        return -ENOENT;
    lock(map);
    struct entry *e = &entries(map)[n];
    int r = -ENOENT;
    if (n < map->taken && e->used) {   /* never reads an entry not handed out yet */
        strcpy(name, e->name);
        e->referenced = true;
        r = 0;
    }
    unlock(map);
    return r;
}

uint32_t fakedns_count(struct fakedns *map)
{
    lock(map);
    uint32_t n = map->count;
    unlock(map);
    return n;
}
