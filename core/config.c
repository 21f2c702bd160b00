#include "config.h"
#include "config_line.h"
#include "file.h"
#include "filetrust.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_CONFIG_BYTES (1 << 20)
#define MAX_DURATION_MS (3600 * 1000)

int line_error(const struct line *l, char *err, size_t errsize, const char *fmt, ...)
{
    char text[1024];
    int n = snprintf(text, sizeof(text), "%s:%d: ", l->file, l->number);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(text))
        vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
    va_end(ap);
    /* Messages quote words of the line: one may be a proxy URL (or a typo of one) with a password. */
    proxy_text_redact(text, err, errsize);
    memset(text, 0, sizeof(text));
    return -EINVAL;
}

void config_warn(struct config *c, const char *fmt, ...)
{
    size_t used = c->has_warnings ? strlen(c->warnings) : 0;
    if (used + 2 >= sizeof(c->warnings))
        return;
    if (used)
        c->warnings[used++] = '\n';
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    proxy_text_redact(text, c->warnings + used, sizeof(c->warnings) - used);
    c->has_warnings = true;
}

void config_init(struct config *c)
{
    /* Not the text buffers at the end, empty already (see config.h): clearing them would touch
     * 12 KiB, a page fault per page in the command's start-up and the library's first connection. */
    memset(c, 0, offsetof(struct config, log_file));
    c->connect_timeout_ms = CONFIG_DEFAULT_CONNECT_TIMEOUT_MS;
    c->handshake_timeout_ms = CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    c->log_level = LOG_ERROR;
    c->proxy_retry_ms = CONFIG_DEFAULT_PROXY_RETRY_MS;
    c->direct_loopback = true;
    c->bind_auto = true;
    c->bind_timeout_ms = CONFIG_DEFAULT_BIND_TIMEOUT_MS;
    cidr_parse(CONFIG_DEFAULT_FAKE_RANGE, &c->fake_range);
    cidr_parse(CONFIG_DEFAULT_FAKE_RANGE6, &c->fake_range6);
}

enum dns_mode config_dns_mode(const struct config *c)
{
    if (c->dns != DNS_DEFAULT)
        return c->dns;
    /* What the default way out can do decides: its last proxy is the one that sees the name. */
    const struct chain *ch = config_default_chain(c);
    if (!ch)
        return DNS_LOCAL;
    return c->proxies[ch->hops[ch->hop_count - 1]].remote_dns ? DNS_REMOTE : DNS_LOCAL;
}

void config_free(struct config *c)
{
    /* Passwords live in the proxies: wipe them before giving the memory back (the one past the
     * count too, where a line that failed half-way may have left one; not the whole capacity,
     * pages of which were never touched). */
    if (c->proxies) {
        size_t used = c->proxy_count < c->proxy_capacity ? c->proxy_count + 1 : c->proxy_capacity;
        explicit_bzero(c->proxies, used * sizeof(*c->proxies));
    }
    free(c->proxies);
    for (size_t i = 0; i < c->rule_count; i++)
        free(c->rules[i].glob);
    free(c->chains);
    free(c->rules);
    c->proxies = NULL;
    c->chains = NULL;
    c->rules = NULL;
    c->proxy_count = c->proxy_capacity = c->chain_count = c->chain_capacity = c->rule_count = c->rule_capacity = 0;
    /* As config_init expects them; the pages of texts never written stay untouched. */
    c->log_file[0] = '\0';
    if (c->has_source)
        c->source[0] = '\0';
    if (c->has_warnings)
        c->warnings[0] = '\0';
    c->has_source = c->has_warnings = false;
}

int config_duration_parse(const char *text)
{
    char *end;
    if (!isdigit((unsigned char)*text))
        return -EINVAL;
    errno = 0;
    long v = strtol(text, &end, 10);
    long scale = 1000;
    if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "s") != 0 && *end != '\0')
        return -EINVAL;
    if (errno || v <= 0 || v > MAX_DURATION_MS / scale)
        return -EINVAL;
    return (int)(v * scale);
}

int expect_args(const struct line *l, int n, const char *usage, char *err, size_t errsize)
{
    if (l->argc - 1 == n)
        return 0;
    return line_error(l, err, errsize, "'%s' takes %s", l->argv[0], usage);
}

