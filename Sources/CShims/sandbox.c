// SPDX-License-Identifier: Apache-2.0
//
// The sandbox: once a system is built, umk confines the thread that runs guests with a
// seccomp allow-list made with libseccomp, loaded at run time from libseccomp.so.2 (so
// building umk needs no -dev package; its ABI is declared here). Only the host syscalls a running
// system needs are allowed, some only with the arguments umk uses: no executable mapping
// but of RAM, the terminal's ioctls, descriptor flags, the FS base. Anything else traps
// (SIGSYS, si_code SYS_SECCOMP, the syscall not run): made by a guest it becomes a fault
// for the guest's fault handler (faults.c); made by umk itself it is reported and umk
// stops. exit_group is allowed only with a per-run cookie in an argument the kernel
// ignores, which only umk's own exit passes (glibc's exit in umk ends in the handler,
// which exits with it), so a guest's exit() is refused like the rest.
#include "CShims.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>

// libseccomp's ABI (seccomp.h, version 2): the calls umk makes and their constants.
struct scmp_arg_cmp {
    unsigned int arg;
    int op;
    uint64_t datum_a;
    uint64_t datum_b;
};
enum { SCMP_CMP_EQ = 4, SCMP_CMP_MASKED_EQ = 7 };
#define SCMP_ACT_ALLOW 0x7fff0000U
#define SCMP_ACT_TRAP 0x00030000U
#define SCMP_ACT_LOG 0x7ffc0000U
#define SCMP_ARCH_NATIVE 0

static struct {
    void *(*init)(uint32_t def_action);
    int (*rule_add_array)(void *ctx, uint32_t action, int syscall, unsigned int count, const struct scmp_arg_cmp *args);
    int (*load)(void *ctx);
    void (*release)(void *ctx);
    int (*resolve_name)(const char *name);
    char *(*resolve_num)(uint32_t arch, int num);
} lib;

/// Set once the filter is loaded: the process ends with its run.
volatile int umk_sandbox_on;
static uint64_t exit_cookie;

#define NAMES 512
static char names[NAMES][24];

const char *umk_host_syscall_name(long nr) {
    return nr >= 0 && nr < NAMES && names[nr][0] ? names[nr] : "an unknown syscall";
}

_Noreturn void umk_sandbox_exit(int status) {
    for (;;) syscall(SYS_exit_group, status, exit_cookie);
}

