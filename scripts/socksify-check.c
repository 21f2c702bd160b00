/* socksify-check: validates the configuration exactly as the library will load it (same
 * environment, same search order), so the wrapper can refuse to start a program with a bad
 * config instead of letting every connection fail inside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void print_summary(const struct config *c)
{
    char proxy[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
    printf("config:          %s\n", c->source[0] ? c->source : "(none: defaults)");
    printf("proxy:           %s\n", proxy_format(&c->proxy, proxy, sizeof(proxy)));
    printf("connect_timeout: %d ms\nhandshake_timeout: %d ms\n", c->connect_timeout_ms, c->handshake_timeout_ms);
    printf("direct ranges:   %zu; loopback %s\n", c->direct_count, c->direct_loopback ? "direct" : "via proxy");
    static const char *const dns[] = { "default", "remote", "local", "off" };
    printf("dns:             %s%s\n", dns[config_dns_mode(c)], c->direct_dns ? " (direct DNS allowed)" : "");
}

int main(int argc, char **argv)
{
    /* The wrapper passes "-x" here when the URL came from its option, so errors name it. */
    const char *proxy_label = argc > 2 && strcmp(argv[1], "--proxy-label") == 0 ? argv[2] : NULL;
    if (proxy_label) {
        argv += 2;
        argc -= 2;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("socksify %s\n", SOCKSIFY_VERSION);
        return 0;
    }
    struct config_env env = {
        .proxy_url = getenv("SOCKSIFY_PROXY"),
        .proxy_label = proxy_label,
        .conf_path = getenv("SOCKSIFY_CONF"),
        .log_level = getenv("SOCKSIFY_LOG_LEVEL"),
        .log_file = getenv("SOCKSIFY_LOG_FILE"),
        .home = getenv("HOME"),
    };
    struct config c;
    char err[512];
    if (config_load(&c, &env, err, sizeof(err)) < 0) {
        fprintf(stderr, "socksify: %s\n", err);
        return 2;
    }
    if (c.warning[0])
        fprintf(stderr, "socksify: warning: %s\n", c.warning);
    if (argc > 1 && strcmp(argv[1], "--print") == 0)
        print_summary(&c);
    config_free(&c);
    return 0;
}
