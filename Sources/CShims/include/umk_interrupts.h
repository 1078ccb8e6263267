// SPDX-License-Identifier: Apache-2.0
//
// Interrupts as host signals. Timer signals (the kernel's tick, the PIT's deadline, a
// deferred preemption's retry), readable host input (F_SETSIG), SIGUSR1 and SIGUSR2 are
// caught by one async-signal-safe C handler that records the event in `umk_events`.
// While the kernel runs (the software interrupt-disable flag: umk_in_guest == 0) that is
// all it does; the kernel looks at the events before it resumes a guest. While a guest
// runs in its own code, the handler saves the guest's registers like a fault does and
// enters the kernel; while a guest runs in host code that may hold a lock (libc, the
// Swift runtime, the dynamic loader, the context-switch stub: decided by the interrupted
// PC) it leaves the event recorded and arms a short retry instead.
#ifndef UMK_INTERRUPTS_H
#define UMK_INTERRUPTS_H

#include <stdint.h>

/// Event bits in umk_events: IRQ-numbered bits for the user signals, higher bits for the
/// host's timers and input.
#define UMK_EVENT_USR1  (1ull << 5)
#define UMK_EVENT_USR2  (1ull << 6)
#define UMK_EVENT_TICK  (1ull << 32)
#define UMK_EVENT_PIT   (1ull << 33)
#define UMK_EVENT_RETRY (1ull << 34)
#define UMK_EVENT_INPUT (1ull << 35)
/// A stop was asked for (Ctrl-C, SIGTERM, the run's time limit): see umk_stop_reason.
#define UMK_EVENT_STOP  (1ull << 36)

/// Why a stop was asked for.
#define UMK_STOP_NONE        0
#define UMK_STOP_INTERRUPTED 1
#define UMK_STOP_TIME_LIMIT  2

/// The host timers umk arms.
#define UMK_TIMER_TICK  0
#define UMK_TIMER_PIT   1
#define UMK_TIMER_RETRY 2

/// Events recorded and not yet taken by the kernel.
uint64_t umk_events_take(void);
/// Events recorded and not yet taken (written by the signal handlers).
extern volatile uint64_t umk_events;
/// Events recorded, without taking them (inline: the kernel looks on every exit).
static inline uint64_t umk_events_peek(void) { return __atomic_load_n(&umk_events, __ATOMIC_SEQ_CST); }

/// Installs the handlers and timers on the calling (guest-running) thread. With
/// `async_preemption` 0 (virtual time) the handler only records: the kernel samples the
/// events at its entries. Returns 0 or -errno.
int umk_interrupts_install(int async_preemption);
/// Removes them (handlers restored, timers deleted, input released).
void umk_interrupts_uninstall(void);
/// Arms host timer `which` to fire `delay_ns` from now (0 disarms), every `interval_ns`
/// after that if non-zero. Returns 0 or -errno.
int umk_timer_arm(int which, uint64_t delay_ns, uint64_t interval_ns);
/// Makes `fd` raise UMK_EVENT_INPUT when it becomes readable (-1: none). 0 or -errno.
int umk_input_watch(int fd);
/// Waits in the host until an event is recorded, `input_fd` is readable (if >= 0) or
/// `timeout_ns` passes (negative: no limit). Uses no CPU while it waits.
int umk_idle_wait(int input_fd, int64_t timeout_ns);
/// Deferred preemptions so far (interrupts that landed in host code and were retried).
uint64_t umk_deferred_count(void);
/// The number of host code ranges where a guest is not preempted (found at install).
int umk_unsafe_range_count(void);
/// 1 if a guest interrupted at `pc` may be switched (its own code), 0 if the interrupt
/// waits for it to leave host code (valid after install).
int umk_pc_preemptible(uint64_t pc);
/// 1 if `signo` is one of the interrupt signals (a frame saved by the interrupt handler).
int umk_is_interrupt_signal(int signo);

/// Catches SIGINT, SIGTERM and (for a time limit, if `time_limit_ns` > 0) SIGALRM: the
/// first records UMK_EVENT_STOP and wakes an idle kernel, which stops the run at its next
/// exit; if the run has not stopped 2 s later (a guest that never enters the kernel), or on
/// a second Ctrl-C, the process exits (130 interrupted, 1 time limit). 0 or -errno.
int umk_stop_install(uint64_t time_limit_ns);
/// Restores the previous handlers and disarms the time limit.
void umk_stop_uninstall(void);
/// UMK_STOP_NONE, UMK_STOP_INTERRUPTED or UMK_STOP_TIME_LIMIT.
int umk_stop_reason(void);

/// Opens a pseudo-terminal master; its slave's path goes to `name`. fd or -errno.
int umk_open_pty(char *name, uint64_t capacity);
/// Accepts a client on a listening socket without blocking. fd or -errno.
int umk_accept(int listener);

/// Makes stdout line-buffered (progress shows through a pipe).
void umk_line_buffer_stdout(void);
/// The calling host thread's id.
int umk_gettid(void);
/// Sends `sig` to host thread `tid` of this process (a device or a benchmark poking the
/// thread that runs guests). 0 or -errno.
int umk_signal_thread(int tid, int sig);

/// Shared with the fault path: copies the interrupted guest's registers and FP state into
/// its context's frame and redirects sigreturn to the kernel's fault entry.
/// `guest_errno` is the errno the guest had when the signal came.
void umk_save_guest_frame(int sig, void *siginfo, void *ucontext, int guest_errno);

#endif
