#include "session.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "log.h"
#include "session_file.h"

/* Room for DIR/.name.PID.TID after the directory (core/session_file.c). */
#define NAME_ROOM 64

/* The session's directory: a usual one (the command makes it under /run/user/UID or /dev/shm) is
 * kept in the startup page, a long one in a buffer of its own (a page fault more per process). */
static char dir_short[256] STARTUP_DATA;
static char dir_long[PATH_MAX - NAME_ROOM];
static char *dir STARTUP_DATA;   /* NULL: no session, or its name is too long */
static bool dir_too_long STARTUP_DATA;

/* Only the environment is read here: the library's start-up stays bare (file work waits for the
 * first use), and a program that later clears its environment keeps its session. */
__attribute__((constructor)) static void session_read_env(void)
{
    const char *d = secure_getenv("SOCKSIFY_SESSION_DIR");
    if (!d || !*d)
        return;
    size_t len = strlen(d);
    dir = len < sizeof(dir_short) ? dir_short : len < sizeof(dir_long) ? dir_long : NULL;
    if (dir)
        memcpy(dir, d, len + 1);
    dir_too_long = !dir;
}

const char *session_dir(void)
{
    return dir ? dir : dir_too_long ? "" : NULL;
}

int session_map(const char *name, size_t new_size, size_t min_size, void **region, size_t *size)
{
    if (dir_too_long) {
        log_msg(LOG_ERROR, "SOCKSIFY_SESSION_DIR is too long");
        return -ENAMETOOLONG;
    }
    return session_file_map(dir, name, new_size, min_size, region, size);
}

void session_note_relay(const char *relay_text)
{
    if (dir)
        session_file_append(dir, "relays", relay_text);
}