static int key_timeout(int *out, const struct line *l, char *err, size_t errsize)
{
    if (expect_args(l, 1, "a duration, e.g. 10s or 500ms", err, errsize) < 0)
        return -EINVAL;
    int ms = config_duration_parse(l->argv[1]);
    if (ms < 0)
        return line_error(l, err, errsize, "bad duration '%s': expected e.g. 10s or 500ms (at most 1 hour)", l->argv[1]);
    *out = ms;
    return 0;
}

static int key_connect_timeout(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_timeout(&c->connect_timeout_ms, l, err, errsize);
}

static int key_handshake_timeout(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_timeout(&c->handshake_timeout_ms, l, err, errsize);
}

static int key_proxy_retry(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_timeout(&c->proxy_retry_ms, l, err, errsize);
}

static int key_log_level(struct config *c, const struct line *l, char *err, size_t errsize)
{
    if (expect_args(l, 1, "one of none, error, warn, info, debug", err, errsize) < 0)
        return -EINVAL;
    if (log_level_parse(l->argv[1], &c->log_level) < 0)
        return line_error(l, err, errsize, "bad log level '%s': expected none, error, warn, info or debug", l->argv[1]);
    return 0;
}

static int key_log_file(struct config *c, const struct line *l, char *err, size_t errsize)
{
    if (expect_args(l, 1, "one absolute path", err, errsize) < 0)
        return -EINVAL;
    if (l->argv[1][0] != '/' || strlen(l->argv[1]) >= sizeof(c->log_file))
        return line_error(l, err, errsize, "log_file must be an absolute path, got '%s'", l->argv[1]);
    strcpy(c->log_file, l->argv[1]);
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "yes", "on", "true", "1" }, *const no[] = { "no", "off", "false", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) { *out = true; return 0; }
        if (strcasecmp(s, no[i]) == 0) { *out = false; return 0; }
    }
    return -EINVAL;
}

static int key_bool(bool *out, const struct line *l, char *err, size_t errsize)
{
    if (expect_args(l, 1, "yes or no", err, errsize) < 0)
        return -EINVAL;
    if (parse_bool(l->argv[1], out) < 0)
        return line_error(l, err, errsize, "bad value '%s' for %s: expected yes or no", l->argv[1], l->argv[0]);
    return 0;
}

static int key_direct_loopback(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_bool(&c->direct_loopback, l, err, errsize);
}

static int key_direct_dns(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_bool(&c->direct_dns, l, err, errsize);
}

static int key_socks5_pipelining(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_bool(&c->socks5_pipelining, l, err, errsize);
}

int config_seccomp_parse(const char *text, enum config_seccomp *out)
{
    bool yes;
    if (strcasecmp(text, "auto") == 0)
        *out = CONFIG_SECCOMP_AUTO;
    else if (parse_bool(text, &yes) == 0)
        *out = yes ? CONFIG_SECCOMP_YES : CONFIG_SECCOMP_NO;
    else
        return -EINVAL;
    return 0;
}

static int key_seccomp(struct config *c, const struct line *l, char *err, size_t errsize)
{
    if (expect_args(l, 1, "auto, yes or no", err, errsize) < 0)
        return -EINVAL;
    if (config_seccomp_parse(l->argv[1], &c->seccomp) < 0)
        return line_error(l, err, errsize, "bad value '%s' for seccomp: expected auto, yes or no", l->argv[1]);
    return 0;
}

static int key_bind(struct config *c, const struct line *l, char *err, size_t errsize)
{
    if (expect_args(l, 1, "auto or no", err, errsize) < 0)
        return -EINVAL;
    if (strcmp(l->argv[1], "auto") != 0 && strcmp(l->argv[1], "no") != 0)
        return line_error(l, err, errsize, "bad value '%s' for bind: expected auto or no", l->argv[1]);
    c->bind_auto = strcmp(l->argv[1], "auto") == 0;
    return 0;
}

static int key_bind_timeout(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_timeout(&c->bind_timeout_ms, l, err, errsize);
}

