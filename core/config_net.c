/* The network side of socksify.conf: proxies, chains and routes, and the tables that hold them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "config.h"
#include "config_line.h"
#include "text.h"

#define DEFAULT_NAME "default"

/* Makes room for one more element in a growing array. */
static int grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return 0;
    /* From 1: a proxy is 1.5 KiB, and most configurations have one or two; every page of room
     * the allocator hands out and writes its bookkeeping into is a page fault at start-up. */
    size_t cap = *capacity ? *capacity * 2 : 1;
    void *grown = realloc(*items, cap * size);
    if (!grown)
        return -ENOMEM;
    *items = grown;
    *capacity = cap;
    return 0;
}

const struct chain *config_find_chain(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->chain_count; i++)
        if (strcmp(c->chains[i].name, name) == 0)
            return &c->chains[i];
    return NULL;
}

const struct chain *config_default_chain(const struct config *c)
{
    return config_find_chain(c, DEFAULT_NAME);
}

const struct proxy *config_default_proxy(const struct config *c)
{
    for (size_t i = 0; i < c->proxy_count; i++)
        if (strcmp(c->proxies[i].name, DEFAULT_NAME) == 0)
            return &c->proxies[i];
    return NULL;
}

size_t chain_list_max(enum chain_mode mode)
{
    return mode == CHAIN_RANDOM || mode == CHAIN_ROUND_ROBIN ? CHAIN_HOPS_MAX : PROXY_CHAIN_MAX;
}

int config_add_chain(struct config *c, const char *name, enum chain_mode mode, size_t length, const size_t *hops,
                     size_t n, int line)
{
    /* Without a length every hop is taken per connection: at most PROXY_CHAIN_MAX of them either way. */
    size_t per_connection = length ? length : n;
    if (n == 0 || n > chain_list_max(mode) || length > n || per_connection > PROXY_CHAIN_MAX ||
        strlen(name) > PROXY_NAME_MAX)
        return -EINVAL;
    if (config_find_chain(c, name))
        return -EEXIST;
    if (grow((void **)&c->chains, &c->chain_capacity, c->chain_count, sizeof(*c->chains)) < 0)
        return -ENOMEM;
    struct chain *ch = &c->chains[c->chain_count];
    memset(ch, 0, sizeof(*ch));
    strcpy(ch->name, name);
    ch->mode = mode;
    ch->length = length ? length : n;
    memcpy(ch->hops, hops, n * sizeof(*hops));
    ch->hop_count = n;
    ch->line = line;
    return (int)c->chain_count++;
}

int config_add_proxy(struct config *c, const struct proxy *p, int line)
{
    const char *name = p->name[0] ? p->name : DEFAULT_NAME;
    if (config_find_chain(c, name))
        return -EEXIST;
    if (grow((void **)&c->proxies, &c->proxy_capacity, c->proxy_count, sizeof(*c->proxies)) < 0)
        return -ENOMEM;
    size_t index = c->proxy_count;
    c->proxies[index] = *p;
    text_copy(c->proxies[index].name, sizeof(c->proxies[index].name), name);
    int r = config_add_chain(c, name, CHAIN_STRICT, 1, &index, 1, line);
    if (r < 0)
        return r;
    c->proxy_count++;
    return (int)index;
}

static int set_default_proxy(struct config *c, struct proxy *named);

int config_set_default_proxy(struct config *c, const struct proxy *p)
{
    struct proxy named = *p;
    int r = set_default_proxy(c, &named);
    memset(&named, 0, sizeof(named));
    return r;
}

static int set_default_proxy(struct config *c, struct proxy *named)
{
    text_copy(named->name, sizeof(named->name), DEFAULT_NAME);
    struct proxy *old = (struct proxy *)config_default_proxy(c);
    if (old) {
        *old = *named;
        return 0;
    }
    struct chain *ch = (struct chain *)config_default_chain(c);
    if (!ch) {
        named->name[0] = '\0';
        return config_add_proxy(c, named, 0) < 0 ? -ENOMEM : 0;
    }
    /* A chain called default gives up its hops to the proxy: -x means "go through this". */
    text_copy(named->name, sizeof(named->name), "-x");
    if (grow((void **)&c->proxies, &c->proxy_capacity, c->proxy_count, sizeof(*c->proxies)) < 0)
        return -ENOMEM;
    c->proxies[c->proxy_count] = *named;
    *ch = (struct chain){ .mode = CHAIN_STRICT, .length = 1, .hops = { c->proxy_count }, .hop_count = 1 };
    strcpy(ch->name, DEFAULT_NAME);
    c->proxy_count++;
    return 0;
}

