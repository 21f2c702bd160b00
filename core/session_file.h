/* The files of a session's private directory (SOCKSIFY_SESSION_DIR): mapped by every process of
 * the session (the library's, and the command's seccomp supervisor), created by the first that
 * needs one. The rules that keep other users out live here, once. */
#ifndef SOCKSIFY_SESSION_FILE_H
#define SOCKSIFY_SESSION_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Maps dir/name MAP_SHARED into *region (its size in *size): creates it with new_size zero bytes
 * if it does not exist yet, atomically (others never see it shorter). Refuses a directory or
 * file that is not the effective user's own and closed to every other user (0700, 0600), or a
 * file smaller than min_size. Keeps no descriptor open. Logs why it fails. 0, or -errno (-EPERM
 * for a refused directory or file). */
int session_file_map(const char *dir, const char *name, size_t new_size, size_t min_size, void **region, size_t *size);

/* Appends line and a newline to dir/name (created mode 0600; a symlink is not followed), in one
 * write, so lines of concurrent processes never interleave. 0 or -errno. */
int session_file_append(const char *dir, const char *name, const char *line);
/* True if dir/name, the effective user's own and closed to others, holds line as a whole line
 * (its first 256 KiB are read). */
bool session_file_has_line(const char *dir, const char *name, const char *line);

#endif
