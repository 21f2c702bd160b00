/* Unit tests for core/log.c. Each Criterion test runs in its own process, so log_setup's global
 * state does not leak between tests. */
#include <criterion/criterion.h>

#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int log_pipe[2] = { -1, -1 };

static void pipe_setup(void)
{
    cr_assert_eq(pipe(log_pipe), 0);
}

static void pipe_teardown(void)
{
    if (log_pipe[0] >= 0)
        close(log_pipe[0]);
    if (log_pipe[1] >= 0)
        close(log_pipe[1]);
}

/* Closes the write end and returns everything that was logged. */
static const char *logged(void)
{
    static char buf[16384];
    close(log_pipe[1]);
    log_pipe[1] = -1;
    size_t len = 0;
    ssize_t n;
    while ((n = read(log_pipe[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(log_level, parse_each_level)
{
    static const struct { const char *text; enum log_level level; } cases[] = {
        { "none", LOG_NONE }, { "error", LOG_ERROR }, { "warn", LOG_WARN }, { "info", LOG_INFO },
        { "debug", LOG_DEBUG }, { "DEBUG", LOG_DEBUG }, { "Warn", LOG_WARN }, { "NONE", LOG_NONE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum log_level level = (enum log_level)99;
        cr_assert_eq(log_level_parse(cases[i].text, &level), 0, "%s", cases[i].text);
        cr_assert_eq(level, cases[i].level, "%s", cases[i].text);
    }
}

Test(log_level, parse_bad)
{
    static const char *const bad[] = { "", "warning", "verbose", "err", "3", "info ", " info", "trace", "debug2" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum log_level level = LOG_INFO;
        cr_assert_eq(log_level_parse(bad[i], &level), -EINVAL, "'%s' accepted", bad[i]);
        cr_assert_eq(level, LOG_INFO, "'%s' changed the output", bad[i]);
    }
}

Test(log_level, enabled_by_threshold)
{
    log_setup(LOG_INFO, -1, "t");
    cr_assert(log_enabled(LOG_ERROR));
    cr_assert(log_enabled(LOG_WARN));
    cr_assert(log_enabled(LOG_INFO));
    cr_assert_not(log_enabled(LOG_DEBUG));
    cr_assert_not(log_enabled(LOG_NONE));
    log_setup(LOG_NONE, -1, "t");
    cr_assert_not(log_enabled(LOG_ERROR));
    cr_assert_not(log_enabled(LOG_NONE));
    log_setup(LOG_DEBUG, -1, "t");
    cr_assert(log_enabled(LOG_DEBUG));
    cr_assert_not(log_enabled(LOG_NONE));
}

TestSuite(log_msg, .init = pipe_setup, .fini = pipe_teardown);

Test(log_msg, writes_one_line)
{
    log_setup(LOG_INFO, log_pipe[1], "curl");
    log_msg(LOG_INFO, "connect %s:%d: %s", "10.1.2.3", 80, "ok");
    char want[128];
    snprintf(want, sizeof(want), "socksify[%d] curl: info: connect 10.1.2.3:80: ok\n", (int)getpid());
    cr_assert_str_eq(logged(), want);
}

Test(log_msg, each_level_name)
{
    log_setup(LOG_DEBUG, log_pipe[1], "p");
    log_msg(LOG_ERROR, "e");
    log_msg(LOG_WARN, "w");
    log_msg(LOG_INFO, "i");
    log_msg(LOG_DEBUG, "d");
    char want[256];
    int pid = (int)getpid();
    snprintf(want, sizeof(want), "socksify[%d] p: error: e\nsocksify[%d] p: warn: w\nsocksify[%d] p: info: i\n"
             "socksify[%d] p: debug: d\n", pid, pid, pid, pid);
    cr_assert_str_eq(logged(), want);
}

Test(log_msg, nothing_below_threshold)
{
    log_setup(LOG_WARN, log_pipe[1], "p");
    log_msg(LOG_INFO, "not this");
    log_msg(LOG_DEBUG, "nor this");
    log_msg(LOG_NONE, "never this");
    log_msg(LOG_ERROR, "this");
    const char *out = logged();
    cr_assert_eq(count_lines(out), 1, "got:\n%s", out);
    cr_assert_not_null(strstr(out, ": error: this\n"));
    cr_assert_null(strstr(out, "not this"));
}

Test(log_msg, none_threshold_writes_nothing)
{
    log_setup(LOG_NONE, log_pipe[1], "p");
    log_msg(LOG_ERROR, "x");
    log_msg(LOG_NONE, "y");
    cr_assert_str_empty(logged());
}

Test(log_msg, errno_preserved)
{
    log_setup(LOG_INFO, log_pipe[1], "p");
    errno = EHOSTUNREACH;
    log_msg(LOG_INFO, "a message %s", "with args");
    cr_assert_eq(errno, EHOSTUNREACH);
    errno = ETIMEDOUT;
    log_msg(LOG_DEBUG, "filtered");
    cr_assert_eq(errno, ETIMEDOUT);
    cr_assert_eq(count_lines(logged()), 1);
}

Test(log_msg, errno_preserved_when_write_fails)
{
    log_setup(LOG_INFO, -1, "p");   /* write() fails with EBADF */
    errno = ECONNREFUSED;
    log_msg(LOG_ERROR, "lost");
    cr_assert_eq(errno, ECONNREFUSED);
}

Test(log_msg, long_message_is_one_truncated_line)
{
    static char big[4000];
    memset(big, 'z', sizeof(big) - 1);
    log_setup(LOG_INFO, log_pipe[1], "p");
    log_msg(LOG_INFO, "%s", big);
    log_msg(LOG_INFO, "after");
    const char *out = logged();
    cr_assert_eq(count_lines(out), 2, "got %zu lines", count_lines(out));
    const char *nl = strchr(out, '\n');
    cr_assert_leq((size_t)(nl - out) + 1, 1024, "first line is %zu bytes", (size_t)(nl - out) + 1);
    cr_assert_eq(nl[-1], 'z');
    cr_assert_not_null(strstr(nl + 1, ": info: after\n"));
}

Test(log_msg, program_name)
{
    log_setup(LOG_INFO, log_pipe[1], NULL);
    log_msg(LOG_INFO, "x");
    char want[64];
    snprintf(want, sizeof(want), "socksify[%d] ?: info: x\n", (int)getpid());
    cr_assert_str_eq(logged(), want);
}

Test(log_msg, long_program_name_truncated)
{
    char name[200];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    log_setup(LOG_INFO, log_pipe[1], name);
    log_msg(LOG_INFO, "msg");
    const char *out = logged();
    cr_assert_eq(count_lines(out), 1);
    cr_assert_not_null(strstr(out, ": info: msg\n"));
}

Test(log_file, lines_go_to_the_file_opened_per_line)
{
    char path[] = "/tmp/socksify-log-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    log_setup(LOG_INFO, 2, "prog");
    log_set_file(path);
    log_msg(LOG_INFO, "first %d", 1);
    log_msg(LOG_DEBUG, "below the threshold");
    log_msg(LOG_ERROR, "second");
    log_set_file(NULL);
    char buf[512] = "";
    fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    unlink(path);
    cr_assert_gt(n, 0);
    cr_assert_not_null(strstr(buf, "prog: info: first 1\n"), "log file: %s", buf);
    cr_assert_not_null(strstr(buf, "prog: error: second\n"), "log file: %s", buf);
    cr_assert_null(strstr(buf, "below"), "log file: %s", buf);
    /* No descriptor stays open between lines: the next free descriptor is the one we just closed. */
    int probe = open("/dev/null", O_RDONLY);
    cr_assert_eq(probe, fd, "a descriptor was left open");
    close(probe);
}

/* A symlink planted at the log path must not redirect the lines: they go to the descriptor. */
Test(log_file, symlink_at_the_path_is_not_followed, .init = pipe_setup, .fini = pipe_teardown)
{
    char dir[] = "/tmp/socksify-log-link-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char target[PATH_MAX], link[PATH_MAX];
    snprintf(target, sizeof(target), "%s/victim", dir);
    snprintf(link, sizeof(link), "%s/socksify.log", dir);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(symlink(target, link), 0);
    log_setup(LOG_INFO, log_pipe[1], "prog");
    log_set_file(link);
    log_msg(LOG_ERROR, "planted");
    log_set_file(NULL);
    struct stat st;
    cr_assert_eq(stat(target, &st), 0);
    const char *out = logged();
    unlink(link);
    unlink(target);
    rmdir(dir);
    cr_assert_eq(st.st_size, 0, "the line was written through the symlink");
    cr_assert_not_null(strstr(out, "prog: error: planted\n"), "the line was lost: '%s'", out);
}
