/* The layout of the memory that the processes of a family or of a session share: a header, the
 * fake-address map (core/fakedns) and, in a session, the dead-proxy marks of its chains
 * (core/chain). Pure: the caller maps the memory (an anonymous MAP_SHARED mapping inherited by
 * forked children, or a file every process of a session maps) and waits; nothing here does I/O.
 *
 * Whoever maps a zero-filled region first claims it (shared_region_claim) and formats it for its
 * configuration; the others wait for shared_region_ready and then attach, which checks that their
 * configuration agrees with the one the region was formatted for (the same fake ranges for the
 * names; the same proxy and chain counts for the marks, whose size depends on them). */
#ifndef SOCKSIFY_SHARED_REGION_H
#define SOCKSIFY_SHARED_REGION_H

#include <stdbool.h>
#include <stddef.h>

#include "chain.h"
#include "config.h"
#include "fakedns.h"

/* Names a region holds: enough for any long-running program; pages are touched only as names arrive. */
#define SHARED_REGION_NAMES 65536

/* Bytes of region for c: the header and the map, and with_marks c's dead-proxy marks. */
size_t shared_region_size(const struct config *c, bool with_marks);
/* Bytes every region has at least (header and map), whatever its configuration. */
size_t shared_region_min_size(void);
/* True for the one caller that gets to format a zero-filled region: it must call
 * shared_region_format next. Lock-free; other callers wait for shared_region_ready. */
bool shared_region_claim(void *region);
/* Formats a claimed region of shared_region_size(c, with_marks) zero-filled bytes for c (all
 * proxies up, no names) and marks it ready, even when c's fake ranges are unusable (then it holds
 * no map: shared_region_names says -EINVAL). */
void shared_region_format(void *region, const struct config *c, bool with_marks);
/* Formats the region if this caller claims it (c, with_marks as shared_region_format), else
 * waits at most 2 s (sleeping 1 ms at a time) for the process that claimed it: true once ready. */
bool shared_region_prepare(void *region, const struct config *c, bool with_marks);
/* True once the region is formatted. */
bool shared_region_ready(const void *region);
/* The map of a ready region of size bytes into *out: 0; -EAGAIN not ready yet; -EPROTO not a
 * region of this version, or too small; -EINVAL formatted without a map; -ESTALE c's fake ranges
 * differ from the map's. */
int shared_region_names(void *region, size_t size, const struct config *c, struct fakedns **out);
/* Attaches *out to the marks of a ready region of size bytes: 0; -EAGAIN, -EPROTO as above;
 * -ENOENT formatted without marks; -ESTALE formatted for other proxy or chain counts than c's. */
int shared_region_marks(void *region, size_t size, const struct config *c, struct chain_health *out);

#endif
