// SPDX-License-Identifier: Apache-2.0
//
// Guest faults. A SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGTRAP in guest code is caught on an
// alternate stack, and so is the SIGSYS of a `syscall` instruction in a program image's
// code (Syscall User Dispatch, dispatch.c) and the SIGSYS of a host syscall the sandbox
// refused (sandbox.c); the handler saves the interrupted guest's registers and FP state
// into its context's full frame, records the fault, and enters the kernel on the kernel
// stack without sigreturn. (A preempting interrupt, interrupts.c, saves the same way but
// rewrites its signal context so that its sigreturn lands in umk_fault_entry.) The handler
// calls nothing that is not async-signal-safe. The same signals while the kernel runs are
// a kernel bug: reported and aborted (a refused host syscall of umk's own: reported, and
// umk exits).
#include "CShims.h"
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <ucontext.h>
#include <errno.h>
#include <sys/syscall.h>

umk_host_context_t *(*umk_kernel_fault_entry)(void *cookie);
/// 1 while a guest runs (set by the resume paths, cleared on every kernel entry).
__attribute__((visibility("hidden"))) volatile uint64_t umk_in_guest;
/// Where umk_resume_full jumps (it has no register left to hold it).
__attribute__((visibility("hidden"))) uint64_t umk_resume_rip;

extern void umk_fault_entry(void);
extern void *umk_kernel_stack_top;
extern void *umk_kernel_cookie;

static const int fault_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
extern _Noreturn void umk_fault_entry_from_handler(void *stack_top, void *cookie);
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif
#define NSIGNALS (sizeof(fault_signals) / sizeof(fault_signals[0]))
static struct sigaction previous[NSIGNALS];
static stack_t previous_stack;
static char alt_stack[64 * 1024] __attribute__((aligned(16)));
static int installed;
/// The host thread that runs guests; a fault signal on any other thread is not a guest's.
__attribute__((visibility("hidden"))) pid_t guest_tid;
/// True on the thread that runs guests, from a signal handler: only that thread has
/// alt_stack as its signal stack, and umk's handlers run on theirs. A test without a
/// syscall (gettid costs as much as the rest of a trap's handler).
__attribute__((visibility("hidden"))) int umk_on_guest_thread(void) {
    char here;
    return installed && &here >= alt_stack && &here < alt_stack + sizeof(alt_stack);
}

/// Bytes the FP area of a frame holds (the XSAVE area must fit, else only fxsave is kept).
#define FP_CAPACITY 3456

static void write_str(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void write_hex(uint64_t v) {
    char buf[19] = "0x";
    for (int i = 0; i < 16; i++) buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xF];
    buf[18] = 0;
    write_str(buf);
}

static void kernel_fault_report(int sig, siginfo_t *si, ucontext_t *uc) {
    static const char *names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip" };
    static const int regs[] = { REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_RIP };
    write_str("umk: kernel bug: signal ");
    write_hex((uint64_t)sig);
    write_str(" while the kernel ran (not in a guest), fault address ");
    write_hex((uint64_t)(uintptr_t)si->si_addr);
    write_str(", umk_fault_entry at ");
    write_hex((uint64_t)(uintptr_t)&umk_fault_entry);
    write_str("\n  last guest context ");
    write_hex((uint64_t)(uintptr_t)umk_current);
    write_str(umk_kernel_fault_entry ? " (guests installed: the fault is in kernel code or a host thread)\n"
                                     : " (no guests installed: a host fault)\n");
    for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        write_str("  ");
        write_str(names[i]);
        write_str(" ");
        write_hex((uint64_t)uc->uc_mcontext.gregs[regs[i]]);
        write_str("\n");
    }
}

static void write_decimal(uint64_t v) {
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    write_str(&buf[i]);
}

