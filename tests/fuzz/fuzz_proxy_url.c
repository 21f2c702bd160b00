/* libFuzzer target: arbitrary proxy URLs. A URL parses or yields a message; a parsed one formats
 * back without ever showing its password. */
#include <stdbool.h>
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
    /* The password must not come back. It could appear by coincidence inside the user, the
     * host or the port, or across the separators, so only a password that cannot is judged. */
    char port[8];
    snprintf(port, sizeof(port), "%u", p.port);
    const char *after_scheme = strstr(text, "://") + 3;
    /* The options (?auth=gssapi,userpass) are words of ours: a password among them is a coincidence. */
    const char *options = strchr(after_scheme, '?');
    bool judgeable = p.has_auth && p.pass[0] && !strpbrk(p.pass, "@:[]") && !strstr(p.user, p.pass) &&
                     !strstr(p.host, p.pass) && !strstr(port, p.pass) && !(options && strstr(options, p.pass));
    if (judgeable && strstr(after_scheme, p.pass))
        abort();
    return 0;
}
