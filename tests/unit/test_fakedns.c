/* Unit tests for core/fakedns.c: the name <-> fake address map, under threads and fork. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakedns.h"
#include "helpers.h"

static void *region;
static size_t region_size;

/* A shared anonymous region, as the library maps it, so fork tests see one map. */
static struct fakedns *new_map(uint32_t capacity, const char *r4, const char *r6)
{
    struct cidr c4, c6;
    cr_assert_eq(cidr_parse(r4, &c4), 0);
    cr_assert_eq(cidr_parse(r6, &c6), 0);
    region_size = fakedns_region_size(capacity);
    region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(region, MAP_FAILED);
    return fakedns_create(region, capacity, &c4, &c6);
}

static struct fakedns *default_map(uint32_t capacity)
{
    struct fakedns *m = new_map(capacity, "198.18.0.0/15", "fd53:6f63:6b73::/96");
    cr_assert_not_null(m);
    return m;
}

static void unmap(void)
{
    if (region)
        munmap(region, region_size);
    region = NULL;
}

TestSuite(fakedns, .fini = unmap);

static union sockaddr_any address_for(struct fakedns *m, const char *name, int family)
{
    union sockaddr_any a;
    cr_assert_eq(fakedns_address_for(m, name, family, &a), 0, "%s", name);
    return a;
}

static void assert_name(struct fakedns *m, const union sockaddr_any *a, const char *want)
{
    char name[FAKEDNS_NAME_MAX + 1];
    cr_assert_eq(fakedns_name_for(m, a, name), 0, "no name for the address of %s", want);
    cr_assert_str_eq(name, want);
}

/* The IPv4 address of entry n in the default range: 198.18.0.0 + 1 + n. */
static union sockaddr_any nth_v4(uint32_t n)
{
    char text[32];
    uint32_t a = (198u << 24 | 18u << 16) + 1 + n;
    snprintf(text, sizeof(text), "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    return test_addr(text, 0);
}

/* Every address of a default-range map: a mapped one names a name that maps back to it, no
 * two share a name (that would break the mapping back), and the mapped ones are counted. */
static void assert_consistent(struct fakedns *m)
{
    uint32_t mapped = 0;
    for (uint32_t n = 0; n < fakedns_capacity(m); n++) {
        union sockaddr_any a = nth_v4(n), back;
        char name[FAKEDNS_NAME_MAX + 1];
        int r = fakedns_name_for(m, &a, name);
        if (r == -ENOENT)
            continue;
        cr_assert_eq(r, 0);
        mapped++;
        cr_assert_eq(fakedns_address_for(m, name, AF_INET, &back), 0);
        cr_assert(addr_equal(&back, &a), "entry %u names %s, which maps elsewhere", n, name);
    }
    cr_assert_eq(fakedns_count(m), mapped, "count %u, %u addresses mapped", fakedns_count(m), mapped);
    cr_assert_leq(mapped, fakedns_capacity(m));
}

Test(fakedns, both_ways_v4_and_v6)
{
    struct fakedns *m = default_map(1024);
    union sockaddr_any a4 = address_for(m, "example.com", AF_INET);
    union sockaddr_any a6 = address_for(m, "example.com", AF_INET6);
    union sockaddr_any want4 = test_addr("198.18.0.1", 0), want6 = test_addr("fd53:6f63:6b73::1", 0);
    cr_assert(addr_equal(&a4, &want4), "first IPv4 address is the range's first usable one");
    cr_assert(addr_equal(&a6, &want6), "IPv6 uses the same index");
    assert_name(m, &a4, "example.com");
    assert_name(m, &a6, "example.com");
    cr_assert_eq(fakedns_count(m), 1);
}

Test(fakedns, find_allocates_nothing)
{
    /* Names a UDP relay labels datagrams with come from the network: only known ones map back. */
    struct fakedns *m = default_map(1024);
    union sockaddr_any a;
    cr_assert_eq(fakedns_find_address(m, "example.com", AF_INET, &a), -ENOENT);
    cr_assert_eq(fakedns_count(m), 0);
    union sockaddr_any want = address_for(m, "example.com", AF_INET6);
    cr_assert_eq(fakedns_find_address(m, "EXAMPLE.com.", AF_INET6, &a), 0);
    cr_assert(addr_equal(&a, &want));
    cr_assert_eq(fakedns_find_address(m, "", AF_INET, &a), -EINVAL);
    cr_assert_eq(fakedns_find_address(m, "example.com", AF_UNIX, &a), -EINVAL);
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d.example", i);
        cr_assert_eq(fakedns_find_address(m, name, AF_INET, &a), -ENOENT);
    }
    cr_assert_eq(fakedns_count(m), 1);
}

