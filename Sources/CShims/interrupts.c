// SPDX-License-Identifier: Apache-2.0
//
// Interrupts as host signals (see umk_interrupts.h). The handler records, then either
// returns (kernel running, virtual time, or guest in host code) or saves the guest's
// frame and enters the kernel through the fault entry. Everything it calls is
// async-signal-safe: atomics, write(2), timer_settime(2), tgkill(2).
#include "CShims.h"
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <link.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>

extern volatile uint64_t umk_in_guest;
extern pid_t guest_tid;
/// The guest-side stub's code (umk_syscall ... its resume paths): never preempted there.
extern char umk_stub_end[];

volatile uint64_t umk_events;
static volatile int idle_wakeable;
static int wake_fd = -1;
static int async_preemption;
static int installed;
static timer_t timers[3];
static int timers_made;
static int input_fd = -1;
static int input_previous_flags;
static volatile uint64_t deferred;
static struct sigaction previous_usr1, previous_usr2, previous_timer, previous_input;
static sigset_t previous_mask;

/// Host text where a guest may hold a lock: libc, the dynamic loader, the Swift runtime
/// and the libraries it uses. Found once at install by the loaded objects' names (objects
/// loaded later are not covered; the table's limit is far above what a Swift program maps).
#define MAX_RANGES 64
static struct { uintptr_t start, end; } unsafe_ranges[MAX_RANGES];
static int unsafe_count;

static int timer_signal(void) { return SIGRTMIN + 4; }
static int input_signal(void) { return SIGRTMIN + 5; }

static void umk_add_interrupt_signals(sigset_t *set) {
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
    sigaddset(set, timer_signal());
    sigaddset(set, input_signal());
}

static int is_unsafe_object(const char *name) {
    static const char *const prefixes[] = {
        "libc.so", "ld-linux", "libm.so", "libpthread", "libdl.so", "librt.so", "libgcc_s",
        "libstdc++", "libswift", "libdispatch", "libBlocksRuntime", "libFoundation", "libicu",
        "lib_Foundation", "libXCTest", "libTesting", "libseccomp",
    };
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    for (unsigned i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    }
    return 0;
}

static int collect_range(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (!info->dlpi_name || !info->dlpi_name[0] || !is_unsafe_object(info->dlpi_name)) return 0;
    for (int i = 0; i < info->dlpi_phnum && unsafe_count < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        unsafe_ranges[unsafe_count].start = info->dlpi_addr + ph->p_vaddr;
        unsafe_ranges[unsafe_count].end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        unsafe_count++;
    }
    return 0;
}

static int preemptible(uintptr_t pc) {
    if (pc >= (uintptr_t)&umk_syscall && pc < (uintptr_t)umk_stub_end) return 0;
    for (int i = 0; i < unsafe_count; i++) {
        if (pc >= unsafe_ranges[i].start && pc < unsafe_ranges[i].end) return 0;
    }
    return 1;
}

static void arm_retry(void) {
    // 200 µs: short against a 4 ms tick, long against a libc call's usual length.
    struct itimerspec its = { .it_value = { 0, 200000 } };
    if (timers_made) timer_settime(timers[UMK_TIMER_RETRY], 0, &its, 0);
}

extern void umk_fault_entry(void);
static void interrupt_body(int sig, siginfo_t *si, void *ucv);

