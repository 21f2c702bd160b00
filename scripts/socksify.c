/* socksify: runs a program with libsocksify.so preloaded, so that its connections go through the
 * configured proxies. Before the program starts, the command pins the session's configuration
 * (SOCKSIFY_CONF, SOCKSIFY_SESSION), checks it exactly as the library will load it (a mistake is
 * reported with its file and line, exit 2), and refuses a program the library cannot enter. Then
 * it stays the program's parent for as long as it runs (session.c). It also explains what would
 * happen to one connection (--explain) and prints the configuration (--print-config). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "explain.h"
#include "file.h"
#include "socksify.h"
#include "supervisor.h"
#include "text.h"

#define URL_MAX 4096

static const char usage_text[] =
    "usage: socksify [-f FILE] [-x URL] [-q] [-v] [--] PROGRAM [ARGS...]\n"
    "       socksify [-f FILE] [-x URL] --explain HOST[:PORT]\n"
    "       eval \"$(socksify on [-f FILE] [-x URL] [-q] [-v])\"    eval \"$(socksify off)\"    socksify status\n"
    "\n"
    "Runs PROGRAM with libsocksify.so preloaded, so that its TCP connections and UDP datagrams go\n"
    "through the configured proxies (SOCKS5, SOCKS4/4a, HTTP CONNECT; chains; routes).\n"
    "\n"
    "  -f FILE    read the configuration from FILE (default: ./socksify.conf,\n"
    "             ~/.config/socksify/socksify.conf, /etc/socksify.conf, the first that exists);\n"
    "             a proxychains.conf is understood too\n"
    "  -x URL     use this proxy as the default, overriding the config's: socks5://[user:pass@]host[:port],\n"
    "             socks5h://, socks4://[userid@]..., socks4a://, http://[user:pass@]...\n"
    "             (IPv6 hosts in brackets; port 1080 by default)\n"
    "  --explain HOST[:PORT]\n"
    "             print which route a connection to HOST takes and what would happen; connects nowhere\n"
    "  --print-config  print the configuration as socksify reads it\n"
    "  --seccomp auto|yes|no\n"
    "             carry static, Go and raw-syscall programs with the seccomp supervisor: auto (the\n"
    "             default: where the kernel offers it), yes (an error where it does not), no (the\n"
    "             library alone); overrides the config's seccomp line\n"
    "  -q         quiet: log nothing, not even errors\n"
    "  -v         verbose: one log line per connection (destination, route, result, time)\n"
    "  -h, --help     this text\n"
    "  --version      print the version and the library's path\n"
    "  on, off, status  (as the first word only) print the shell code that makes every later command of\n"
    "             the shell go through the proxy (on: -f, -x without a password, -q, -v), the code that\n"
    "             undoes it (off), or what is on (status); a PROGRAM named so runs as socksify -- on\n"
    "\n"
    "socksify checks the configuration before PROGRAM starts. With the seccomp supervisor (a Linux\n"
    "5.0+ kernel) it carries every program; without it, it refuses (exit 2) a PROGRAM the library\n"
    "cannot enter: statically linked, Go, of an architecture it has no library for, or\n"
    "set-user-ID/set-group-ID (the loader drops LD_PRELOAD); their connections would go direct.\n"
    "It stays PROGRAM's parent while it runs: signals sent to it are passed on, Ctrl-Z and fg work,\n"
    "and its exit status is PROGRAM's (128+N if signal N ended it; 127/126 if PROGRAM cannot be\n"
    "found/run).\n"
    "\n"
    "Environment: SOCKSIFY_PROXY, SOCKSIFY_PROXY_FILE, SOCKSIFY_CONF, SOCKSIFY_LOG_LEVEL\n"
    "(none|error|warn|info|debug), SOCKSIFY_LOG_FILE, SOCKSIFY_SESSION, SOCKSIFY_LIB (another\n"
    "library). -x sets SOCKSIFY_PROXY, or for a URL with credentials SOCKSIFY_PROXY_FILE (a private\n"
    "file removed when PROGRAM ends: that URL is never in the environment nor, once read, in\n"
    "socksify's command line), -f SOCKSIFY_CONF.\n"
    "See socksify.conf for every key.\n";

struct options {
    const char *conf;        /* -f */
    bool has_url;
    const char *log_level;   /* -q, -v: the last one wins */
    const char *explain;     /* --explain HOST[:PORT] */
    bool print_config, help, version, list_keys;
    const char *seccomp;     /* --seccomp=auto|yes|no, NULL: the config's */
    char **program;          /* PROGRAM [ARGS...]: the words after the options, verbatim */
    char url[URL_MAX];       /* -x, copied: the word in argv is wiped. Last, and wiped only as far as
                              * it holds text: each page of it touched is a page fault at start-up */
};

