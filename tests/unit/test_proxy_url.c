/* Unit tests for core/proxy.c: proxy URLs in the curl convention. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

static struct proxy parse_ok(const char *url)
{
    struct proxy p;
    char err[256] = "";
    int r = proxy_url_parse(url, &p, err, sizeof(err));
    cr_assert_eq(r, 0, "'%s' was rejected (%d): %s", url, r, err);
    return p;
}

/* Asserts url is rejected with -EINVAL and a message that mentions `mention` (case-insensitive). */
static void parse_bad(const char *url, const char *mention)
{
    struct proxy p;
    char err[256] = "";
    int r = proxy_url_parse(url, &p, err, sizeof(err));
    cr_assert_eq(r, -EINVAL, "'%s' gave %d, expected -EINVAL", url, r);
    cr_assert_str_not_empty(err, "'%s': empty error message", url);
    cr_assert_not_null(strcasestr(err, mention), "'%s': message \"%s\" does not mention \"%s\"", url, err, mention);
}

static void assert_v4(const struct proxy *p, const char *ip, uint16_t port)
{
    cr_assert(p->has_addr);
    cr_assert_eq(p->addr.sa.sa_family, AF_INET);
    struct in_addr want;
    inet_pton(AF_INET, ip, &want);
    cr_assert_eq(p->addr.in4.sin_addr.s_addr, want.s_addr);
    cr_assert_eq(p->addr.in4.sin_port, htons(port));
}

static void assert_v6(const struct proxy *p, const char *ip, uint16_t port)
{
    cr_assert(p->has_addr);
    cr_assert_eq(p->addr.sa.sa_family, AF_INET6);
    struct in6_addr want;
    inet_pton(AF_INET6, ip, &want);
    cr_assert_eq(memcmp(&p->addr.in6.sin6_addr, &want, sizeof(want)), 0);
    cr_assert_eq(p->addr.in6.sin6_port, htons(port));
}

static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- good URLs ---- */

Test(proxy_url, ipv4_default_port)
{
    struct proxy p = parse_ok("socks5://1.2.3.4");
    cr_assert_eq(p.kind, PROXY_SOCKS5);
    cr_assert_not(p.remote_dns);
    cr_assert_str_eq(p.host, "1.2.3.4");
    cr_assert_eq(p.port, PROXY_DEFAULT_PORT);
    cr_assert_eq(p.port, 1080);
    cr_assert_not(p.has_auth);
    assert_v4(&p, "1.2.3.4", 1080);
}

Test(proxy_url, ipv4_with_port)
{
    struct proxy p = parse_ok("socks5://1.2.3.4:9050");
    cr_assert_str_eq(p.host, "1.2.3.4");
    cr_assert_eq(p.port, 9050);
    assert_v4(&p, "1.2.3.4", 9050);
}

Test(proxy_url, socks5h_name)
{
    struct proxy p = parse_ok("socks5h://host.example:1");
    cr_assert(p.remote_dns);
    cr_assert_str_eq(p.host, "host.example");
    cr_assert_eq(p.port, 1);
    cr_assert_not(p.has_addr, "a host name has no address until resolved");
}

Test(proxy_url, name_default_port_has_no_addr)
{
    struct proxy p = parse_ok("socks5://proxy-1.corp_net.example");
    cr_assert_not(p.remote_dns);
    cr_assert_str_eq(p.host, "proxy-1.corp_net.example");
    cr_assert_eq(p.port, 1080);
    cr_assert_not(p.has_addr);
}

Test(proxy_url, ipv6_bracketed_with_port)
{
    struct proxy p = parse_ok("socks5://[::1]:1080");
    cr_assert_str_eq(p.host, "::1", "the host is kept without brackets");
    cr_assert_eq(p.port, 1080);
    assert_v6(&p, "::1", 1080);
}

Test(proxy_url, ipv6_bracketed_default_port)
{
    struct proxy p = parse_ok("socks5://[fd00::1]");
    cr_assert_str_eq(p.host, "fd00::1");
    cr_assert_eq(p.port, 1080);
    assert_v6(&p, "fd00::1", 1080);
}

Test(proxy_url, max_port)
{
    struct proxy p = parse_ok("socks5://1.2.3.4:65535");
    cr_assert_eq(p.port, 65535);
}

Test(proxy_url, user_and_password)
{
    struct proxy p = parse_ok("socks5://alice:s3cret@10.0.0.1:1081");
    cr_assert(p.has_auth);
    cr_assert_str_eq(p.user, "alice");
    cr_assert_str_eq(p.pass, "s3cret");
    cr_assert_str_eq(p.host, "10.0.0.1");
    cr_assert_eq(p.port, 1081);
    assert_v4(&p, "10.0.0.1", 1081);
}

