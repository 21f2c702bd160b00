/* getpeername(), getsockname(). A proxied socket's peer is the target the program asked for, not
 * the proxy; a UDP socket with an association has the default destination the program connected
 * it to; a socket whose handshake runs has none yet, and its own name is the real socket's (the
 * placeholder stands under its number meanwhile); a listener through the proxy (binds.h) is where
 * the proxy listens for it. */
#include "binds.h"
#include "context.h"
#include "engine.h"
#include "hooks.h"
#include "libc.h"
#include "tunnels.h"
#include "udp.h"

struct sockname_call {
    struct sockaddr *addr;
    socklen_t *len;
};

SOCKSIFY_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!addr || !len)
        return libc()->getpeername(fd, addr, len);
    /* A connecting socket has no peer yet (the placeholder under its number has one: its own pair). */
    if (engine_holds(fd))
        return hook_fail(ENOTCONN);
    struct udp_assoc *a = udp_managed(fd);
    if (a)
        return (int)hook_result(udp_peer(a, addr, len));
    union sockaddr_any target;
    if (!tunnels_target(fd, &target))
        return libc()->getpeername(fd, addr, len);
    *len = addr_copy_out(&target, addr, *len);
    return 0;
}

static int real_getsockname(int real, void *ctx)
{
    struct sockname_call *c = ctx;
    return libc()->getsockname(real, c->addr, c->len);
}

/* With `bind auto`, a tunnel's own name is the proxy's side of it, the address its target sees
 * (as with Dante's socksify): programs that announce where a peer should connect back (active
 * FTP's PORT/EPRT) bind their listener to it, and that listener goes through the proxy
 * (binds.h). Rewrites the name the kernel gave (addr, *len) when the proxy told that address and
 * it fits the socket's family. */
static void outward_name(int fd, struct sockaddr *addr, socklen_t *len, socklen_t room)
{
    const struct config *c = context_config();
    union sockaddr_any out, real;
    if (!c || !c->bind_auto || !tunnels_outward(fd, &out) || !addr_from_sockaddr(&real, addr, *len < room ? *len : room) ||
        addr_fit_family(&out, real.sa.sa_family) < 0)
        return;
    *len = addr_copy_out(&out, addr, room);
}

SOCKSIFY_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    int r;
    struct sockname_call c = { .addr = addr, .len = len };
    /* A listener through the proxy: where the proxy listens, which the program announces. */
    if (binds_maybe(fd) && (r = binds_sockname(fd, addr, len)) <= 0)
        return (int)hook_result(r);
    if (engine_maybe(fd) && engine_on_real(fd, real_getsockname, &c, &r))
        return r;
    socklen_t room = len ? *len : 0;
    r = libc()->getsockname(fd, addr, len);
    if (r == 0 && addr && tunnels_has(fd))
        outward_name(fd, addr, len, room);
    return r;
}
