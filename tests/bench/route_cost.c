/* bench-route: what deciding a route costs with many rules (ns per route_decide).
 *
 *   bench-route [RULES]   (default 1000)
 *
 * Builds a config of RULES rules, a mix of CIDR ranges, host-name globs and port ranges, and
 * times route_decide for destinations that match the first rule, one in the middle, and none
 * (the worst case: every rule is tried, then the default). Prints one line per case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "config.h"
#include "route.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Rule i: three kinds in turn, none matching 203.0.113.x or *.bench.example except the ones we aim at. */
static char *build_config(int rules)
{
    size_t size = (size_t)rules * 64 + 256;
    char *text = malloc(size);
    size_t used = (size_t)snprintf(text, size, "proxy socks5://192.0.2.1:1080\nproxy other socks5://192.0.2.2:1080\n");
    for (int i = 0; i < rules; i++) {
        switch (i % 3) {
        case 0: used += (size_t)snprintf(text + used, size - used, "route 10.%d.%d.0/24 via other\n", i / 256 % 256, i % 256); break;
        case 1: used += (size_t)snprintf(text + used, size - used, "route *.corp%d.example direct\n", i); break;
        default: used += (size_t)snprintf(text + used, size - used, "route 172.16.0.0/12 port %d reject\n", 1000 + i); break;
        }
    }
    return text;
}

static void time_case(const struct config *c, const char *what, const char *ip, const char *name, size_t iterations)
{
    union sockaddr_any dst = { 0 };
    dst.in4.sin_family = AF_INET;
    dst.in4.sin_port = htons(443);
    inet_pton(AF_INET, ip, &dst.in4.sin_addr);
    volatile int sink = 0;
    double start = now_ns();
    for (size_t i = 0; i < iterations; i++)
        sink += route_decide(c, &dst, name).action;
    double ns = (now_ns() - start) / (double)iterations;
    printf("  %-44s %8.1f ns per route_decide\n", what, ns);
    (void)sink;
}

int main(int argc, char **argv)
{
    int rules = argc > 1 ? atoi(argv[1]) : 1000;
    if (rules < 1 || rules > 1000000) {
        fprintf(stderr, "usage: bench-route [RULES]\n");
        return 2;
    }
    char *text = build_config(rules);
    struct config c = { 0 };
    char err[256];
    config_init(&c);
    if (config_parse(&c, text, "bench", err, sizeof(err)) < 0) {
        fprintf(stderr, "bench-route: %s\n", err);
        return 1;
    }
    printf("route decision with %d rules (CIDR, host glob, port range in turn):\n", rules);
    time_case(&c, "first rule matches (10.0.0.7)", "10.0.0.7", NULL, 2000000);
    char mid[32];
    snprintf(mid, sizeof(mid), "10.%d.%d.7", (rules / 2 / 3 * 3) / 256 % 256, (rules / 2 / 3 * 3) % 256);
    time_case(&c, "a rule in the middle matches (address)", mid, NULL, 200000);
    time_case(&c, "no rule matches, address (default)", "203.0.113.9", NULL, 200000);
    time_case(&c, "no rule matches, name (default)", "198.18.0.1", "www.bench.example", 200000);
    config_free(&c);
    free(text);
    return 0;
}
