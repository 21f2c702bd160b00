/* Unit tests for scripts/seccomp_filter.c: the program it builds, run through a small classic-BPF
 * interpreter for every architecture the kernel may report, the ones this machine cannot run
 * (i386 natively, x32) included. */
#include <criterion/criterion.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>

#include "supervisor.h"

#define NOTIFY SECCOMP_RET_USER_NOTIF
#define REFUSE (SECCOMP_RET_ERRNO | EOPNOTSUPP)
#define NOSYS (SECCOMP_RET_ERRNO | ENOSYS)
#define ALLOW SECCOMP_RET_ALLOW
#define X32 0x40000000u

static struct sock_filter prog[SECCOMP_FILTER_MAX];
static int prog_len;

static void build(void)
{
    prog_len = seccomp_filter_build(prog, SECCOMP_FILTER_MAX);
    cr_assert_gt(prog_len, 0);
}

TestSuite(seccomp_filter, .init = build);

/* The instructions the builder uses, as the kernel runs them; anything else fails the test. */
static unsigned run(unsigned arch, unsigned nr, const unsigned long long args[6])
{
    struct seccomp_data d = { .nr = (int)nr, .arch = arch };
    for (int i = 0; i < 6 && args; i++)
        d.args[i] = args[i];
    unsigned a = 0;
    for (int pc = 0, steps = 0; pc < prog_len; pc++, steps++) {
        cr_assert_lt(steps, 1000, "the program loops");
        const struct sock_filter *f = &prog[pc];
        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            cr_assert_leq(f->k + 4, sizeof(d), "load past seccomp_data at %d", pc);
            memcpy(&a, (const char *)&d + f->k, 4);
            break;
        case BPF_ALU | BPF_AND | BPF_K: a &= f->k; break;
        case BPF_JMP | BPF_JA: pc += (int)f->k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f->k ? f->jt : f->jf; break;
        case BPF_JMP | BPF_JGE | BPF_K: pc += a >= f->k ? f->jt : f->jf; break;
        case BPF_RET | BPF_K: return f->k;
        default: cr_assert_fail("unexpected instruction %#x at %d", f->code, pc);
        }
    }
    cr_assert_fail("the program ran off its end");
    return 0;
}

static const unsigned long long no_address[6] = { 3, 0x1000, 10, 0, 0, 0 };
static const unsigned long long with_address[6] = { 3, 0x1000, 10, 0, 0x7fff0000, 16 };
static const unsigned long long high_address[6] = { 3, 0x1000, 10, 0, 0x700000000000ull, 16 };

Test(seccomp_filter, x86_64_calls_that_can_send_to_an_address_are_notified)
{
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 42, NULL), NOTIFY, "connect");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 46, NULL), NOTIFY, "sendmsg");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 307, NULL), NOTIFY, "sendmmsg");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 44, with_address), NOTIFY, "sendto with an address");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 44, high_address), NOTIFY, "sendto with an address above 4 GiB");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 44, no_address), ALLOW, "sendto without one carries no destination");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, 425, NULL), NOSYS, "io_uring_setup");
}

Test(seccomp_filter, x86_64_other_calls_are_allowed)
{
    static const unsigned others[] = { 0, 1, 2, 3, 41, 43, 45, 47, 49, 50, 56, 57, 59, 231, 288, 299, 306, 308, 424, 426, 435, 462 };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        cr_assert_eq(run(AUDIT_ARCH_X86_64, others[i], with_address), ALLOW, "call %u", others[i]);
}

Test(seccomp_filter, x32_sends_are_refused)
{
    static const unsigned refused[] = { 42, 44, 46, 307, 518, 538 };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_assert_eq(run(AUDIT_ARCH_X86_64, X32 | refused[i], no_address), REFUSE, "x32 call %u", refused[i]);
    cr_assert_eq(run(AUDIT_ARCH_X86_64, X32 | 425, NULL), NOSYS, "x32 io_uring_setup");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, X32 | 0, NULL), ALLOW, "x32 read");
    cr_assert_eq(run(AUDIT_ARCH_X86_64, X32 | 519, NULL), ALLOW, "x32 recvmsg");
}

Test(seccomp_filter, i386_sends_are_refused)
{
    cr_assert_eq(run(AUDIT_ARCH_I386, 362, NULL), REFUSE, "connect");
    cr_assert_eq(run(AUDIT_ARCH_I386, 370, NULL), REFUSE, "sendmsg");
    cr_assert_eq(run(AUDIT_ARCH_I386, 345, NULL), REFUSE, "sendmmsg");
    cr_assert_eq(run(AUDIT_ARCH_I386, 369, with_address), REFUSE, "sendto with an address");
    cr_assert_eq(run(AUDIT_ARCH_I386, 369, no_address), ALLOW, "sendto without one");
    cr_assert_eq(run(AUDIT_ARCH_I386, 425, NULL), NOSYS, "io_uring_setup");
    static const unsigned others[] = { 1, 3, 4, 5, 11, 102 + 1, 252, 359, 361, 363, 368, 371, 372 };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        cr_assert_eq(run(AUDIT_ARCH_I386, others[i], with_address), ALLOW, "call %u", others[i]);
}

Test(seccomp_filter, i386_socketcall_sends_are_refused)
{
    static const unsigned refused[] = { SYS_CONNECT, SYS_SENDTO, SYS_SENDMSG, SYS_SENDMMSG };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        unsigned long long args[6] = { refused[i], 0xffff0000 };
        cr_assert_eq(run(AUDIT_ARCH_I386, 102, args), REFUSE, "socketcall %u", refused[i]);
    }
    static const unsigned allowed[] = { SYS_SOCKET, SYS_BIND, SYS_LISTEN, SYS_ACCEPT, SYS_SEND, SYS_RECV,
                                        SYS_RECVFROM, SYS_SHUTDOWN, SYS_SETSOCKOPT, SYS_RECVMSG, SYS_ACCEPT4 };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        unsigned long long args[6] = { allowed[i], 0xffff0000 };
        cr_assert_eq(run(AUDIT_ARCH_I386, 102, args), ALLOW, "socketcall %u", allowed[i]);
    }
}

Test(seccomp_filter, other_architectures_get_enosys)
{
    cr_assert_eq(run(AUDIT_ARCH_AARCH64, 203, NULL), NOSYS);
    cr_assert_eq(run(0, 0, NULL), NOSYS);
}

Test(seccomp_filter, short_and_bounded)
{
    /* Installing costs about 1 us per instruction per run of the command (tests/bench/startup.sh). */
    cr_assert_leq(prog_len, 48, "%d instructions", prog_len);
    struct sock_filter small[8];
    cr_assert_eq(seccomp_filter_build(small, 8), -E2BIG, "a program that does not fit is refused, not cut");
}
