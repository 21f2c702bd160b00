/* What the config parsers share: one line being parsed, and errors that name it. Internal to
 * config*.c and pcconf.c. */
#ifndef SOCKSIFY_CONFIG_LINE_H
#define SOCKSIFY_CONFIG_LINE_H

#include <stddef.h>

#include "config.h"

#define CONFIG_MAX_ARGS 64

struct line {
    const char *file;
    int number;
    char *argv[CONFIG_MAX_ARGS];
    int argc;
};

/* Writes "file:line: message" into err, passwords hidden (proxy_text_redact); returns -EINVAL. */
int line_error(const struct line *l, char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* -EINVAL with "'key' takes usage" unless the line has exactly n arguments after its key. */
int expect_args(const struct line *l, int n, const char *usage, char *err, size_t errsize);
/* Splits s (modified in place) into l's words; '#' outside a word starts a comment. */
int split_words(char *s, struct line *l, char *err, size_t errsize);
/* Calls parse_line for each line of text, with l numbered; stops at the first error. */
int for_each_line(const char *text, const char *filename, char *err, size_t errsize,
                  int (*parse_line)(void *ctx, char *line, struct line *l, char *err, size_t errsize), void *ctx);

/* The network directives of socksify.conf (config_net.c). */
int key_proxy(struct config *c, const struct line *l, char *err, size_t errsize);
int key_chain(struct config *c, const struct line *l, char *err, size_t errsize);
int key_route(struct config *c, const struct line *l, char *err, size_t errsize);
int key_direct(struct config *c, const struct line *l, char *err, size_t errsize);
/* Makes p the proxy called "default" (replacing one, or the hops of a chain of that name), as -x does. */
int config_set_default_proxy(struct config *c, const struct proxy *p);
/* How many proxies a chain of mode may list. */
size_t chain_list_max(enum chain_mode mode);
/* Parses "80", "8000-8100" or "80,443,8000-8100" into r->ports; -EINVAL if malformed. */
int ports_parse(const char *text, struct rule *r);

/* Reads text as a proxychains.conf into c (pcconf.c). */
int pcconf_parse(struct config *c, const char *text, const char *filename, char *err, size_t errsize);
/* True if text looks like a proxychains.conf: it has a [ProxyList] section header. */
bool pcconf_detect(const char *text);

#endif
