/* Unit tests for core/shared_region.c (the layout of the memory a session's processes share) and
 * the parts of core/chain.c and core/fakedns.c it uses: marks kept in a caller's area, a map that
 * checks its ranges. Two "processes" are two views of one MAP_SHARED region, one forked. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared_region.h"

static void parse(struct config *c, const char *text)
{
    char err[256] = "";
    config_init(c);
    cr_assert_eq(config_parse(c, text, "shared.conf", err, sizeof(err)), 0, "%s", err);
}

static const char TWO[] = "proxy a socks5h://10.0.0.1\nproxy b socks5://10.0.0.2\nchain default dynamic a b\n";

static void *map_zeroed(size_t size)
{
    void *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(r, MAP_FAILED);
    return r;
}

Test(shared_region, sizes_grow_with_proxies_and_chains)
{
    struct config one, two;
    parse(&one, "proxy socks5h://10.0.0.1\n");
    parse(&two, TWO);
    cr_assert_eq(shared_region_size(&one, false), shared_region_min_size());
    cr_assert_gt(shared_region_size(&two, true), shared_region_size(&one, true));
    cr_assert_eq(shared_region_size(&two, true) % 8, 0);
    cr_assert_eq(chain_health_area_size(2, 1), 2 * 8 + 8);
    config_free(&one);
    config_free(&two);
}

Test(shared_region, blank_region_is_not_ready_and_only_one_claims_it)
{
    struct config c = { 0 };
    parse(&c, TWO);
    size_t size = shared_region_size(&c, true);
    void *r = map_zeroed(size);
    struct fakedns *names = NULL;
    struct chain_health h;
    cr_assert_eq(shared_region_names(r, size, &c, &names), -EAGAIN);
    cr_assert_eq(shared_region_marks(r, size, &c, &h), -EAGAIN);
    cr_assert(shared_region_claim(r));
    cr_assert_not(shared_region_claim(r), "a second process claimed a region being formatted");
    shared_region_format(r, &c, true);
    cr_assert(shared_region_ready(r));
    cr_assert_not(shared_region_claim(r));
    cr_assert_eq(shared_region_names(r, size, &c, &names), 0);
    cr_assert_eq(shared_region_marks(r, size, &c, &h), 0);
    cr_assert_eq(shared_region_names(r, shared_region_min_size() - 1, &c, &names), -EPROTO);
    munmap(r, size);
    config_free(&c);
}

/* A name one process maps and a proxy it marks down are seen by another (forked, but it attaches
 * afresh, as an exec'd process of a session does). */
Test(shared_region, names_and_marks_cross_processes)
{
    struct config c = { 0 };
    parse(&c, TWO);
    size_t size = shared_region_size(&c, true);
    void *r = map_zeroed(size);
    cr_assert(shared_region_claim(r));
    shared_region_format(r, &c, true);
    pid_t pid = fork();
    if (pid == 0) {
        struct fakedns *names;
        struct chain_health h;
        union sockaddr_any a;
        int ok = shared_region_names(r, size, &c, &names) == 0 && shared_region_marks(r, size, &c, &h) == 0 &&
                 fakedns_address_for(names, "child.example", AF_INET, &a) == 0;
        if (ok)
            chain_mark_down(&h, 1, 5000);
        _exit(ok ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct fakedns *names;
    struct chain_health h;
    cr_assert_eq(shared_region_names(r, size, &c, &names), 0);
    cr_assert_eq(shared_region_marks(r, size, &c, &h), 0);
    union sockaddr_any a;
    cr_assert_eq(fakedns_find_address(names, "child.example", AF_INET, &a), 0);
    cr_assert(chain_proxy_up(&h, 0, 1000));
    cr_assert_not(chain_proxy_up(&h, 1, 1000), "the child's mark is not seen");
    cr_assert(chain_proxy_up(&h, 1, 5000));
    chain_health_free(&h);   /* owns nothing: the region stays */
    cr_assert_eq(fakedns_find_address(names, "child.example", AF_INET, &a), 0);
    munmap(r, size);
    config_free(&c);
}

Test(shared_region, other_configuration_is_refused)
{
    struct config c, more, ranges;
    parse(&c, TWO);
    parse(&more, "proxy a socks5h://10.0.0.1\nproxy b socks5://10.0.0.2\nproxy c socks5://10.0.0.3\n");
    parse(&ranges, "proxy a socks5h://10.0.0.1\nproxy b socks5://10.0.0.2\nchain default dynamic a b\n"
                   "fake_range 100.64.0.0/16\n");
    size_t size = shared_region_size(&c, true);
    void *r = map_zeroed(size);
    cr_assert(shared_region_claim(r));
    shared_region_format(r, &c, true);
    struct fakedns *names;
    struct chain_health h;
    cr_assert_eq(shared_region_marks(r, size, &more, &h), -ESTALE);
    cr_assert_eq(shared_region_names(r, size, &more, &names), 0, "the ranges are the same: names are shared");
    cr_assert_eq(shared_region_names(r, size, &ranges, &names), -ESTALE);
    cr_assert_eq(shared_region_marks(r, size, &ranges, &h), 0);
    munmap(r, size);
    config_free(&c);
    config_free(&more);
    config_free(&ranges);
}

Test(shared_region, family_region_has_no_marks)
{
    struct config c = { 0 };
    parse(&c, TWO);
    size_t size = shared_region_min_size();
    void *r = map_zeroed(size);
    cr_assert(shared_region_claim(r));
    shared_region_format(r, &c, false);
    struct chain_health h;
    struct fakedns *names;
    cr_assert_eq(shared_region_marks(r, size, &c, &h), -ENOENT);
    cr_assert_eq(shared_region_names(r, size, &c, &names), 0);
    munmap(r, size);
    config_free(&c);
}

Test(shared_region, not_a_region)
{
    struct config c = { 0 };
    parse(&c, TWO);
    size_t size = shared_region_size(&c, true);
    void *r = map_zeroed(size);
    memset(r, 0, 64);
    *(unsigned *)r = 2;   /* "ready", but no magic */
    struct fakedns *names;
    cr_assert_eq(shared_region_names(r, size, &c, &names), -EPROTO);
    munmap(r, size);
    config_free(&c);
}
