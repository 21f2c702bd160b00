/* The session a process belongs to: a private directory (SOCKSIFY_SESSION_DIR) made by whoever
 * started the session (the socksify command) and removed by it when the session ends, where the
 * library keeps the region every process of the session maps (names, dead-proxy marks).
 *
 * Contract with the command: it creates DIR (mode 0700, owned by the user), exports
 * SOCKSIFY_SESSION_DIR=DIR, stays the program's parent and removes DIR with everything in it when
 * the program ends. The library creates DIR/names itself on first use (the first process of the
 * session that needs it: its size depends on the configuration) and never removes anything. */
#ifndef SOCKSIFY_SESSION_H
#define SOCKSIFY_SESSION_H

#include <stdbool.h>
#include <stddef.h>

/* The session's directory, read from the environment when the library was loaded (so a program
 * that clears its environment later stays in its session); NULL outside a session. */
const char *session_dir(void);
/* Maps DIR/name of the session MAP_SHARED into *region (its size in *size): creates it with
 * new_size zero bytes if it does not exist yet, atomically (others never see it shorter).
 * Refuses a directory or file that is not the effective user's own and closed to every other
 * user (0700, 0600), or a file smaller than min_size. Keeps no descriptor open. Logs why it
 * fails. 0, or -errno (-EPERM for a refused directory or file). */
int session_map(const char *name, size_t new_size, size_t min_size, void **region, size_t *size);

/* Tells the session that relay is a proxy's UDP relay this process sends datagrams to (the
 * command's seccomp supervisor lets them through: they go to the proxy). Nothing outside a session. */
void session_note_relay(const char *relay_text);

#endif
