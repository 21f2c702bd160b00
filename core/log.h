/* Logging for the library and the tools: one line per message, to stderr or a log file.
 * Messages go out with one write() so lines from threads and processes do not interleave. */
#ifndef SOCKSIFY_LOG_H
#define SOCKSIFY_LOG_H

#include <stdbool.h>

enum log_level { LOG_NONE, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parses "none", "error", "warn", "info" or "debug"; returns 0, or -EINVAL. */
int log_level_parse(const char *text, enum log_level *out);
/* Sets the threshold, the descriptor lines go to, and the program name put in each line. */
void log_setup(enum log_level level, int fd, const char *program);
/* Sends lines to the file at path instead (NULL: back to the descriptor). The file is opened for
 * each line, so the library holds no descriptor a program could close or dup2 over; a symlink at
 * path is not followed (the line goes to the descriptor instead). */
void log_set_file(const char *path);
/* True if messages of this level are written (check before building costly arguments). */
bool log_enabled(enum log_level level);
/* Writes one formatted line if level is enabled; keeps errno unchanged. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