/// A host syscall the sandbox refused, made by umk itself (not a guest): glibc's exit
/// ends here, and exits as the sandbox allows; an abort is umk's crash; anything else is
/// a gap in the allow-list, reported before umk stops.
static _Noreturn void refused_in_umk(siginfo_t *si, void *ucv) {
    greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
    long nr = si->si_syscall;
    if (nr == SYS_exit_group) umk_sandbox_exit((int)g[REG_RDI]);
    if ((nr == SYS_tgkill && g[REG_RDX] == SIGABRT) || (nr == SYS_kill && g[REG_RSI] == SIGABRT)) {
        write_str("umk: umk itself aborted (see above); run with --no-sandbox for the host's own crash handling\n");
        umk_sandbox_exit(134);
    }
    write_str("umk: the sandbox refused host syscall ");
    write_str(umk_host_syscall_name(nr));
    write_str(" (");
    write_decimal((uint64_t)nr);
    write_str(") made by umk itself at ");
    write_hex((uint64_t)(uintptr_t)si->si_call_addr);
    write_str(": a gap in umk's allow-list (run with --no-sandbox, and report it)\n");
    umk_sandbox_exit(70);
}

/// umk_in_guest when the fault signal arrived (umk_fault_signal_entry took and cleared it).
__attribute__((visibility("hidden"))) uint64_t umk_fault_in_guest;
extern void umk_fault_signal_entry(int, siginfo_t *, void *);