static enum glob_kind glob_kind_of(const char *glob)
{
    if (!glob)
        return GLOB_NONE;
    const char *rest = glob[0] == '*' ? glob + 1 : glob;
    if (strpbrk(rest, "*?["))
        return GLOB_PATTERN;
    return rest == glob ? GLOB_EXACT : GLOB_SUFFIX;
}

int config_add_rule(struct config *c, const struct rule *r)
{
    if (grow((void **)&c->rules, &c->rule_capacity, c->rule_count, sizeof(*c->rules)) < 0)
        return -ENOMEM;
    struct rule copy = *r;
    copy.glob = r->glob && *r->glob ? strdup(r->glob) : NULL;
    if (r->glob && *r->glob && !copy.glob)
        return -ENOMEM;
    copy.glob_kind = glob_kind_of(copy.glob);
    c->rules[c->rule_count++] = copy;
    return 0;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > PROXY_NAME_MAX || strstr(s, "://"))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static int name_taken(const struct config *c, const struct line *l, const char *name, char *err, size_t errsize)
{
    const struct chain *ch = config_find_chain(c, name);
    if (ch && ch->line)
        return line_error(l, err, errsize, "the name '%s' is already used on line %d", name, ch->line);
    return line_error(l, err, errsize, "the name '%s' is already used", name);
}

/* proxy [NAME] URL */
int key_proxy(struct config *c, const struct line *l, char *err, size_t errsize)
{
    if (l->argc != 2 && l->argc != 3)
        return line_error(l, err, errsize, "'proxy' takes [NAME] URL, e.g. proxy socks5://127.0.0.1:1080 or proxy tor socks5h://127.0.0.1:9050");
    const char *name = l->argc == 3 ? l->argv[1] : "";
    if (*name && !valid_name(name))
        return line_error(l, err, errsize, "bad proxy name '%s': letters, digits, '-', '_' and '.' only, at most %d", name,
                          PROXY_NAME_MAX);
    struct proxy p;
    char why[256];
    if (proxy_url_parse(l->argv[l->argc - 1], &p, why, sizeof(why)) < 0)
        return line_error(l, err, errsize, "%s", why);
    snprintf(p.name, sizeof(p.name), "%s", name);
    int r = config_add_proxy(c, &p, l->number);
    memset(&p, 0, sizeof(p));
    if (r == -EEXIST && !*name)
        return line_error(l, err, errsize, "a second unnamed 'proxy' line: name it (proxy NAME URL) to use it in a chain or route");
    if (r == -EEXIST)
        return name_taken(c, l, *name ? name : DEFAULT_NAME, err, errsize);
    return r < 0 ? line_error(l, err, errsize, "out of memory") : 0;
}