static void wipe_url(struct options *o)
{
    explicit_bzero(o->url, strnlen(o->url, sizeof(o->url)));
}

enum { OPT_VERSION = 256, OPT_EXPLAIN, OPT_PRINT_CONFIG, OPT_LIST_KEYS, OPT_SECCOMP };

static const struct option long_options[] = {
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { "explain", required_argument, NULL, OPT_EXPLAIN },
    { "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
    { "seccomp", required_argument, NULL, OPT_SECCOMP },
    { "list-keys", no_argument, NULL, OPT_LIST_KEYS },   /* hidden: for tests/check-man.py */
    { NULL, 0, NULL, 0 },
};

static int fail(const char *fmt, const char *arg)
{
    fputs("socksify: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

/* getopt's complaint, in our words (its own messages would print a password). */
static int option_error(char **argv, int opt)
{
    if (opt == ':') {
        const char *needs = optopt == 'f' ? "-f needs a FILE" : optopt == 'x' ? "-x needs a proxy URL"
                                                                             : "--explain needs a HOST[:PORT]";
        return fail("%s", needs);
    }
    if (optopt > 0 && optopt < 256) {
        char word[3] = { '-', (char)optopt, '\0' };
        return fail("unknown option '%s' (socksify --help lists them)", word);
    }
    /* The word, with the password of anything like [scheme://]user:pass@host hidden. */
    char shown[1024];
    return fail("unknown option '%s' (socksify --help lists them)",
                proxy_url_redact(argv[optind - 1], shown, sizeof(shown)));
}

/* -x URL: copied, then wiped from argv in place. /proc/PID/cmdline, which every user can read,
 * shows the command's argv memory: from here on it holds no password. */
static int take_url(struct options *o, char *arg)
{
    size_t len = strlen(arg);
    int r = len < sizeof(o->url) ? 0 : fail("%s", "-x: the URL is too long");
    if (r == 0)
        memcpy(o->url, arg, len + 1);
    o->has_url = r == 0;
    explicit_bzero(arg, len);
    return r;
}

/* Reads the options up to the first word that is not one (PROGRAM): "+" stops getopt there, so
 * the program's own options pass through verbatim. Returns 0, or 2 after a message. */
static int parse_options(int argc, char **argv, struct options *o)
{
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:f:x:qvh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'f': o->conf = optarg; break;
        case 'x': if (take_url(o, optarg)) return 2; break;
        case 'q': o->log_level = "none"; break;
        case 'v': o->log_level = "info"; break;
        case 'h': o->help = true; break;
        case OPT_VERSION: o->version = true; break;
        case OPT_EXPLAIN: o->explain = optarg; break;
        case OPT_PRINT_CONFIG: o->print_config = true; break;
        case OPT_SECCOMP: o->seccomp = optarg; break;
        case OPT_LIST_KEYS: o->list_keys = true; break;
        default: return option_error(argv, opt);
        }
    }
    o->program = argv + optind;
    return 0;
}

/* What the options ask for, as the library will see it: they become its environment. */
static int check_request(const struct options *o)
{
    if (o->conf && setenv("SOCKSIFY_CONF", o->conf, 1) < 0)
        return fail("%s", strerror(errno));
    if (o->log_level)
        setenv("SOCKSIFY_LOG_LEVEL", o->log_level, 1);
    bool query = o->explain || o->print_config;
    if (query && o->program[0])
        return fail("%s", o->explain ? "--explain takes no PROGRAM" : "--print-config takes no PROGRAM");
    if (!query && !o->program[0]) {
        fprintf(stderr, "%.*s", (int)(strstr(usage_text, "\n\n") + 1 - usage_text), usage_text);
        return fail("%s", "no PROGRAM given (socksify --help says more)");
    }
    const char *lib = libpath_library();
    if (!query && (!lib || access(lib, R_OK) != 0))
        return fail("cannot find the library at %s (run 'make' first?)", lib ? lib : libpath_preload_entry());
    return 0;
}

/* ---------- the configuration ---------- */

/* The session's config file is decided here, once, as an absolute path (or none), and every
 * process of the session uses it wherever it runs: SOCKSIFY_SESSION tells the library not to
 * search ./socksify.conf again. -f overrides a session this one is started from. */
static int pin_session(void)
{
    const char *session = getenv("SOCKSIFY_SESSION");
    struct config_env env = {
        .conf_path = getenv("SOCKSIFY_CONF"),
        .home = getenv("HOME"),
        .pinned = session && *session,
    };
    char path[PATH_MAX];
    int r = config_locate(&env, path, sizeof(path));
    if (r < 0)
        return fail("cannot tell where the config file is: %s", strerror(-r));
    if (r > 0)
        setenv("SOCKSIFY_CONF", path, 1);
    else
        unsetenv("SOCKSIFY_CONF");
    setenv("SOCKSIFY_SESSION", "1", 1);
    return 0;
}

/* The proxy URL that replaces the file's, as the library will take it: -x, else the file of
 * SOCKSIFY_PROXY_FILE (a session this one is started from), else SOCKSIFY_PROXY. */
static int proxy_override(struct options *o, struct config_env *env)
{
    char err[512];
    const char *file = getenv("SOCKSIFY_PROXY_FILE");
    env->proxy_url = getenv("SOCKSIFY_PROXY");
    if (o->has_url) {
        env->proxy_url = o->url;
        env->proxy_label = "-x";
    } else if (file && *file) {
        if (config_read_proxy_file(file, o->url, sizeof(o->url), err, sizeof(err)) < 0)
            return fail("SOCKSIFY_PROXY_FILE: %s", err);
        env->proxy_url = o->url;
        env->proxy_label = "SOCKSIFY_PROXY_FILE";
    }
    return 0;
}

void command_print_warnings(const struct config *c)
{
    /* One "socksify: warning:" prefix per line. */
    for (const char *w = c->has_warnings ? c->warnings : "", *nl; *w; w = nl ? nl + 1 : w + strlen(w)) {
        nl = strchr(w, '\n');
        fprintf(stderr, "socksify: warning: %.*s\n", nl ? (int)(nl - w) : (int)strlen(w), w);
    }
}

/* Loads the configuration exactly as the library will (same environment, same search); 0, or 2
 * after the message naming the file and line. */
static int load_config(struct options *o, struct config *c)
{
    struct config_env env = {
        .conf_path = getenv("SOCKSIFY_CONF"),
        .log_level = getenv("SOCKSIFY_LOG_LEVEL"),
        .log_file = getenv("SOCKSIFY_LOG_FILE"),
        .home = getenv("HOME"),
        .pinned = true,
    };
    char err[512];
    if (proxy_override(o, &env) != 0)
        return 2;
    int r = config_load(c, &env, err, sizeof(err));
    if (!o->has_url)
        wipe_url(o);   /* SOCKSIFY_PROXY_FILE's: not needed any more */
    if (r < 0)
        return fail("%s", err);
    command_print_warnings(c);
    return 0;
}

static void print_config(const struct config *c)
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
    printf("bind:            %s\n", c->bind_auto ? "auto (listeners of proxied programs may go through the proxy; --explain HOST says)"
                                                 : "no (every listener stays local)");
    if (c->bind_auto)
        printf("bind_timeout:    %d ms\n", c->bind_timeout_ms);
    static const char *const dns[] = { "default", "remote", "local", "off" };
    printf("dns:             %s%s\n", dns[config_dns_mode(c)], c->direct_dns ? " (direct DNS allowed)" : "");
}

