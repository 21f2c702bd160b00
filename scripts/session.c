/* The session's parent. The command starts the program as its child and waits for it, so that it
 * can remove the -x file at the end (and, later, hold what the whole session shares). To the
 * program and to its caller it should look as if the command were the program:
 *
 * - The child stays in the command's process group. The terminal's signals (Ctrl-C, Ctrl-\, Ctrl-Z,
 *   a window resize) go to the whole foreground group, so they reach the program directly; the
 *   command passes on what other processes sent (kill PID), not what the program's own tree sent.
 * - Job control: when the program stops, the command stops itself with the same signal, so that
 *   the shell sees its job stopped; when the shell continues the job (fg, bg), the group gets
 *   SIGCONT, and the command continues the program again in case only the command was continued.
 * - The exit status is the program's, 128+N if signal N ended it (as a shell reports it).
 * - Signals are taken synchronously (blocked, then sigwaitinfo): no handlers, no races with fork.
 *   The command's dispositions stay as its caller set them, and the program inherits them.
 * - If the command itself is killed (SIGKILL, which it cannot pass on), the program gets SIGTERM
 *   (PR_SET_PDEATHSIG), so it is not left running alone. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "socksify.h"
#include "supervisor.h"

/* What the command passes on. Not the signals of its own faults (SEGV, BUS...) nor KILL and STOP,
 * which it cannot catch. */
static const int passed_on[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGVTALRM, SIGPROF,
    SIGPIPE, SIGURG, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ, SIGPWR,
};

static void session_signals(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++)
        sigaddset(set, passed_on[i]);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        sigaddset(set, sig);
    sigaddset(set, SIGCHLD);
}

/* The parent of process pid (from /proc/PID/stat: the fourth field, after the command name in
 * parentheses, which may itself hold ')'), or -1 if it is gone. */
static pid_t parent_of(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
    if (f)
        fclose(f);
    stat[n] = '\0';
    const char *end = strrchr(stat, ')');
    int ppid;
    return end && sscanf(end + 1, " %*c %d", &ppid) == 1 ? ppid : -1;
}

/* True if pid is the program or runs under it (ancestry at most 64 deep). */
static bool in_program_tree(pid_t pid, pid_t child)
{
    for (int depth = 0; depth < 64 && pid > 1; depth++, pid = parent_of(pid))
        if (pid == child)
            return true;
    return false;
}

/* True for a signal the program has not had already: one a process sent (kill, sigqueue, tgkill)
 * that is neither the command (its own SIGPIPE) nor the program or its descendants, which signal
 * the program directly or the whole process group (kill(0, ...), as curses programs do for
 * Ctrl-Z). The terminal's signals (SI_KERNEL) went to the whole foreground group, program
 * included. A sender outside the program's tree counts even within our process group: a shell
 * script without job control runs `socksify PROG &` in its own group, then `kill $!`. */
static bool needs_passing_on(const siginfo_t *si, pid_t child)
{
    if (si->si_code != SI_USER && si->si_code != SI_QUEUE && si->si_code != SI_TKILL)
        return false;
    return si->si_pid != getpid() && !in_program_tree(si->si_pid, child);
}

/* The program stopped with signal sig: the command stops the same way (its disposition for sig is
 * the caller's: the default stops, as it would have stopped the program), and once continued it
 * continues the program. */
static void stop_like_the_program(pid_t child, int sig)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    kill(getpid(), sig);                      /* pending while blocked... */
    sigprocmask(SIG_UNBLOCK, &one, NULL);     /* ...delivered here: the command stops */
    sigprocmask(SIG_BLOCK, &one, NULL);
    kill(child, SIGCONT);
}

/* Collects the program's state changes: 1 with its wait status in *status once it has ended, 0
 * while it runs (after following it into a stop and back). */
static int collect(pid_t child, int *status)
{
    pid_t r;
    while ((r = waitpid(child, status, WNOHANG | WUNTRACED)) > 0) {
        if (WIFSTOPPED(*status))
            stop_like_the_program(child, WSTOPSIG(*status));
        else
            return 1;
    }
    /* ECHILD: someone else reaped it (cannot happen: SIGCHLD is not ignored); stop waiting. */
    if (r < 0 && errno == ECHILD) {
        *status = 127 << 8;
        return 1;
    }
    return 0;
}

int session_on_signal(pid_t child, int sig, const siginfo_t *si, int *status)
{
    int wstatus;
    if (sig == SIGCHLD && collect(child, &wstatus)) {
        *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        return 1;
    }
    if (sig > 0 && sig != SIGCHLD && needs_passing_on(si, child))
        kill(child, sig);
    return 0;
}

static int session_wait(pid_t child, const sigset_t *set)
{
    for (;;) {
        siginfo_t si;
        int status, sig = sigwaitinfo(set, &si);
        if (session_on_signal(child, sig, &si, &status))
            return status;
    }
}

/* execvp's fallback for a file the kernel cannot run (no ELF, no "#!"): /bin/sh FILE ARGS...,
 * made by the parent before the child starts (the child runs on a small stack in the parent's
 * memory: neither a malloc nor an array as long as the program's words belongs there). NULL if
 * there is no memory for it: the child then reports exec's error. */