static void fail(char *error, size_t size, const char *what, const char *detail) {
    snprintf(error, size, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

#define A(i, op_, a, b) { (unsigned)(i), (op_), (uint64_t)(a), (uint64_t)(b) }

int umk_sandbox_install(int audit, int ram_fd, char *error, unsigned long error_size) {
    void *so = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fail(error, error_size, "libseccomp.so.2 is not installed (Debian: apt install libseccomp2)", 0);
        return -1;
    }
    *(void **)&lib.init = dlsym(so, "seccomp_init");
    *(void **)&lib.rule_add_array = dlsym(so, "seccomp_rule_add_array");
    *(void **)&lib.load = dlsym(so, "seccomp_load");
    *(void **)&lib.release = dlsym(so, "seccomp_release");
    *(void **)&lib.resolve_name = dlsym(so, "seccomp_syscall_resolve_name");
    *(void **)&lib.resolve_num = dlsym(so, "seccomp_syscall_resolve_num_arch");
    if (!lib.init || !lib.rule_add_array || !lib.load || !lib.release || !lib.resolve_name ||
        !lib.resolve_num) {
        fail(error, error_size, "libseccomp.so.2 lacks a call umk needs (it needs version 2.2 or later)", 0);
        return -1;
    }
    while (exit_cookie == 0) {
        if (getrandom(&exit_cookie, sizeof exit_cookie, 0) != sizeof exit_cookie) {
            fail(error, error_size, "getrandom failed", strerror(errno));
            return -1;
        }
    }
    void *ctx = lib.init(audit ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
    if (!ctx) {
        fail(error, error_size, "seccomp_init failed", 0);
        return -1;
    }
    // The filter confines the calling thread, the one that runs guests (and any thread it
    // would make): guests run nowhere else. Not the process's other threads (TSYNC): a
    // thread of the host's libraries with SIGSYS blocked would be killed, and the process
    // with it, by a call the list lacks.
    int rc = 0;
    // What a running system does: I/O on its own descriptors (console, eventfds, a
    // recording), memory (malloc, windows, RAM), signal returns and masks, timers, waits,
    // time, futexes (the Swift runtime), its console's socket.
    static const char *const always[] = {
        "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "fstat", "brk", "munmap",
        "mremap", "madvise", "rt_sigreturn", "rt_sigprocmask", "restart_syscall", "futex", "sched_yield", "getpid",
        "getppid", "gettid", "getrandom", "clock_gettime", "clock_getres", "gettimeofday", "time", "clock_nanosleep",
        "nanosleep", "ppoll", "poll", "pselect6", "select", "epoll_wait", "epoll_pwait", "timer_settime",
        "timer_gettime", "timer_getoverrun", "getitimer", "setitimer", "sendto", "recvfrom", "accept", "accept4",
        "getcwd", "sched_getaffinity", "uname", "fsync", "fdatasync",
    };
    for (unsigned i = 0; i < sizeof always / sizeof always[0] && rc == 0; i++) {
        int nr = lib.resolve_name(always[i]);
        if (nr >= 0) rc = lib.rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 0, 0);
    }
    // With arguments: executable mappings only of RAM (image code in windows); fstat's
    // form of newfstatat; descriptor flags; the terminal's ioctls; the FS base (host code
    // after a guest's); umk's own exit.
    // Each rule is one allowed form (a syscall named twice is allowed in either).
    const struct { const char *name; struct scmp_arg_cmp arg; } rules[] = {
        { "mmap", A(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
        { "mmap", A(4, SCMP_CMP_EQ, (uint64_t)(uint32_t)ram_fd, 0) },
        { "mprotect", A(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
        { "newfstatat", A(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH) },
        { "fcntl", A(1, SCMP_CMP_EQ, F_GETFL, 0) },
        { "fcntl", A(1, SCMP_CMP_EQ, F_SETFL, 0) },
        { "fcntl", A(1, SCMP_CMP_EQ, F_GETFD, 0) },
        { "fcntl", A(1, SCMP_CMP_EQ, F_SETFD, 0) },
        { "ioctl", A(1, SCMP_CMP_EQ, TCGETS, 0) },
        { "ioctl", A(1, SCMP_CMP_EQ, TCSETS, 0) },
        { "ioctl", A(1, SCMP_CMP_EQ, TCSETSW, 0) },
        { "ioctl", A(1, SCMP_CMP_EQ, TIOCGWINSZ, 0) },
        { "ioctl", A(1, SCMP_CMP_EQ, FIONREAD, 0) },
        { "arch_prctl", A(0, SCMP_CMP_EQ, ARCH_SET_FS, 0) },
        { "arch_prctl", A(0, SCMP_CMP_EQ, ARCH_GET_FS, 0) },
        { "exit_group", A(1, SCMP_CMP_EQ, exit_cookie, 0) },
    };
    for (unsigned i = 0; i < sizeof rules / sizeof rules[0] && rc == 0; i++) {
        int nr = lib.resolve_name(rules[i].name);
        if (nr >= 0) rc = lib.rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &rules[i].arg);
    }
    if (rc != 0) {
        lib.release(ctx);
        fail(error, error_size, "libseccomp refused a rule", strerror(-rc));
        return -1;
    }
    // The names the reports use (the handler may not allocate).
    for (int nr = 0; nr < NAMES; nr++) {
        char *name = lib.resolve_num(SCMP_ARCH_NATIVE, nr);
        if (name) {
            strncpy(names[nr], name, sizeof names[nr] - 1);
            free(name);
        }
    }
    rc = lib.load(ctx);
    lib.release(ctx);
    if (rc != 0) {
        fail(error, error_size, "seccomp_load failed (does this kernel have seccomp filters?)", strerror(-rc));
        return -1;
    }
    umk_sandbox_on = 1;
    return 0;
}
