// SPDX-License-Identifier: Apache-2.0
//
// Guest contexts and the direct-call syscall entry. A guest thread's host context is the
// SysV callee-saved set plus its stack pointer and FP control words: a guest only ever
// stops inside umk_syscall (a call), so nothing else is live. The kernel runs on its own
// stack between a guest's entry and the next guest's resumption, and always returns first
// (event kernel): its entry callback hands back the context to resume, or NULL to return
// to whoever called umk_context_start.
#ifndef UMK_CONTEXT_H
#define UMK_CONTEXT_H

#include <stdint.h>
#include "umk_guest.h"

/// A guest thread's saved host context (layout shared with context_x86_64.S and with the
/// TCB's `HostContext` in Swift).
typedef struct umk_host_context {
    uint64_t rsp;        //  0: points at the return address into the guest
    uint64_t rbx;        //  8
    uint64_t rbp;        // 16
    uint64_t r12;        // 24
    uint64_t r13;        // 32
    uint64_t r14;        // 40
    uint64_t r15;        // 48
    uint32_t mxcsr;      // 56
    uint16_t fpucw;      // 60
    uint8_t dispatch;    // 62: the Syscall User Dispatch selector the guest runs with (UMK_DISPATCH_*)
    uint8_t pad;         // 63
    uint64_t io;         // 64: the guest's umk_syscall_io_t while it is in the kernel
    uint64_t access[4];  // 72: the guest's Swift exclusivity access set while switched out
    uint64_t kind;       // 104: UMK_CONTEXT_CALL (stopped in umk_syscall) or UMK_CONTEXT_FULL
    uint64_t frame;      // 112: the umk_full_frame_t to restore when kind is UMK_CONTEXT_FULL
    uint64_t fs_base;    // 120: the guest's FS base (its TLS), or 0: the host thread's (Swift guests)
} umk_host_context_t;

#define UMK_CONTEXT_CALL 0
#define UMK_CONTEXT_FULL 1

/// A guest stopped by a signal: every general register, and what stopped it. The FP state
/// (the signal frame's XSAVE image, or its fxsave part) is at `fpstate`.
typedef struct umk_full_frame {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rsp, rflags;
    uint64_t signo;      // the host signal
    uint64_t addr;       // si_addr
    uint64_t err;        // the x86 error code (page-fault error code for SIGSEGV)
    uint64_t trapno;     // the x86 vector
    uint64_t fpstate;    // address of the FP area (64-byte aligned, 3456 bytes)
    uint64_t xsave;      // 1: the FP area holds a full XSAVE image (xrstor), 0: fxsave only
    uint64_t saved_errno; // the guest's errno (per host thread, so per guest only if saved)
} umk_full_frame_t;

/// The kernel's fault callback: a signal stopped umk_current; returns the next context.
extern umk_host_context_t *(*umk_kernel_fault_entry)(void *cookie);

/// The running guest's context (set by the kernel before it resumes a guest).
extern umk_host_context_t *umk_current;
/// Top of the kernel stack (16-byte aligned).
extern void *umk_kernel_stack_top;
/// The kernel: handles the syscall of umk_current, returns the context to resume or NULL.
extern umk_host_context_t *(*umk_kernel_entry)(void *cookie);
extern void *umk_kernel_cookie;

/// Installs the kernel (entry, cookie, stack) before guests run; NULLs uninstall it.
void umk_context_install(void *stack_top, umk_host_context_t *(*entry)(void *cookie), void *cookie);
/// Installs the fault callback and the guest fault signal handlers (SIGSEGV, SIGBUS,
/// SIGILL, SIGFPE, SIGTRAP on an alternate stack); NULL restores the previous handlers.
/// Returns 0 or -errno.
int umk_faults_install(umk_host_context_t *(*fault_entry)(void *cookie));
/// Makes `ctx` the running guest's context, with its IPC buffer address (inline: the
/// kernel sets it on every exit).
static inline void umk_context_set_current(umk_host_context_t *ctx, uint64_t ipc_buffer) {
    umk_current = ctx;
    umk_current_ipc_buffer = ipc_buffer;
}