Test(proxy_url, user_without_password)
{
    struct proxy p = parse_ok("socks5h://alice@proxy.example");
    cr_assert(p.has_auth);
    cr_assert_str_eq(p.user, "alice");
    cr_assert_str_empty(p.pass);
    cr_assert_str_eq(p.host, "proxy.example");
}

Test(proxy_url, user_with_empty_password)
{
    struct proxy p = parse_ok("socks5://alice:@h");
    cr_assert(p.has_auth);
    cr_assert_str_eq(p.user, "alice");
    cr_assert_str_empty(p.pass);
}

Test(proxy_url, percent_decoding)
{
    struct proxy p = parse_ok("socks5://us%40er:p%3Ass@h");
    cr_assert_str_eq(p.user, "us@er");
    cr_assert_str_eq(p.pass, "p:ss");
    p = parse_ok("socks5://u:p%40ss%25%2f@[::1]:2000");
    cr_assert_str_eq(p.pass, "p@ss%/");
    cr_assert_str_eq(p.host, "::1");
    cr_assert_eq(p.port, 2000);
    p = parse_ok("socks5://%4a%4A:%7e@h");   /* either case of hex digit */
    cr_assert_str_eq(p.user, "JJ");
    cr_assert_str_eq(p.pass, "~");
}

Test(proxy_url, credentials_at_length_limit)
{
    char u[256], pw[256], url[700];
    snprintf(url, sizeof(url), "socks5://%s:%s@h", repeat(u, 'u', 255), repeat(pw, 'p', 255));
    struct proxy p = parse_ok(url);
    cr_assert_eq(strlen(p.user), 255);
    cr_assert_eq(strlen(p.pass), 255);
}

Test(proxy_url, host_at_length_limit)
{
    char host[256], url[300];
    snprintf(url, sizeof(url), "socks5://%s:1", repeat(host, 'a', 255));
    struct proxy p = parse_ok(url);
    cr_assert_eq(strlen(p.host), 255);
}

Test(proxy_url, uppercase_scheme)
{
    struct proxy p = parse_ok("SOCKS5://1.2.3.4");
    cr_assert_not(p.remote_dns);
    p = parse_ok("Socks5H://h");
    cr_assert(p.remote_dns);
}

Test(proxy_url, trailing_slash)
{
    struct proxy p = parse_ok("socks5://1.2.3.4:1080/");
    cr_assert_eq(p.port, 1080);
    assert_v4(&p, "1.2.3.4", 1080);
    p = parse_ok("socks5://u:p@[::1]/");
    cr_assert_str_eq(p.host, "::1");
    cr_assert_str_eq(p.pass, "p");
}

Test(proxy_url, parse_clears_previous_contents)
{
    struct proxy p;
    char err[256];
    cr_assert_eq(proxy_url_parse("socks5h://u:p@1.2.3.4:5", &p, err, sizeof(err)), 0);
    cr_assert_eq(proxy_url_parse("socks5://h", &p, err, sizeof(err)), 0);
    cr_assert_not(p.has_auth);
    cr_assert_not(p.has_addr);
    cr_assert_not(p.remote_dns);
    cr_assert_str_empty(p.pass);
}

/* ---- bad URLs ---- */

Test(proxy_url, bad_scheme)
{
    parse_bad("1.2.3.4:1080", "scheme");
    parse_bad("", "scheme");
    parse_bad("socks5:/1.2.3.4", "scheme");
    parse_bad("ftp://1.2.3.4:8080", "scheme");
    parse_bad("gopher://1.2.3.4:8080", "gopher");
    parse_bad("https://proxy", "scheme");
    parse_bad("socks6://1.2.3.4", "scheme");
    parse_bad("socks5x://1.2.3.4", "scheme");
    parse_bad("://1.2.3.4", "scheme");
}

Test(proxy_url, empty_host)
{
    parse_bad("socks5://", "host");
    parse_bad("socks5://:1080", "host");
    parse_bad("socks5://u:p@", "host");
    parse_bad("socks5://u:p@:1080", "host");
    parse_bad("socks5://[]:1080", "host");
    parse_bad("socks5:///", "host");
}

Test(proxy_url, bad_port)
{
    parse_bad("socks5://h:0", "port");
    parse_bad("socks5://h:65536", "port");
    parse_bad("socks5://h:99999999999999999999", "port");
    parse_bad("socks5://h:abc", "port");
    parse_bad("socks5://h:80x", "port");
    parse_bad("socks5://h:-1", "port");
    parse_bad("socks5://h:+80", "port");
    parse_bad("socks5://h: 80", "port");
    parse_bad("socks5://[::1]:0", "port");
    parse_bad("socks5://[::1]:http", "port");
}

Test(proxy_url, empty_port)
{
    parse_bad("socks5://h:", "port");
    parse_bad("socks5://[::1]:", "port");
    parse_bad("socks5://h:/", "port");
}

