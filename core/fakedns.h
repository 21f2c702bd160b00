/* The map of names to fake addresses behind remote DNS.
 *
 * A name the proxy must resolve gets an address from a reserved range (default 198.18.0.0/15,
 * and the same index in an IPv6 range); connect() to that address sends the name to the proxy.
 * The map lives in one caller-provided memory region so that the caller can make it shared
 * (MAP_SHARED) and inherited by forked children: a parent resolves, a child connects, and the
 * other way round. It holds a process-shared, robust mutex; lookups are O(1) both ways
 * (address -> entry by index, name -> entry by an open-addressing hash index in the region).
 * When full, the least recently used entry is reused (clock / second-chance), never one
 * looked up since the hand last passed it. This module does no I/O and allocates nothing. */
#ifndef SOCKSIFY_FAKEDNS_H
#define SOCKSIFY_FAKEDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cidr.h"

#define FAKEDNS_NAME_MAX 255

struct fakedns;   /* opaque: lives inside the caller's region */

/* Bytes of region needed for a map of `capacity` names. */
size_t fakedns_region_size(uint32_t capacity);
/* Formats region (fakedns_region_size(capacity) zero-filled bytes, e.g. a fresh anonymous
 * mapping; only the header is written, so untouched pages cost no memory) as an empty map handing out
 * addresses from range4 and range6 (capacity is clamped to the smaller range's size minus its
 * network and broadcast addresses). Returns the map, or NULL if the ranges are unusable
 * (IPv4 range not AF_INET, IPv6 not AF_INET6, prefix too long to hold one address). */
struct fakedns *fakedns_create(void *region, uint32_t capacity, const struct cidr *range4, const struct cidr *range6);
/* The map another process sharing the region formatted with fakedns_create; NULL if none is there. */
struct fakedns *fakedns_attach(void *region);
/* The fake address for name (case-insensitive; a trailing dot is ignored), allocating one if
 * new, in family AF_INET or AF_INET6, port 0. Returns 0, -EINVAL for an empty or over-long name. */
int fakedns_address_for(struct fakedns *map, const char *name, int family, union sockaddr_any *out);
/* The fake address name already has (as fakedns_address_for, but allocating none: for names that
 * come from the network, which must not fill the map). 0, -ENOENT if name has none, -EINVAL. */
int fakedns_find_address(struct fakedns *map, const char *name, int family, union sockaddr_any *out);
/* True if addr (port ignored; IPv4-mapped IPv6 included) lies in one of the map's ranges. */
bool fakedns_is_fake(const struct fakedns *map, const union sockaddr_any *addr);
/* Copies the name behind a fake address into name (FAKEDNS_NAME_MAX + 1 bytes) and marks it
 * recently used. Returns 0, or -ENOENT if the address is not (or no longer) mapped. */
int fakedns_name_for(struct fakedns *map, const union sockaddr_any *addr, char *name);
/* True if map hands out addresses from exactly range4 and range6: a process whose configuration
 * names other ranges must not use a map another process formatted. Reads no shared state that changes. */
bool fakedns_has_ranges(const struct fakedns *map, const struct cidr *range4, const struct cidr *range6);
/* Number of names currently mapped. */
uint32_t fakedns_count(struct fakedns *map);
/* The capacity actually in use (after clamping to the ranges). */
uint32_t fakedns_capacity(const struct fakedns *map);

#endif
