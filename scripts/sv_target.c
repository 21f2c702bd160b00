/* Reaching into the supervised program: its memory, its descriptors, and the answer to its call.
 * Every look at the program is followed by SECCOMP_IOCTL_NOTIF_ID_VALID before it is trusted: the
 * thread may have died and its id been reused by another process between the notification and
 * the look. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "file.h"
#include "supervisor.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD 0x80   /* O_EXCL: a pidfd for a thread that is not the leader (Linux 6.9) */
#endif

int sv_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

int sv_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
    struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)addr, len };
    return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static bool still_valid(const struct supervisor *sv, uint64_t id)
{
    return ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* pidfds of the threads that made calls lately, kept open: a pidfd names one task for good (on a
 * task that has died, pidfd_getfd fails with ESRCH, even if its id was reused), so a kept one is
 * safe to use again and saves two system calls per call served. */
#define PIDFD_CACHE 64
static struct { pid_t tid; int pidfd; } pidfds[PIDFD_CACHE];
static unsigned pidfd_next;

/* A new pidfd for the thread that made the call: the thread itself where the kernel allows it
 * (its descriptor table is the one the call uses), else its process. */
/* The thread group (process) tid belongs to, from /proc/TID/status; tid itself if unreadable. */
static pid_t thread_group_of(pid_t tid)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
    pid_t tgid = tid;
    if (file_read_all(path, 1 << 16, &text, NULL) >= 0) {
        const char *at = strstr(text, "\nTgid:");
        if (at)
            tgid = (pid_t)strtol(at + 6, NULL, 10);
    }
    free(text);
    return tgid > 0 ? tgid : tid;
}

static int pidfd_open_thread(pid_t tid)
{
    int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
    /* Before Linux 6.9 a pidfd names a process only: a thread's call is served through its
     * process (threads share the descriptor table a supervised call can use). */
    if (fd < 0 && errno == EINVAL)
        fd = (int)syscall(SYS_pidfd_open, thread_group_of(tid), 0);
    return fd < 0 ? -errno : fd;
}

/* The kept pidfd for tid (fresh: opened now and kept), or -errno. */
static int pidfd_of(pid_t tid, bool fresh)
{
    unsigned slot = PIDFD_CACHE;
    for (unsigned i = 0; i < PIDFD_CACHE && slot == PIDFD_CACHE; i++)
        if (pidfds[i].pidfd > 0 && pidfds[i].tid == tid)
            slot = i;
    if (slot < PIDFD_CACHE && !fresh)
        return pidfds[slot].pidfd;
    if (slot == PIDFD_CACHE)
        slot = pidfd_next++ % PIDFD_CACHE;
    if (pidfds[slot].pidfd > 0)
        close(pidfds[slot].pidfd);
    int fd = pidfd_open_thread(tid);
    pidfds[slot].tid = tid;
    pidfds[slot].pidfd = fd > 0 ? fd : 0;
    return fd;
}

int sv_take_fd(const struct supervisor *sv, const struct seccomp_notif *req, int fd)
{
    for (int round = 0; round < 2; round++) {
        /* A fresh pidfd is checked against the notification: the thread is the caller (its id
         * cannot be reused while the call waits); a kept one was checked when it was opened. */
        int pidfd = pidfd_of((pid_t)req->pid, round > 0);
        if (pidfd < 0 || (round > 0 && !still_valid(sv, req->id)))
            return -ENOENT;
        int r = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
        if (r >= 0)
            return r;
        if (errno != ESRCH)
            return -errno;   /* EBADF: no such descriptor, as the kernel would say */
    }
    return -ENOENT;
}

void sv_answer(const struct supervisor *sv, uint64_t id, long result)
{
    struct seccomp_notif_resp resp = { .id = id };
    if (result < 0)
        resp.error = (int)result;
    else
        resp.val = result;
    ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);   /* ENOENT: the caller is gone */
}

void sv_continue(const struct supervisor *sv, uint64_t id)
{
    struct seccomp_notif_resp resp = { .id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
    ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int sv_install_fd(const struct supervisor *sv, uint64_t id, int fd, int target_fd)
{
    struct seccomp_notif_addfd add = {
        .id = id, .flags = SECCOMP_ADDFD_FLAG_SETFD, .srcfd = (unsigned)fd, .newfd = (unsigned)target_fd,
    };
    return ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 ? -errno : 0;
}

/* Processes whose answer is known: a few, most recent first (pids are not reused within the
 * moments that matter here; a wrong guess only changes a log line). */
#define LIBRARY_CACHE 32
static struct { pid_t pid; bool has; } library_cache[LIBRARY_CACHE];
static unsigned library_next;

bool sv_has_library(pid_t tid)
{
    for (unsigned i = 0; i < LIBRARY_CACHE; i++)
        if (library_cache[i].pid == tid)
            return library_cache[i].has;
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)tid);
    FILE *f = fopen(path, "re");
    bool has = false;
    while (f && !has && fgets(line, sizeof(line), f))
        has = strstr(line, "/libsocksify.so") != NULL;
    if (f)
        fclose(f);
    library_cache[library_next % LIBRARY_CACHE].pid = tid;
    library_cache[library_next++ % LIBRARY_CACHE].has = has;
    return has;
}