/// The FS base of the thread that runs guests (its glibc and Swift TLS), taken when the
/// kernel is installed; every host function runs with it.
extern uint64_t umk_host_fs;
/// Loads `base` into FS (wrfsbase where the host allows it, arch_prctl otherwise). Uses
/// no TLS itself, so it may run with a guest's FS base loaded.
void umk_fs_load(uint64_t base);
/// The FS base loaded now (rdfsbase or arch_prctl); uses no TLS.
uint64_t umk_fs_current(void);
/// A signal handler's first step, before any host code: if it interrupted a guest running
/// with its own FS base on the thread that runs guests, loads the host's and returns the
/// guest's (to load again if the handler returns to the guest); 0 otherwise. No TLS.
uint64_t umk_fs_enter_host(void);

/// Syscall User Dispatch (Linux 5.11+) on the thread that runs guests: while a program
/// image's code runs the selector is BLOCK, so a `syscall` instruction there is not the
/// host's but a SIGSYS, which becomes a kernel entry (seL4's syscall ABI); while the kernel
/// or a Swift guest runs it is ALLOW. The only exempt instruction is the host's signal
/// return (glibc's restorer), so a handler may return into an image's code.
#define UMK_DISPATCH_ALLOW 0
#define UMK_DISPATCH_BLOCK 1
extern volatile uint8_t umk_dispatch_selector;
/// Turns dispatch on for the calling thread (after the signal handlers are installed);
/// 0, or -errno (-EINVAL: the host has no Syscall User Dispatch).
int umk_dispatch_install(void);
/// Turns it off again.
void umk_dispatch_uninstall(void);
/// For debuggers (debug.c, scripts/umk-gdb.py): where RAM and the kernel's thread list
/// are, and offsets into a TCB (filled in when a Linux machine is made), and the images.
#define UMK_DEBUG_MAGIC 0x554D4B4442473031ull
#define UMK_DEBUG_MAX_IMAGES 256
typedef struct umk_debug_info {
    uint64_t magic, version;
    uint64_t physmap;            // host address of physical address 0 (0: no machine)
    uint64_t tcb_list;           // physical address of the word holding the first TCB's
    uint64_t current_thread;     // physical address of the word holding the current TCB's
    uint64_t tcb_next;           // offsets into a TCB: the next TCB in the list,
    uint64_t tcb_name;           //   its name (32 bytes, NUL-padded),
    uint64_t tcb_state;          //   its state word (ThreadState),
    uint64_t tcb_priority;
    uint64_t tcb_registers;      //   seL4_UserContext's 20 words (rip, rsp, rflags, rax, ...),
    uint64_t tcb_next_ip;
    uint64_t tcb_user_entry;     //   how it last left user mode (2: a syscall, 3: an exception),
    uint64_t tcb_blocking_object;
    uint64_t tcb_context;        //   its umk_host_context_t.
    uint64_t image_count;
    uint64_t tcb_vspace;         // offsets into a TCB: the first word of its VSpace root's cap (the PML4's address in its low 44 bits).
} umk_debug_info_t;
typedef struct umk_debug_image {
    char path[200];
    char task[48];
    uint64_t bias;
} umk_debug_image_t;
extern umk_debug_info_t umk_debug_info;
extern umk_debug_image_t umk_debug_images[UMK_DEBUG_MAX_IMAGES];
/// Publishes `info`'s layout (the magic, version and image count stay).
void umk_debug_publish(const umk_debug_info_t *info);
/// Records a program image a task runs and its load bias.
void umk_debug_add_image(const char *path, const char *task, uint64_t bias);
/// Called once the images are recorded (a debugger's breakpoint adds their symbols).
void umk_debug_images_ready(void);

