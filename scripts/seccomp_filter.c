/* The seccomp filter the command installs in the program just before exec, and the probe that
 * tells whether this kernel can run it.
 *
 * The filter hands the supervisor (supervisor.c) the calls that can send to an address, so that
 * the destination is judged by socksify's routes whatever the program is made of:
 *   x86-64:  connect, sendto with an address (a NULL address, args[4] == 0, cannot carry a
 *            destination: allowed in the filter, the data path stays free), sendmsg and sendmmsg
 *            (msg_name lives in memory, which a filter cannot read: the supervisor reads it and
 *            lets a call without one continue);
 *            io_uring_setup fails with ENOSYS: io_uring's IORING_OP_CONNECT and IORING_OP_SENDMSG
 *            would connect around the filter; programs fall back to plain system calls;
 *            the same calls of the x32 ABI (nr | 0x40000000) fail with EOPNOTSUPP.
 *   i386:    a 32-bit program running natively (not under qemu-user, which makes x86-64 calls):
 *            socketcall's CONNECT/SENDTO/SENDMSG/SENDMMSG and the direct connect, sendto (with an
 *            address), sendmsg, sendmmsg fail with EOPNOTSUPP: refused, never direct (its
 *            layouts are not carried yet); io_uring_setup fails with ENOSYS.
 *   any other architecture: every call fails with ENOSYS (none exists on an x86-64 kernel).
 * Everything else is allowed: the filter costs a few BPF instructions per system call. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "supervisor.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define X32_BIT 0x40000000u

/* x86-64 numbers (this file is built for x86-64 only; see the Makefile). */
enum { NR_CONNECT = 42, NR_SENDTO = 44, NR_SENDMSG = 46, NR_SENDMMSG = 307, NR_IO_URING_SETUP = 425 };
/* x32's own numbers for sendmsg and sendmmsg (its compat entry points). */
enum { NR_X32_SENDMSG = 518, NR_X32_SENDMMSG = 538 };
/* i386 numbers. */
enum { NR32_SOCKETCALL = 102, NR32_SENDMMSG = 345, NR32_CONNECT = 362, NR32_SENDTO = 369, NR32_SENDMSG = 370,
       NR32_IO_URING_SETUP = 425 };

/* The program is built once per install into a small array: linear blocks of "if nr == N return
 * ACTION", with the two jumps across blocks patched once their targets are known. */
struct bpf {
    struct sock_filter insn[80];
    unsigned n;
};

static unsigned emit(struct bpf *b, struct sock_filter insn)
{
    b->insn[b->n] = insn;
    return b->n++;
}

static void load(struct bpf *b, unsigned offset)
{
    emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset));
}

static void ret(struct bpf *b, unsigned action)
{
    emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* if (A == k) return action; */
static void ret_if(struct bpf *b, unsigned k, unsigned action)
{
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1));
    ret(b, action);
}

/* An unconditional jump whose target is patched later (to_here). */
static unsigned jump_later(struct bpf *b)
{
    return emit(b, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0));
}

static void to_here(struct bpf *b, unsigned jump)
{
    b->insn[jump].k = b->n - jump - 1;
}

#define ARG_LO(n) ((unsigned)(offsetof(struct seccomp_data, args) + 8 * (n)))
#define ARG_HI(n) (ARG_LO(n) + 4)
#define NOTIFY SECCOMP_RET_USER_NOTIF
#define REFUSE (SECCOMP_RET_ERRNO | EOPNOTSUPP)
#define NOSYS (SECCOMP_RET_ERRNO | ENOSYS)

/* if (A == nr) return args[4] (the address of sendto) ? with_address : ALLOW; clobbers A. */
static void sendto_block(struct bpf *b, unsigned nr, unsigned with_address)
{
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 6));
    load(b, ARG_LO(4));
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2));
    load(b, ARG_HI(4));
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
    ret(b, with_address);
    ret(b, SECCOMP_RET_ALLOW);
}

static void build_x86_64(struct bpf *b)
{
    ret_if(b, NR_CONNECT, NOTIFY);
    ret_if(b, NR_SENDMSG, NOTIFY);
    ret_if(b, NR_SENDMMSG, NOTIFY);
    ret_if(b, NR_IO_URING_SETUP, NOSYS);
    sendto_block(b, NR_SENDTO, NOTIFY);
    ret(b, SECCOMP_RET_ALLOW);
}

static void build_x32(struct bpf *b)
{
    emit(b, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT));
    static const unsigned refused[] = { NR_CONNECT, NR_SENDTO, NR_SENDMSG, NR_SENDMMSG, NR_X32_SENDMSG, NR_X32_SENDMMSG };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ret_if(b, refused[i], REFUSE);
    ret_if(b, NR_IO_URING_SETUP, NOSYS);
    ret(b, SECCOMP_RET_ALLOW);
}

static void build_i386(struct bpf *b)
{
    load(b, offsetof(struct seccomp_data, nr));
    ret_if(b, NR32_CONNECT, REFUSE);
    ret_if(b, NR32_SENDMSG, REFUSE);
    ret_if(b, NR32_SENDMMSG, REFUSE);
    ret_if(b, NR32_IO_URING_SETUP, NOSYS);
    sendto_block(b, NR32_SENDTO, REFUSE);
    /* socketcall(call, args): the call number is in a register, the arguments in memory. */
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR32_SOCKETCALL, 1, 0));
    ret(b, SECCOMP_RET_ALLOW);
    load(b, ARG_LO(0));
    static const unsigned refused[] = { SYS_CONNECT, SYS_SENDTO, SYS_SENDMSG, SYS_SENDMMSG };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ret_if(b, refused[i], REFUSE);
    ret(b, SECCOMP_RET_ALLOW);
}

static void build(struct bpf *b)
{
    b->n = 0;
    load(b, offsetof(struct seccomp_data, arch));
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 1));
    unsigned to_i386 = jump_later(b);
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
    ret(b, NOSYS);
    load(b, offsetof(struct seccomp_data, nr));
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1));
    unsigned to_x32 = jump_later(b);
    build_x86_64(b);
    to_here(b, to_x32);
    build_x32(b);
    to_here(b, to_i386);
    build_i386(b);
}

static long sys_seccomp(unsigned op, unsigned flags, void *arg)
{
    return syscall(SYS_seccomp, op, flags, arg);
}

int seccomp_filter_install(void)
{
    static struct bpf b;   /* static: this runs in a vfork-like child, on a small stack */
    build(&b);
    struct sock_fprog prog = { .len = (unsigned short)b.n, .filter = b.insn };
    unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    /* As root (CAP_SYS_ADMIN) the filter goes in without no_new_privs, so set-user-ID programs
     * keep working in root's scripts; anyone else must set it first, and then set-user-ID and
     * file capabilities give the program nothing (sudo cannot raise its privileges). */
    long fd = sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0 && errno == EACCES) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            return -errno;
        fd = sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog);
    }
    return fd < 0 ? -errno : (int)fd;
}

int seccomp_filter_probe(void)
{
    struct seccomp_notif_sizes sizes;
    if (sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
        return -errno;
    unsigned action = SECCOMP_RET_USER_NOTIF;
    if (sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
        return -errno;
    /* The flag that keeps a held call from being restarted by a signal (Linux 5.19). */
    return sizes.seccomp_notif >= sizeof(struct seccomp_notif) ? 0 : -ENOSYS;
}