Test(fakedns, names_are_case_insensitive_and_dot_insensitive)
{
    struct fakedns *m = default_map(64);
    union sockaddr_any a = address_for(m, "Example.COM.", AF_INET);
    union sockaddr_any b = address_for(m, "example.com", AF_INET);
    cr_assert(addr_equal(&a, &b));
    assert_name(m, &a, "example.com");
}

Test(fakedns, distinct_names_get_distinct_addresses)
{
    struct fakedns *m = default_map(1000);
    union sockaddr_any seen[300];
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof(name), "host%d.example", i);
        seen[i] = address_for(m, name, AF_INET);
        for (int j = 0; j < i; j++)
            cr_assert_not(addr_equal(&seen[i], &seen[j]), "%d and %d share an address", i, j);
        assert_name(m, &seen[i], name);
    }
    cr_assert_eq(fakedns_count(m), 300);
}

Test(fakedns, bad_names_are_einval)
{
    struct fakedns *m = default_map(16);
    union sockaddr_any a;
    char long_name[300];
    memset(long_name, 'a', 256);
    long_name[256] = '\0';
    cr_assert_eq(fakedns_address_for(m, "", AF_INET, &a), -EINVAL);
    cr_assert_eq(fakedns_address_for(m, ".", AF_INET, &a), -EINVAL);
    cr_assert_eq(fakedns_address_for(m, long_name, AF_INET, &a), -EINVAL);
    long_name[255] = '\0';
    cr_assert_eq(fakedns_address_for(m, long_name, AF_INET, &a), 0, "255 characters fit");
    cr_assert_eq(fakedns_address_for(m, "x.example", AF_UNIX, &a), -EINVAL);
}

Test(fakedns, is_fake_and_unmapped)
{
    struct fakedns *m = default_map(16);
    union sockaddr_any in = test_addr("198.19.255.200", 80), out = test_addr("198.20.0.1", 80);
    union sockaddr_any mapped = test_addr("::ffff:198.18.0.9", 80), v6 = test_addr("fd53:6f63:6b73::5", 80);
    union sockaddr_any other6 = test_addr("fd53:6f63:6b74::5", 80);
    cr_assert(fakedns_is_fake(m, &in));
    cr_assert(fakedns_is_fake(m, &mapped));
    cr_assert(fakedns_is_fake(m, &v6));
    cr_assert_not(fakedns_is_fake(m, &out));
    cr_assert_not(fakedns_is_fake(m, &other6));
    char name[FAKEDNS_NAME_MAX + 1];
    cr_assert_eq(fakedns_name_for(m, &in, name), -ENOENT, "beyond the capacity");
    cr_assert_eq(fakedns_name_for(m, &v6, name), -ENOENT, "not handed out yet");
    union sockaddr_any network = test_addr("198.18.0.0", 0);
    cr_assert_eq(fakedns_name_for(m, &network, name), -ENOENT);
    union sockaddr_any a = address_for(m, "mapped.example", AF_INET);
    union sockaddr_any as_mapped = a;
    addr_to_v4mapped(&as_mapped);
    assert_name(m, &as_mapped, "mapped.example");
}

Test(fakedns, capacity_is_clamped_to_the_ranges)
{
    struct fakedns *m = new_map(100, "10.9.9.0/30", "fd00::/64");
    cr_assert_not_null(m);
    cr_assert_eq(fakedns_capacity(m), 2, "a /30 has two usable addresses");
    union sockaddr_any a = address_for(m, "a", AF_INET), b = address_for(m, "b", AF_INET);
    union sockaddr_any want_a = test_addr("10.9.9.1", 0), want_b = test_addr("10.9.9.2", 0);
    cr_assert(addr_equal(&a, &want_a));
    cr_assert(addr_equal(&b, &want_b), "the broadcast address 10.9.9.3 is never handed out");
    unmap();
    struct cidr c4, c6;
    cidr_parse("10.0.0.0/8", &c4);
    cidr_parse("fd00::/64", &c6);
    cr_assert_null(fakedns_create(region, 4, &c6, &c6), "IPv4 range must be IPv4");
    cr_assert_null(fakedns_create(region, 4, &c4, &c4), "IPv6 range must be IPv6");
}

