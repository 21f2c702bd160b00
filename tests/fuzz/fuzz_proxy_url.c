/* libFuzzer target: arbitrary proxy URLs. A URL parses or yields a message; a parsed one formats
 * back without ever showing its password. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char url[2048];
    if (size >= sizeof(url))
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    struct proxy p;
    char err[256] = "";
    if (proxy_url_parse(url, &p, err, sizeof(err)) < 0) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    char text[1024];
    proxy_format(&p, text, sizeof(text));
    /* The user:pass@ form must never come back. */
    char needle[PROXY_CRED_MAX + 3];
    snprintf(needle, sizeof(needle), ":%s@", p.pass);
    if (p.has_auth && strstr(text, needle))
        abort();
    return 0;
}
