/* The session's shared region (DIR/names: the fake-address map and the dead-proxy marks), as the
 * supervisor uses it: the same file the library's processes map (core/session_file.c,
 * core/shared_region.c), so a name the supervisor's DNS responder hands out can be connected from
 * a dynamically linked process and the other way round. Mapped at the first call the supervisor
 * serves, not when the command starts: on a disk file system the first write to the mapping costs
 * milliseconds (measured on ext4: 3-10 ms), which `socksify true` must not pay. */
#include <errno.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>

#include "log.h"
#include "session_file.h"
#include "shared_region.h"
#include "supervisor.h"
#include "verdict.h"

/* A proxy given by host name is resolved once, locally, as the library resolves it
 * (preload/context.c): the library's connects to it must be recognised as connects to the proxy. */
static void resolve_proxy_hosts(struct config *c)
{
    for (size_t i = 0; i < c->proxy_count; i++) {
        int r = proxy_resolve(&c->proxies[i], getaddrinfo);
        if (r != 0)
            log_msg(LOG_ERROR, "cannot resolve proxy host '%s': %s", c->proxies[i].host, gai_strerror(r));
    }
}

void sv_session_attach(struct supervisor *sv)
{
    if (sv->attached)
        return;
    sv->attached = true;
    struct config *c = sv->config;
    resolve_proxy_hosts(c);
    sv_dns_open(sv);
    void *region = NULL;
    size_t size = 0;
    int r = session_file_map(sv->session_dir, "names", shared_region_size(c, true), shared_region_min_size(), &region,
                             &size);
    if (r == 0 && !shared_region_prepare(region, c, true))
        r = -ETIMEDOUT;
    if (r < 0 || shared_region_marks(region, size, c, &sv->health) < 0)
        chain_health_init(&sv->health, c);   /* our own marks: the library's processes keep theirs */
    if (config_dns_mode(c) != DNS_REMOTE)
        return;
    if (r < 0 || shared_region_names(region, size, c, &sv->names) < 0) {
        sv->names = NULL;
        log_msg(LOG_ERROR, "no fake-address map: names meant for the proxy will fail");
    }
}

bool sv_is_relay(const struct supervisor *sv, const union sockaddr_any *dst)
{
    char text[ADDR_TEXT_MAX];
    return session_file_has_line(sv->session_dir, "relays", addr_format(dst, text, sizeof(text)));
}

struct verdict sv_udp_exception(const struct supervisor *sv, const union sockaddr_any *dst, const struct verdict *v)
{
    if (sv_is_relay(sv, dst))
        return (struct verdict){ .action = VERDICT_PASS, .route.reason = "the proxy's UDP relay" };
    /* Names resolved locally (dns local, or direct_dns yes): libc's resolver asks its nameserver
     * itself, past the library's hooks, as without the supervisor. */
    if (addr_port(dst) == 53 && !verdict_dns_leak(sv->config, dst))
        return (struct verdict){ .action = VERDICT_PASS, .route.reason = "DNS, names resolved locally" };
    return *v;
}
