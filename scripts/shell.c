/* socksify on | off | status: an interactive shell in which every later command goes through the
 * proxy, as torsocks users have it with `. torsocks on`. The command cannot stay the parent of a
 * shell's later commands, so `on` prints shell code for the shell to eval: LD_PRELOAD (the same
 * '$LIB' entry the command preloads), the session's pinned config (SOCKSIFY_SESSION, SOCKSIFY_CONF
 * as an absolute path), a -x URL as SOCKSIFY_PROXY (refused if it holds a password: the
 * environment of every program shows it), and SOCKSIFY_SHELL, the marker a prompt can show.
 * There is no session directory (nobody would remove it): names behind fake addresses are shared
 * by a process and its forked children only. `off` prints the code that undoes exactly that,
 * restoring what `on` replaced; `status` says what is on.
 *
 * The words are subcommands only as the first word after `socksify`: `socksify -- on` runs a
 * program called on. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "explain.h"
#include "socksify.h"

/* What `on` sets besides LD_PRELOAD and the marker; their old values are kept in shell variables
 * (not exported: only the shell evaluating `off` needs them). */
static const char *const saved_vars[] = { "SOCKSIFY_CONF", "SOCKSIFY_PROXY", "SOCKSIFY_LOG_LEVEL", "SOCKSIFY_SESSION" };
#define SAVED_COUNT (sizeof(saved_vars) / sizeof(saved_vars[0]))
#define MARKER "SOCKSIFY_SHELL"

struct shell_request {
    const char *conf;    /* -f */
    const char *url;     /* -x */
    const char *log_level;
};

static int shell_fail(const char *sub, const char *what, const char *detail)
{
    fprintf(stderr, "socksify: %s: %s%s%s\n", sub, what, detail ? ": " : "", detail ? detail : "");
    return 2;
}

/* Writes value as one single-quoted shell word: nothing in it is expanded by the shell. */
static void put_quoted(const char *value)
{
    putchar('\'');
    for (const char *s = value; *s; s++)
        *s == '\'' ? fputs("'\\''", stdout) : putchar(*s);
    putchar('\'');
}

static void put_export(const char *name, const char *value)
{
    printf("export %s=", name);
    put_quoted(value);
    putchar('\n');
}

/* LD_PRELOAD without (one) entry: the words left, or NULL if none. A static buffer. */
static const char *preload_without(const char *preload, const char *entry)
{
    static char rest[8192];
    size_t used = 0, elen = strlen(entry);
    bool removed = false;
    rest[0] = '\0';
    for (const char *w = preload; w && *w;) {
        w += strspn(w, " :");
        size_t len = strcspn(w, " :");
        bool ours = !removed && len == elen && strncmp(w, entry, len) == 0;
        removed = removed || ours;
        if (len && !ours && used + len + 2 < sizeof(rest))
            used += (size_t)snprintf(rest + used, sizeof(rest) - used, "%s%.*s", used ? " " : "", (int)len, w);
        w += len;
    }
    return used ? rest : NULL;
}

/* -f FILE, -x URL, -q, -v: what the command takes, minus the queries. */
static int parse_on(int argc, char **argv, struct shell_request *q)
{
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt(argc, argv, "+:f:x:qv")) != -1) {
        switch (opt) {
        case 'f': q->conf = optarg; break;
        case 'x': q->url = optarg; break;
        case 'q': q->log_level = "none"; break;
        case 'v': q->log_level = "info"; break;
        case ':': return shell_fail("on", optopt == 'f' ? "-f needs a FILE" : "-x needs a proxy URL", NULL);
        default: return shell_fail("on", "unknown option (on takes -f FILE, -x URL, -q, -v)", NULL);
        }
    }
    if (optind < argc)
        return shell_fail("on", "takes no PROGRAM (every later command of the shell is one)", argv[optind]);
    return 0;
}

/* A password in SOCKSIFY_PROXY would be in /proc/PID/environ of every program the shell starts. */
static int refuse_password(const char *url)
{
    struct proxy p;
    char why[256];
    if (proxy_url_parse(url, &p, why, sizeof(why)) < 0)
        return shell_fail("on", "-x", why);
    bool secret = p.has_auth && p.pass[0];
    explicit_bzero(&p, sizeof(p));
    if (secret)
        return shell_fail("on", "the -x URL holds a password, which every program of the shell would show in "
                          "its environment: put the proxy in a config file (chmod 600) and use socksify on -f FILE", NULL);
    return 0;
}

/* The config the shell's programs will load, checked as the library will check it (a file other
 * users can write is refused there, so here too). *path gets the pinned file, or "" for none. */
static int check_config(const struct shell_request *q, char *path, size_t size, struct config *c)
{
    char err[512];
    struct config_env env = { .conf_path = q->conf ? q->conf : getenv("SOCKSIFY_CONF"), .home = getenv("HOME") };
    int found = config_locate(&env, path, size);
    if (found < 0)
        return shell_fail("on", "cannot tell where the config file is", NULL);
    if (found == 0)
        path[0] = '\0';
    env = (struct config_env){
        .proxy_url = q->url ? q->url : getenv("SOCKSIFY_PROXY"),
        .proxy_label = q->url ? "-x" : NULL,
        .conf_path = path[0] ? path : NULL,
        .log_level = q->log_level ? q->log_level : getenv("SOCKSIFY_LOG_LEVEL"),
        .log_file = getenv("SOCKSIFY_LOG_FILE"),
        .pinned = true,
        .refuse_untrusted = true,
    };
    if (config_load(c, &env, err, sizeof(err)) < 0)
        return shell_fail("on", err, NULL);
    command_print_warnings(c);
    return 0;
}

