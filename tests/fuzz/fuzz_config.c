/* libFuzzer target: arbitrary config text. Parsing either succeeds or fails with a message
 * that names the file; it never crashes or leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct config c = { 0 };
    config_init(&c);
    char err[512] = "";
    if (config_parse(&c, text, "fuzz.conf", err, sizeof(err)) < 0 && strncmp(err, "fuzz.conf:", 10) != 0)
        abort();
    config_free(&c);
    free(text);
    return 0;
}
