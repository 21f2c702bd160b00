#include "filetrust.h"

enum filetrust filetrust_config(const struct stat *st, uid_t euid)
{
    if (S_ISCHR(st->st_mode))
        return FILETRUST_OK;
    /* Whoever can write the file decides where the traffic goes. */
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return FILETRUST_WRITABLE_BY_OTHERS;
    if (st->st_uid != 0 && st->st_uid != euid)
        return FILETRUST_FOREIGN_OWNER;
    return FILETRUST_OK;
}

enum filetrust filetrust_secret(const struct stat *st, uid_t euid)
{
    if (st->st_uid != euid)
        return FILETRUST_FOREIGN_OWNER;
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return FILETRUST_WRITABLE_BY_OTHERS;
    if (st->st_mode & (S_IRWXG | S_IRWXO))
        return FILETRUST_READABLE_BY_OTHERS;
    return FILETRUST_OK;
}

const char *filetrust_describe(enum filetrust t)
{
    switch (t) {
    case FILETRUST_WRITABLE_BY_OTHERS: return "can be written by other users (group- or other-writable)";
    case FILETRUST_FOREIGN_OWNER: return "is owned by another user";
    case FILETRUST_READABLE_BY_OTHERS: return "is open to other users (group or other permissions)";
    default: return "";
    }
}