static char **sh_words(const struct session *s)
{
    size_t argc = 0;
    while (s->argv[argc])
        argc++;
    char **argv = malloc((argc + 2) * sizeof(*argv));
    if (!argv)
        return NULL;
    argv[0] = "/bin/sh";
    argv[1] = (char *)s->path;
    for (size_t i = 1; i <= argc; i++)
        argv[i + 1] = s->argv[i];
    return argv;
}

/* What the child needs, made by the parent: the child shares the parent's memory until it execs. */
struct child_start {
    const struct session *s;
    sigset_t mask;             /* the caller's signal mask, which the program inherits */
    struct sigaction chld;     /* and the caller's SIGCHLD disposition */
    pid_t parent;
    char **sh_argv;            /* sh_words(), or NULL */
};

/* In the child: the caller's signal mask and SIGCHLD disposition back, then the program. */
static _Noreturn void child_exec(const struct child_start *c)
{
    const struct session *s = c->s;
    sigaction(SIGCHLD, &c->chld, NULL);
    /* The command killed: the program must not run on alone. The check after it closes the race
     * with a parent that died before the prctl. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != c->parent)
        _exit(128 + SIGTERM);
    sigprocmask(SIG_SETMASK, &c->mask, NULL);
    /* Last, so that none of the calls above is filtered. */
    if (s->supervisor && supervisor_install(s->supervisor) < 0)
        _exit(126);
    if (!s->run_with_sh)
        execv(s->path, s->argv);
    if ((s->run_with_sh || errno == ENOEXEC) && c->sh_argv)
        execv("/bin/sh", c->sh_argv);
    int e = errno;
    /* One write, no stdio: this runs in a vfork child, which shares the parent's memory. */
    char line[PATH_MAX + 128];
    int n = snprintf(line, sizeof(line), "socksify: cannot run %s: %s\n", s->path, strerror(e));
    /* A failed write leaves nothing more to do: the status says it (and satisfies _FORTIFY_SOURCE). */
    if (n > 0 && write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
        _exit(e == ENOENT ? 127 : 126);
    _exit(e == ENOENT ? 127 : 126);
}

static int supervised_child(void *arg)
{
    child_exec(arg);
}

/* The child's stack: what child_exec needs (its message buffer, strerror, printf), with room to
 * spare. */
#define CHILD_STACK_SIZE (32 * 1024)

/* vfork's twin for a supervised program: clone with CLONE_VM | CLONE_VFORK as vfork, plus
 * CLONE_FILES, so that the listener the child creates when it installs the filter lands in the
 * command's descriptor table too (exec gives the child a table of its own and closes the
 * listener there: it is close-on-exec). The child needs a stack of its own, since CLONE_VM
 * shares ours: a buffer in this frame, which stays put while the parent waits for the exec, and
 * whose pages the checks before it have mostly touched already (a static one cost fresh pages). */
static pid_t start_supervised(struct child_start *c)
{
    char stack[CHILD_STACK_SIZE] __attribute__((aligned(16)));
    return clone(supervised_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, c);
}

/* After the program: the directory goes. The signal mask stays: the command returns the program's
 * status, and a signal still pending must not end it first. */
static void session_end(const struct session *s, struct child_start *c)
{
    free(c->sh_argv);
    session_dir_remove(s->session_dir);
}

/* The program could not start: the caller's mask back, then session_end. */
static int session_failed(const struct session *s, struct child_start *c, int error)
{
    sigprocmask(SIG_SETMASK, &c->mask, NULL);
    session_end(s, c);
    return error;
}

int session_run(const struct session *s)
{
    sigset_t set;
    struct sigaction chld_default = { .sa_handler = SIG_DFL };
    struct child_start c = { .s = s, .parent = getpid(), .sh_argv = sh_words(s) };
    session_signals(&set);
    /* Ignored (or SA_NOCLDWAIT), SIGCHLD would reap the program for us and lose its status. */
    sigaction(SIGCHLD, &chld_default, &c.chld);
    sigprocmask(SIG_BLOCK, &set, &c.mask);
    /* vfork: the child shares our memory until it execs, so starting the program costs no copy of
     * the command's page tables (a fork costs milliseconds on some virtual machines); the child
     * only sets its mask and dispositions and execs. */
    pid_t child = s->supervisor ? start_supervised(&c) : vfork();
    if (child == 0)
        child_exec(&c);
    if (child > 0 && s->supervisor && s->supervisor->listener < 0) {
        /* The child could not install the filter: it did not run the program (exit 126). */
        int err = -s->supervisor->install_error;
        /* The kernel allows one listening filter per process tree: an outer session's supervisor. */
        fprintf(stderr, "socksify: cannot install the seccomp filter: %s%s\n", strerror(err),
                err == EBUSY ? " (another seccomp supervisor, an outer socksify's, already watches this process; "
                               "use --seccomp=no here)" : "");
        waitpid(child, NULL, 0);
        return session_failed(s, &c, -EPERM);
    }
    if (child < 0)
        return session_failed(s, &c, -errno);
    int status = s->supervisor ? supervisor_run(s->supervisor, child, &set) : session_wait(child, &set);
    session_end(s, &c);
    return status;
}
