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

/* The program: blocks of "if nr == N goto LABEL" that share their few return instructions
 * (installing a filter costs about 1 us per instruction here: the kernel checks and compiles it
 * in every run of the command). Jumps go forward to labels, patched once the labels are placed. */
enum label { L_NOT_X86_64, L_X32, L_SOCKETCALL, L_ALLOW, L_NOTIFY, L_REFUSE, L_NOSYS, LABEL_COUNT };

#define NOTIFY SECCOMP_RET_USER_NOTIF
#define REFUSE (SECCOMP_RET_ERRNO | EOPNOTSUPP)
#define NOSYS (SECCOMP_RET_ERRNO | ENOSYS)

struct bpf {
    struct sock_filter *insn;
    unsigned n, max;
    int at[LABEL_COUNT];                       /* where each label is, -1 until placed */
    struct { unsigned insn; enum label to; bool if_true; } fix[SECCOMP_FILTER_MAX];
    unsigned fixes;
    bool broken;                               /* too long, or a jump too far */
};

static void emit(struct bpf *b, struct sock_filter insn)
{
    if (b->n < b->max)
        b->insn[b->n] = insn;
    else
        b->broken = true;
    b->n++;
}

static void load(struct bpf *b, unsigned offset)
{
    emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset));
}

static void place(struct bpf *b, enum label l)
{
    b->at[l] = (int)b->n;
}

/* A jump to label l when the test (op k) is if_true; the other way falls through. */
static void jump_to(struct bpf *b, unsigned op, unsigned k, bool if_true, enum label l)
{
    if (b->fixes < SECCOMP_FILTER_MAX)
        b->fix[b->fixes++] = (typeof(b->fix[0])){ b->n, l, if_true };
    else
        b->broken = true;
    emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
}

/* if (A == k) goto l; */
static void if_eq(struct bpf *b, unsigned k, enum label l)
{
    jump_to(b, BPF_JEQ, k, true, l);
}

static void if_eq_any(struct bpf *b, const unsigned *ks, size_t count, enum label l)
{
    for (size_t i = 0; i < count; i++)
        if_eq(b, ks[i], l);
}

#define ARG_LO(n) ((unsigned)(offsetof(struct seccomp_data, args) + 8 * (n)))
#define ARG_HI(n) (ARG_LO(n) + 4)

/* The end of an architecture's checks, with A holding the call's number: sendto (nr) with an
 * address (args[4]) goes to with_address; anything else is allowed. */
static void sendto_test(struct bpf *b, unsigned nr, enum label with_address)
{
    jump_to(b, BPF_JEQ, nr, false, L_ALLOW);
    load(b, ARG_LO(4));
    jump_to(b, BPF_JEQ, 0, false, with_address);
    load(b, ARG_HI(4));
    jump_to(b, BPF_JEQ, 0, false, with_address);
    jump_to(b, BPF_JA, 0, true, L_ALLOW);
}

static void build_x86_64(struct bpf *b)
{
    load(b, offsetof(struct seccomp_data, nr));
    jump_to(b, BPF_JGE, X32_BIT, true, L_X32);
    static const unsigned notified[] = { NR_CONNECT, NR_SENDMSG, NR_SENDMMSG };
    if_eq_any(b, notified, sizeof(notified) / sizeof(notified[0]), L_NOTIFY);
    if_eq(b, NR_IO_URING_SETUP, L_NOSYS);
    sendto_test(b, NR_SENDTO, L_NOTIFY);
}

static void build_x32(struct bpf *b)
{
    place(b, L_X32);
    emit(b, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT));
    static const unsigned refused[] = { NR_CONNECT, NR_SENDTO, NR_SENDMSG, NR_SENDMMSG, NR_X32_SENDMSG, NR_X32_SENDMMSG };
    if_eq_any(b, refused, sizeof(refused) / sizeof(refused[0]), L_REFUSE);
    if_eq(b, NR_IO_URING_SETUP, L_NOSYS);
    jump_to(b, BPF_JA, 0, true, L_ALLOW);
}

/* A holds the architecture: i386 or nothing this kernel runs. */
static void build_i386(struct bpf *b)
{
    place(b, L_NOT_X86_64);
    jump_to(b, BPF_JEQ, AUDIT_ARCH_I386, false, L_NOSYS);
    load(b, offsetof(struct seccomp_data, nr));
    static const unsigned refused[] = { NR32_CONNECT, NR32_SENDMSG, NR32_SENDMMSG };
    if_eq_any(b, refused, sizeof(refused) / sizeof(refused[0]), L_REFUSE);
    if_eq(b, NR32_IO_URING_SETUP, L_NOSYS);
    if_eq(b, NR32_SOCKETCALL, L_SOCKETCALL);
    sendto_test(b, NR32_SENDTO, L_REFUSE);
    /* socketcall(call, args): the call number is in a register, the arguments in memory. */
    place(b, L_SOCKETCALL);
    load(b, ARG_LO(0));
    static const unsigned calls[] = { SYS_CONNECT, SYS_SENDTO, SYS_SENDMSG, SYS_SENDMMSG };
    if_eq_any(b, calls, sizeof(calls) / sizeof(calls[0]), L_REFUSE);
}

static void ret(struct bpf *b, enum label l, unsigned action)
{
    place(b, l);
    emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* Points every jump at its label: forward, and within the 255 instructions a conditional jump
 * can skip. */
static void resolve(struct bpf *b)
{
    for (unsigned i = 0; i < b->fixes && !b->broken; i++) {
        int at = b->at[b->fix[i].to];
        unsigned from = b->fix[i].insn;
        if (at <= (int)from || (BPF_OP(b->insn[from].code) != BPF_JA && at - from - 1 > 255)) {
            b->broken = true;
        } else if (BPF_OP(b->insn[from].code) == BPF_JA) {
            b->insn[from].k = (unsigned)at - from - 1;
        } else if (b->fix[i].if_true) {
            b->insn[from].jt = (unsigned char)(at - from - 1);
        } else {
            b->insn[from].jf = (unsigned char)(at - from - 1);
        }
    }
}

int seccomp_filter_build(struct sock_filter *insn, unsigned max)
{
    static struct bpf b;   /* static: this runs in a vfork-like child, on a small stack */
    b = (struct bpf){ .insn = insn, .max = max };
    for (int l = 0; l < LABEL_COUNT; l++)
        b.at[l] = -1;
    load(&b, offsetof(struct seccomp_data, arch));
    jump_to(&b, BPF_JEQ, AUDIT_ARCH_X86_64, false, L_NOT_X86_64);
    build_x86_64(&b);
    build_x32(&b);
    build_i386(&b);
    ret(&b, L_ALLOW, SECCOMP_RET_ALLOW);
    ret(&b, L_NOTIFY, NOTIFY);
    ret(&b, L_REFUSE, REFUSE);
    ret(&b, L_NOSYS, NOSYS);
    resolve(&b);
    return b.broken ? -E2BIG : (int)b.n;
}

static long sys_seccomp(unsigned op, unsigned flags, void *arg)
{
    return syscall(SYS_seccomp, op, flags, arg);
}

int seccomp_filter_install(void)
{
    static struct sock_filter insn[SECCOMP_FILTER_MAX];
    int n = seccomp_filter_build(insn, SECCOMP_FILTER_MAX);
    if (n < 0)
        return n;
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = insn };
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
