/* Unit tests for core/file.c: whole files read into memory. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

static char path[64];

/* A temporary file holding data[0..len); its name in path. */
static void make_file(const void *data, size_t len)
{
    snprintf(path, sizeof(path), "/tmp/socksify-test-file.XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void remove_file(void)
{
    if (path[0])
        unlink(path);
}

TestSuite(file, .fini = remove_file);

Test(file, reads_whole_file_and_describes_it)
{
    make_file("proxy socks5://127.0.0.1:1080\n", 30);
    char *text;
    struct stat st;
    cr_assert_eq(file_read_all(path, 1024, &text, &st), 30);
    cr_assert_str_eq(text, "proxy socks5://127.0.0.1:1080\n");
    cr_assert_eq(st.st_size, 30);
    cr_assert(S_ISREG(st.st_mode));
    free(text);
}

Test(file, empty_file_is_empty_text)
{
    make_file("", 0);
    char *text;
    cr_assert_eq(file_read_all(path, 1024, &text, NULL), 0);
    cr_assert_str_eq(text, "");
    free(text);
}

Test(file, max_bytes_fit_one_more_do_not)
{
    char data[100];
    memset(data, 'x', sizeof(data));
    make_file(data, sizeof(data));
    char *text = (char *)1;
    cr_assert_eq(file_read_all(path, 100, &text, NULL), 100);
    cr_assert_eq(strlen(text), 100);
    free(text);
    cr_assert_eq(file_read_all(path, 99, &text, NULL), -EFBIG);
    cr_assert_null(text);
}

Test(file, nul_bytes_are_kept)
{
    make_file("a\0b", 3);
    char *text;
    cr_assert_eq(file_read_all(path, 16, &text, NULL), 3);
    cr_assert_eq(memcmp(text, "a\0b", 4), 0, "the bytes and a final NUL");
    free(text);
}

Test(file, missing_file_is_enoent)
{
    char *text = (char *)1;
    cr_assert_eq(file_read_all("/nonexistent/socksify/file", 16, &text, NULL), -ENOENT);
    cr_assert_null(text);
}

Test(file, directory_is_an_error)
{
    char *text;
    cr_assert_eq(file_read_all("/", 16, &text, NULL), -EISDIR);
}

/* /proc files report size 0: the buffer grows as the bytes come, and stops past max. */
Test(file, file_of_unknown_size_grows)
{
    char *text;
    ssize_t n = file_read_all("/proc/self/maps", 1 << 20, &text, NULL);
    cr_assert_gt(n, 4096, "/proc/self/maps is %zd bytes: too small to test growth", n);
    cr_assert_eq(strlen(text), (size_t)n);
    free(text);
    cr_assert_eq(file_read_all("/proc/self/maps", 5000, &text, NULL), -EFBIG);
}

/* file_read_into: the library's allocation-free read (the proxy URL file at start-up). */
Test(file, read_into_fits_size_minus_one)
{
    make_file("0123456789", 10);
    char buf[11];
    struct stat st;
    cr_assert_eq(file_read_into(path, buf, sizeof(buf), &st), 10);
    cr_assert_str_eq(buf, "0123456789");
    cr_assert_eq(st.st_size, 10);
    cr_assert_eq(file_read_into(path, buf, 10, &st), -EFBIG);
    cr_assert_str_eq(buf, "012345678", "the first size - 1 bytes, terminated");
}

Test(file, read_into_errors)
{
    char buf[16];
    struct stat st;
    cr_assert_eq(file_read_into("/nonexistent/socksify", buf, sizeof(buf), &st), -ENOENT);
    cr_assert_eq(file_read_into("/", buf, sizeof(buf), &st), -EISDIR);
    make_file("", 0);
    cr_assert_eq(file_read_into(path, buf, sizeof(buf), &st), 0);
    cr_assert_str_eq(buf, "");
}