/* Which way in would take the connection: the library, and the supervisor (the session's
 * seccomp mode, as run_program would decide it, said without the fallback's message). */
static void print_way_in(const struct options *o, const struct config *c)
{
    enum config_seccomp mode = c->seccomp;
    if (o->seccomp)
        config_seccomp_parse(o->seccomp, &mode);
    int probe = mode == CONFIG_SECCOMP_NO ? 0 : seccomp_filter_probe();
    if (mode != CONFIG_SECCOMP_NO && probe == 0)
        printf("way in:      the library in dynamically linked programs (\"via\" lines under -v); the seccomp supervisor "
               "in static, Go and raw-syscall programs (\"PROGRAM via supervisor\" lines under -v)\n");
    else
        printf("way in:      the library alone (seccomp %s%s%s): static and Go programs are refused\n",
               mode == CONFIG_SECCOMP_NO ? "no" : "unavailable: ", mode == CONFIG_SECCOMP_NO ? "" : strerror(-probe), "");
}

static int print_explanation(const struct options *o, const struct config *c, const char *dest)
{
    static char out[8192];
    int r = explain(c, dest, file_read_hosts(), out, sizeof(out));
    if (r < 0)
        return fail("%s", out);
    fputs(out, stdout);
    print_way_in(o, c);
    return 0;
}

