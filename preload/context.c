#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"
#include "gss.h"
#include "libc.h"
#include "shared.h"

static struct config config;
static struct chain_health health;
static char *hosts_text;
static bool config_ok;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
/* initial-exec: reading it must never allocate, as a lazily allocated TLS block would. */
static __thread bool loading __attribute__((tls_model("initial-exec")));

/* The proxy's host name is resolved once, locally: it is the proxy, not a destination. */
static void resolve_proxy_host(struct proxy *p)
{
    int r = proxy_resolve(p, libc()->getaddrinfo);
    if (r != 0)
        log_msg(LOG_ERROR, "cannot resolve proxy host '%s': %s", p->host, gai_strerror(r));
}

/* The URL of SOCKSIFY_PROXY_FILE, read when the library is loaded (the wrapper deletes the file
 * when its program ends), until load() has used it; or why it could not be read. A usual URL is
 * read into the startup page, a long one (a long password) into a buffer of its own. */
static char proxy_url_short[256] STARTUP_DATA;
static char proxy_url_long[4096];
static char *proxy_file_url STARTUP_DATA = proxy_url_short;
static char proxy_file_error[512];

static void read_proxy_file(void)
{
    const char *file = secure_getenv("SOCKSIFY_PROXY_FILE");
    if (!file || !*file)
        return;
    char *err = proxy_file_error;
    size_t errsize = sizeof(proxy_file_error);
    int r = config_read_proxy_file(file, proxy_url_short, sizeof(proxy_url_short), err, errsize);
    if (r == -E2BIG) {
        proxy_file_url = proxy_url_long;
        err[0] = '\0';
        r = config_read_proxy_file(file, proxy_url_long, sizeof(proxy_url_long), err, errsize);
    }
    if (r < 0 && !err[0])
        snprintf(err, errsize, "%s: cannot read the proxy URL", file);
}

/* A session's config file is decided once, where it starts: by the wrapper, or else here, in the
 * first process that preloads the library. Its descendants inherit the decision (SOCKSIFY_SESSION,
 * SOCKSIFY_CONF as an absolute path) and never search again, so a socksify.conf in a directory a
 * program later moves to cannot take over. Runs in a constructor: single-threaded, before main. */
/* The environment with the session pinned, in static storage: setenv() would be the first malloc()
 * of many a program, and setting up the heap doubled the library's start-up cost (+0.2 ms of its
 * +0.4 ms per exec here). glibc's setenv and putenv copy an environ they did not allocate before
 * changing it, so the program can still change its own. */
#define PINNED_ENV_MAX 256
static char *pinned_env[PINNED_ENV_MAX] STARTUP_DATA;
static char pinned_conf[sizeof("SOCKSIFY_CONF=") + PATH_MAX];
static char pinned_session[] = "SOCKSIFY_SESSION=1";

