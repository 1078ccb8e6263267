// SPDX-License-Identifier: Apache-2.0
//
// Linux baselines for `umk bench` (see umk_baselines.h): plain C on host threads, so the
// numbers are Linux's, not Swift's.
#include "CShims.h"
#include "umk_baselines.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline uint64_t tsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

// The two threads of a baseline share one CPU, as umk's guests do (they all run on the
// thread that runs the kernel): the calling thread's current CPU. Its affinity comes back
// after the measurement.
struct pinning { cpu_set_t previous; int cpu; int pinned; };

static void pin_to(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}

static void pin_begin(struct pinning *p) {
    p->cpu = sched_getcpu();
    p->pinned = p->cpu >= 0 && pthread_getaffinity_np(pthread_self(), sizeof(p->previous), &p->previous) == 0;
    if (p->pinned) pin_to(p->cpu);
}

static void pin_end(struct pinning *p) {
    if (p->pinned) (void)pthread_setaffinity_np(pthread_self(), sizeof(p->previous), &p->previous);
}

struct pingpong {
    int kind;
    int rounds, samples;
    int cpu;
    int to_b[2], to_a[2];     // pipe / eventfd (to_b[0] == to_b[1] for eventfd) / socket
    volatile uint32_t word;   // futex: 0 A's turn, 1 B's turn
    volatile uint64_t stamp;  // A's TSC just before it hands over to B
    uint64_t *out;
};

static void send_to(int kind, int fd) {
    uint64_t one = 1;
    if (kind == UMK_BASELINE_EVENTFD) (void)!write(fd, &one, 8);
    else (void)!write(fd, &one, 1);
}

static void wait_on(int kind, int fd) {
    uint64_t v;
    if (kind == UMK_BASELINE_EVENTFD) (void)!read(fd, &v, 8);
    else (void)!read(fd, &v, 1);
}

static long futex(volatile uint32_t *addr, int op, uint32_t val) {
    return syscall(SYS_futex, addr, op, val, 0, 0, 0);
}

static void futex_pass(volatile uint32_t *word, uint32_t to) {
    __atomic_store_n(word, to, __ATOMIC_SEQ_CST);
    futex(word, FUTEX_WAKE_PRIVATE, 1);
}

static void futex_await(volatile uint32_t *word, uint32_t mine) {
    while (__atomic_load_n(word, __ATOMIC_SEQ_CST) != mine) futex(word, FUTEX_WAIT_PRIVATE, !mine);
}

// B: each wake-up is one sample, from A's stamp to B running (one way, as umk's rows).
static void *pong(void *arg) {
    struct pingpong *p = arg;
    if (p->cpu >= 0) pin_to(p->cpu);
    for (int i = 0; i < p->rounds; i++) {
        if (p->kind == UMK_BASELINE_FUTEX) futex_await(&p->word, 1);
        else wait_on(p->kind, p->to_b[0]);
        uint64_t now = tsc();
        if (i >= p->samples) p->out[i - p->samples] = now - p->stamp;
        if (p->kind == UMK_BASELINE_FUTEX) futex_pass(&p->word, 0);
        else send_to(p->kind, p->to_a[1]);
    }
    return 0;
}

static void close_pingpong(struct pingpong *p) {
    int kind = p->kind;
    if (kind == UMK_BASELINE_PIPE) { close(p->to_b[0]); close(p->to_b[1]); close(p->to_a[0]); close(p->to_a[1]); }
    if (kind == UMK_BASELINE_EVENTFD) { if (p->to_b[0] >= 0) close(p->to_b[0]); if (p->to_a[0] >= 0) close(p->to_a[0]); }
    if (kind == UMK_BASELINE_UNIX_SOCKET) { close(p->to_b[0]); close(p->to_b[1]); }
}