Test(fakedns, capacity_is_clamped_to_the_ipv6_range_too)
{
    struct fakedns *m = new_map(100, "10.0.0.0/24", "fd00::/126");
    cr_assert_not_null(m);
    cr_assert_eq(fakedns_capacity(m), 3, "a /126 has three usable addresses (no broadcast in IPv6)");
    union sockaddr_any a[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d", i);
        a[i] = address_for(m, name, AF_INET6);
    }
    union sockaddr_any last = test_addr("fd00::3", 0);
    cr_assert(addr_equal(&a[2], &last));
    cr_assert_eq(fakedns_count(m), 3);
    unmap();
    /* An odd capacity (the index then follows an odd number of entries). */
    m = new_map(100, "10.0.0.0/24", "fd00::/127");
    cr_assert_not_null(m);
    cr_assert_eq(fakedns_capacity(m), 1);
    union sockaddr_any x = address_for(m, "x", AF_INET), y = address_for(m, "y", AF_INET);
    cr_assert(addr_equal(&x, &y), "one address, reused");
    assert_name(m, &y, "y");
    char name[FAKEDNS_NAME_MAX + 1];
    union sockaddr_any x6 = test_addr("fd00::1", 0);
    cr_assert_eq(fakedns_name_for(m, &x6, name), 0);
    cr_assert_str_eq(name, "y");
}

Test(fakedns, unusable_ranges_and_capacities)
{
    struct cidr c4, c6, c4_31, c6_128;
    cr_assert_eq(cidr_parse("10.0.0.0/8", &c4), 0);
    cr_assert_eq(cidr_parse("fd00::/64", &c6), 0);
    cr_assert_eq(cidr_parse("10.0.0.0/31", &c4_31), 0);
    cr_assert_eq(cidr_parse("fd00::1/128", &c6_128), 0);
    size_t size = fakedns_region_size(16);
    void *r = calloc(1, size);
    cr_assert_not_null(r);
    cr_assert_null(fakedns_create(r, 0, &c4, &c6), "capacity 0");
    cr_assert_null(fakedns_create(r, 16, &c4_31, &c6), "a /31 has no usable address");
    cr_assert_null(fakedns_create(r, 16, &c4, &c6_128), "a /128 has no usable address");
    cr_assert_null(fakedns_attach(r), "nothing was formatted");
    struct fakedns *m = fakedns_create(r, 16, &c4, &c6);
    cr_assert_not_null(m, "a calloc'ed region does as well as a mapping");
    cr_assert_eq(fakedns_capacity(m), 16);
    cr_assert_eq(fakedns_attach(r), m);
    free(r);
    /* Sizes grow with the capacity and stay finite for any capacity. */
    cr_assert_lt(fakedns_region_size(1), fakedns_region_size(2));
    cr_assert_lt(fakedns_region_size(65536), fakedns_region_size(UINT32_MAX));
}

Test(fakedns, second_chance_spares_touched_names, .timeout = 30)
{
    enum { CAP = 8 };
    struct fakedns *m = default_map(CAP);
    char names[CAP + 1][32];
    union sockaddr_any addrs[CAP + 1];
    for (int i = 0; i <= CAP; i++) {
        snprintf(names[i], sizeof(names[i]), "n%d.example", i);
        addrs[i] = address_for(m, names[i], AF_INET);
        cr_assert_leq(fakedns_count(m), CAP);
    }
    /* n8 took n0's place after one turn of the clock cleared every mark; n1..n7 are unmarked. */
    cr_assert(addr_equal(&addrs[CAP], &addrs[0]));
    char got[FAKEDNS_NAME_MAX + 1];
    cr_assert_eq(fakedns_name_for(m, &addrs[2], got), 0);    /* touched by address */
    cr_assert_eq(fakedns_name_for(m, &addrs[5], got), 0);
    union sockaddr_any again = address_for(m, names[6], AF_INET);   /* touched by name */
    cr_assert(addr_equal(&again, &addrs[6]), "a mapped name keeps its address");
    /* Four new names go where the untouched n1, n3, n4, n7 were, in the clock's order. */
    const int evicted[] = { 1, 3, 4, 7 };
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof(name), "x%d.example", k);
        union sockaddr_any x = address_for(m, name, AF_INET);
        cr_assert(addr_equal(&x, &addrs[evicted[k]]), "x%d did not replace n%d", k, evicted[k]);
        assert_name(m, &addrs[evicted[k]], name);
        cr_assert_eq(fakedns_count(m), CAP);
    }
    const int kept[] = { 2, 5, 6, 8 };
    for (int k = 0; k < 4; k++)
        assert_name(m, &addrs[kept[k]], names[kept[k]]);
    /* An evicted name comes back at a new address. Every entry is marked now (the x's when
     * added, the kept ones just looked up), so the clock turns once and takes the entry at
     * the hand, n8's. */
    union sockaddr_any n1 = address_for(m, names[1], AF_INET);
    cr_assert_not(addr_equal(&n1, &addrs[1]));
    cr_assert(addr_equal(&n1, &addrs[0]));
    cr_assert_eq(fakedns_name_for(m, &addrs[0], got), 0);
    cr_assert_str_eq(got, names[1], "n8 was evicted");
    assert_name(m, &n1, names[1]);
    assert_consistent(m);
}

