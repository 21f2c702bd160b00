/* Unit tests for core/config.c: socksify.conf parsing, files, and config_load's precedence. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define ERR_SIZE 512

/* ---- config_parse ---- */

/* Parses text as "test.conf" into a fresh config (caller frees), asserting success. */
static void parse_ok(struct config *c, const char *text)
{
    char err[ERR_SIZE] = "";
    config_init(c);
    int r = config_parse(c, text, "test.conf", err, sizeof(err));
    cr_assert_eq(r, 0, "rejected (%d): %s\n--- text ---\n%s", r, err, text);
}

/* Asserts text fails with -EINVAL and "test.conf:LINE: ..." mentioning `mention`. */
static void parse_bad(const char *text, int line, const char *mention)
{
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    int r = config_parse(&c, text, "test.conf", err, sizeof(err));
    config_free(&c);
    cr_assert_eq(r, -EINVAL, "accepted (%d):\n%s", r, text);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "test.conf:%d: ", line);
    cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "message \"%s\" does not start with \"%s\"", err, prefix);
    cr_assert_gt(strlen(err), strlen(prefix), "nothing after the location: \"%s\"", err);
    cr_assert_not_null(strcasestr(err, mention), "message \"%s\" does not mention \"%s\"", err, mention);
}

static void assert_cidr(const struct cidr *c, const char *text)
{
    struct cidr want;
    cr_assert_eq(cidr_parse(text, &want), 0);
    cr_assert_eq(c->family, want.family, "%s: family", text);
    cr_assert_eq(c->prefix, want.prefix, "%s: prefix %u", text, c->prefix);
    cr_assert_eq(memcmp(c->addr, want.addr, sizeof(want.addr)), 0, "%s: address", text);
}

Test(config_parse, defaults)
{
    /* The settings are reset whatever they held; the texts are taken empty (zeroed memory). */
    struct config c = { 0 };
    memset(&c, 0x5a, offsetof(struct config, log_file));
    config_init(&c);
    cr_assert_not((config_default_proxy(&c) != NULL));
    cr_assert_eq(c.connect_timeout_ms, CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);
    cr_assert_eq(c.connect_timeout_ms, 10000);
    cr_assert_eq(c.handshake_timeout_ms, CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS);
    cr_assert_eq(c.handshake_timeout_ms, 10000);
    cr_assert_eq(c.log_level, LOG_ERROR);
    cr_assert_str_empty(c.log_file);
    cr_assert_null(c.rules);
    cr_assert_eq(c.rule_count, 0);
    cr_assert(c.direct_loopback);
    cr_assert_str_empty(c.source);
    config_free(&c);
}