int umk_baseline_pingpong(int kind, uint64_t *out, int samples) {
    struct pingpong p;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.rounds = 2 * samples;
    p.samples = samples;
    p.out = out;
    switch (kind) {
    case UMK_BASELINE_PIPE:
        if (pipe(p.to_b)) return -errno;
        if (pipe(p.to_a)) { int e = errno; close(p.to_b[0]); close(p.to_b[1]); return -e; }
        break;
    case UMK_BASELINE_EVENTFD:
        p.to_b[0] = p.to_b[1] = eventfd(0, 0);
        p.to_a[0] = p.to_a[1] = eventfd(0, 0);
        if (p.to_b[0] < 0 || p.to_a[0] < 0) { int e = errno; close_pingpong(&p); return -e; }
        break;
    case UMK_BASELINE_UNIX_SOCKET: {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return -errno;
        // A writes sv[0] and reads sv[0]; B reads sv[1] and writes sv[1].
        p.to_b[0] = sv[1]; p.to_b[1] = sv[0];
        p.to_a[0] = sv[0]; p.to_a[1] = sv[1];
        break;
    }
    case UMK_BASELINE_FUTEX:
        break;
    default:
        return -EINVAL;
    }
    struct pinning pin;
    pin_begin(&pin);
    p.cpu = pin.pinned ? pin.cpu : -1;
    pthread_t b;
    if (pthread_create(&b, 0, pong, &p) != 0) { pin_end(&pin); close_pingpong(&p); return -EAGAIN; }
    for (int i = 0; i < p.rounds; i++) {
        p.stamp = tsc();
        if (kind == UMK_BASELINE_FUTEX) {
            futex_pass(&p.word, 1);
            futex_await(&p.word, 0);
        } else {
            send_to(kind, p.to_b[1]);
            wait_on(kind, p.to_a[0]);
        }
    }
    pthread_join(b, 0);
    pin_end(&pin);
    close_pingpong(&p);
    return 0;
}

// Two threads on one CPU yield to each other; a sample is from one's stamp just before its
// sched_yield to the other running.
struct yielders {
    volatile int turn;
    volatile uint64_t stamp;
    int rounds, samples, cpu;
    uint64_t *out;
};

static void yield_loop(struct yielders *y, int me) {
    for (int i = 0; i < y->rounds; i++) {
        while (__atomic_load_n(&y->turn, __ATOMIC_SEQ_CST) != me) sched_yield();
        uint64_t now = tsc();
        if (me == 1 && i >= y->samples) y->out[i - y->samples] = now - y->stamp;
        y->stamp = tsc();
        __atomic_store_n(&y->turn, !me, __ATOMIC_SEQ_CST);
        sched_yield();
    }
}

static void *yield_peer(void *arg) {
    struct yielders *y = arg;
    if (y->cpu >= 0) pin_to(y->cpu);
    yield_loop(y, 1);
    return 0;
}

int umk_baseline_yield(uint64_t *out, int samples) {
    struct yielders y;
    memset(&y, 0, sizeof(y));
    y.rounds = 2 * samples;
    y.samples = samples;
    y.out = out;
    struct pinning pin;
    pin_begin(&pin);
    y.cpu = pin.pinned ? pin.cpu : -1;
    pthread_t peer;
    if (pthread_create(&peer, 0, yield_peer, &y) != 0) { pin_end(&pin); return -EAGAIN; }
    yield_loop(&y, 0);
    pthread_join(peer, 0);
    pin_end(&pin);
    return 0;
}

static void baseline_handler(int sig) { (void)sig; }

int umk_baseline_signal(uint64_t *out, int samples) {
    int sig = SIGRTMIN + 8;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = baseline_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old)) return -errno;
    sigset_t set, previous;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, &previous);
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < 2 * samples; i++) {
        uint64_t t0 = tsc();
        syscall(SYS_tgkill, pid, tid, sig);
        uint64_t t1 = tsc();
        if (i >= samples) out[i - samples] = t1 - t0;
    }
    pthread_sigmask(SIG_SETMASK, &previous, 0);
    sigaction(sig, &old, 0);
    return 0;
}

static void trap_handler(int sig, siginfo_t *info, void *ucv) {
    (void)info;
    // ud2 is a fault (rip at the instruction); int3 a trap (rip already past it).
    if (sig == SIGILL) ((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] += 2;
}

int umk_baseline_trap(int ud2, uint64_t *out, int samples) {
    int sig = ud2 ? SIGILL : SIGTRAP;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = trap_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old)) return -errno;
    for (int i = 0; i < 2 * samples; i++) {
        uint64_t t0 = tsc();
        if (ud2) umk_trap_ud2(); else umk_trap_int3();
        uint64_t t1 = tsc();
        if (i >= samples) out[i - samples] = t1 - t0;
    }
    sigaction(sig, &old, 0);
    return 0;
}

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#define PR_SYS_DISPATCH_OFF 0
#endif
static volatile uint8_t sigsys_selector;