/* What the prompt marker says: the -x proxy (it holds no password), else the config file. */
static const char *marker_text(const struct shell_request *q, const char *path)
{
    const char *env_proxy = getenv("SOCKSIFY_PROXY");
    return q->url ? q->url : path[0] ? path : env_proxy && *env_proxy ? "SOCKSIFY_PROXY" : "on";
}

static void put_on(const struct shell_request *q, const char *path)
{
    const char *old = getenv("LD_PRELOAD"), *entry = libpath_preload_entry();
    for (size_t i = 0; i < SAVED_COUNT; i++)
        printf("_socksify_had_%s=${%s+1}; _socksify_old_%s=${%s-}\n", saved_vars[i], saved_vars[i], saved_vars[i],
               saved_vars[i]);
    put_export("SOCKSIFY_SESSION", "1");
    if (path[0])
        put_export("SOCKSIFY_CONF", path);
    else
        puts("unset SOCKSIFY_CONF");
    if (q->url)
        put_export("SOCKSIFY_PROXY", q->url);
    if (q->log_level)
        put_export("SOCKSIFY_LOG_LEVEL", q->log_level);
    /* Appended, as the command does: a sanitizer runtime must stay first. */
    char preload[8192];
    snprintf(preload, sizeof(preload), "%s%s%s", old && *old ? old : "", old && *old ? " " : "", entry);
    put_export("LD_PRELOAD", preload);
    put_export(MARKER, marker_text(q, path));
}

static int shell_on(int argc, char **argv)
{
    static struct config c;
    struct shell_request q = { 0 };
    char path[PATH_MAX];
    int r = parse_on(argc, argv, &q);
    if (r == 0 && getenv(MARKER))
        r = shell_fail("on", "this shell is on already", "socksify off first");
    else if (r == 0 && getenv("SOCKSIFY_SESSION"))
        r = shell_fail("on", "this shell runs inside a socksify session already (SOCKSIFY_SESSION is set)", NULL);
    if (r == 0 && q.url)
        r = refuse_password(q.url);
    const char *lib = libpath_library();
    if (r == 0 && (!lib || access(lib, R_OK) != 0))
        r = shell_fail("on", "cannot find the library", lib ? lib : libpath_preload_entry());
    if (r != 0 || (r = check_config(&q, path, sizeof(path), &c)) != 0)
        return r;
    put_on(&q, path);
    config_free(&c);
    if (isatty(STDOUT_FILENO))
        fputs("socksify: on: this is shell code: run  eval \"$(socksify on ...)\"  to turn the shell on\n", stderr);
    return 0;
}

static int shell_off(int argc)
{
    if (argc > 1)
        return shell_fail("off", "takes nothing", NULL);
    if (!getenv(MARKER)) {
        fputs("socksify: off: this shell is not on\n", stderr);
        return 1;
    }
    const char *rest = preload_without(getenv("LD_PRELOAD"), libpath_preload_entry());
    if (rest)
        put_export("LD_PRELOAD", rest);
    else
        puts("unset LD_PRELOAD");
    for (size_t i = 0; i < SAVED_COUNT; i++) {
        const char *v = saved_vars[i];
        printf("if [ \"${_socksify_had_%s-}\" = 1 ]; then export %s=\"$_socksify_old_%s\"; else unset %s; fi; "
               "unset _socksify_had_%s _socksify_old_%s\n", v, v, v, v, v, v);
    }
    puts("unset " MARKER);
    return 0;
}

/* on: what the shell's programs load (the default way out, the config file); off: exit 1. */
static int shell_status(int argc)
{
    static struct config c;
    char err[512], line[PROXY_CHAIN_MAX * (PROXY_HOST_MAX + 40)];
    if (argc > 1)
        return shell_fail("status", "takes nothing", NULL);
    if (!getenv(MARKER)) {
        puts("off");
        return 1;
    }
    struct config_env env = {
        .proxy_url = getenv("SOCKSIFY_PROXY"),
        .conf_path = getenv("SOCKSIFY_CONF"),
        .log_level = getenv("SOCKSIFY_LOG_LEVEL"),
        .pinned = true,
    };
    const char *preload = getenv("LD_PRELOAD");
    bool loaded = preload && strstr(preload, libpath_preload_entry());
    printf("on%s\nconfig: %s\n", loaded ? "" : " (but LD_PRELOAD no longer holds the library)",
           env.conf_path ? env.conf_path : "(none)");
    if (config_load(&c, &env, err, sizeof(err)) < 0)
        return shell_fail("status", err, NULL);
    const struct chain *ch = config_default_chain(&c);
    printf("default: %s\n", ch ? chain_format(&c, ch, line, sizeof(line)) : "(none: unrouted connections are rejected)");
    config_free(&c);
    return 0;
}

bool shell_is_subcommand(const char *word)
{
    return strcmp(word, "on") == 0 || strcmp(word, "off") == 0 || strcmp(word, "status") == 0;
}

int shell_main(int argc, char **argv)
{
    if (strcmp(argv[0], "on") == 0)
        return shell_on(argc, argv);
    return strcmp(argv[0], "off") == 0 ? shell_off(argc) : shell_status(argc);
}
