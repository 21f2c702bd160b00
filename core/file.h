/* Whole small files (the config file, the proxy URL file, /etc/hosts) read into memory, through
 * core/rawsys so that the library never enters its own read/close hooks. */
#ifndef SOCKSIFY_FILE_H
#define SOCKSIFY_FILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The most of /etc/hosts that is read, by the library and socksify --explain alike, so that both see
 * the same names: hosts files that block ads run to megabytes. */
#define FILE_HOSTS_MAX ((size_t)64 << 20)

/* Reads the file at path whole into *text (malloc'd, NUL-terminated; the caller frees it) and, if st
 * is not NULL, describes the file read in *st; returns its length, or -errno (*text NULL): -EFBIG if
 * it holds more than max bytes, -ENOMEM, or open's, fstat's or read's error. NUL bytes are kept. */
ssize_t file_read_all(const char *path, size_t max, char **text, struct stat *st);

/* Reads the file at path into buf (size bytes, NUL-terminated) without allocating, as the library's
 * start-up must (the first malloc sets up a heap: page faults every process would pay), and
 * describes it in *st; returns its length, or -errno: -EFBIG if it holds size bytes or more (buf then
 * holds its first size - 1, terminated: the caller wipes them if they are secret). */
ssize_t file_read_into(const char *path, char *buf, size_t size, struct stat *st);

/* The contents of /etc/hosts (malloc'd; the caller frees it), or NULL if it cannot be read. */
char *file_read_hosts(void);

#endif