static void sigsys_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    sigsys_selector = 0;  // ALLOW: the handler's return (rt_sigreturn) is a syscall too
}

int umk_baseline_sigsys(uint64_t *out, int samples) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = sigsys_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, &old)) return -errno;
    sigsys_selector = 0;
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &sigsys_selector) != 0) {
        int e = errno;
        sigaction(SIGSYS, &old, 0);
        return -e;
    }
    for (int i = 0; i < 2 * samples; i++) {
        uint64_t t0 = tsc();
        sigsys_selector = 1;  // BLOCK
        register long nr __asm__("rax") = 39;  // getpid, never run: it becomes SIGSYS
        __asm__ volatile("syscall" : "+r"(nr) : : "rcx", "r11", "memory");
        uint64_t t1 = tsc();
        if (i >= samples) out[i - samples] = t1 - t0;
    }
    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
    sigaction(SIGSYS, &old, 0);
    return 0;
}

struct uffd_handler { int fd; int pages; int ahead; int cpu; uint8_t *zero; uint64_t start, len; volatile int error; };

static void *uffd_serve(void *arg) {
    struct uffd_handler *h = arg;
    if (h->cpu >= 0) pin_to(h->cpu);
    for (int served = 0; served < h->pages;) {
        struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
        int ready = poll(&pfd, 1, 2000);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) { h->error = ready < 0 ? errno : ETIMEDOUT; break; }
        struct uffd_msg msg;
        if (read(h->fd, &msg, sizeof(msg)) != sizeof(msg)) continue;
        if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
        // `ahead` pages from the faulting one, up to the region's end.
        uint64_t dst = msg.arg.pagefault.address & ~(uint64_t)4095;
        uint64_t len = (uint64_t)h->ahead * 4096;
        if (len > h->start + h->len - dst) len = h->start + h->len - dst;
        struct uffdio_copy copy = { .dst = dst, .src = (uint64_t)(uintptr_t)h->zero, .len = len };
        if (ioctl(h->fd, UFFDIO_COPY, &copy) != 0 && errno != EEXIST) { h->error = errno; break; }
        served += (int)(len / 4096);
    }
    if (h->error) {
        // The faulting thread must not wait for a page that will not come: the range goes
        // back to ordinary demand paging, which wakes it.
        struct uffdio_range range = { .start = h->start, .len = h->len };
        (void)ioctl(h->fd, UFFDIO_UNREGISTER, &range);
    }
    return 0;
}

int umk_baseline_userfaultfd(uint64_t *out, int samples, int ahead) {
    if (ahead < 1 || ahead > 16) return -EINVAL;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (fd < 0) fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (fd < 0) return -errno;
    struct uffdio_api api = { .api = UFFD_API };
    if (ioctl(fd, UFFDIO_API, &api)) { int e = errno; close(fd); return -e; }
    size_t len = (size_t)samples * 4096;
    uint8_t *region = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static uint8_t zero[16 * 4096] __attribute__((aligned(4096)));
    if (region == MAP_FAILED) { int e = errno; close(fd); return -e; }
    struct uffdio_register reg = { .range = { .start = (uint64_t)(uintptr_t)region, .len = len }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(fd, UFFDIO_REGISTER, &reg)) { int e = errno; munmap(region, len); close(fd); return -e; }
    struct pinning pin;
    pin_begin(&pin);
    struct uffd_handler h = { .fd = fd, .pages = samples, .ahead = ahead, .cpu = pin.pinned ? pin.cpu : -1, .zero = zero,
                              .start = (uint64_t)(uintptr_t)region, .len = len, .error = 0 };
    pthread_t t;
    if (pthread_create(&t, 0, uffd_serve, &h) != 0) { pin_end(&pin); munmap(region, len); close(fd); return -EAGAIN; }
    for (int i = 0; i < samples; i++) {
        uint64_t t0 = tsc();
        region[(size_t)i * 4096] = 1;
        out[i] = tsc() - t0;
    }
    pthread_join(t, 0);
    pin_end(&pin);
    munmap(region, len);
    close(fd);
    return h.error ? -h.error : 0;
}

int umk_baseline_counter(uint64_t *out, int samples) {
    for (int i = 0; i < samples; i++) {
        uint64_t t0 = tsc();
        uint64_t t1 = tsc();
        out[i] = t1 - t0;
    }
    return 0;
}
