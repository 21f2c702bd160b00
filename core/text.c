#include "text.h"

#include <stdarg.h>
#include <string.h>

static size_t join_list(char *dst, size_t size, va_list parts)
{
    size_t total = 0;
    for (const char *s; (s = va_arg(parts, const char *)) != NULL;) {
        size_t len = strlen(s);
        if (total < size - 1) {
            size_t room = size - 1 - total;
            memcpy(dst + total, s, len < room ? len : room);
        }
        total += len;
    }
    dst[total < size - 1 ? total : size - 1] = '\0';
    return total;
}

size_t text_join(char *dst, size_t size, ...)
{
    va_list parts;
    va_start(parts, size);
    size_t total = join_list(dst, size, parts);
    va_end(parts);
    return total;
}

size_t text_copy(char *dst, size_t size, const char *src)
{
    return text_join(dst, size, src, (const char *)NULL);
}
