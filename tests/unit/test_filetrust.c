/* Unit tests for core/filetrust.c: which config files and secret files socksify may use. */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include "filetrust.h"

static struct stat file(mode_t mode, uid_t owner)
{
    struct stat st = { .st_mode = S_IFREG | mode, .st_uid = owner };
    return st;
}

#define ME 1000
#define OTHER 1001

Test(filetrust_config, owner_and_writers)
{
    static const struct { mode_t mode; uid_t owner; enum filetrust want; } cases[] = {
        { 0644, ME, FILETRUST_OK },          { 0600, ME, FILETRUST_OK },
        { 0644, 0, FILETRUST_OK },           { 0444, 0, FILETRUST_OK },
        { 0664, ME, FILETRUST_WRITABLE_BY_OTHERS }, { 0646, ME, FILETRUST_WRITABLE_BY_OTHERS },
        { 0666, 0, FILETRUST_WRITABLE_BY_OTHERS },  { 0620, 0, FILETRUST_WRITABLE_BY_OTHERS },
        { 0644, OTHER, FILETRUST_FOREIGN_OWNER },   { 0600, OTHER, FILETRUST_FOREIGN_OWNER },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stat st = file(cases[i].mode, cases[i].owner);
        cr_assert_eq(filetrust_config(&st, ME), cases[i].want, "mode %o owner %u", cases[i].mode, cases[i].owner);
    }
}

Test(filetrust_config, root_trusts_root_only)
{
    struct stat st = file(0644, 0);
    cr_assert_eq(filetrust_config(&st, 0), FILETRUST_OK);
    st = file(0644, ME);
    cr_assert_eq(filetrust_config(&st, 0), FILETRUST_FOREIGN_OWNER);
}

/* /dev/null is world-writable, but writing it plants nothing: -f /dev/null stays usable. */
Test(filetrust_config, character_device)
{
    struct stat st = { .st_mode = S_IFCHR | 0666, .st_uid = 0 };
    cr_assert_eq(filetrust_config(&st, ME), FILETRUST_OK);
}

Test(filetrust_secret, private_and_mine_only)
{
    static const struct { mode_t mode; uid_t owner; enum filetrust want; } cases[] = {
        { 0600, ME, FILETRUST_OK },  { 0400, ME, FILETRUST_OK }, { 0700, ME, FILETRUST_OK },
        { 0640, ME, FILETRUST_READABLE_BY_OTHERS }, { 0604, ME, FILETRUST_READABLE_BY_OTHERS },
        { 0601, ME, FILETRUST_READABLE_BY_OTHERS }, { 0620, ME, FILETRUST_WRITABLE_BY_OTHERS },
        { 0602, ME, FILETRUST_WRITABLE_BY_OTHERS }, { 0600, 0, FILETRUST_FOREIGN_OWNER },
        { 0600, OTHER, FILETRUST_FOREIGN_OWNER },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stat st = file(cases[i].mode, cases[i].owner);
        cr_assert_eq(filetrust_secret(&st, ME), cases[i].want, "mode %o owner %u", cases[i].mode, cases[i].owner);
    }
}

Test(filetrust, describe)
{
    cr_assert_str_empty(filetrust_describe(FILETRUST_OK));
    cr_assert_str_not_empty(filetrust_describe(FILETRUST_WRITABLE_BY_OTHERS));
    cr_assert_str_not_empty(filetrust_describe(FILETRUST_FOREIGN_OWNER));
    cr_assert_str_not_empty(filetrust_describe(FILETRUST_READABLE_BY_OTHERS));
}