Test(proxy_url, unclosed_bracket)
{
    parse_bad("socks5://[::1", "[");
    parse_bad("socks5://[::1:1080", "[");
    parse_bad("socks5://[", "[");
}

Test(proxy_url, text_after_bracket)
{
    parse_bad("socks5://[::1]1080", "]");
    parse_bad("socks5://[::1]x:1080", "]");
}

Test(proxy_url, bad_ipv6_in_brackets)
{
    parse_bad("socks5://[fd00::zz]:1080", "IPv6");
    parse_bad("socks5://[1.2.3.4]", "IPv6");
    parse_bad("socks5://[host.example]", "IPv6");
    parse_bad("socks5://[1:2:3:4:5:6:7:8:9]", "IPv6");
}

Test(proxy_url, unbracketed_ipv6_rejected)
{
    static const char *const urls[] = { "socks5://::1", "socks5://::1:1080", "socks5://fd00::1",
                                        "socks5://fd00::1:1080", "socks5://2001:db8::1" };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct proxy p;
        char err[256] = "";
        cr_assert_eq(proxy_url_parse(urls[i], &p, err, sizeof(err)), -EINVAL, "%s", urls[i]);
        cr_assert_str_not_empty(err);
    }
}

/* The message should tell the user what to do: put the IPv6 address in brackets. */
Test(proxy_url, unbracketed_ipv6_message_says_brackets)
{
    static const char *const urls[] = { "socks5://fd00::1", "socks5://::1", "socks5://fd00::1:1080",
                                        "socks5://2001:db8::1" };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
        parse_bad(urls[i], "bracket");
}

Test(proxy_url, path_query_fragment)
{
    parse_bad("socks5://h:1080/path", "path");
    parse_bad("socks5://h/x", "path");
    parse_bad("socks5://h//", "path");
    parse_bad("socks5://h:1080?x=1", "query");
    parse_bad("socks5://h#frag", "fragment");
    parse_bad("socks5://u:p/w@h", "path");
}

Test(proxy_url, bad_percent_escape)
{
    parse_bad("socks5://u%4@h", "escape");
    parse_bad("socks5://u%@h", "escape");
    parse_bad("socks5://u%zz:p@h", "escape");
    parse_bad("socks5://u%g0:p@h", "escape");
    parse_bad("socks5://u%00:p@h", "escape");
    parse_bad("socks5://u:%4@h", "password");
    parse_bad("socks5://u:p%zz@h", "password");
    parse_bad("socks5://u:p%00@h", "password");
    parse_bad("socks5://u:p%@h", "password");
}

Test(proxy_url, bad_user)
{
    parse_bad("socks5://@h", "user");
    parse_bad("socks5://:pw@h", "user");
}

Test(proxy_url, too_long_credentials)
{
    char s[300], url[700];
    snprintf(url, sizeof(url), "socks5://%s:p@h", repeat(s, 'u', 256));
    parse_bad(url, "user");
    snprintf(url, sizeof(url), "socks5://%s@h", repeat(s, 'u', 256));
    parse_bad(url, "user");
    snprintf(url, sizeof(url), "socks5://u:%s@h", repeat(s, 'p', 256));
    parse_bad(url, "password");
    /* 256 bytes once decoded */
    char enc[800];
    strcpy(enc, "socks5://u:");
    for (int i = 0; i < 256; i++)
        strcat(enc, "%41");
    strcat(enc, "@h");
    parse_bad(enc, "password");
}

Test(proxy_url, too_long_host)
{
    char host[300], url[400];
    snprintf(url, sizeof(url), "socks5://%s:1", repeat(host, 'a', 256));
    parse_bad(url, "host");
}

Test(proxy_url, too_long_url)
{
    char host[1100], url[1200];
    snprintf(url, sizeof(url), "socks5://%s", repeat(host, 'a', 1050));
    parse_bad(url, "long");
}

Test(proxy_url, bad_host_characters)
{
    parse_bad("socks5://ho st:1080", "host");
    parse_bad("socks5://h!:1080", "host");
    parse_bad("socks5://h%41", "host");
}

Test(proxy_url, error_message_fits_small_buffer)
{
    struct proxy p;
    char err[8];
    memset(err, 'x', sizeof(err));
    cr_assert_eq(proxy_url_parse("ftp://1.2.3.4", &p, err, sizeof(err)), -EINVAL);
    cr_assert_lt(strnlen(err, sizeof(err)), sizeof(err), "message not NUL-terminated");
}

/* ---- proxy_format ---- */

static const char *format(const char *url, char *buf, size_t size)
{
    struct proxy p = parse_ok(url);
    cr_assert_eq(proxy_format(&p, buf, size), buf);
    return buf;
}