/// A guest's fault, or a `syscall` instruction a program image's code executed (SIGSYS of
/// Syscall User Dispatch, dispatch.c), or a host syscall the sandbox refused (SIGSYS of
/// seccomp, sandbox.c): saved into the guest's frame, then straight to the kernel.
/// sigreturn would cost a fifth of a VMFault's round trip and a third of a trap, so the
/// handler leaves without it: fault signals are delivered with nothing blocked
/// (SA_NODEFER, an empty mask), so there is no mask to restore, and the FP state the
/// handler runs with is the ABI's default, as the kernel wants (the guest's is in its
/// frame). An interrupt that lands in the handler finds umk_in_guest clear, or its PC in
/// umk_fault_signal_entry. umk's own refused syscall is refused_in_umk's; any other fault
/// outside a guest is a kernel bug, reported before umk aborts.
__attribute__((visibility("hidden"))) void umk_fault_signal_handler(int sig, siginfo_t *si, void *ucv) {
    // Host code needs the host's FS base (errno, glibc): first the selector (host code,
    // umk_fs_enter_host included, makes syscalls), then the FS base. The fault enters the
    // kernel or ends umk, so both stay the host's.
    (void)umk_dispatch_enter_host();
    (void)umk_fs_enter_host();
    umk_host_context_t *ctx = umk_current;
    int guest = umk_fault_in_guest && ctx && ctx->frame && umk_kernel_fault_entry && umk_on_guest_thread();
    if (sig == SIGSYS) {
        if (si->si_code == SYS_SECCOMP && !guest) refused_in_umk(si, ucv);
        if (si->si_code != SYS_USER_DISPATCH && si->si_code != SYS_SECCOMP) guest = 0;
    }
    if (!guest) {
        kernel_fault_report(sig, si, ucv);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    umk_save_guest_frame(sig, si, ucv, errno);
    if (sig == SIGSYS && si->si_code == SYS_SECCOMP) {
        umk_full_frame_t *f = (umk_full_frame_t *)(uintptr_t)ctx->frame;
        f->trapno = UMK_TRAPNO_HOST_SYSCALL;
        f->err = (uint64_t)(unsigned)si->si_syscall;
    }
    umk_fault_entry_from_handler(umk_kernel_stack_top, umk_kernel_cookie);
}

/// Copies the interrupted guest's state into its frame and makes a sigreturn (an
/// interrupt's) enter the kernel.
void umk_save_guest_frame(int sig, void *siv, void *ucv, int guest_errno) {
    siginfo_t *si = siv;
    ucontext_t *uc = ucv;
    umk_host_context_t *ctx = umk_current;
    umk_in_guest = 0;
    umk_full_frame_t *f = (umk_full_frame_t *)(uintptr_t)ctx->frame;
    greg_t *g = uc->uc_mcontext.gregs;
    f->rax = (uint64_t)g[REG_RAX]; f->rbx = (uint64_t)g[REG_RBX]; f->rcx = (uint64_t)g[REG_RCX];
    f->rdx = (uint64_t)g[REG_RDX]; f->rsi = (uint64_t)g[REG_RSI]; f->rdi = (uint64_t)g[REG_RDI];
    f->rbp = (uint64_t)g[REG_RBP]; f->r8 = (uint64_t)g[REG_R8]; f->r9 = (uint64_t)g[REG_R9];
    f->r10 = (uint64_t)g[REG_R10]; f->r11 = (uint64_t)g[REG_R11]; f->r12 = (uint64_t)g[REG_R12];
    f->r13 = (uint64_t)g[REG_R13]; f->r14 = (uint64_t)g[REG_R14]; f->r15 = (uint64_t)g[REG_R15];
    f->rip = (uint64_t)g[REG_RIP]; f->rsp = (uint64_t)g[REG_RSP]; f->rflags = (uint64_t)g[REG_EFL];
    f->signo = (uint64_t)sig;
    f->addr = (uint64_t)(uintptr_t)si->si_addr;
    f->err = (uint64_t)g[REG_ERR];
    f->trapno = (uint64_t)g[REG_TRAPNO];
    f->xsave = 0;
    f->saved_errno = (uint64_t)(unsigned)guest_errno;
    if (uc->uc_mcontext.fpregs && f->fpstate) {
        // The signal frame holds the XSAVE area (AVX, AVX-512 state) when the kernel says
        // so in the fxsave area's software-reserved bytes; keep all of it if it fits.
        const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
        const struct _fpx_sw_bytes *sw = (const struct _fpx_sw_bytes *)(fp + 464);
        size_t size = 512;
        if (sw->magic1 == FP_XSTATE_MAGIC1 && sw->xstate_size <= FP_CAPACITY && sw->xstate_size > 512) {
            size = sw->xstate_size;
            f->xsave = 1;
        }
        memcpy((void *)(uintptr_t)f->fpstate, fp, size);
        // The kernel runs with the ABI's FP control state, whatever the guest had set.
        struct _libc_fpstate *fx = uc->uc_mcontext.fpregs;
        fx->mxcsr = 0x1F80;
        fx->cwd = 0x037F;
        fx->swd = 0;
        fx->ftw = 0;
    }
    // ... and with DF, TF and AC clear.
    g[REG_EFL] &= ~(greg_t)(0x400 | 0x100 | 0x40000);
    ctx->kind = UMK_CONTEXT_FULL;
    // sigreturn resumes in umk_fault_entry, at the top of the kernel stack.
    g[REG_RIP] = (greg_t)(uintptr_t)&umk_fault_entry;
    g[REG_RSP] = (greg_t)(uintptr_t)umk_kernel_stack_top;  // 16-byte aligned: umk_fault_entry calls from here
    g[REG_RDI] = (greg_t)(uintptr_t)umk_kernel_cookie;
}

int umk_faults_install(umk_host_context_t *(*fault_entry)(void *cookie)) {
    if (fault_entry) {
        umk_kernel_fault_entry = fault_entry;
        if (installed) return 0;
        guest_tid = (pid_t)syscall(SYS_gettid);
        stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof(alt_stack), .ss_flags = 0 };
        if (sigaltstack(&ss, &previous_stack) != 0) return -errno;
        for (unsigned i = 0; i < NSIGNALS; i++) {
            // Left without sigreturn: nothing may be blocked for it.
            struct sigaction sa;
            memset(&sa, 0, sizeof(sa));
            sa.sa_sigaction = umk_fault_signal_entry;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
            sigemptyset(&sa.sa_mask);
            if (sigaction(fault_signals[i], &sa, &previous[i]) != 0) {
                int e = errno;
                while (i-- > 0) sigaction(fault_signals[i], &previous[i], 0);
                sigaltstack(&previous_stack, 0);
                return -e;
            }
        }
        // A parent may have started umk with some of them blocked (a mask is inherited):
        // a blocked SIGSEGV or SIGSYS would be the host's default, death.
        sigset_t fault_set;
        sigemptyset(&fault_set);
        for (unsigned i = 0; i < NSIGNALS; i++) sigaddset(&fault_set, fault_signals[i]);
        pthread_sigmask(SIG_UNBLOCK, &fault_set, 0);
        installed = 1;
        return 0;
    }
    umk_kernel_fault_entry = 0;
    if (!installed || umk_sandbox_on) return 0;
    for (unsigned i = 0; i < NSIGNALS; i++) sigaction(fault_signals[i], &previous[i], 0);
    sigaltstack(&previous_stack, 0);
    installed = 0;
    return 0;
}
