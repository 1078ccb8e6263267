// SPDX-License-Identifier: Apache-2.0
//
// Syscall User Dispatch for program images (prctl PR_SET_SYSCALL_USER_DISPATCH, Linux
// 5.11+): with the selector at BLOCK, any `syscall` instruction the thread executes outside
// the exempt range is not run but delivered as SIGSYS (si_code SYS_USER_DISPATCH), its
// registers in the signal frame. The switch stubs set the selector per guest (BLOCK while
// an image's code runs); every signal handler sets ALLOW first and puts the previous value
// back only if it returns to the interrupted code. That return is rt_sigreturn through
// glibc's restorer, which therefore is the exempt range: that one instruction, checked to
// be `mov $15, %rax; syscall` before dispatch is turned on.
#include "CShims.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif

__attribute__((visibility("hidden"))) volatile uint8_t umk_dispatch_selector;
static int dispatch_on;

/// The kernel's struct sigaction (rt_sigaction), to read the restorer glibc installed.
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};

int umk_dispatch_install(void) {
    struct kernel_sigaction current;
    // SIGSYS's handler is umk's, installed with glibc's sigaction and so its restorer.
    if (syscall(SYS_rt_sigaction, SIGSYS, (void *)0, &current, sizeof(current.mask)) != 0) return -errno;
    static const unsigned char sigreturn[] = { 0x48, 0xC7, 0xC0, 0x0F, 0x00, 0x00, 0x00, 0x0F, 0x05 };
    if (!(current.flags & 0x04000000 /* SA_RESTORER */) || !current.restorer ||
        memcmp(current.restorer, sigreturn, sizeof(sigreturn)) != 0) {
        return -ENOTSUP;
    }
    umk_dispatch_selector = UMK_DISPATCH_ALLOW;
    // The exempt range holds the restorer's syscall: the IP after it is restorer + 9.
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (unsigned long)current.restorer,
              sizeof(sigreturn) + 1, &umk_dispatch_selector) != 0) {
        return -errno;
    }
    dispatch_on = 1;
    return 0;
}

void umk_dispatch_uninstall(void) {
    if (!dispatch_on || umk_sandbox_on) return;
    umk_dispatch_selector = UMK_DISPATCH_ALLOW;
    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
    dispatch_on = 0;
}
