/* Unit tests for core/chain.c: which proxies a connection through a chain takes in each mode,
 * the down marks and their expiry, and the health table shared by threads. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"

static struct config conf;
static struct chain_health health;

/* Proxies a..e are indices 0..4. */
enum { A, B, C, D, E };

static const char CHAINS[] = "proxy a socks5://10.0.0.1\n"
                             "proxy b socks5://10.0.0.2\n"
                             "proxy c socks4://10.0.0.3\n"
                             "proxy d http://10.0.0.4:3128\n"
                             "proxy e socks5h://10.0.0.5\n"
                             "chain s strict a b c\n"
                             "chain dyn dynamic a b c\n"
                             "chain rnd random length 2 a b c d\n"
                             "chain rndall random a b c d\n"
                             "chain rr round-robin a b c\n"
                             "chain rr2 round-robin length 2 a b c\n"
                             "chain rr1 round-robin length 1 a b c d e\n";

static void chain_setup(void)
{
    char err[256] = "";
    config_init(&conf);
    cr_assert_eq(config_parse(&conf, CHAINS, "chain.conf", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(chain_health_init(&health, &conf), 0);
}

static void chain_teardown(void)
{
    chain_health_free(&health);
    config_free(&conf);
}

TestSuite(chain, .init = chain_setup, .fini = chain_teardown);

static const struct chain *named(const char *name)
{
    const struct chain *ch = config_find_chain(&conf, name);
    cr_assert_not_null(ch, "no chain %s", name);
    return ch;
}

static size_t chain_index(const char *name)
{
    return (size_t)(named(name) - conf.chains);
}

/* Picks through the chain called name at now; returns the count, fills out. */
static size_t pick(const char *name, long long now, uint64_t *rng, size_t out[PROXY_CHAIN_MAX])
{
    uint64_t scratch = 1;
    memset(out, 0xee, PROXY_CHAIN_MAX * sizeof(size_t));
    return chain_pick(&conf, named(name), &health, now, rng ? rng : &scratch, out);
}

/* Asserts a pick through name at now is exactly want[0..n). */
static void expect_pick(const char *name, long long now, const size_t *want, size_t n)
{
    size_t out[PROXY_CHAIN_MAX];
    size_t got = pick(name, now, NULL, out);
    char have[128] = "", exp[128] = "";
    for (size_t i = 0; i < got && i < PROXY_CHAIN_MAX; i++)
        snprintf(have + strlen(have), sizeof(have) - strlen(have), "%c", (char)('a' + (int)out[i]));
    for (size_t i = 0; i < n; i++)
        snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "%c", (char)('a' + (int)want[i]));
    cr_assert_eq(got, n, "chain %s at %lld: picked %zu (%s), expected %zu (%s)", name, now, got, have, n, exp);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(out[i], want[i], "chain %s at %lld: picked %s, expected %s", name, now, have, exp);
}
#define EXPECT_PICK(name, now, ...)                                                                                    \
    expect_pick((name), (now), (const size_t[]){ __VA_ARGS__ }, sizeof((const size_t[]){ __VA_ARGS__ }) / sizeof(size_t))

/* ---- health ---- */

Test(chain, health_starts_all_up)
{
    cr_assert_eq(health.proxy_count, 5);
    cr_assert_eq(health.chain_count, conf.chain_count);
    cr_assert_eq(conf.chain_count, 12);
    for (size_t i = 0; i < 5; i++)
        cr_assert(chain_proxy_up(&health, i, 0), "proxy %zu", i);
    for (size_t i = 0; i < health.chain_count; i++)
        cr_assert_eq(atomic_load(&health.next[i]), 0);
}

Test(chain, mark_down_expires)
{
    chain_mark_down(&health, B, 1000);
    cr_assert(chain_proxy_up(&health, A, 0));
    cr_assert_not(chain_proxy_up(&health, B, 0));
    cr_assert_not(chain_proxy_up(&health, B, 999));
    cr_assert(chain_proxy_up(&health, B, 1000), "up again at until_ms");
    cr_assert(chain_proxy_up(&health, B, 5000));
    /* A later mark replaces an earlier one, either way. */
    chain_mark_down(&health, B, 3000);
    cr_assert_not(chain_proxy_up(&health, B, 2999));
    chain_mark_down(&health, B, 10);
    cr_assert(chain_proxy_up(&health, B, 2999));
    /* Marking "until now" is no mark. */
    chain_mark_down(&health, C, 500);
    cr_assert(chain_proxy_up(&health, C, 500));
}

Test(chain, out_of_range_proxy_is_up_and_ignored)
{
    chain_mark_down(&health, 5, 1000);
    chain_mark_down(&health, (size_t)-1, 1000);
    cr_assert(chain_proxy_up(&health, 5, 0));
    cr_assert(chain_proxy_up(&health, 1000000, 0));
    for (size_t i = 0; i < 5; i++)
        cr_assert(chain_proxy_up(&health, i, 0));
}

Test(chain, health_free_and_empty_config)
{
    chain_health_free(&health);
    cr_assert_null(health.down_until);
    cr_assert_null(health.next);
    chain_health_free(&health);   /* twice is harmless */
    struct config empty = { 0 };
    config_init(&empty);
    struct chain_health h;
    cr_assert_eq(chain_health_init(&h, &empty), 0);
    cr_assert_eq(h.proxy_count, 0);
    cr_assert(chain_proxy_up(&h, 0, 0));
    chain_mark_down(&h, 0, 100);
    chain_health_free(&h);
    cr_assert_eq(chain_health_init(&health, &conf), 0);   /* for the fini */
}

/* ---- strict ---- */

Test(chain, strict_takes_all_in_order_even_when_down)
{
    EXPECT_PICK("s", 0, A, B, C);
    chain_mark_down(&health, B, 1000);
    EXPECT_PICK("s", 0, A, B, C);
    chain_mark_down(&health, A, 1000);
    chain_mark_down(&health, C, 1000);
    EXPECT_PICK("s", 500, A, B, C);
    EXPECT_PICK("d", 500, D);   /* a proxy's own chain */
    chain_mark_down(&health, D, 1000);
    EXPECT_PICK("d", 500, D);
}

/* ---- dynamic ---- */

Test(chain, dynamic_skips_down_keeps_order)
{
    EXPECT_PICK("dyn", 0, A, B, C);
    chain_mark_down(&health, B, 1000);
    EXPECT_PICK("dyn", 0, A, C);
    chain_mark_down(&health, A, 2000);
    EXPECT_PICK("dyn", 0, C);
    chain_mark_down(&health, C, 1500);
    EXPECT_PICK("dyn", 0, A, B, C);      /* all down: the marks may be stale, try them all */
    EXPECT_PICK("dyn", 1000, B);         /* b's mark expired */
    EXPECT_PICK("dyn", 1500, B, C);
    EXPECT_PICK("dyn", 2000, A, B, C);
    chain_mark_down(&health, D, 99999);  /* not in the chain: changes nothing */
    EXPECT_PICK("dyn", 2000, A, B, C);
}

/* ---- random ---- */

/* Asserts out[0..n) are distinct members of ch. */
static void assert_distinct_members(const struct chain *ch, const size_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool member = false;
        for (size_t j = 0; j < ch->hop_count; j++)
            member = member || ch->hops[j] == out[i];
        cr_assert(member, "chain %s: picked proxy %zu, not one of its hops", ch->name, out[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(out[i], out[j], "chain %s: proxy %zu picked twice", ch->name, out[i]);
    }
}

Test(chain, random_picks_length_distinct)
{
    const struct chain *ch = named("rnd");
    size_t counts[5] = { 0 };
    size_t first[5] = { 0 };
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        uint64_t rng = seed * 0x9e3779b97f4a7c15ULL;
        size_t out[PROXY_CHAIN_MAX];
        size_t n = pick("rnd", 0, &rng, out);
        cr_assert_eq(n, 2);
        assert_distinct_members(ch, out, n);
        counts[out[0]]++;
        counts[out[1]]++;
        first[out[0]]++;
    }
    /* 4000 picks over 4 proxies: about 1000 each. */
    for (size_t p = A; p <= D; p++) {
        cr_assert_gt(counts[p], 800, "proxy %zu picked %zu times of 4000", p, counts[p]);
        cr_assert_lt(counts[p], 1200, "proxy %zu picked %zu times of 4000", p, counts[p]);
        cr_assert_gt(first[p], 350, "proxy %zu first %zu times of 2000", p, first[p]);
    }
    cr_assert_eq(counts[E], 0);
}

Test(chain, random_is_deterministic_for_a_seed)
{
    for (uint64_t seed = 0; seed < 50; seed++) {
        uint64_t r1 = seed, r2 = seed;
        size_t o1[PROXY_CHAIN_MAX], o2[PROXY_CHAIN_MAX];
        for (int round = 0; round < 5; round++) {
            size_t n1 = pick("rnd", 0, &r1, o1), n2 = pick("rnd", 0, &r2, o2);
            cr_assert_eq(n1, n2);
            cr_assert_eq(memcmp(o1, o2, n1 * sizeof(size_t)), 0, "seed %llu round %d", (unsigned long long)seed, round);
            cr_assert_eq(r1, r2);
        }
        cr_assert_neq(r1, seed, "the random state advances");
    }
    /* Different seeds do not all agree. */
    bool differ = false;
    size_t o1[PROXY_CHAIN_MAX], o2[PROXY_CHAIN_MAX];
    for (uint64_t seed = 1; seed < 20 && !differ; seed++) {
        uint64_t r1 = 0, r2 = seed;
        pick("rnd", 0, &r1, o1);
        pick("rnd", 0, &r2, o2);
        differ = o1[0] != o2[0] || o1[1] != o2[1];
    }
    cr_assert(differ);
}

Test(chain, random_only_up_ones_when_enough)
{
    chain_mark_down(&health, C, 1000);
    chain_mark_down(&health, D, 1000);
    bool ab = false, ba = false;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        size_t out[PROXY_CHAIN_MAX];
        uint64_t rng = seed;
        cr_assert_eq(pick("rnd", 0, &rng, out), 2);
        cr_assert((out[0] == A && out[1] == B) || (out[0] == B && out[1] == A), "seed %llu: %zu %zu",
                  (unsigned long long)seed, out[0], out[1]);
        ab = ab || out[0] == A;
        ba = ba || out[0] == B;
    }
    cr_assert(ab && ba, "both orders occur");
    /* After the marks expire, c and d come back. */
    bool cd = false;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        size_t out[PROXY_CHAIN_MAX];
        uint64_t rng = seed;
        pick("rnd", 1000, &rng, out);
        cd = cd || out[0] == C || out[1] == C || out[0] == D || out[1] == D;
    }
    cr_assert(cd);
}

