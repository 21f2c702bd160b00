/* Copying and joining strings into fixed buffers without printf: the command's start-up and the
 * library's would otherwise run printf's code only for "%s", and on the machines measured every
 * page of code or stack a process touches for the first time costs a page fault of 10-15 us. */
#ifndef SOCKSIFY_TEXT_H
#define SOCKSIFY_TEXT_H

#include <stddef.h>

/* Joins the strings up to a NULL into dst (size > 0 bytes), cut to fit and always terminated;
 * returns the length the whole would have (>= size: it was cut), as snprintf does. */
size_t text_join(char *dst, size_t size, ...) __attribute__((sentinel));

/* text_join with one string: snprintf(dst, size, "%s", src). */
size_t text_copy(char *dst, size_t size, const char *src);

#endif
