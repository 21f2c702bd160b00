#include "hostent.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

int hostent_fill(struct hostent *he, const char *name, int family, const void *addr, char *buf, size_t buflen)
{
    return hostent_fill_many(he, name, family, addr, 1, buf, buflen);
}

int hostent_fill_many(struct hostent *he, const char *name, int family, const void *addrs, size_t count, char *buf,
                      size_t buflen)
{
    size_t addr_len = family == AF_INET6 ? 16 : 4;
    size_t name_len = strlen(name) + 1;
    /* Pointer arrays first, where buf's alignment is fixed up; then the bytes. */
    size_t pad = (sizeof(char *) - (uintptr_t)buf % sizeof(char *)) % sizeof(char *);
    size_t need = pad + (count + 2) * sizeof(char *) + count * addr_len + name_len;
    if (buflen < need)
        return ERANGE;
    char **aliases = (char **)(void *)(buf + pad);
    char **addr_list = aliases + 1;
    char *addr_copy = (char *)(addr_list + count + 1);
    char *name_copy = addr_copy + count * addr_len;
    memcpy(addr_copy, addrs, count * addr_len);
    memcpy(name_copy, name, name_len);
    aliases[0] = NULL;
    for (size_t i = 0; i < count; i++)
        addr_list[i] = addr_copy + i * addr_len;
    addr_list[count] = NULL;
    he->h_name = name_copy;
    he->h_aliases = aliases;
    he->h_addrtype = family;
    he->h_length = (int)addr_len;
    he->h_addr_list = addr_list;
    return 0;
}
