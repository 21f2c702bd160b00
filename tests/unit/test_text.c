/* Unit tests for core/text.c: snprintf's "%s" without printf. */
#include <criterion/criterion.h>

#include <string.h>

#include "text.h"

Test(text, join_fits)
{
    char buf[16];
    cr_assert_eq(text_join(buf, sizeof(buf), "a", "", "bc", "/", "d", (const char *)NULL), 5);
    cr_assert_str_eq(buf, "abc/d");
    cr_assert_eq(text_join(buf, sizeof(buf), (const char *)NULL), 0);
    cr_assert_str_eq(buf, "");
}

Test(text, join_cut_like_snprintf)
{
    char buf[6];
    cr_assert_eq(text_join(buf, sizeof(buf), "0123", "45678", (const char *)NULL), 9, "the length uncut, as snprintf's");
    cr_assert_str_eq(buf, "01234");
    cr_assert_eq(text_join(buf, sizeof(buf), "01234", (const char *)NULL), 5, "fills the buffer exactly");
    cr_assert_str_eq(buf, "01234");
    cr_assert_eq(text_join(buf, 1, "xyz", (const char *)NULL), 3);
    cr_assert_str_eq(buf, "");
}

Test(text, copy)
{
    char buf[4];
    cr_assert_eq(text_copy(buf, sizeof(buf), "ab"), 2);
    cr_assert_str_eq(buf, "ab");
    cr_assert_eq(text_copy(buf, sizeof(buf), "abcdef"), 6);
    cr_assert_str_eq(buf, "abc");
}