Test(chain, random_fills_with_down_ones_when_too_few_up)
{
    chain_mark_down(&health, A, 1000);
    chain_mark_down(&health, B, 1000);
    chain_mark_down(&health, D, 1000);
    size_t seen[5] = { 0 };
    for (uint64_t seed = 1; seed <= 300; seed++) {
        size_t out[PROXY_CHAIN_MAX];
        uint64_t rng = seed;
        cr_assert_eq(pick("rnd", 0, &rng, out), 2);
        assert_distinct_members(named("rnd"), out, 2);
        cr_assert(out[0] == C || out[1] == C, "seed %llu: the one up proxy c is always taken", (unsigned long long)seed);
        seen[out[0] == C ? out[1] : out[0]]++;
    }
    cr_assert(seen[A] > 0 && seen[B] > 0 && seen[D] > 0, "every down one fills in sometimes: %zu %zu %zu", seen[A],
              seen[B], seen[D]);
    /* All down: any two. */
    chain_mark_down(&health, C, 1000);
    for (uint64_t seed = 1; seed <= 50; seed++) {
        size_t out[PROXY_CHAIN_MAX];
        uint64_t rng = seed;
        cr_assert_eq(pick("rnd", 0, &rng, out), 2);
        assert_distinct_members(named("rnd"), out, 2);
    }
}