static int parse_mode(const char *s, enum chain_mode *mode)
{
    static const char *const modes[] = { "strict", "dynamic", "random", "round-robin" };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(s, modes[i]) == 0) {
            *mode = (enum chain_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* A hop: a proxy declared above, or a URL inline (it becomes a proxy named "CHAIN#N"). */
static int chain_hop(struct config *c, const struct line *l, const char *chain, int n, const char *word, size_t *index,
                     char *err, size_t errsize)
{
    if (!strstr(word, "://")) {
        for (size_t i = 0; i < c->proxy_count; i++) {
            if (strcmp(c->proxies[i].name, word) == 0) {
                *index = i;
                return 0;
            }
        }
        return line_error(l, err, errsize, "no proxy called '%s' is declared above (a hop is a proxy name or a URL)", word);
    }
    struct proxy p;
    char why[256];
    if (proxy_url_parse(word, &p, why, sizeof(why)) < 0)
        return line_error(l, err, errsize, "hop %d: %s", n, why);
    char name[PROXY_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%.50s#%d", chain, n);
    strcpy(p.name, name);
    int r = config_add_proxy(c, &p, l->number);
    memset(&p, 0, sizeof(p));
    if (r < 0)
        return r == -EEXIST ? name_taken(c, l, name, err, errsize) : line_error(l, err, errsize, "out of memory");
    *index = (size_t)r;
    return 0;
}

static int parse_length(const char *s, size_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || v < 1 || v > PROXY_CHAIN_MAX)
        return -EINVAL;
    *out = (size_t)v;
    return 0;
}

/* chain NAME MODE [length N] HOP... */
int key_chain(struct config *c, const struct line *l, char *err, size_t errsize)
{
    static const char usage[] = "'chain' takes NAME MODE [length N] HOP..., e.g. chain out dynamic tor corp";
    enum chain_mode mode;
    if (l->argc < 4)
        return line_error(l, err, errsize, "%s", usage);
    const char *name = l->argv[1];
    if (!valid_name(name))
        return line_error(l, err, errsize, "bad chain name '%s': letters, digits, '-', '_' and '.' only", name);
    if (config_find_chain(c, name))
        return name_taken(c, l, name, err, errsize);
    if (parse_mode(l->argv[2], &mode) < 0)
        return line_error(l, err, errsize, "bad chain mode '%s': expected strict, dynamic, random or round-robin", l->argv[2]);
    int first = 3;
    size_t length = 0;
    if (strcmp(l->argv[3], "length") == 0) {
        if (l->argc < 6 || parse_length(l->argv[4], &length) < 0)
            return line_error(l, err, errsize, "'length' takes a number of hops from 1 to %d, then the hops", PROXY_CHAIN_MAX);
        if (mode != CHAIN_RANDOM && mode != CHAIN_ROUND_ROBIN)
            return line_error(l, err, errsize, "'length' applies to random and round-robin chains only");
        first = 5;
    }
    size_t hops[CHAIN_HOPS_MAX];
    size_t n = (size_t)(l->argc - first);
    if (n > chain_list_max(mode))
        return line_error(l, err, errsize, "a %s chain goes through every proxy it lists: at most %d hops (random and "
                          "round-robin chains list up to %d)", chain_mode_name(mode), PROXY_CHAIN_MAX, CHAIN_HOPS_MAX);
    if (length > n)
        return line_error(l, err, errsize, "length %zu is more than the %zu hops listed", length, n);
    if (!length && n > PROXY_CHAIN_MAX)
        return line_error(l, err, errsize, "a %s chain of %zu hops needs 'length N': a connection goes through at "
                          "most %d of them", chain_mode_name(mode), n, PROXY_CHAIN_MAX);
    for (size_t i = 0; i < n; i++)
        if (chain_hop(c, l, name, (int)i + 1, l->argv[first + (int)i], &hops[i], err, errsize) < 0)
            return -EINVAL;
    if (config_add_chain(c, name, mode, length, hops, n, l->number) < 0)
        return line_error(l, err, errsize, "out of memory");
    return 0;
}

static int port_parse(const char *s, const char *end, uint16_t *out)
{
    long v = 0;
    if (s == end || end - s > 5)
        return -EINVAL;
    for (; s < end; s++) {
        if (!isdigit((unsigned char)*s))
            return -EINVAL;
        v = v * 10 + (*s - '0');
    }
    if (v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

int ports_parse(const char *text, struct rule *r)
{
    const char *s = text;
    r->port_count = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *dash = memchr(s, '-', (size_t)(end - s));
        struct port_range pr;
        if (r->port_count == RULE_PORTS_MAX || port_parse(s, dash ? dash : end, &pr.lo) < 0 ||
            port_parse(dash ? dash + 1 : s, end, &pr.hi) < 0 || pr.lo > pr.hi)
            return -EINVAL;
        r->ports[r->port_count++] = pr;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

/* A host-name glob: name characters and the glob's own ('*', '?', '[...]'). Names may start with
 * a digit (163.com), but one that starts with a digit and has no letter is a mistyped address
 * (1.2.3, 10.0.0.*), not a name. */
static bool valid_glob(const char *s)
{
    bool letter = false, digit_first = isdigit((unsigned char)*s);
    if (strlen(s) > RULE_GLOB_MAX)
        return false;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && !strchr("-._*?[]!", *s))
            return false;
        letter = letter || isalpha((unsigned char)*s);
    }
    return letter || !digit_first;
}

static int route_action(struct config *c, const struct line *l, int *i, struct rule *r, char *err, size_t errsize)
{
    const char *word = l->argv[*i];
    if (strcmp(word, "direct") == 0 || strcmp(word, "reject") == 0) {
        r->action = word[0] == 'd' ? ROUTE_DIRECT : ROUTE_REJECT;
        ++*i;
        return 0;
    }
    if (*i + 1 >= l->argc)
        return line_error(l, err, errsize, "'via' takes the name of a proxy or chain declared above");
    const struct chain *ch = config_find_chain(c, l->argv[*i + 1]);
    if (!ch)
        return line_error(l, err, errsize, "no proxy or chain called '%s' is declared above", l->argv[*i + 1]);
    r->action = ROUTE_VIA;
    r->chain = (size_t)(ch - c->chains);
    *i += 2;
    return 0;
}

static int route_matcher(const struct line *l, int *i, struct rule *r, char *err, size_t errsize)
{
    const char *word = l->argv[*i];
    if (strcmp(word, "port") == 0) {
        if (r->port_count)
            return line_error(l, err, errsize, "one 'port' per route: list them instead, e.g. port 80,443");
        if (*i + 1 >= l->argc || ports_parse(l->argv[*i + 1], r) < 0)
            return line_error(l, err, errsize, "'port' takes ports or ranges, e.g. port 443 or port 80,8000-8100");
        *i += 2;
        return 0;
    }
    ++*i;
    if (strcmp(word, "*") == 0)
        return 0;
    /* One address range or one name per route: a rule with both could never match. */
    if (!r->has_cidr && !r->glob && cidr_parse(word, &r->cidr) == 0) {
        r->has_cidr = true;
        return 0;
    }
    if (!r->glob && !r->has_cidr && !strchr(word, ':') && valid_glob(word)) {
        r->glob = (char *)word;   /* config_add_rule copies it */
        return 0;
    }
    return line_error(l, err, errsize, "bad match '%s': expected an address range (10.0.0.0/8), a host-name glob "
                      "(*.example.com), 'port SPEC' or '*' (one address or name per route)", word);
}

/* route MATCH... ACTION */
int key_route(struct config *c, const struct line *l, char *err, size_t errsize)
{
    struct rule r = { .line = l->number };
    int i = 1;
    while (i < l->argc && strcmp(l->argv[i], "direct") && strcmp(l->argv[i], "reject") && strcmp(l->argv[i], "via"))
        if (route_matcher(l, &i, &r, err, errsize) < 0)
            return -EINVAL;
    if (i == 1 || i == l->argc)
        return line_error(l, err, errsize, "'route' takes MATCH... ACTION, e.g. route *.corp.example via corp, "
                          "route 10.0.0.0/8 direct, route port 25 reject");
    if (route_action(c, l, &i, &r, err, errsize) < 0)
        return -EINVAL;
    if (i != l->argc)
        return line_error(l, err, errsize, "unexpected '%s' after the route's action", l->argv[i]);
    return config_add_rule(c, &r) < 0 ? line_error(l, err, errsize, "out of memory") : 0;
}

/* direct RANGE... : a route per range, kept from the first configs. */
int key_direct(struct config *c, const struct line *l, char *err, size_t errsize)
{
    if (l->argc < 2)
        return line_error(l, err, errsize, "'direct' takes one or more address ranges, e.g. direct 10.0.0.0/8 fd00::/8");
    for (int i = 1; i < l->argc; i++) {
        struct rule r = { .has_cidr = true, .action = ROUTE_DIRECT, .line = l->number };
        if (cidr_parse(l->argv[i], &r.cidr) < 0)
            return line_error(l, err, errsize, "bad address range '%s': expected e.g. 192.168.0.0/16 or fd00::/8", l->argv[i]);
        if (config_add_rule(c, &r) < 0)
            return line_error(l, err, errsize, "out of memory");
    }
    return 0;
}
