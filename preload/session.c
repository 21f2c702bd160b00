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

static char dir[PATH_MAX - NAME_ROOM];
/* Set: a session's directory is named (dir holds it unless it is too long). In the startup page,
 * so that a program outside a session never touches dir's. */
static bool dir_set STARTUP_DATA, dir_too_long STARTUP_DATA;

/* Only the environment is read here: the library's start-up stays bare (file work waits for the
 * first use), and a program that later clears its environment keeps its session. */
__attribute__((constructor)) static void session_read_env(void)
{
    const char *d = secure_getenv("SOCKSIFY_SESSION_DIR");
    if (!d || !*d)
        return;
    dir_set = true;
    if (strlen(d) < sizeof(dir))
        strcpy(dir, d);
    else
        dir_too_long = true;
}

const char *session_dir(void)
{
    return dir_set ? dir : NULL;
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
    if (dir_set && !dir_too_long)
        session_file_append(dir, "relays", relay_text);
}