Test(chain, random_without_length_is_a_permutation)
{
    bool identity_only = true;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        size_t out[PROXY_CHAIN_MAX];
        uint64_t rng = seed;
        cr_assert_eq(pick("rndall", 0, &rng, out), 4);
        assert_distinct_members(named("rndall"), out, 4);
        identity_only = identity_only && out[0] == A && out[1] == B && out[2] == C && out[3] == D;
    }
    cr_assert_not(identity_only, "random order");
}

/* ---- round-robin ---- */

Test(chain, round_robin_rotates)
{
    EXPECT_PICK("rr", 0, A, B, C);
    EXPECT_PICK("rr", 0, B, C, A);
    EXPECT_PICK("rr", 0, C, A, B);
    EXPECT_PICK("rr", 0, A, B, C);
    cr_assert_eq(atomic_load(&health.next[chain_index("rr")]), 4);
    cr_assert_eq(atomic_load(&health.next[chain_index("rr2")]), 0, "chains rotate independently");
}

Test(chain, round_robin_length_2_wraps)
{
    EXPECT_PICK("rr2", 0, A, B);
    EXPECT_PICK("rr2", 0, B, C);
    EXPECT_PICK("rr2", 0, C, A);
    EXPECT_PICK("rr2", 0, A, B);
}