static int key_dns(struct config *c, const struct line *l, char *err, size_t errsize)
{
    static const char *const modes[] = { [DNS_REMOTE] = "remote", [DNS_LOCAL] = "local", [DNS_OFF] = "off" };
    if (expect_args(l, 1, "remote, local or off", err, errsize) < 0)
        return -EINVAL;
    for (int m = DNS_REMOTE; m <= DNS_OFF; m++) {
        if (strcmp(l->argv[1], modes[m]) == 0) {
            c->dns = (enum dns_mode)m;
            return 0;
        }
    }
    return line_error(l, err, errsize, "bad dns mode '%s': expected remote, local or off", l->argv[1]);
}

/* A fake range must leave room for addresses: at most /30 for IPv4 and /126 for IPv6. */
static int key_range(struct cidr *out, int family, const struct line *l, char *err, size_t errsize)
{
    const char *example = family == AF_INET ? CONFIG_DEFAULT_FAKE_RANGE : CONFIG_DEFAULT_FAKE_RANGE6;
    if (expect_args(l, 1, "one address range", err, errsize) < 0)
        return -EINVAL;
    struct cidr range;
    unsigned longest = family == AF_INET ? 30 : 126;
    if (cidr_parse(l->argv[1], &range) < 0 || range.family != family || range.prefix > longest)
        return line_error(l, err, errsize, "bad %s '%s': expected an %s range no longer than /%u, e.g. %s", l->argv[0],
                          l->argv[1], family == AF_INET ? "IPv4" : "IPv6", longest, example);
    *out = range;
    return 0;
}

static int key_fake_range(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_range(&c->fake_range, AF_INET, l, err, errsize);
}

static int key_fake_range6(struct config *c, const struct line *l, char *err, size_t errsize)
{
    return key_range(&c->fake_range6, AF_INET6, l, err, errsize);
}

static const struct {
    const char *name;
    int (*parse)(struct config *, const struct line *, char *, size_t);
} keys[] = {
    { "proxy", key_proxy },
    { "chain", key_chain },
    { "route", key_route },
    { "proxy_retry", key_proxy_retry },
    { "connect_timeout", key_connect_timeout },
    { "handshake_timeout", key_handshake_timeout },
    { "log_level", key_log_level },
    { "log_file", key_log_file },
    { "direct", key_direct },
    { "direct_loopback", key_direct_loopback },
    { "dns", key_dns },
    { "fake_range", key_fake_range },
    { "fake_range6", key_fake_range6 },
    { "direct_dns", key_direct_dns },
    { "socks5_pipelining", key_socks5_pipelining },
    { "bind", key_bind },
    { "bind_timeout", key_bind_timeout },
    { "seccomp", key_seccomp },
};

const char *config_key_name(size_t i)
{
    return i < sizeof(keys) / sizeof(keys[0]) ? keys[i].name : NULL;
}

int split_words(char *s, struct line *l, char *err, size_t errsize)
{
    l->argc = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (*s == '\0' || *s == '#')
            return 0;
        if (l->argc == CONFIG_MAX_ARGS)
            return line_error(l, err, errsize, "too many words on one line (at most %d)", CONFIG_MAX_ARGS);
        l->argv[l->argc++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r')
            s++;
        if (*s)
            *s++ = '\0';
    }
}