static bool is_var(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* environ plus SOCKSIFY_CONF=path (unless path is NULL) and SOCKSIFY_SESSION=1, replacing any
 * earlier values; setenv() if the environment is too large for the static copy. */
static void pin_environ(const char *path)
{
    size_t n = 0;
    while (environ[n])
        n++;
    if (n + 3 > PINNED_ENV_MAX) {
        if (path)
            setenv("SOCKSIFY_CONF", path, 1);
        setenv("SOCKSIFY_SESSION", "1", 1);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_var(environ[i], "SOCKSIFY_SESSION") && !(path && is_var(environ[i], "SOCKSIFY_CONF")))
            pinned_env[k++] = environ[i];
    if (path) {
        snprintf(pinned_conf, sizeof(pinned_conf), "SOCKSIFY_CONF=%s", path);
        pinned_env[k++] = pinned_conf;
    }
    pinned_env[k++] = pinned_session;
    pinned_env[k] = NULL;
    environ = pinned_env;
}

static void pin_session(void)
{
    if (getauxval(AT_SECURE) || secure_getenv("SOCKSIFY_SESSION"))
        return;
    struct config_env env = { .conf_path = secure_getenv("SOCKSIFY_CONF"), .home = secure_getenv("HOME") };
    char path[PATH_MAX];
    int r = config_locate(&env, path, sizeof(path));
    if (r < 0)
        return;   /* no working directory: load() searches and reports */
    pin_environ(r > 0 ? path : NULL);
}

__attribute__((constructor(102))) static void session_start(void)
{
    pin_session();
    read_proxy_file();
}

/* load() failed: connections that would be proxied fail closed (context_config() is NULL). */
static void load_failed(const char *what, int saved)
{
    log_msg(LOG_ERROR, "%s; connections that would be proxied will fail", what);
    loading = false;
    errno = saved;
}

static void load(void)
{
    int saved = errno;
    loading = true;
    const char *session = secure_getenv("SOCKSIFY_SESSION");
    struct config_env env = {
        .proxy_url = secure_getenv("SOCKSIFY_PROXY"),
        .conf_path = secure_getenv("SOCKSIFY_CONF"),
        .log_level = secure_getenv("SOCKSIFY_LOG_LEVEL"),
        .log_file = secure_getenv("SOCKSIFY_LOG_FILE"),
        .home = secure_getenv("HOME"),
        .pinned = session && *session,
        .refuse_untrusted = true,
    };
    if (proxy_file_url[0]) {
        env.proxy_url = proxy_file_url;
        env.proxy_label = "SOCKSIFY_PROXY_FILE";
    }
    char err[512];
    log_setup(LOG_ERROR, 2, program_invocation_short_name);
    if (proxy_file_error[0]) {
        load_failed(proxy_file_error, saved);
        return;
    }
    int r = config_load(&config, &env, err, sizeof(err));
    explicit_bzero(proxy_file_url, strlen(proxy_file_url));
    if (r < 0) {
        load_failed(err, saved);
        return;
    }
    log_setup(config.log_level, 2, program_invocation_short_name);
    log_set_file(config.log_file[0] ? config.log_file : NULL);
    if (config.has_warnings)
        log_msg(LOG_WARN, "%s", config.warnings);
    for (size_t i = 0; i < config.proxy_count; i++)
        resolve_proxy_host(&config.proxies[i]);
    if (chain_health_init(&health, &config) < 0) {
        load_failed("out of memory", saved);
        return;
    }
    hosts_text = file_read_hosts();
    config_ok = true;
    loading = false;
    errno = saved;
}

const char *context_hosts(void)
{
    return context_config() && hosts_text ? hosts_text : "";
}

/* The process the library's state belongs to: a vfork child runs in our memory until it execs. */
static atomic_int process_pid STARTUP_DATA;

static void note_pid(void)
{
    atomic_store_explicit(&process_pid, getpid(), memory_order_relaxed);
}

/* The child handlers of context_atfork, for children pthread_atfork never sees. */
#define CHILD_HANDLERS_MAX 8
static void (*child_handlers[CHILD_HANDLERS_MAX])(void) STARTUP_DATA;
static atomic_int child_handler_count STARTUP_DATA;

void context_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    pthread_atfork(prepare, parent, child);
    int i = atomic_fetch_add(&child_handler_count, 1);
    if (child && i < CHILD_HANDLERS_MAX)
        child_handlers[i] = child;
}

/* A child of a raw clone() without CLONE_VM is a fork whose handlers did not run: a lock another
 * thread held at that moment would stay locked for ever, state would be the parent's. */
static void run_child_handlers(void)
{
    int n = atomic_load(&child_handler_count);
    for (int i = 0; i < n && i < CHILD_HANDLERS_MAX; i++)
        if (child_handlers[i])
            child_handlers[i]();
}

__attribute__((constructor)) static void pid_init(void)
{
    note_pid();
    pthread_atfork(NULL, NULL, note_pid);
}

/* Whether process me shares its memory with process other: 1, 0, or -1 if the kernel cannot say
 * (no kcmp, or not allowed); a process that no longer exists shares nothing with us. */
static int shares_memory(pid_t me, pid_t other)
{
    int saved = errno;
    long r = libc()->syscall(SYS_kcmp, (long)me, (long)other, (long)KCMP_VM, 0L, 0L);
    int err = errno;
    errno = saved;
    if (r >= 0)
        return r == 0;
    return err == ESRCH ? 0 : -1;
}

bool in_vfork_child(void)
{
    pid_t me = getpid(), recorded = atomic_load_explicit(&process_pid, memory_order_relaxed);
    if (me == recorded)
        return false;
    /* A new process that fork()'s handler did not see: vfork, posix_spawn, or a raw clone(). Only
     * the first two share our memory; one that cannot be told apart is taken for a vfork child, as
     * changing the parent's state from a child is the worse mistake. */
    if (shares_memory(me, recorded) != 0)
        return true;
    note_pid();   /* our own memory: the state is ours now, and the next check costs one getpid() */
    run_child_handlers();
    return false;
}

bool context_loading(void)
{
    return loading || gss_library_active();
}

struct chain_health *context_health(void)
{
    if (!context_config())
        return NULL;
    struct chain_health *session = shared_health();   /* the session's marks, when it shares them */
    return session ? session : &health;
}

const struct config *context_config(void)
{
    pthread_once(&config_once, load);
    return config_ok ? &config : NULL;
}