Test(chain, round_robin_length_1)
{
    for (int round = 0; round < 3; round++)
        for (size_t p = A; p <= E; p++)
            EXPECT_PICK("rr1", 0, p);
}

Test(chain, round_robin_skips_down_ones)
{
    chain_mark_down(&health, B, 1000);
    EXPECT_PICK("rr2", 0, A, C);   /* start a */
    EXPECT_PICK("rr2", 0, C, A);   /* start b: down, so from c */
    EXPECT_PICK("rr2", 0, C, A);   /* start c */
    EXPECT_PICK("rr2", 0, A, C);   /* start a */
    /* b is up again at 1000, its mark's end. */
    EXPECT_PICK("rr2", 1000, B, C); /* start b */
    EXPECT_PICK("rr2", 1000, C, A); /* start c */
    EXPECT_PICK("rr2", 1000, A, B); /* start a */
}

Test(chain, round_robin_uses_down_ones_when_too_few_up)
{
    chain_mark_down(&health, A, 1000);
    chain_mark_down(&health, C, 1000);
    EXPECT_PICK("rr2", 0, B, A);   /* start a: b is the one up; then the down ones from a */
    EXPECT_PICK("rr2", 0, B, C);   /* start b */
    EXPECT_PICK("rr2", 0, B, C);   /* start c: b up, then c, a down from c */
    chain_mark_down(&health, B, 1000);
    EXPECT_PICK("rr", 0, A, B, C); /* all down: plain rotation */
    EXPECT_PICK("rr", 0, B, C, A);
}

/* ---- attempts and names ---- */

Test(chain, attempts)
{
    cr_assert_eq(chain_attempts(named("s")), 1);
    cr_assert_eq(chain_attempts(named("a")), 1);
    cr_assert_eq(chain_attempts(named("dyn")), 3);
    cr_assert_eq(chain_attempts(named("rnd")), 4);
    cr_assert_eq(chain_attempts(named("rr2")), 3);
    cr_assert_eq(chain_attempts(named("rr1")), 5);
}

Test(chain, mode_names)
{
    cr_assert_str_eq(chain_mode_name(CHAIN_STRICT), "strict");
    cr_assert_str_eq(chain_mode_name(CHAIN_DYNAMIC), "dynamic");
    cr_assert_str_eq(chain_mode_name(CHAIN_RANDOM), "random");
    cr_assert_str_eq(chain_mode_name(CHAIN_ROUND_ROBIN), "round-robin");
    cr_assert_str_eq(chain_mode_name((enum chain_mode)4), "?");
    cr_assert_str_eq(chain_mode_name((enum chain_mode)-1), "?");
}

/* ---- threads ---- */

#define THREADS 8
#define PICKS 9999   /* THREADS * PICKS is a multiple of 3 */

struct worker {
    int id;
    size_t first[5];     /* round-robin: how often each proxy came first */
    size_t picks;
    bool bad;            /* a pick that was not length distinct members */
};