static void interrupt_handler(int sig, siginfo_t *si, void *ucv) {
    // Host code needs the host's FS base; the guest gets its own back if the handler
    // returns to it rather than entering the kernel.
    uint8_t selector = umk_dispatch_enter_host();
    uint64_t guest_fs = umk_fs_enter_host();
    interrupt_body(sig, si, ucv);
    if (((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] != (greg_t)(uintptr_t)&umk_fault_entry) {
        if (guest_fs) umk_fs_load(guest_fs);
        umk_dispatch_selector = selector;
    }
}

static void interrupt_body(int sig, siginfo_t *si, void *ucv) {
    int saved_errno = errno;
    if (!umk_on_guest_thread()) {
        // Another host thread got a process-directed signal: pass it on to the thread that
        // runs guests, which records it (once) and is interrupted if it runs a guest or
        // waits idle.
        if (sig == SIGUSR1 || sig == SIGUSR2) syscall(SYS_tgkill, getpid(), guest_tid, sig);
        errno = saved_errno;
        return;
    }
    uint64_t bit;
    if (sig == SIGUSR1) bit = UMK_EVENT_USR1;
    else if (sig == SIGUSR2) bit = UMK_EVENT_USR2;
    else if (sig == input_signal()) bit = UMK_EVENT_INPUT;
    else if (si->si_code == SI_TIMER) bit = 1ull << (32 + si->si_value.sival_int);
    else bit = UMK_EVENT_TICK;
    uint64_t all = __atomic_or_fetch(&umk_events, bit, __ATOMIC_SEQ_CST);
    if (idle_wakeable && wake_fd >= 0) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
    if (!async_preemption) { errno = saved_errno; return; }
    ucontext_t *uc = ucv;
    umk_host_context_t *ctx = umk_current;
    extern char umk_fault_signal_entry[], umk_fault_signal_entry_end[];
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (!umk_in_guest || !ctx || !ctx->frame || !umk_kernel_fault_entry ||
        (pc >= (uintptr_t)umk_fault_signal_entry && pc <= (uintptr_t)umk_fault_signal_entry_end)) {
        // The kernel runs (it looks at the events before it resumes a guest) or is on its
        // way out to one: a retry makes sure a guest that just started sees it.
        if (!idle_wakeable) arm_retry();
        errno = saved_errno;
        return;
    }
    if (all == UMK_EVENT_RETRY) {
        // A retry with nothing left to deliver (the kernel took it): no reason to switch.
        __atomic_and_fetch(&umk_events, ~UMK_EVENT_RETRY, __ATOMIC_SEQ_CST);
        errno = saved_errno;
        return;
    }
    if (!preemptible((uintptr_t)uc->uc_mcontext.gregs[REG_RIP])) {
        __atomic_fetch_add(&deferred, 1, __ATOMIC_RELAXED);
        arm_retry();
        errno = saved_errno;
        return;
    }
    umk_save_guest_frame(sig, si, ucv, saved_errno);
    errno = saved_errno;
}

int umk_gettid(void) { return (int)syscall(SYS_gettid); }
int umk_signal_thread(int tid, int sig) {
    return syscall(SYS_tgkill, getpid(), tid, sig) == 0 ? 0 : -errno;
}

int umk_pc_preemptible(uint64_t pc) { return preemptible((uintptr_t)pc); }
int umk_is_interrupt_signal(int signo) {
    return signo == SIGUSR1 || signo == SIGUSR2 || signo == timer_signal() || signo == input_signal();
}

static volatile int stop_reason;
static int stop_installed;
static struct sigaction previous_int, previous_term, previous_alrm;

static void stop_body(int sig);

static void stop_handler(int sig) {
    uint8_t selector = umk_dispatch_enter_host();
    uint64_t guest_fs = umk_fs_enter_host();
    stop_body(sig);
    if (guest_fs) umk_fs_load(guest_fs);
    umk_dispatch_selector = selector;
}

static void stop_body(int sig) {
    int saved_errno = errno;
    int reason = sig == SIGALRM ? UMK_STOP_TIME_LIMIT : UMK_STOP_INTERRUPTED;
    if (stop_reason != UMK_STOP_NONE) {
        // Asked before and still running: a guest is not entering the kernel.
        static const char m[] = "\numk: forced stop (a guest did not return to the kernel)\n";
        (void)!write(2, m, sizeof(m) - 1);
        _exit(stop_reason == UMK_STOP_TIME_LIMIT ? 1 : 130);
    }
    stop_reason = reason;
    __atomic_or_fetch(&umk_events, UMK_EVENT_STOP, __ATOMIC_SEQ_CST);
    if (wake_fd >= 0) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
    struct itimerval it = { .it_value = { 2, 0 } };
    setitimer(ITIMER_REAL, &it, 0);
    errno = saved_errno;
}

int umk_stop_install(uint64_t time_limit_ns) {
    if (stop_installed) return -EBUSY;
    stop_reason = UMK_STOP_NONE;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stop_handler;
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &previous_int) || sigaction(SIGTERM, &sa, &previous_term) ||
        sigaction(SIGALRM, &sa, &previous_alrm)) return -errno;
    stop_installed = 1;
    // A parent may have started umk with these blocked (a mask is inherited): they are how
    // a run is stopped, so they are let through.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    if (time_limit_ns) {
        struct itimerval it = { .it_value = { (time_t)(time_limit_ns / 1000000000ull),
                                              (suseconds_t)(time_limit_ns % 1000000000ull / 1000) } };
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
        setitimer(ITIMER_REAL, &it, 0);
    }
    return 0;
}

void umk_stop_uninstall(void) {
    if (!stop_installed || umk_sandbox_on) return;
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, 0);
    sigaction(SIGINT, &previous_int, 0);
    sigaction(SIGTERM, &previous_term, 0);
    sigaction(SIGALRM, &previous_alrm, 0);
    stop_installed = 0;
}

int umk_stop_reason(void) { return stop_reason; }

