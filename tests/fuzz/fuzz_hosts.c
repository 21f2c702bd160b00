/* libFuzzer target: an arbitrary /etc/hosts and name. The matcher reads only the text it was
 * given and never crashes; a name it reports as listed really appears in the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first line is the name to look up, the rest the hosts file. */
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    size_t line_len = (size_t)(nl - data);
    char *name = strndup((const char *)data, line_len);
    char *hosts = strndup((const char *)nl + 1, size - line_len - 1);
    size_t name_len = name ? strlen(name) : 0;
    /* A numeric address may carry an IPv6 scope ("fe80::1%eth0"): only what precedes it is numeric. */
    size_t numeric_len = strcspn(name ? name : "", "%");
    if (name && hosts && name_len > 0 && !memchr(name, '.', name_len) && names_resolve_locally(name, hosts) &&
        strcasecmp(name, "localhost") != 0 && !strcasestr(hosts, name) &&
        strspn(name, "0123456789xXabcdefABCDEF:.") < numeric_len)
        abort();
    free(name);
    free(hosts);
    return 0;
}