static bool valid_pick(const struct chain *ch, const size_t *out, size_t n, size_t want)
{
    if (n != want)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool member = false;
        for (size_t j = 0; j < ch->hop_count; j++)
            member = member || ch->hops[j] == out[i];
        if (!member)
            return false;
        for (size_t j = 0; j < i; j++)
            if (out[i] == out[j])
                return false;
    }
    return true;
}

static void *rr_worker(void *arg)
{
    struct worker *w = arg;
    const struct chain *rr = config_find_chain(&conf, "rr");
    for (int i = 0; i < PICKS; i++) {
        size_t out[PROXY_CHAIN_MAX];
        uint64_t rng = (uint64_t)i;
        size_t n = chain_pick(&conf, rr, &health, 0, &rng, out);
        if (!valid_pick(rr, out, n, 3))
            w->bad = true;
        else
            w->first[out[0]]++;
        w->picks++;
    }
    return NULL;
}

/* With nothing marked down, every start position is used exactly once. */
Test(chain, threads_round_robin_counts_exact)
{
    pthread_t t[THREADS];
    struct worker w[THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        cr_assert_eq(pthread_create(&t[i], NULL, rr_worker, &w[i]), 0);
    }
    size_t first[5] = { 0 };
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_not(w[i].bad, "thread %d made a bad pick", i);
        cr_assert_eq(w[i].picks, PICKS);
        for (int p = 0; p < 5; p++)
            first[p] += w[i].first[p];
    }
    cr_assert_eq(atomic_load(&health.next[chain_index("rr")]), THREADS * PICKS);
    cr_assert_eq(first[A], THREADS * PICKS / 3);
    cr_assert_eq(first[B], THREADS * PICKS / 3);
    cr_assert_eq(first[C], THREADS * PICKS / 3);
}

static void *mixed_worker(void *arg)
{
    struct worker *w = arg;
    static const char *const chains[] = { "s", "dyn", "rnd", "rndall", "rr", "rr2", "rr1" };
    uint64_t rng = (uint64_t)w->id * 7919 + 1;
    for (int i = 0; i < PICKS; i++) {
        const struct chain *ch = config_find_chain(&conf, chains[i % 7]);
        long long now = i;
        /* Marks come and go under the pickers' feet. */
        if (i % 5 == w->id % 5)
            chain_mark_down(&health, (size_t)(i + w->id) % 5, now + (i % 3) * 10);
        size_t out[PROXY_CHAIN_MAX];
        size_t n = chain_pick(&conf, ch, &health, now, &rng, out);
        size_t want = ch->mode == CHAIN_DYNAMIC ? 0 : ch->length;
        if (ch->mode == CHAIN_DYNAMIC ? (n < 1 || n > ch->hop_count || !valid_pick(ch, out, n, n))
                                      : !valid_pick(ch, out, n, want))
            w->bad = true;
        if (ch == config_find_chain(&conf, "rr2"))
            w->picks++;
    }
    return NULL;
}

Test(chain, threads_mark_and_pick_concurrently)
{
    pthread_t t[THREADS];
    struct worker w[THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        cr_assert_eq(pthread_create(&t[i], NULL, mixed_worker, &w[i]), 0);
    }
    size_t rr2_picks = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_not(w[i].bad, "thread %d made a bad pick", i);
        rr2_picks += w[i].picks;
    }
    cr_assert_gt(rr2_picks, 0);
    cr_assert_eq(atomic_load(&health.next[chain_index("rr2")]), rr2_picks, "the counter advances once per pick");
    cr_assert_eq(atomic_load(&health.next[chain_index("s")]), 0, "only round-robin chains count");
    cr_assert_eq(atomic_load(&health.next[chain_index("rnd")]), 0);
}

/* Marks that flip while a pick reads them: every pick must still be length distinct hops of the
 * chain (a pick that saw a proxy both up and down must not take it twice, or skip it and hand
 * out an unset slot). */
static struct config wide;
static struct chain_health wide_health;
static atomic_bool stop;

static void *flapper(void *arg)
{
    size_t seed = (size_t)(uintptr_t)arg;
    for (size_t i = 0; !atomic_load(&stop); i++) {
        size_t p = (i + seed) % 16;
        chain_mark_down(&wide_health, p, (i / 16 + seed) % 2 ? (long long)1 << 60 : 0);
    }
    return NULL;
}