Test(config_parse, free_empties_the_texts_for_the_next_init)
{
    struct config c = { 0 };
    config_init(&c);
    char err[ERR_SIZE];
    cr_assert_eq(config_parse(&c, "log_file /tmp/x.log\nproxy socks5://h\n", "a.conf", err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.log_file, "/tmp/x.log");
    snprintf(c.source, sizeof(c.source), "a.conf");
    c.has_source = true;
    config_warn(&c, "something");
    config_warn(&c, "more");
    cr_assert(c.has_warnings);
    cr_assert_str_eq(c.warnings, "something\nmore");
    config_free(&c);
    cr_assert(!c.has_source && !c.has_warnings);
    config_init(&c);
    cr_assert_str_empty(c.log_file);
    cr_assert_str_empty(c.source);
    cr_assert_str_empty(c.warnings);
    config_free(&c);
}

Test(config_parse, empty_and_comment_only)
{
    struct config c = { 0 };
    parse_ok(&c, "");
    cr_assert_not((config_default_proxy(&c) != NULL));
    config_free(&c);
    parse_ok(&c, "# nothing\n\n   \n\t# indented comment\n");
    cr_assert_not((config_default_proxy(&c) != NULL));
    cr_assert_eq(c.rule_count, 0);
    config_free(&c);
}

Test(config_parse, every_key)
{
    struct config c = { 0 };
    parse_ok(&c,
             "# socksify test configuration\n"
             "proxy socks5h://user:pw@10.9.8.7:1081\n"
             "connect_timeout 5s\n"
             "handshake_timeout 250ms\n"
             "log_level debug\n"
             "log_file /var/log/socksify.log\n"
             "direct 192.168.0.0/16 fd00::/8\n"
             "direct_loopback no\n");
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert(config_default_proxy(&c)->remote_dns);
    cr_assert_str_eq(config_default_proxy(&c)->host, "10.9.8.7");
    cr_assert_eq(config_default_proxy(&c)->port, 1081);
    cr_assert_str_eq(config_default_proxy(&c)->user, "user");
    cr_assert_str_eq(config_default_proxy(&c)->pass, "pw");
    cr_assert(config_default_proxy(&c)->has_addr);
    cr_assert_eq(c.connect_timeout_ms, 5000);
    cr_assert_eq(c.handshake_timeout_ms, 250);
    cr_assert_eq(c.log_level, LOG_DEBUG);
    cr_assert_str_eq(c.log_file, "/var/log/socksify.log");
    cr_assert_eq(c.rule_count, 2);
    assert_cidr(&c.rules[0].cidr, "192.168.0.0/16");
    assert_cidr(&c.rules[1].cidr, "fd00::/8");
    cr_assert_not(c.direct_loopback);
    cr_assert_str_empty(c.source, "config_parse does not set the source");
    config_free(&c);
}

Test(config_parse, timeouts)
{
    static const struct { const char *text; int ms; } cases[] = {
        { "5s", 5000 }, { "500ms", 500 }, { "7", 7000 }, { "1ms", 1 }, { "3600s", 3600000 }, { "3600000ms", 3600000 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[128];
        struct config c = { 0 };
        snprintf(text, sizeof(text), "connect_timeout %s\nhandshake_timeout %s\n", cases[i].text, cases[i].text);
        parse_ok(&c, text);
        cr_assert_eq(c.connect_timeout_ms, cases[i].ms, "%s", cases[i].text);
        cr_assert_eq(c.handshake_timeout_ms, cases[i].ms, "%s", cases[i].text);
        config_free(&c);
    }
}

Test(config_parse, timeouts_are_independent)
{
    struct config c = { 0 };
    parse_ok(&c, "handshake_timeout 3s\n");
    cr_assert_eq(c.handshake_timeout_ms, 3000);
    cr_assert_eq(c.connect_timeout_ms, CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);
    config_free(&c);
}

Test(config_parse, every_log_level)
{
    static const struct { const char *text; enum log_level level; } cases[] = {
        { "none", LOG_NONE }, { "error", LOG_ERROR }, { "warn", LOG_WARN }, { "info", LOG_INFO },
        { "debug", LOG_DEBUG }, { "INFO", LOG_INFO },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[64];
        struct config c = { 0 };
        snprintf(text, sizeof(text), "log_level %s", cases[i].text);
        parse_ok(&c, text);
        cr_assert_eq(c.log_level, cases[i].level, "%s", cases[i].text);
        config_free(&c);
    }
}

Test(config_parse, direct_over_several_lines)
{
    struct config c = { 0 };
    parse_ok(&c,
             "direct 10.0.0.0/8 172.16.0.0/12\n"
             "direct 192.168.1.7\n"
             "direct fd00::/8 2001:db8::/32 ::1/128 fe80::1\n"
             "direct 100.64.0.0/10 169.254.0.0/16 198.18.0.0/15 203.0.113.0/24\n");
    static const char *const want[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.1.7/32", "fd00::/8", "2001:db8::/32",
                                        "::1/128", "fe80::1/128", "100.64.0.0/10", "169.254.0.0/16", "198.18.0.0/15",
                                        "203.0.113.0/24" };
    size_t n = sizeof(want) / sizeof(want[0]);
    cr_assert_eq(c.rule_count, n, "%zu ranges, expected %zu", c.rule_count, n);
    cr_assert_geq(c.rule_capacity, c.rule_count);
    for (size_t i = 0; i < n; i++)
        assert_cidr(&c.rules[i].cidr, want[i]);
    config_free(&c);
    cr_assert_null(c.rules);
    cr_assert_eq(c.rule_count, 0);
}

Test(config_parse, direct_many_ranges_grow)
{
    char text[4096] = "";
    for (int i = 0; i < 100; i++) {
        char line[40];
        snprintf(line, sizeof(line), "direct 10.%d.0.0/16\n", i);
        strcat(text, line);
    }
    struct config c = { 0 };
    parse_ok(&c, text);
    cr_assert_eq(c.rule_count, 100);
    char want[32];
    snprintf(want, sizeof(want), "10.%d.0.0/16", 99);
    assert_cidr(&c.rules[99].cidr, want);
    config_free(&c);
}

Test(config_parse, direct_loopback_values)
{
    static const struct { const char *text; bool value; } cases[] = {
        { "yes", true }, { "no", false }, { "on", true }, { "off", false },
        { "true", true }, { "false", false }, { "1", true }, { "0", false }, { "YES", true }, { "Off", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[64];
        struct config c = { 0 };
        snprintf(text, sizeof(text), "direct_loopback %s\n", cases[i].text);
        parse_ok(&c, text);
        cr_assert_eq(c.direct_loopback, cases[i].value, "%s", cases[i].text);
        config_free(&c);
    }
}

Test(config_parse, comments_whitespace_crlf)
{
    struct config c = { 0 };
    parse_ok(&c,
             "# leading comment\r\n"
             "\r\n"
             "   \t  \r\n"
             "   proxy   socks5://1.2.3.4:1080   # trailing comment\r\n"
             "\tconnect_timeout\t2s\r\n"
             "log_level info\r\n"
             "direct 10.0.0.0/8\t fd00::/8 # two ranges\r\n"
             "direct_loopback off\r\n"
             "#last");
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert_str_eq(config_default_proxy(&c)->host, "1.2.3.4");
    cr_assert_eq(config_default_proxy(&c)->port, 1080);
    cr_assert_eq(c.connect_timeout_ms, 2000);
    cr_assert_eq(c.log_level, LOG_INFO);
    cr_assert_eq(c.rule_count, 2);
    assert_cidr(&c.rules[1].cidr, "fd00::/8");
    cr_assert_not(c.direct_loopback);
    config_free(&c);
}

Test(config_parse, last_line_without_newline)
{
    struct config c = { 0 };
    parse_ok(&c, "log_level warn\nproxy socks5://h:2");
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert_eq(config_default_proxy(&c)->port, 2);
    cr_assert_eq(c.log_level, LOG_WARN);
    config_free(&c);
}

/* ---- config_parse errors, each with its line ---- */

Test(config_parse_errors, unknown_key)
{
    parse_bad("proxi socks5://h\n", 1, "unknown key 'proxi'");
    parse_bad("# c\n\nlog_level info\ntimeout 5s\n", 4, "unknown key");
    parse_bad("Proxy socks5://h\n", 1, "unknown key");   /* keys are case-sensitive */
}

Test(config_parse_errors, missing_argument)
{
    parse_bad("\n\nproxy\n", 3, "proxy");
    parse_bad("connect_timeout\n", 1, "connect_timeout");
    parse_bad("log_level info\nhandshake_timeout   # no value\n", 2, "handshake_timeout");
    parse_bad("log_level\n", 1, "log_level");
    parse_bad("log_file\n", 1, "log_file");
    parse_bad("direct_loopback\n", 1, "direct_loopback");
}

Test(config_parse_errors, extra_argument)
{
    parse_bad("proxy socks5://a socks5://b\n", 1, "proxy");
    parse_bad("log_level info\nconnect_timeout 5s 6s\n", 2, "connect_timeout");
    parse_bad("handshake_timeout 1 s\n", 1, "handshake_timeout");
    parse_bad("log_level info debug\n", 1, "log_level");
    parse_bad("log_file /a /b\n", 1, "log_file");
    parse_bad("direct_loopback yes no\n", 1, "direct_loopback");
}

Test(config_parse_errors, bad_proxy_url)
{
    parse_bad("# c\nproxy socks5://h:0\n", 2, "port");
    parse_bad("proxy ftp://h:8080\n", 1, "scheme");
    parse_bad("\n\n\n\nproxy socks5://[::1\n", 5, "[");
}

Test(config_parse_errors, second_proxy)
{
    parse_bad("proxy socks5://a\n# another\nproxy socks5://b\n", 3, "second");
}

Test(config_parse_errors, bad_duration)
{
    static const char *const bad[] = { "0", "0s", "0ms", "abc", "5m", "-1", "5h", "s", "ms", "1.5s", "+5",
                                       "3601", "3601s", "3600001ms", "99999999999999999999", "2147483648ms" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "log_level info\nconnect_timeout %s\n", bad[i]);
        parse_bad(text, 2, "duration");
        snprintf(text, sizeof(text), "handshake_timeout %s\n", bad[i]);
        parse_bad(text, 1, "duration");
    }
}

Test(config_parse_errors, bad_log_level)
{
    parse_bad("log_level verbose\n", 1, "log level");
    parse_bad("\nlog_level warning\n", 2, "warning");
}

Test(config_parse_errors, relative_log_file)
{
    parse_bad("log_file socksify.log\n", 1, "absolute");
    parse_bad("log_file ./x.log\n", 1, "absolute");
    parse_bad("log_file ~/x.log\n", 1, "absolute");
}

Test(config_parse_errors, bad_cidr)
{
    parse_bad("direct 10.0.0.0/33\n", 1, "10.0.0.0/33");
    parse_bad("direct 10.0.0.0/8 ::/129\n", 1, "::/129");
    parse_bad("# x\ndirect 1.2.3\n", 2, "1.2.3");
    parse_bad("direct 10.0.0.0/8\ndirect 192.168.0.0/16 fd00::/8 nonsense\n", 2, "nonsense");
    parse_bad("direct 10.0.0.0/\n", 1, "range");
    parse_bad("direct 10.0.0.0/-1\n", 1, "range");
}

Test(config_parse_errors, direct_without_ranges)
{
    parse_bad("direct\n", 1, "direct");
    parse_bad("proxy socks5://h\ndirect   # nothing\n", 2, "direct");
}

Test(config_parse_errors, bad_bool)
{
    parse_bad("direct_loopback maybe\n", 1, "direct_loopback");
    parse_bad("direct_loopback 2\n", 1, "'2'");
    parse_bad("direct_loopback y\n", 1, "yes or no");
}

Test(config_parse_errors, line_numbers_with_crlf_and_comments)
{
    parse_bad("# c\r\n\r\n  proxy socks5://h\r\n  \r\nbogus 1\r\n", 5, "bogus");
    parse_bad("log_level info\nlog_level info\nlog_level info\nlog_level info\nlog_level info\n"
              "log_level info\nlog_level info\nlog_level info\nlog_level info\nlog_level loud", 10, "loud");
}

Test(config_parse_errors, overlong_line)
{
    char text[5000];
    memset(text, 'x', sizeof(text));
    memcpy(text, "log_level info\n# ", 17);
    text[sizeof(text) - 1] = '\0';
    parse_bad(text, 2, "longer");
}

Test(config_parse_errors, error_message_truncated_safely)
{
    struct config c = { 0 };
    char err[10];
    memset(err, 'x', sizeof(err));
    config_init(&c);
    cr_assert_eq(config_parse(&c, "bogus\n", "a-rather-long-file-name.conf", err, sizeof(err)), -EINVAL);
    cr_assert_lt(strnlen(err, sizeof(err)), sizeof(err));
    config_free(&c);
}

/* ---- config_duration_parse ---- */

Test(config_duration, good)
{
    cr_assert_eq(config_duration_parse("10s"), 10000);
    cr_assert_eq(config_duration_parse("500ms"), 500);
    cr_assert_eq(config_duration_parse("7"), 7000);
    cr_assert_eq(config_duration_parse("1"), 1000);
    cr_assert_eq(config_duration_parse("1ms"), 1);
    cr_assert_eq(config_duration_parse("3600"), 3600000);
    cr_assert_eq(config_duration_parse("3600s"), 3600000);
    cr_assert_eq(config_duration_parse("3600000ms"), 3600000);
    cr_assert_eq(config_duration_parse("007s"), 7000);
}

Test(config_duration, bad)
{
    static const char *const bad[] = { "", "0", "0s", "0ms", "abc", "5m", "-1", "-5s", "+5", " 5", "5 ", "5sec",
                                       "5S", "5MS", "1.5", "s", "ms", "3601", "3601s", "3600001ms",
                                       "99999999999999999999", "9223372036854775807", "4294967296ms" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(config_duration_parse(bad[i]), -EINVAL, "'%s' gave %d", bad[i], config_duration_parse(bad[i]));
}

/* ---- files and config_load ---- */

static char tmp_root[64];   /* a fresh directory per test */
static char saved_cwd[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmp_setup(void)
{
    cr_assert_not_null(getcwd(saved_cwd, sizeof(saved_cwd)));
    strcpy(tmp_root, "/tmp/socksify-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_root));
}

static void tmp_teardown(void)
{
    if (saved_cwd[0])
        cr_assert_eq(chdir(saved_cwd), 0);
    if (tmp_root[0])
        nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmp_root/rel, as a path. */
static const char *tmp_path(const char *rel)
{
    static char paths[8][PATH_MAX];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", tmp_root, rel);
    return p;
}

static void make_dir(const char *rel)
{
    cr_assert_eq(mkdir(tmp_path(rel), 0700), 0, "mkdir %s: %s", rel, strerror(errno));
}

static const char *write_file(const char *rel, const char *text)
{
    const char *path = tmp_path(rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    return path;
}

TestSuite(config_file, .init = tmp_setup, .fini = tmp_teardown);

Test(config_file, good_file)
{
    const char *path = write_file("a.conf", "proxy socks5://1.2.3.4:1080\nlog_level info\n");
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    cr_assert_eq(config_parse_file(&c, path, err, sizeof(err)), 0, "%s", err);
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert_eq(c.log_level, LOG_INFO);
    cr_assert_str_eq(c.source, path);
    config_free(&c);
}

Test(config_file, missing_file_enoent)
{
    const char *path = tmp_path("does-not-exist.conf");
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    cr_assert_eq(config_parse_file(&c, path, err, sizeof(err)), -ENOENT);
    cr_assert_not_null(strstr(err, path), "message \"%s\" lacks the path", err);
    cr_assert_str_empty(c.source);
    config_free(&c);
}

Test(config_file, error_carries_path_and_line)
{
    const char *path = write_file("bad.conf", "proxy socks5://1.2.3.4\n\nlog_level loud\n");
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    char want[PATH_MAX + 16];
    snprintf(want, sizeof(want), "%s:3: ", path);
    config_init(&c);
    cr_assert_eq(config_parse_file(&c, path, err, sizeof(err)), -EINVAL);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "message \"%s\"", err);
    config_free(&c);
}

Test(config_file, binary_file_rejected)
{
    const char *path = tmp_path("bin.conf");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fwrite("proxy socks5://h\0\n", 1, 18, f);
    fclose(f);
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    cr_assert_lt(config_parse_file(&c, path, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, path));
    config_free(&c);
}

Test(config_file, directory_rejected)
{
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    config_init(&c);
    cr_assert_lt(config_parse_file(&c, tmp_root, err, sizeof(err)), 0);
    cr_assert_str_not_empty(err);
    config_free(&c);
}

/* config_load: every test runs in an empty working directory under tmp_root, with HOME at tmp_root/home. */
static void load_setup(void)
{
    tmp_setup();
    make_dir("cwd");
    make_dir("home");
    cr_assert_eq(chdir(tmp_path("cwd")), 0);
}

TestSuite(config_load, .init = load_setup, .fini = tmp_teardown);

/* A temp HOME, and a system-wide file that does not exist, so the machine's own
 * /etc/socksify.conf never changes a result. */
static struct config_env env_home(void)
{
    static char home[PATH_MAX], system_conf[PATH_MAX];
    snprintf(home, sizeof(home), "%s/home", tmp_root);
    snprintf(system_conf, sizeof(system_conf), "%s/etc-socksify.conf", tmp_root);
    return (struct config_env){ .home = home, .system_conf = system_conf };
}

/* config_load into c, asserting it returns want (0 or -errno); returns the message, valid until the next call. */
static const char *load(struct config *c, const struct config_env *env, int want)
{
    static char err[ERR_SIZE];
    err[0] = '\0';
    cr_assert_eq(config_load(c, env, err, sizeof(err)), want, "%s", err);
    return err;
}

/* Asserts the message msg contains word. */
static void assert_mentions(const char *msg, const char *word)
{
    cr_assert_not_null(strstr(msg, word), "message \"%s\"", msg);
}

/* Writes HOME's .config/socksify/socksify.conf and returns its path. */
static const char *write_home_conf(const char *text)
{
    make_dir("home/.config");
    make_dir("home/.config/socksify");
    return write_file("home/.config/socksify/socksify.conf", text);
}

Test(config_load, override_beats_file_proxy)
{
    struct config_env env = env_home();
    env.conf_path = write_file("a.conf", "proxy socks5://1.1.1.1:1111\nlog_level warn\n");
    env.proxy_url = "socks5h://2.2.2.2:2222";
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert_str_eq(config_default_proxy(&c)->host, "2.2.2.2");
    cr_assert_eq(config_default_proxy(&c)->port, 2222);
    cr_assert(config_default_proxy(&c)->remote_dns);
    cr_assert_eq(c.log_level, LOG_WARN, "the rest of the file still applies");
    config_free(&c);
}

Test(config_load, conf_path_used)
{
    struct config_env env = env_home();
    write_file("cwd/socksify.conf", "proxy socks5://9.9.9.9\n");   /* not used: the explicit file wins */
    env.conf_path = write_file("explicit.conf", "proxy socks5://1.1.1.1:1111\ndirect 10.0.0.0/8\n");
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_str_eq(config_default_proxy(&c)->host, "1.1.1.1");
    cr_assert_eq(c.rule_count, 1);
    cr_assert_str_eq(c.source, env.conf_path);
    config_free(&c);
}

Test(config_load, conf_path_missing_enoent)
{
    struct config_env env = env_home();
    env.conf_path = tmp_path("missing.conf");
    env.proxy_url = "socks5://1.2.3.4";
    struct config c = { 0 };
    assert_mentions(load(&c, &env, -ENOENT), env.conf_path);
    cr_assert_null(c.rules);
}

Test(config_load, conf_path_with_error)
{
    struct config_env env = env_home();
    env.conf_path = write_file("bad.conf", "direct 10.0.0.0/8\nproxy socks5://h:0\n");
    env.proxy_url = "socks5://1.2.3.4";
    struct config c = { 0 };
    char want[PATH_MAX + 16];
    snprintf(want, sizeof(want), "%s:2: ", env.conf_path);
    const char *err = load(&c, &env, -EINVAL);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "message \"%s\"", err);
    cr_assert_null(c.rules, "a failed load frees what it parsed");
    cr_assert_eq(c.rule_count, 0);
}

Test(config_load, nothing_configured_enoent)
{
    struct config_env env = env_home();
    struct config c = { 0 };
    assert_mentions(load(&c, &env, -ENOENT), "no proxy");
}

Test(config_load, nothing_configured_no_home)
{
    struct config_env env = env_home();
    env.home = NULL;
    struct config c = { 0 };
    assert_mentions(load(&c, &env, -ENOENT), "no proxy");
}

Test(config_load, override_alone)
{
    struct config_env env = env_home();
    env.proxy_url = "socks5://[::1]:9050";
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert_str_eq(config_default_proxy(&c)->host, "::1");
    cr_assert_str_empty(c.source);
    cr_assert_eq(c.connect_timeout_ms, CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);
    config_free(&c);
}

Test(config_load, file_without_proxy_plus_override)
{
    struct config_env env = env_home();
    env.conf_path = write_file("np.conf", "direct 10.0.0.0/8\nconnect_timeout 3s\n");
    env.proxy_url = "socks5://1.2.3.4:1080";
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert((config_default_proxy(&c) != NULL));
    cr_assert_str_eq(config_default_proxy(&c)->host, "1.2.3.4");
    cr_assert_eq(c.rule_count, 1);
    cr_assert_eq(c.connect_timeout_ms, 3000);
    config_free(&c);
}

Test(config_load, file_without_proxy_no_override_enoent)
{
    struct config_env env = env_home();
    env.conf_path = write_file("np.conf", "direct 10.0.0.0/8\n");
    struct config c = { 0 };
    const char *err = load(&c, &env, -ENOENT);
    assert_mentions(err, env.conf_path);
    assert_mentions(err, "proxy");
    cr_assert_null(c.rules);
}

Test(config_load, empty_override_ignored)
{
    struct config_env env = env_home();
    env.conf_path = write_file("a.conf", "proxy socks5://1.1.1.1\n");
    env.proxy_url = "";
    env.log_level = "";
    env.log_file = "";
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_str_eq(config_default_proxy(&c)->host, "1.1.1.1");
    cr_assert_eq(c.log_level, LOG_ERROR);
    cr_assert_str_empty(c.log_file);
    config_free(&c);
}

Test(config_load, log_level_override)
{
    struct config_env env = env_home();
    env.conf_path = write_file("a.conf", "proxy socks5://1.1.1.1\nlog_level warn\nlog_file /var/log/a.log\n");
    env.log_level = "debug";
    env.log_file = "/tmp/b.log";
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_eq(c.log_level, LOG_DEBUG);
    cr_assert_str_eq(c.log_file, "/tmp/b.log");
    config_free(&c);
}

Test(config_load, bad_log_level_override)
{
    struct config_env env = env_home();
    env.proxy_url = "socks5://1.1.1.1";
    env.log_level = "chatty";
    struct config c = { 0 };
    const char *err = load(&c, &env, -EINVAL);
    assert_mentions(err, "SOCKSIFY_LOG_LEVEL");
    assert_mentions(err, "chatty");
}

Test(config_load, bad_override_url)
{
    struct config_env env = env_home();
    env.conf_path = write_file("a.conf", "proxy socks5://1.1.1.1\n");
    env.proxy_url = "socks5://h:99999";
    struct config c = { 0 };
    const char *err = load(&c, &env, -EINVAL);
    assert_mentions(err, "SOCKSIFY_PROXY");
    cr_assert_not_null(strcasestr(err, "port"), "message \"%s\"", err);
}

Test(config_load, home_file_found)
{
    struct config_env env = env_home();
    const char *path = write_home_conf("proxy socks5://5.6.7.8:1085\n");
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_str_eq(config_default_proxy(&c)->host, "5.6.7.8");
    cr_assert_eq(config_default_proxy(&c)->port, 1085);
    cr_assert_str_eq(c.source, path);
    config_free(&c);
}

Test(config_load, cwd_file_beats_home_file)
{
    struct config_env env = env_home();
    write_home_conf("proxy socks5://5.6.7.8:1085\n");
    write_file("cwd/socksify.conf", "proxy socks5://4.4.4.4:1084\n");
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_str_eq(config_default_proxy(&c)->host, "4.4.4.4");
    /* Absolute: the session pins it, wherever its programs go later. */
    cr_assert_str_eq(c.source, tmp_path("cwd/socksify.conf"));
    config_free(&c);
}

Test(config_load, home_file_with_override)
{
    struct config_env env = env_home();
    write_home_conf("proxy socks5://5.6.7.8\ndirect_loopback no\n");
    env.proxy_url = "socks5://7.7.7.7";
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_str_eq(config_default_proxy(&c)->host, "7.7.7.7");
    cr_assert_not(c.direct_loopback);
    config_free(&c);
}

Test(config_parse, dns_keys)
{
    struct config c = { 0 };
    parse_ok(&c, "proxy socks5://h\ndns remote\nfake_range 10.99.0.0/16\nfake_range6 fd00:99::/64\ndirect_dns yes\n");
    cr_assert_eq(c.dns, DNS_REMOTE);
    cr_assert_eq(c.fake_range.family, AF_INET);
    cr_assert_eq(c.fake_range.prefix, 16);
    cr_assert_eq(c.fake_range6.family, AF_INET6);
    cr_assert_eq(c.fake_range6.prefix, 64);
    cr_assert(c.direct_dns);
    config_free(&c);
}

Test(config_parse, seccomp_key)
{
    struct config c = { 0 };
    parse_ok(&c, "proxy socks5://h\n");
    cr_assert_eq(c.seccomp, CONFIG_SECCOMP_AUTO, "auto by default");
    config_free(&c);
    const char *words[] = { "auto", "yes", "on", "no", "off" };
    enum config_seccomp want[] = { CONFIG_SECCOMP_AUTO, CONFIG_SECCOMP_YES, CONFIG_SECCOMP_YES, CONFIG_SECCOMP_NO,
                                   CONFIG_SECCOMP_NO };
    for (size_t i = 0; i < 5; i++) {
        char text[64];
        snprintf(text, sizeof(text), "proxy socks5://h\nseccomp %s\n", words[i]);
        parse_ok(&c, text);
        cr_assert_eq(c.seccomp, want[i], "seccomp %s", words[i]);
        config_free(&c);
    }
}

Test(config_parse_errors, seccomp_key)
{
    parse_bad("\nseccomp maybe\n", 2, "auto, yes or no");
    parse_bad("seccomp\n", 1, "seccomp");
}

Test(config_parse, dns_defaults_follow_the_scheme)
{
    struct config c = { 0 };
    parse_ok(&c, "proxy socks5h://h\n");
    cr_assert_eq(config_dns_mode(&c), DNS_REMOTE);
    cr_assert_eq(c.fake_range.prefix, 15, "default fake range 198.18.0.0/15");
    cr_assert_not(c.direct_dns);
    config_free(&c);
    parse_ok(&c, "proxy socks5://h\n");
    cr_assert_eq(config_dns_mode(&c), DNS_LOCAL);
    config_free(&c);
    parse_ok(&c, "proxy socks5h://h\ndns off\n");
    cr_assert_eq(config_dns_mode(&c), DNS_OFF);
    config_free(&c);
    parse_ok(&c, "proxy socks5://h\ndns remote\n");
    cr_assert_eq(config_dns_mode(&c), DNS_REMOTE);
    config_free(&c);
}

Test(config_parse_errors, dns_keys)
{
    parse_bad("dns proxy\n", 1, "remote, local or off");
    parse_bad("dns\n", 1, "dns");
    parse_bad("\nfake_range fd00::/64\n", 2, "IPv4");
    parse_bad("fake_range 10.0.0.0/31\n", 1, "/30");
    parse_bad("fake_range6 10.0.0.0/8\n", 1, "IPv6");
    parse_bad("fake_range6 fd00::/127\n", 1, "/126");
    parse_bad("direct_dns perhaps\n", 1, "yes or no");
}

Test(config_load, readable_password_file_warns)
{
    struct config_env env = env_home();
    env.conf_path = write_file("secret.conf", "proxy socks5://user:pw@1.2.3.4\n");
    cr_assert_eq(chmod(env.conf_path, 0644), 0);
    struct config c = { 0 };
    load(&c, &env, 0);
    cr_assert_not_null(strstr(c.warnings, "others can read"), "warning \"%s\"", c.warnings);
    cr_assert_null(strstr(c.warnings, "pw"), "the warning must not show the password");
    config_free(&c);
    cr_assert_eq(chmod(env.conf_path, 0600), 0);
    load(&c, &env, 0);
    cr_assert_str_empty(c.warnings, "a private file is fine");
    config_free(&c);
    env.conf_path = write_file("nopass.conf", "proxy socks5://1.2.3.4\n");
    cr_assert_eq(chmod(env.conf_path, 0644), 0);
    load(&c, &env, 0);
    cr_assert_str_empty(c.warnings, "no password, nothing to hide");
    config_free(&c);
}

Test(config_load, directory_and_empty_file)
{
    struct config_env env = env_home();
    make_dir("a-directory.conf");
    env.conf_path = tmp_path("a-directory.conf");
    struct config c = { 0 };
    char err[ERR_SIZE] = "";
    cr_assert_lt(config_load(&c, &env, err, sizeof(err)), 0);
    assert_mentions(err, "a-directory.conf");
    env.conf_path = write_file("empty.conf", "");
    assert_mentions(load(&c, &env, -ENOENT), "no proxy declared");
}

/* Config errors quote words of the line: a password in one of them must not show (issue 13, item 9). */
Test(config_parse_errors, never_show_the_password)
{
    static const char *const texts[] = {
        "proxy alice:S3cret@127.0.0.1:1080\n", "alice:S3cret@127.0.0.1:1080\n",
        "proxy alice:S3cret@h:1080 socks5://h\n", "chain c strict alice:S3cret@h:1080\n",
        "proxy p socks5://h\nroute * via alice:S3cret@h\n", "route alice:S3cret@h direct\n",
        "proxy socks5://alice:S3cret\n", "proxy socks5:/alice:S3cret@h\n",
        "[ProxyList]\nsocks5 alice:S3cret@h 1080\n", "[ProxyList]\nalice:S3cret@h 1080\n",
        "[ProxyList]\nsocks5 h 1080 alice S3cret extra\n",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct config c = { 0 };
        char err[ERR_SIZE] = "";
        config_init(&c);
        int r = config_parse(&c, texts[i], "test.conf", err, sizeof(err));
        config_free(&c);
        cr_assert_eq(r, -EINVAL, "accepted: %s", texts[i]);
        cr_assert_null(strstr(err, "S3cret"), "the message for %s shows the password: %s", texts[i], err);
    }
}

/* ---- sessions: config_locate, pinning, files others can write (issue 13, item 2) ---- */

Test(config_load, locate_makes_paths_absolute)
{
    struct config_env env = env_home();
    char path[PATH_MAX];
    cr_assert_eq(config_locate(&env, path, sizeof(path)), 0, "found %s", path);
    write_file("cwd/socksify.conf", "proxy socks5://4.4.4.4\n");
    cr_assert_eq(config_locate(&env, path, sizeof(path)), 1);
    cr_assert_str_eq(path, tmp_path("cwd/socksify.conf"));
    env.conf_path = "sub/x.conf";
    cr_assert_eq(config_locate(&env, path, sizeof(path)), 1);
    cr_assert_str_eq(path, tmp_path("cwd/sub/x.conf"));
}

/* A pinned session without a file never searches: not ./socksify.conf, not HOME's. */
Test(config_load, pinned_session_does_not_search)
{
    struct config_env env = env_home();
    env.pinned = true;
    write_file("cwd/socksify.conf", "proxy socks5://4.4.4.4\nroute * direct\n");
    write_home_conf("proxy socks5://5.6.7.8:1085\n");
    char path[PATH_MAX];
    cr_assert_eq(config_locate(&env, path, sizeof(path)), 0, "found %s", path);
    struct config c = { 0 };
    load(&c, &env, -ENOENT);
    env.proxy_url = "socks5://1.2.3.4:1080";
    load(&c, &env, 0);
    cr_assert_str_empty(c.source);
    cr_assert_eq(c.rule_count, 0);
    cr_assert_str_eq(config_default_proxy(&c)->host, "1.2.3.4");
    config_free(&c);
    env.conf_path = tmp_path("cwd/socksify.conf");
    load(&c, &env, 0);
    cr_assert_str_eq(c.source, env.conf_path, "a pinned file is read");
    config_free(&c);
}

/* Group/other-writable: the checker's load warns, naming the file; the library's refuses it. */
Test(config_load, writable_by_others_refused_or_warned)
{
    static const mode_t modes[] = { 0664, 0646, 0666 };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct config_env env = env_home();
        env.conf_path = write_file("shared.conf", "proxy socks5://1.2.3.4\n");
        cr_assert_eq(chmod(env.conf_path, modes[i]), 0);
        struct config c = { 0 };
        load(&c, &env, 0);
        cr_assert_not_null(strstr(c.warnings, env.conf_path), "warning \"%s\"", c.warnings);
        cr_assert_not_null(strstr(c.warnings, "written by other users"), "warning \"%s\"", c.warnings);
        config_free(&c);
        env.refuse_untrusted = true;
        const char *err = load(&c, &env, -EPERM);
        assert_mentions(err, env.conf_path);
        assert_mentions(err, "refused");
        cr_assert_eq(chmod(env.conf_path, 0644), 0);
        load(&c, &env, 0);
        cr_assert_str_empty(c.warnings);
        config_free(&c);
    }
}

static char proxy_url_buf[300], proxy_err[ERR_SIZE];

static int read_proxy_file(const char *text, mode_t mode)
{
    const char *path = write_file("proxy-url", text);
    cr_assert_eq(chmod(path, mode), 0);
    proxy_url_buf[0] = proxy_err[0] = '\0';
    return config_read_proxy_file(path, proxy_url_buf, sizeof(proxy_url_buf), proxy_err, sizeof(proxy_err));
}

/* The buffer holds 299 characters: a URL that fits is read whatever follows its line; one that
 * does not is refused, and what was read is wiped. */
Test(config_load, proxy_file_bounded_by_the_buffer)
{
    char text[1200];
    memset(text, 'a', sizeof(text));
    memcpy(text, "socks5://u:PW@h", 15);
    text[299] = '\0';
    cr_assert_eq(read_proxy_file(text, 0600), 0, "%s", proxy_err);
    cr_assert_eq(strlen(proxy_url_buf), 299);
    text[299] = 'a';
    text[300] = '\0';
    cr_assert_eq(read_proxy_file(text, 0600), -E2BIG);
    assert_mentions(proxy_err, "at most 299");
    cr_assert_null(memchr(proxy_url_buf, 'a', sizeof(proxy_url_buf)), "the refused URL is wiped");
    text[20] = '\n';
    text[sizeof(text) - 1] = '\0';
    cr_assert_eq(read_proxy_file(text, 0600), 0, "%s", proxy_err);
    cr_assert_str_eq(proxy_url_buf, "socks5://u:PW@haaaaa");
    for (size_t i = 21; i < sizeof(proxy_url_buf); i++)
        cr_assert_eq(proxy_url_buf[i], '\0', "the rest of the file is not kept (byte %zu)", i);
}

Test(config_load, proxy_file_read_and_checked)
{
    cr_assert_eq(read_proxy_file("socks5://alice:S3cret@1.2.3.4:1080\n", 0600), 0, "%s", proxy_err);
    cr_assert_str_eq(proxy_url_buf, "socks5://alice:S3cret@1.2.3.4:1080");
    cr_assert_eq(read_proxy_file("socks5://h", 0400), 0, "%s", proxy_err);
    cr_assert_str_eq(proxy_url_buf, "socks5://h");
    static const mode_t open_modes[] = { 0640, 0604, 0660, 0606, 0610 };
    for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
        cr_assert_eq(read_proxy_file("socks5://alice:S3cret@1.2.3.4\n", open_modes[i]), -EPERM, "mode %o", open_modes[i]);
        assert_mentions(proxy_err, "proxy-url");
        cr_assert_null(strstr(proxy_err, "S3cret"), "%s", proxy_err);
    }
    cr_assert_eq(read_proxy_file("\n", 0600), -EINVAL);
    cr_assert_eq(config_read_proxy_file(tmp_path("nope"), proxy_url_buf, sizeof(proxy_url_buf), proxy_err,
                                        sizeof(proxy_err)), -ENOENT);
    assert_mentions(proxy_err, "nope");
}

/* ---- config_key_name, pcconf_key_name: the listings the man page check reads ---- */

/* Parses text as file into a fresh config: the error into err, the warnings into warnings. */
static void parse_listed(const char *text, const char *file, char *err, char *warnings)
{
    struct config c = { 0 };
    config_init(&c);
    err[0] = '\0';
    config_parse(&c, text, file, err, ERR_SIZE);
    snprintf(warnings, CONFIG_WARNINGS_MAX, "%s", c.warnings);
    config_free(&c);
}

/* Every name listed is one its parser takes: a socksify.conf "KEY" alone is a usage error of that
 * key, never "unknown key"; a proxychains.conf option is read, not warned about as unsupported.
 * Each list ends with NULL. */
Test(config, key_names_are_the_parsers_keys)
{
    static const struct {
        const char *(*name)(size_t);
        const char *format, *file, *never;
        bool in_warnings;
        size_t at_least;
    } lists[] = {
        { config_key_name, "%s\n", "test.conf", "unknown key", false, 15 },
        { pcconf_key_name, "%s\n[ProxyList]\nsocks5 127.0.0.1 1080\n", "pc.conf", "not supported", true, 13 },
    };
    static char err[ERR_SIZE], warnings[CONFIG_WARNINGS_MAX], text[128];
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        size_t n = 0;
        for (; lists[l].name(n); n++) {
            snprintf(text, sizeof(text), lists[l].format, lists[l].name(n));
            parse_listed(text, lists[l].file, err, warnings);
            const char *said = lists[l].in_warnings ? warnings : err;
            cr_assert_null(strstr(said, lists[l].never), "%s: %s", lists[l].name(n), said);
        }
        cr_assert_geq(n, lists[l].at_least, "only %zu names in %s's list", n, lists[l].file);
        cr_assert_null(lists[l].name(n + 1));
    }
}