/// The sandbox (sandbox.c): a seccomp allow-list from libseccomp.so.2, loaded for the
/// whole process (audit: what is not allowed is logged by the host kernel, not refused).
/// 0, or -1 with the reason in `error`. After it, the process ends with its run: the host
/// state umk set up is not restored (the uninstall calls return at once).
int umk_sandbox_install(int audit, int ram_fd, char *error, unsigned long error_size);
extern volatile int umk_sandbox_on;
/// 1 once the filter is loaded.
static inline int umk_sandbox_installed(void) { return umk_sandbox_on; }
/// The host's name of syscall `nr` (known once the sandbox is installed).
const char *umk_host_syscall_name(long nr);
/// exit_group with the run's cookie: the exit the sandbox allows.
_Noreturn void umk_sandbox_exit(int status);
/// In a guest's frame (trapno) after a SIGSYS from the sandbox: err holds the host
/// syscall's number (the syscall did not run; the frame's RAX is the host's -ENOSYS).
#define UMK_TRAPNO_HOST_SYSCALL 0x5ECC0

/// A signal handler's first step, before umk_fs_enter_host: the selector becomes ALLOW
/// (host code makes syscalls); returns the previous one, to restore if the handler returns to where
/// it interrupted.
static inline uint8_t umk_dispatch_enter_host(void) {
    uint8_t previous = umk_dispatch_selector;
    umk_dispatch_selector = UMK_DISPATCH_ALLOW;
    return previous;
}

/// From a signal handler: true if it runs on the thread that runs guests (on its signal
/// stack), without a syscall.
int umk_on_guest_thread(void);

/// Sets the calling thread's errno (a guest resumed after a signal gets its own back).
void umk_set_errno(int value);

/// Kernel side: run guests starting with `first`, until the kernel entry returns NULL.
void umk_context_start(umk_host_context_t *first);

/// Makes `ctx` a fresh context that the stub resumes from its full frame `frame` (every
/// register as the caller then writes it there): no Swift accesses, the FP state the
/// ABI's default (an fxsave image at the frame's FP area: x87 control word 0x037F, MXCSR
/// 0x1F80, every register empty), errno 0. Nothing is written to the thread's stack.
void umk_context_init_full(umk_host_context_t *ctx, umk_full_frame_t *frame);

// Swift's exclusivity access sets are per host thread; a switch between guests moves the
// current set aside and installs the next guest's (as Swift concurrency does for tasks).
void swift_task_exitThreadLocalContext(char *state);
void swift_task_enterThreadLocalContext(char *state);

/// The host thread's access-set head inside the Swift runtime's thread-local context, once
/// umk_access_probe has found and verified it (NULL: always call the runtime).
extern void **umk_access_head_slot;

/// Finds the calling thread's access-set head (the first word of libswiftCore's TLS block)
/// and checks it is that by pushing a dummy access through the runtime and popping it
/// again. Called on the thread that will run guests, before it runs them.
void umk_access_probe(void);

/// The slot umk_access_probe found (NULL if it found none).
static inline void **umk_access_head(void) { return umk_access_head_slot; }

/// swift_task_exitThreadLocalContext, with the cases that change nothing but the state
/// (the guest opened no access of its own since it was entered) done inline: a guest
/// almost never switches with an access open, and the runtime call costs a TLS lookup.
static inline void umk_access_exit(uint64_t *state) {
    void **slot = umk_access_head_slot;
    if (slot) {
        uint64_t head = (uint64_t)*slot;
        // The head is what it was when the guest was entered: the guest has no accesses.
        if (head == state[0]) {
            state[0] = 0;
            state[1] = 0;
            return;
        }
    }
    swift_task_exitThreadLocalContext((char *)state);
}

/// swift_task_enterThreadLocalContext, inline for a guest that has no accesses of its own
/// (the state then only remembers the thread's head, as the runtime does).
static inline void umk_access_enter(uint64_t *state) {
    void **slot = umk_access_head_slot;
    if (slot && state[0] == 0) {
        state[0] = (uint64_t)*slot;
        return;
    }
    swift_task_enterThreadLocalContext((char *)state);
}

#endif