struct wide_worker {
    const char *chain;
    size_t bad, picks;
    size_t example[PROXY_CHAIN_MAX], example_n;
};

static void *wide_picker(void *arg)
{
    struct wide_worker *w = arg;
    const struct chain *ch = config_find_chain(&wide, w->chain);
    uint64_t rng = 42;
    for (int i = 0; i < 200000; i++) {
        size_t out[PROXY_CHAIN_MAX + 8];
        size_t n = chain_pick(&wide, ch, &wide_health, 100, &rng, out);
        bool ok = n == ch->length && n <= PROXY_CHAIN_MAX;
        for (size_t j = 0; ok && j < n; j++) {
            ok = out[j] < 16;
            for (size_t k = 0; ok && k < j; k++)
                ok = out[j] != out[k];
        }
        if (!ok && w->bad++ == 0) {
            w->example_n = n < PROXY_CHAIN_MAX ? n : PROXY_CHAIN_MAX;
            memcpy(w->example, out, w->example_n * sizeof(size_t));
        }
        w->picks++;
    }
    return NULL;
}

Test(chain, threads_flapping_marks_never_corrupt_a_pick)
{
    char text[4096] = "";
    for (int i = 0; i < 16; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "proxy p%d socks5://10.0.1.%d\n", i, i + 1);
    strcat(text, "chain rr round-robin p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13 p14 p15\n");
    strcat(text, "chain rnd random p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13 p14 p15\n");
    strcat(text, "chain rnd8 random length 8 p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13 p14 p15\n");
    char err[256] = "";
    config_init(&wide);
    cr_assert_eq(config_parse(&wide, text, "wide.conf", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(chain_health_init(&wide_health, &wide), 0);
    pthread_t flappers[3], pickers[3];
    struct wide_worker w[3] = { { .chain = "rr" }, { .chain = "rnd" }, { .chain = "rnd8" } };
    atomic_store(&stop, false);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&flappers[i], NULL, flapper, (void *)(uintptr_t)(i * 5 + 1)), 0);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&pickers[i], NULL, wide_picker, &w[i]), 0);
    for (size_t i = 0; i < 3; i++)
        pthread_join(pickers[i], NULL);
    atomic_store(&stop, true);
    for (size_t i = 0; i < 3; i++)
        pthread_join(flappers[i], NULL);
    chain_health_free(&wide_health);
    config_free(&wide);
    for (size_t i = 0; i < 3; i++) {
        char ex[256] = "";
        for (size_t j = 0; j < w[i].example_n; j++)
            snprintf(ex + strlen(ex), sizeof(ex) - strlen(ex), " %zu", w[i].example[j]);
        cr_assert_eq(w[i].bad, 0, "chain %s: %zu of %zu picks were not distinct hops, e.g.%s", w[i].chain, w[i].bad,
                     w[i].picks, ex);
    }
}

Test(chain_blame, who_an_attempt_failed_on)
{
    size_t picked[3] = { 4, 7, 9 };
    cr_assert_eq(chain_blame(picked, false, false, -1), -1, "no proxy tried: nobody");
    cr_assert_eq(chain_blame(picked, true, false, -1), 4, "the connect to the first proxy failed");
    cr_assert_eq(chain_blame(picked, true, true, 1), 7, "the handshake blamed hop 2");
    cr_assert_eq(chain_blame(picked, true, true, -1), -1, "the handshake blamed the target");
}

Test(chain_blame, retries_only_after_a_proxy_failed)
{
    struct chain strict = { .mode = CHAIN_STRICT, .hop_count = 3 }, dynamic = { .mode = CHAIN_DYNAMIC, .hop_count = 3 };
    cr_assert_not(chain_retries(&strict, 1, 4), "a strict chain tries once");
    cr_assert(chain_retries(&dynamic, 1, 4));
    cr_assert(chain_retries(&dynamic, 2, 7));
    cr_assert_not(chain_retries(&dynamic, 3, 9), "as many attempts as hops");
    cr_assert_not(chain_retries(&dynamic, 1, -1), "the target's failure is not retried");
}