uint64_t umk_events_take(void) { return __atomic_exchange_n(&umk_events, 0, __ATOMIC_SEQ_CST); }
uint64_t umk_deferred_count(void) { return deferred; }
int umk_unsafe_range_count(void) { return unsafe_count; }

static int install_handler(int sig, struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = interrupt_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    umk_add_interrupt_signals(&sa.sa_mask);
    return sigaction(sig, &sa, old) == 0 ? 0 : -errno;
}

int umk_interrupts_install(int async) {
    if (installed) return -EBUSY;
    async_preemption = async;
    umk_events = stop_reason != UMK_STOP_NONE ? UMK_EVENT_STOP : 0;
    deferred = 0;
    unsafe_count = 0;
    dl_iterate_phdr(collect_range, 0);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) return -errno;
    int r;
    if ((r = install_handler(SIGUSR1, &previous_usr1)) ||
        (r = install_handler(SIGUSR2, &previous_usr2)) ||
        (r = install_handler(timer_signal(), &previous_timer)) ||
        (r = install_handler(input_signal(), &previous_input))) {
        installed = 1;
        umk_interrupts_uninstall();
        return r;
    }
    // Every timer signals this thread (the one that runs guests), with its number.
    for (int i = 0; i < 3; i++) {
        struct sigevent sev;
        memset(&sev, 0, sizeof(sev));
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = timer_signal();
        sev.sigev_value.sival_int = i;
        sev._sigev_un._tid = guest_tid ? guest_tid : (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &sev, &timers[i]) != 0) {
            int e = errno;
            while (i-- > 0) timer_delete(timers[i]);
            installed = 1;
            umk_interrupts_uninstall();
            return -e;
        }
    }
    timers_made = 1;
    installed = 1;
    // The thread that runs guests may have inherited a mask blocking them (a dispatch
    // worker blocks every asynchronous signal): unblock them once, here, not per entry.
    sigset_t set;
    sigemptyset(&set);
    umk_add_interrupt_signals(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, &previous_mask);
    return 0;
}

void umk_interrupts_uninstall(void) {
    if (!installed || umk_sandbox_on) return;
    umk_input_watch(-1);
    if (timers_made) {
        for (int i = 0; i < 3; i++) timer_delete(timers[i]);
        timers_made = 0;
        pthread_sigmask(SIG_SETMASK, &previous_mask, 0);
    }
    sigaction(SIGUSR1, &previous_usr1, 0);
    sigaction(SIGUSR2, &previous_usr2, 0);
    sigaction(timer_signal(), &previous_timer, 0);
    sigaction(input_signal(), &previous_input, 0);
    if (wake_fd >= 0) close(wake_fd);
    wake_fd = -1;
    installed = 0;
}

int umk_timer_arm(int which, uint64_t delay_ns, uint64_t interval_ns) {
    if (!timers_made || which < 0 || which > 2) return -EINVAL;
    struct itimerspec its = {
        .it_value = { (time_t)(delay_ns / 1000000000ull), (long)(delay_ns % 1000000000ull) },
        .it_interval = { (time_t)(interval_ns / 1000000000ull), (long)(interval_ns % 1000000000ull) },
    };
    return timer_settime(timers[which], 0, &its, 0) == 0 ? 0 : -errno;
}

int umk_input_watch(int fd) {
    if (input_fd >= 0) {
        fcntl(input_fd, F_SETFL, input_previous_flags);
        input_fd = -1;
    }
    if (fd < 0) return 0;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -errno;
    struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = guest_tid ? guest_tid : (pid_t)syscall(SYS_gettid) };
    if (fcntl(fd, F_SETOWN_EX, &owner) != 0) return -errno;
    if (fcntl(fd, F_SETSIG, input_signal()) != 0) return -errno;
    if (fcntl(fd, F_SETFL, flags | O_ASYNC | O_NONBLOCK) != 0) return -errno;
    input_previous_flags = flags;
    input_fd = fd;
    return 0;
}

int umk_idle_wait(int fd, int64_t timeout_ns) {
    struct pollfd fds[2] = { { .fd = wake_fd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
    idle_wakeable = 1;
    // An event recorded before the flag was set would not have written the wake fd.
    if (umk_events_peek()) {
        idle_wakeable = 0;
        return 0;
    }
    struct timespec ts, *tsp = 0;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000ll);
        ts.tv_nsec = (long)(timeout_ns % 1000000000ll);
        tsp = &ts;
    }
    int r = ppoll(fds, fd >= 0 ? 2 : 1, tsp, 0);
    int e = errno;
    idle_wakeable = 0;
    uint64_t drain;
    while (read(wake_fd, &drain, sizeof(drain)) > 0) {}
    return r < 0 && e != EINTR ? -e : 0;
}