/* ---------- running the program ---------- */

static void print_version(void)
{
    const char *lib = libpath_library();
    printf("socksify %s\nlibrary: %s\n", SOCKSIFY_VERSION, lib ? lib : libpath_preload_entry());
}

/* Appends the library to any LD_PRELOAD the caller has (a sanitizer runtime must stay first). */
static int add_preload(void)
{
    const char *old = getenv("LD_PRELOAD"), *lib = libpath_preload_entry();
    size_t size = (old ? strlen(old) + 1 : 0) + strlen(lib) + 1;
    char *value = malloc(size);
    if (!value)
        return -ENOMEM;
    text_join(value, size, old && *old ? old : "", old && *old ? " " : "", lib, (const char *)NULL);
    int r = setenv("LD_PRELOAD", value, 1) < 0 ? -errno : 0;
    free(value);
    return r;
}

/* The session's directory, exported as SOCKSIFY_SESSION_DIR: every process of the session maps
 * the names and dead-proxy marks kept there. A -x URL that may carry a secret goes there too, its
 * path exported as SOCKSIFY_PROXY_FILE (never the URL itself: /proc/PID/environ shows the
 * environment). Any '@' counts as one: userinfo, or to be safe a GSSAPI principal's realm. A URL
 * without is exported as SOCKSIFY_PROXY, and no process of the session reads a file for it (a
 * file made, read by every process and removed cost 0.2-0.3 ms per run of /bin/true here). */
static int make_session_dir(struct options *o, char *dir)
{
    char file[PATH_MAX];
    bool secret = o->has_url && strchr(o->url, '@');
    int r = session_dir_create(dir);
    if (r == 0 && secret)
        r = session_dir_put_url(dir, o->url, file);
    else if (r == 0 && o->has_url && setenv("SOCKSIFY_PROXY", o->url, 1) < 0)
        r = -errno;
    if (r < 0)
        session_dir_remove(dir);
    wipe_url(o);
    if (r < 0) {
        dir[0] = '\0';
        return fail("cannot create the session's private directory: %s", strerror(-r));
    }
    setenv("SOCKSIFY_SESSION_DIR", dir, 1);
    if (secret) {
        setenv("SOCKSIFY_PROXY_FILE", file, 1);
        unsetenv("SOCKSIFY_PROXY");
    } else if (o->has_url) {
        unsetenv("SOCKSIFY_PROXY_FILE");   /* a session this one is started from: it would win over -x */
    }
    return 0;
}