Test(proxy_format, without_auth)
{
    char buf[600];
    cr_assert_str_eq(format("socks5://1.2.3.4", buf, sizeof(buf)), "socks5://1.2.3.4:1080");
    cr_assert_str_eq(format("socks5h://Host.Example:9050/", buf, sizeof(buf)), "socks5h://Host.Example:9050");
    cr_assert_str_eq(format("SOCKS5://[fd00::1]", buf, sizeof(buf)), "socks5://[fd00::1]:1080");
}

Test(proxy_format, never_the_password)
{
    char buf[600];
    cr_assert_str_eq(format("socks5://alice:TopSecret99@10.0.0.1:1081", buf, sizeof(buf)), "socks5://alice@10.0.0.1:1081");
    cr_assert_null(strstr(buf, "TopSecret99"));
    cr_assert_str_eq(format("socks5h://bob:TopSecret99@[::1]:2", buf, sizeof(buf)), "socks5h://bob@[::1]:2");
    cr_assert_null(strstr(buf, "TopSecret99"));
    cr_assert_str_eq(format("socks5://carol@h", buf, sizeof(buf)), "socks5://carol@h:1080");
}

Test(proxy_format, truncates_safely)
{
    char buf[10];
    memset(buf, 'x', sizeof(buf));
    format("socks5://u:p@proxy.example:1080", buf, sizeof(buf));
    cr_assert_eq(strlen(buf), sizeof(buf) - 1);
    cr_assert_str_eq(buf, "socks5://");
}

/* Every way a URL can be malformed: the message never shows the password (issue 13, item 9). */
Test(proxy_url, errors_never_show_the_password)
{
    static const char *const urls[] = {
        "alice:S3cret@127.0.0.1:1080", "socks5:/alice:S3cret@127.0.0.1:1080", "socks5//alice:S3cret@h",
        "alice:S3cret@socks5://127.0.0.1", "ftp://alice:S3cret@h", "socks6://alice:S3cret@h:1080",
        "socks5://alice:S3cret", "socks5://alice:S3cret:1:2", "socks4://alice:S3cret@h",
        "socks5://alice:S3cret@h:99999", "socks5://alice:S3cret@h:", "socks5://alice:S3cret@[::1",
        "socks5://alice:S3cret@[::1]x", "socks5://alice:S3cret@[zz]", "socks5://alice:S3cret@h/path",
        "socks5://alice:S3cret@bad!host", "socks5://alice:S3cret%zz@h", "socks5://alice:S3cret@",
        "socks5://:S3cret@h", "http://alice:S3cret@fd00::1:3128",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct proxy p;
        char err[256] = "";
        cr_assert_eq(proxy_url_parse(urls[i], &p, err, sizeof(err)), -EINVAL, "%s was accepted", urls[i]);
        cr_assert_str_not_empty(err, "%s", urls[i]);
        cr_assert_null(strstr(err, "S3cret"), "the message for %s shows the password: %s", urls[i], err);
    }
}

Test(proxy_url, no_scheme_message_shows_the_redacted_url)
{
    struct proxy p;
    char err[256] = "";
    cr_assert_eq(proxy_url_parse("alice:S3cret@127.0.0.1:1080", &p, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "'alice:***@127.0.0.1:1080'"), "%s", err);
}

Test(proxy_redact, url)
{
    static const struct { const char *in, *out; } cases[] = {
        { "socks5://alice:S3cret@h:1080", "socks5://alice:***@h:1080" },
        { "alice:S3cret@h:1080", "alice:***@h:1080" },
        { "socks5://alice:p@ss:w@rd@h", "socks5://alice:***@h" },
        { "alice:S3cret@socks5://h", "alice:***@socks5://h" },
        { "socks5://alice@h:1080", "socks5://alice@h:1080" },
        { "socks5://h:1080", "socks5://h:1080" },
        { "socks5://a:b@h", "socks5://a:***@h" },
        { "", "" },
    };
    char buf[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_str_eq(proxy_url_redact(cases[i].in, buf, sizeof(buf)), cases[i].out, "%s", cases[i].in);
}

Test(proxy_redact, text_word_by_word)
{
    char buf[256];
    cr_assert_str_eq(proxy_text_redact("f.conf:3: unknown key 'alice:S3cret@h:1080': expected proxy", buf, sizeof(buf)),
                     "f.conf:3: unknown key 'alice:***@h:1080': expected proxy");
    cr_assert_str_eq(proxy_text_redact("a b:c@d \"e:f@g\" /x@y:1:", buf, sizeof(buf)), "a b:***@d \"e:***@g\" /x@y:1:");
}

Test(proxy_redact, truncates_safely)
{
    char buf[8];
    cr_assert_str_eq(proxy_url_redact("socks5://alice:S3cret@h", buf, sizeof(buf)), "socks5:");
    cr_assert_str_eq(proxy_text_redact("alice:S3cret@h alice:S3cret@h", buf, sizeof(buf)), "alice:*");
}