int for_each_line(const char *text, const char *filename, char *err, size_t errsize,
                  int (*parse_line)(void *ctx, char *line, struct line *l, char *err, size_t errsize), void *ctx)
{
    struct line l = { .file = filename, .number = 0 };
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        l.number++;
        char buf[4096];
        if (len >= sizeof(buf))
            return line_error(&l, err, errsize, "line is longer than %zu characters", sizeof(buf) - 1);
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (parse_line(ctx, buf, &l, err, errsize) < 0)
            return -EINVAL;
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

/* "proxy, chain, ... or seccomp": every key of the table, for the unknown-key message. */
static const char *key_list(char *buf, size_t size)
{
    size_t n = sizeof(keys) / sizeof(keys[0]), len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        int w = snprintf(buf + len, size - len, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", keys[i].name);
        len += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

static int parse_line(void *ctx, char *text, struct line *l, char *err, size_t errsize)
{
    struct config *c = ctx;
    if (split_words(text, l, err, errsize) < 0)
        return -EINVAL;
    if (l->argc == 0)
        return 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(l->argv[0], keys[i].name) == 0)
            return keys[i].parse(c, l, err, errsize);
    char expected[512];
    return line_error(l, err, errsize, "unknown key '%s': expected %s", l->argv[0], key_list(expected, sizeof(expected)));
}

/* socks5_pipelining applies to every proxy, wherever the line is. */
static void apply_pipelining(struct config *c)
{
    for (size_t i = 0; i < c->proxy_count; i++)
        c->proxies[i].pipeline = c->socks5_pipelining && c->proxies[i].kind == PROXY_SOCKS5;
}

int config_parse(struct config *c, const char *text, const char *filename, char *err, size_t errsize)
{
    if (pcconf_detect(text))
        return pcconf_parse(c, text, filename, err, errsize);
    int r = for_each_line(text, filename, err, errsize, parse_line, c);
    apply_pipelining(c);
    return r;
}

/* Reads a whole (small) text file into a fresh NUL-terminated buffer; *st describes the file read.
 * NULL with *error set (a positive errno; EINVAL for a binary file) if it cannot. */
static char *read_file(const char *path, struct stat *st, int *error)
{
    char *text;
    ssize_t len = file_read_all(path, MAX_CONFIG_BYTES, &text, st);
    *error = len < 0 ? (int)-len : memchr(text, '\0', (size_t)len) ? EINVAL : 0;
    if (*error) {
        free(text);
        return NULL;
    }
    return text;
}

static void read_error(const char *path, const char *what, int error, char *err, size_t errsize)
{
    snprintf(err, errsize, "%s: cannot read %s: %s", path, what,
             error == EFBIG ? "file is larger than 1 MiB" : error == EINVAL ? "binary file" : strerror(error));
}

static bool has_password(const struct config *c)
{
    for (size_t i = 0; i < c->proxy_count; i++)
        if (c->proxies[i].has_auth && c->proxies[i].pass[0])
            return true;
    return false;
}

/* Whoever can write the config decides where the traffic goes: the library refuses such a file
 * (refuse), the checker warns about it. */
static int check_trust(struct config *c, const char *path, const struct stat *st, bool refuse, char *err,
                       size_t errsize)
{
    enum filetrust t = filetrust_config(st, geteuid());
    if (t == FILETRUST_OK)
        return 0;
    if (refuse) {
        snprintf(err, errsize, "%s %s: refused (only root and you may own and write a config file)", path,
                 filetrust_describe(t));
        return -EPERM;
    }
    config_warn(c, "%s %s: the library refuses it, so connections that would be proxied fail (chmod go-w, chown)",
                path, filetrust_describe(t));
    return 0;
}

static int parse_file(struct config *c, const char *path, bool refuse_untrusted, char *err, size_t errsize)
{
    int error;
    struct stat st;
    char *text = read_file(path, &st, &error);
    if (!text) {
        read_error(path, "config", error, err, errsize);
        return -error;
    }
    int r = check_trust(c, path, &st, refuse_untrusted, err, errsize);
    if (r == 0)
        r = config_parse(c, text, path, err, errsize);
    free(text);
    if (r == 0)
        c->has_source = text_copy(c->source, sizeof(c->source), path) > 0;
    /* A password others can read is a password others have. */
    if (r == 0 && has_password(c) && (st.st_mode & (S_IRGRP | S_IROTH)))
        config_warn(c, "%s holds a proxy password but others can read it (chmod 600 %s)", path, path);
    return r;
}

int config_parse_file(struct config *c, const char *path, char *err, size_t errsize)
{
    return parse_file(c, path, false, err, errsize);
}

int config_read_proxy_file(const char *path, char *url, size_t size, char *err, size_t errsize)
{
    struct stat st;
    ssize_t n = file_read_into(path, url, size, &st);
    size_t got = n == -EFBIG ? size - 1 : (size_t)n;   /* a long file may still begin with a URL and a newline */
    int error = n < 0 && n != -EFBIG ? (int)-n : memchr(url, '\0', got) ? EINVAL : 0;
    if (error) {
        explicit_bzero(url, size);
        read_error(path, "the proxy URL", error, err, errsize);
        return -error;
    }
    enum filetrust t = filetrust_secret(&st, geteuid());
    size_t len = strcspn(url, "\r\n");
    int r = 0;
    if (t != FILETRUST_OK) {
        snprintf(err, errsize, "%s %s: refused (a file holding a proxy password must be yours and private, chmod 600)",
                 path, filetrust_describe(t));
        r = -EPERM;
    } else if (len == 0 || (n == -EFBIG && len == size - 1)) {
        snprintf(err, errsize, "%s: expected one proxy URL of at most %zu characters", path, size - 1);
        r = len == 0 ? -EINVAL : -E2BIG;
    }
    /* Nothing but the URL stays: what followed it, or all of it when it is refused. Only what the
     * file put there is wiped (the library's buffer spans pages it would otherwise never touch). */
    size_t keep = r == 0 ? len : 0;
    explicit_bzero(url + keep, got + 1 - keep);
    return r;
}

/* a, b and c joined into path (size bytes); 0, or -ENAMETOOLONG. */
static int join(char *path, size_t size, const char *a, const char *b, const char *c)
{
    return text_join(path, size, a, b, c, (const char *)NULL) < size ? 0 : -ENAMETOOLONG;
}

/* name made absolute against the working directory, into path; 0 or -errno. */
static int absolute(const char *name, char *path, size_t size)
{
    if (name[0] == '/')
        return join(path, size, name, "", "");
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return -errno;
    return join(path, size, strcmp(cwd, "/") ? cwd : "", "/", name);
}

int config_locate(const struct config_env *env, char *path, size_t size)
{
    int r;
    if (env->conf_path && *env->conf_path)
        return (r = absolute(env->conf_path, path, size)) < 0 ? r : 1;
    /* A pinned session without a file has none: searching again would let a later working
     * directory's socksify.conf take over. */
    if (env->pinned)
        return 0;
    if (access("socksify.conf", F_OK) == 0)
        return (r = absolute("socksify.conf", path, size)) < 0 ? r : 1;
    if (env->home && *env->home && join(path, size, env->home, "/.config/socksify/socksify.conf", "") == 0 &&
        access(path, F_OK) == 0)
        return 1;
    if (join(path, size, env->system_conf ? env->system_conf : "/etc/socksify.conf", "", "") < 0)
        return -ENAMETOOLONG;
    return access(path, F_OK) == 0;
}

static int apply_overrides(struct config *c, const struct config_env *env, char *err, size_t errsize)
{
    char why[256];
    if (env->proxy_url && *env->proxy_url) {
        struct proxy p;
        if (proxy_url_parse(env->proxy_url, &p, why, sizeof(why)) < 0) {
            snprintf(err, errsize, "%s: %s", env->proxy_label ? env->proxy_label : "SOCKSIFY_PROXY", why);
            return -EINVAL;
        }
        int r = config_set_default_proxy(c, &p);
        memset(&p, 0, sizeof(p));   /* the password lives on in c only */
        if (r < 0) {
            snprintf(err, errsize, "out of memory");
            return -ENOMEM;
        }
    }
    if (env->log_level && *env->log_level && log_level_parse(env->log_level, &c->log_level) < 0) {
        snprintf(err, errsize, "SOCKSIFY_LOG_LEVEL: bad level '%s': expected none, error, warn, info or debug", env->log_level);
        return -EINVAL;
    }
    if (env->log_file && *env->log_file)
        snprintf(c->log_file, sizeof(c->log_file), "%s", env->log_file);
    return 0;
}

int config_load(struct config *c, const struct config_env *env, char *err, size_t errsize)
{
    config_init(c);
    char path[PATH_MAX];
    int found = config_locate(env, path, sizeof(path));
    bool have_file = found > 0;
    int r = found < 0 ? found : have_file ? parse_file(c, path, env->refuse_untrusted, err, errsize) : 0;
    if (found < 0)
        snprintf(err, errsize, "cannot tell where the config file is: %s", strerror(-found));
    if (r == 0)
        r = apply_overrides(c, env, err, errsize);
    apply_pipelining(c);
    if (r == 0 && c->proxy_count == 0) {
        if (have_file)
            snprintf(err, errsize, "%s: no proxy declared, and no proxy given with -x or SOCKSIFY_PROXY", path);
        else
            snprintf(err, errsize, "no proxy configured: use -x URL, -f FILE, SOCKSIFY_PROXY, or create "
                     "~/.config/socksify/socksify.conf or /etc/socksify.conf");
        r = -ENOENT;
    }
    if (r < 0)
        config_free(c);
    return r;
}
