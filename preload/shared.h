/* The process's fake-address map, shared with its forked children (and they with it). */
#ifndef SOCKSIFY_FAKEMAP_H
#define SOCKSIFY_FAKEMAP_H

#include "fakedns.h"

/* The map when names are remote (DNS_REMOTE), NULL otherwise or if it could not be set up. */
struct fakedns *fakemap(void);

#endif
