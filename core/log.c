#include "log.h"

#include "rawsys.h"
#include "startup_data.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


static enum log_level threshold = LOG_ERROR;
static int log_fd = 2;
static char program_name[64] = "?";
static char log_path[4096];
/* A program without a log file then never touches a page of its own for it. */
static bool log_path_set STARTUP_DATA;

static const char *const level_names[] = { "none", "error", "warn", "info", "debug" };

int log_level_parse(const char *text, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_setup(enum log_level level, int fd, const char *program)
{
    threshold = level;
    log_fd = fd;
    text_copy(program_name, sizeof(program_name), program ? program : "?");
}

void log_set_file(const char *path)
{
    log_path_set = path && *path;
    if (log_path_set)
        text_copy(log_path, sizeof(log_path), path);
}

/* One line, in one write: to the log file when there is one (falling back to the descriptor if it
 * cannot be opened), else to the descriptor. O_NOFOLLOW: a symlink planted at the log path (in
 * /tmp, say) must not turn our lines into writes to a file of the attacker's choosing. */
static void emit(const char *line, size_t n)
{
    /* Raw system calls: the library hooks write and close, and a log line written from inside a
     * hook (under the engine's lock, say) must not enter them again. */
    int fd = log_path_set ? rawsys_open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    rawsys_write(fd >= 0 ? fd : log_fd, line, n);
    if (fd >= 0)
        rawsys_close(fd);
}

bool log_enabled(enum log_level level)
{
    return level != LOG_NONE && level <= threshold;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    int saved = errno;
    char line[1024];
    int n = snprintf(line, sizeof(line), "socksify[%d] %s: %s: ", (int)getpid(), program_name, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    emit(line, (size_t)n);
    errno = saved;
}