Test(fakedns, full_map_reuses_the_least_recently_used)
{
    struct fakedns *m = default_map(4);
    union sockaddr_any a[4];
    const char *names[] = { "a", "b", "c", "d" };
    for (int i = 0; i < 4; i++)
        a[i] = address_for(m, names[i], AF_INET);
    /* Everything was just used; one full turn of the clock clears that. Then "b" is used again. */
    union sockaddr_any e = address_for(m, "e", AF_INET);
    cr_assert(addr_equal(&e, &a[0]), "after a full turn the oldest entry goes first");
    assert_name(m, &a[1], "b");   /* marks b recently used */
    union sockaddr_any f = address_for(m, "f", AF_INET);
    cr_assert(addr_equal(&f, &a[2]), "b was looked up, so c is evicted instead");
    char name[FAKEDNS_NAME_MAX + 1];
    cr_assert_eq(fakedns_name_for(m, &a[0], name), 0);
    cr_assert_str_eq(name, "e", "a's old address now names e");
    cr_assert_eq(fakedns_count(m), 4, "never more than the capacity");
    union sockaddr_any again = address_for(m, "a", AF_INET);
    cr_assert_not(addr_equal(&again, &a[0]), "an evicted name gets a new address");
    assert_name(m, &again, "a");
    assert_name(m, &a[1], "b");
}

Test(fakedns, eviction_keeps_the_index_consistent, .timeout = 30)
{
    struct fakedns *m = default_map(64);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 100; i++) {
            char name[48];
            snprintf(name, sizeof(name), "r%d-n%d.example", round, i);
            union sockaddr_any a = address_for(m, name, AF_INET);
            assert_name(m, &a, name);
            union sockaddr_any b = address_for(m, name, AF_INET);
            cr_assert(addr_equal(&a, &b), "%s moved while it was mapped", name);
        }
    }
    cr_assert_eq(fakedns_count(m), 64);
}

struct worker {
    struct fakedns *map;
    int id;
    bool ok;
};

static void *lookup_many(void *arg)
{
    struct worker *w = arg;
    w->ok = true;
    for (int i = 0; i < 2000; i++) {
        char name[32], back[FAKEDNS_NAME_MAX + 1];
        snprintf(name, sizeof(name), "t%d.example", (i * 7 + w->id * 13) % 500);   /* overlapping sets */
        union sockaddr_any a;
        if (fakedns_address_for(w->map, name, i % 2 ? AF_INET6 : AF_INET, &a) != 0 ||
            fakedns_name_for(w->map, &a, back) != 0 || strcmp(back, name) != 0)
            w->ok = false;
    }
    return NULL;
}

Test(fakedns, many_threads_at_once, .timeout = 30)
{
    struct fakedns *m = default_map(4096);
    pthread_t threads[16];
    struct worker workers[16];
    for (int i = 0; i < 16; i++) {
        workers[i] = (struct worker){ .map = m, .id = i };
        cr_assert_eq(pthread_create(&threads[i], NULL, lookup_many, &workers[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(threads[i], NULL);
        cr_assert(workers[i].ok, "thread %d saw a wrong answer", i);
    }
    cr_assert_eq(fakedns_count(m), 500, "each name mapped exactly once");
    static bool taken[4096];
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof(name), "t%d.example", i);
        union sockaddr_any a = address_for(m, name, AF_INET), a6 = address_for(m, name, AF_INET6);
        assert_name(m, &a, name);
        assert_name(m, &a6, name);
        uint32_t n = ntohl(a.in4.sin_addr.s_addr) - (198u << 24 | 18u << 16) - 1;
        cr_assert_lt(n, 4096);
        cr_assert_not(taken[n], "%s shares an address", name);
        taken[n] = true;
    }
    assert_consistent(m);
}

static void *churn(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 2000; i++) {
        char name[32], back[FAKEDNS_NAME_MAX + 1];
        snprintf(name, sizeof(name), "c%d.example", (i * 31 + w->id * 101) % 1000);
        union sockaddr_any a;
        if (fakedns_address_for(w->map, name, i % 2 ? AF_INET6 : AF_INET, &a) != 0)
            w->ok = false;
        /* Another thread may have reused the address since: any answer must be a whole name. */
        if (fakedns_name_for(w->map, &a, back) == 0 && strncmp(back, "c", 1) != 0)
            w->ok = false;
    }
    return NULL;
}

