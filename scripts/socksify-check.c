/* socksify-check: validates the configuration exactly as the library will load it (same
 * environment, same search order), so the wrapper can refuse to start a program with a bad
 * config instead of letting every connection fail inside it. It also prints the configuration
 * (--print), explains what would happen to one connection (--explain HOST[:PORT]), and tells the
 * wrapper which config file a new session pins (--locate). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "explain.h"
#include "file.h"

static void print_summary(const struct config *c)
{
    char line[PROXY_CHAIN_MAX * (PROXY_HOST_MAX + 40)];
    printf("config:          %s\n", c->source[0] ? c->source : "(none: defaults)");
    for (size_t i = 0; i < c->chain_count; i++)
        printf("%-16s %s\n", i ? "" : "proxies:", chain_format(c, &c->chains[i], line, sizeof(line)));
    for (size_t i = 0; i < c->rule_count; i++)
        printf("%-16s line %d: %s\n", i ? "" : "routes:", c->rules[i].line, rule_format(c, &c->rules[i], line, sizeof(line)));
    printf("default:         %s\n", config_default_chain(c) ? config_default_chain(c)->name : "(none: unrouted connections are rejected)");
    printf("connect_timeout: %d ms\nhandshake_timeout: %d ms\n", c->connect_timeout_ms, c->handshake_timeout_ms);
    printf("loopback:        %s\n", c->direct_loopback ? "direct" : "routed");
    static const char *const dns[] = { "default", "remote", "local", "off" };
    printf("dns:             %s%s\n", dns[config_dns_mode(c)], c->direct_dns ? " (direct DNS allowed)" : "");
}

/* /etc/hosts, read as the library reads it: names there stay local. NULL (no names) if it cannot
 * be read; the process ends soon after, so the text is never freed. */
static char *read_hosts(void)
{
    char *text;
    return file_read_all("/etc/hosts", FILE_HOSTS_MAX, &text, NULL) < 0 ? NULL : text;
}

static int do_explain(const struct config *c, const char *dest)
{
    static char out[8192];
    int r = explain(c, dest, read_hosts(), out, sizeof(out));
    fputs(out, r < 0 ? stderr : stdout);
    if (r < 0)
        fputc('\n', stderr);
    return r < 0 ? 2 : 0;
}

/* --locate: the session's config file (absolute), or nothing, for the wrapper to pin. */
static int do_locate(const struct config_env *env)
{
    char path[PATH_MAX];
    int r = config_locate(env, path, sizeof(path));
    if (r < 0) {
        fprintf(stderr, "socksify: cannot tell where the config file is: %s\n", strerror(-r));
        return 2;
    }
    if (r > 0)
        printf("%s\n", path);
    return 0;
}

/* The URL of SOCKSIFY_PROXY_FILE (what -x wrote) replaces SOCKSIFY_PROXY, as in the library. */
static int proxy_from_file(struct config_env *env, char *url, size_t size, const char *label)
{
    const char *file = getenv("SOCKSIFY_PROXY_FILE");
    char err[512];
    if (!file || !*file)
        return 0;
    if (config_read_proxy_file(file, url, size, err, sizeof(err)) < 0) {
        fprintf(stderr, "socksify: SOCKSIFY_PROXY_FILE: %s\n", err);
        return -1;
    }
    env->proxy_url = url;
    env->proxy_label = label ? label : "SOCKSIFY_PROXY_FILE";
    return 0;
}

static void print_warnings(const struct config *c)
{
    /* One "socksify: warning:" prefix per line. */
    for (const char *w = c->warnings, *nl; *w; w = nl ? nl + 1 : w + strlen(w)) {
        nl = strchr(w, '\n');
        fprintf(stderr, "socksify: warning: %.*s\n", nl ? (int)(nl - w) : (int)strlen(w), w);
    }
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
    const char *session = getenv("SOCKSIFY_SESSION");
    struct config_env env = {
        .proxy_url = getenv("SOCKSIFY_PROXY"),
        .proxy_label = proxy_label,
        .conf_path = getenv("SOCKSIFY_CONF"),
        .log_level = getenv("SOCKSIFY_LOG_LEVEL"),
        .log_file = getenv("SOCKSIFY_LOG_FILE"),
        .home = getenv("HOME"),
        .pinned = session && *session,
    };
    if (argc > 1 && strcmp(argv[1], "--locate") == 0)
        return do_locate(&env);
    static char url[4096];
    if (proxy_from_file(&env, url, sizeof(url), proxy_label) < 0)
        return 2;
    struct config c;
    char err[512];
    int r = config_load(&c, &env, err, sizeof(err));
    explicit_bzero(url, sizeof(url));
    if (r < 0) {
        fprintf(stderr, "socksify: %s\n", err);
        return 2;
    }
    print_warnings(&c);
    int status = 0;
    if (argc > 1 && strcmp(argv[1], "--print") == 0)
        print_summary(&c);
    else if (argc > 2 && strcmp(argv[1], "--explain") == 0)
        status = do_explain(&c, argv[2]);
    config_free(&c);
    return status;
}