/* Whether the session is supervised (*out): --seccomp, else the config's seccomp line; auto asks
 * the kernel, and where it cannot, says so once and goes on with the library alone. 0, or 2
 * after a message. */
static int want_supervisor(const struct options *o, const struct config *c, bool *out)
{
    enum config_seccomp mode = c->seccomp;
    *out = false;
    if (o->seccomp && config_seccomp_parse(o->seccomp, &mode) < 0)
        return fail("--seccomp=%s: expected auto, yes or no", o->seccomp);
    if (mode == CONFIG_SECCOMP_NO)
        return 0;
    int r = seccomp_filter_probe();
    *out = r == 0;
    if (r == 0)
        return 0;
    if (mode == CONFIG_SECCOMP_YES)
        return fail("seccomp yes, but seccomp user notification is unavailable here: %s", strerror(-r));
    fprintf(stderr, "socksify: seccomp user notification is unavailable here (%s): the library alone carries "
                    "the program, and static and Go programs are refused\n", strerror(-r));
    return 0;
}

/* The verdict of program_check under the supervisor: a program the library cannot enter is
 * carried by the supervisor instead (a set-user-ID one runs without its privileges for anyone
 * but root: no_new_privs). */
static int supervised_check(int r, const struct program_check *prog)
{
    if (r != -EPERM)
        return r;
    if (prog->privileged && geteuid() != 0)
        fprintf(stderr, "socksify: warning: %s runs without its privileges under the seccomp supervisor "
                        "(no_new_privs); use --seccomp=no to have it refused instead\n", prog->path);
    return 0;
}

/* Checks the program, makes the session's directory and runs the session: the program's exit status, 2 if
 * it was refused, 127/126 if it cannot be found or run (as a shell says). */
static int run_program(struct options *o, struct config *c)
{
    static struct program_check prog;
    static struct supervisor sv;
    char dir[PATH_MAX];
    bool supervise;
    int r = want_supervisor(o, c, &supervise);
    if (r != 0)
        return r;
    prog.supervised = supervise;
    r = program_check(o->program[0], &prog);
    if (supervise)
        r = supervised_check(r, &prog);
    if (r < 0) {
        fail("%s", prog.why);
        return r == -ENOENT ? 127 : r == -EACCES ? 126 : 2;
    }
    if (make_session_dir(o, dir) != 0)
        return 2;
    if (add_preload() < 0 || (supervise && supervisor_prepare(&sv, c, dir, o->program[0]) < 0)) {
        session_dir_remove(dir);
        return supervise ? 2 : fail("%s", strerror(ENOMEM));
    }
    struct session s = { .path = prog.path, .argv = o->program, .run_with_sh = prog.run_with_sh, .session_dir = dir,
                         .supervisor = supervise ? &sv : NULL };
    r = session_run(&s);
    if (r < 0)
        return fail("cannot start the program: %s", strerror(-r));
    return r;
}

/* Every key the config parsers know, one "FORMAT KEY" a line (tests/check-man.py). */
static void list_keys(void)
{
    for (size_t i = 0; config_key_name(i); i++)
        printf("socksify.conf %s\n", config_key_name(i));
    for (size_t i = 0; pcconf_key_name(i); i++)
        printf("proxychains.conf %s\n", pcconf_key_name(i));
}

int main(int argc, char **argv)
{
    static struct options o;
    static struct config c;
    if (argc > 1 && shell_is_subcommand(argv[1]))
        return shell_main(argc - 1, argv + 1);
    int r = parse_options(argc, argv, &o);
    if (r != 0 || o.help || o.version || o.list_keys) {
        if (r == 0)
            o.help ? fputs(usage_text, stdout) : o.version ? print_version() : list_keys();
        return r;
    }
    if ((r = check_request(&o)) != 0 || (r = pin_session()) != 0 || (r = load_config(&o, &c)) != 0)
        return r;
    if (o.explain)
        r = print_explanation(&o, &c, o.explain);
    else if (o.print_config)
        print_config(&c);
    else
        r = run_program(&o, &c);   /* the supervisor uses the configuration while the program runs */
    config_free(&c);
    return r;
}
