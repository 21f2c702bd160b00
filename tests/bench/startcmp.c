/* Start-up cost of commands, compared in one run: each round starts every command once (the order
 * rotating), with posix_spawn and a wait, and times each run; the median of each command's runs
 * is robust against the bursts of a shared machine, which a loop's total is not. It also counts
 * the page faults of each run (wait4's rusage: the command and the descendants it waited for),
 * which do not move with the machine's load: on the virtual machines measured each costs 10-15 us,
 * and they are most of a start-up.
 * usage: bench-startcmp ROUNDS [VAR=value...] COMMAND... [::: [VAR=value...] COMMAND...]...
 * Prints one line per command: its median, 25th and 75th percentile in microseconds, and its
 * median count of page faults. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define COMMANDS_MAX 16

extern char **environ;

struct command {
    char **argv;       /* the program and its arguments */
    char **env;        /* environ plus the command's own VAR=value words */
    double *us;        /* one time per round */
    double *faults;    /* and one count of page faults */
    const char *label;
};

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* Splits argv at ":::" into commands; leading VAR=value words join that command's environment. */
static int parse(char **argv, struct command *cmds, int rounds)
{
    int n = 0;
    size_t env_n = 0;
    while (environ[env_n])
        env_n++;
    while (*argv && n < COMMANDS_MAX) {
        struct command *c = &cmds[n++];
        c->env = calloc(env_n + 64, sizeof(char *));
        c->us = calloc((size_t)rounds, sizeof(double));
        c->faults = calloc((size_t)rounds, sizeof(double));
        if (!c->env || !c->us || !c->faults)
            return -1;
        size_t k = 0;
        for (; *argv && strchr(*argv, '=') && (*argv)[0] != '/'; argv++)
            if (k < 63)
                c->env[k++] = *argv;
        memcpy(c->env + k, environ, env_n * sizeof(char *));
        c->argv = argv;
        c->label = *argv;
        while (*argv && strcmp(*argv, ":::") != 0)
            argv++;
        if (*argv)
            *argv++ = NULL;
    }
    return n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ROUNDS [VAR=value...] COMMAND... [::: ...]\n", argv[0]);
        return 2;
    }
    int rounds = atoi(argv[1]);
    struct command cmds[COMMANDS_MAX];
    int n = parse(argv + 2, cmds, rounds);
    if (rounds <= 0 || n <= 0)
        return 2;
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < n; j++) {
            struct command *c = &cmds[(r + j) % n];
            pid_t pid;
            int status = -1;
            struct rusage ru;
            double t0 = now_us();
            if (posix_spawnp(&pid, c->argv[0], NULL, NULL, c->argv, c->env) != 0 || wait4(pid, &status, 0, &ru) < 0 ||
                status != 0) {
                fprintf(stderr, "%s failed (status %d)\n", c->label, status);
                return 1;
            }
            c->us[r] = now_us() - t0;
            c->faults[r] = (double)(ru.ru_minflt + ru.ru_majflt);
        }
    for (int j = 0; j < n; j++) {
        qsort(cmds[j].us, (size_t)rounds, sizeof(double), cmp);
        qsort(cmds[j].faults, (size_t)rounds, sizeof(double), cmp);
        printf("%d\t%.0f\t%.0f\t%.0f\t%.0f\n", j + 1, cmds[j].us[rounds / 2], cmds[j].us[rounds / 4],
               cmds[j].us[rounds * 3 / 4], cmds[j].faults[rounds / 2]);
    }
    return 0;
}