Test(fakedns, many_threads_while_entries_are_reused, .timeout = 30)
{
    struct fakedns *m = default_map(128);
    pthread_t threads[16];
    struct worker workers[16];
    for (int i = 0; i < 16; i++) {
        workers[i] = (struct worker){ .map = m, .id = i, .ok = true };
        cr_assert_eq(pthread_create(&threads[i], NULL, churn, &workers[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(threads[i], NULL);
        cr_assert(workers[i].ok, "thread %d saw a wrong answer", i);
    }
    cr_assert_eq(fakedns_count(m), 128);
    assert_consistent(m);
}

/* Runs fn in a forked child sharing the region; asserts it exited 0. */
static void in_child(int (*fn)(struct fakedns *), struct fakedns *m)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(fn(m));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed with status %d", status);
}

static int child_reads_parent_and_adds(struct fakedns *m)
{
    union sockaddr_any a;
    char name[FAKEDNS_NAME_MAX + 1];
    if (fakedns_address_for(m, "parent.example", AF_INET, &a) != 0)
        return 1;
    union sockaddr_any want = test_addr("198.18.0.1", 0);
    if (!addr_equal(&a, &want) || fakedns_name_for(m, &a, name) != 0 || strcmp(name, "parent.example") != 0)
        return 2;
    return fakedns_address_for(m, "child.example", AF_INET, &a) == 0 ? 0 : 3;
}

Test(fakedns, shared_with_forked_children_both_ways)
{
    struct fakedns *m = default_map(128);
    address_for(m, "parent.example", AF_INET);
    in_child(child_reads_parent_and_adds, m);
    union sockaddr_any child_addr = test_addr("198.18.0.2", 0);
    assert_name(m, &child_addr, "child.example");
    cr_assert_eq(fakedns_attach(region), m, "a process sharing the region finds the same map");
}

static int child_uses_ipv6(struct fakedns *m)
{
    union sockaddr_any a;
    char name[FAKEDNS_NAME_MAX + 1];
    union sockaddr_any parent6 = test_addr("fd53:6f63:6b73::1", 0);
    if (fakedns_name_for(m, &parent6, name) != 0 || strcmp(name, "parent6.example") != 0)
        return 1;
    if (fakedns_address_for(m, "Child6.Example.", AF_INET6, &a) != 0)
        return 2;
    union sockaddr_any want = test_addr("fd53:6f63:6b73::2", 0);
    return addr_equal(&a, &want) ? 0 : 3;
}

Test(fakedns, forked_children_over_ipv6)
{
    struct fakedns *m = default_map(128);
    address_for(m, "parent6.example", AF_INET6);
    in_child(child_uses_ipv6, m);
    union sockaddr_any child4 = test_addr("198.18.0.2", 0);
    assert_name(m, &child4, "child6.example");
    cr_assert_eq(fakedns_count(m), 2);
}

/* Inserts new names until killed: most of its time is spent holding the lock. */
static void insert_forever(struct fakedns *m, int round)
{
    for (unsigned i = 0;; i++) {
        char name[48];
        snprintf(name, sizeof(name), "dead%d-%u.example", round, i);
        union sockaddr_any a;
        fakedns_address_for(m, name, i % 2 ? AF_INET6 : AF_INET, &a);
    }
}

/* A process killed while it holds the lock (and is half-way through an insert or eviction)
 * leaves a map the others can still lock and use; nothing in the public API shows whether a
 * given kill hit the critical section, so this kills often at varying moments. */
Test(fakedns, survives_a_process_killed_while_holding_the_lock, .timeout = 60)
{
    struct fakedns *m = default_map(64);
    for (int round = 0; round < 60; round++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            insert_forever(m, round);
            _exit(0);
        }
        usleep(200 + (unsigned)(round * 397) % 3000);
        cr_assert_eq(kill(pid, SIGKILL), 0);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_consistent(m);
        char name[32];
        snprintf(name, sizeof(name), "after%d.example", round);
        union sockaddr_any a = address_for(m, name, AF_INET);
        assert_name(m, &a, name);
    }
}

Test(fakedns, attach_needs_a_formatted_region)
{
    char blank[256] = { 0 };
    cr_assert_null(fakedns_attach(blank));
    cr_assert_null(fakedns_attach(NULL));
}
