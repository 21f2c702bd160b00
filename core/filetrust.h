/* Whether socksify may use a file others could have written (a config file) or read (a file holding
 * a proxy URL with its password). Pure: the caller gives the file's stat and its effective uid. */
#ifndef SOCKSIFY_FILETRUST_H
#define SOCKSIFY_FILETRUST_H

#include <sys/stat.h>
#include <sys/types.h>

enum filetrust {
    FILETRUST_OK,
    FILETRUST_WRITABLE_BY_OTHERS,  /* group- or other-writable */
    FILETRUST_FOREIGN_OWNER,       /* owned by a user other than root (config) or euid (secret) */
    FILETRUST_READABLE_BY_OTHERS,  /* a secret with any permission for group or other */
};

/* A config file: refused if group/other-writable or owned by someone other than root and euid.
 * Character devices (/dev/null) are not content anyone can plant, so they pass. */
enum filetrust filetrust_config(const struct stat *st, uid_t euid);
/* A file holding a secret: owned by euid, with no permission bits for group or other. */
enum filetrust filetrust_secret(const struct stat *st, uid_t euid);
/* What is wrong, as a phrase for a message ("can be written by other users"); "" for FILETRUST_OK. */
const char *filetrust_describe(enum filetrust t);

#endif
