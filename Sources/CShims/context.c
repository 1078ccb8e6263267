// SPDX-License-Identifier: Apache-2.0
//
// Context globals and the layout of a fresh guest context.
#include "CShims.h"
#include <stddef.h>
#include <errno.h>

umk_host_context_t *umk_current;
uint64_t umk_current_window;
uint64_t umk_current_ipc_buffer;
void *umk_kernel_stack_top;
umk_host_context_t *(*umk_kernel_entry)(void *cookie);
void *umk_kernel_cookie;
/// The host stack pointer of umk_context_start's caller while guests run.
void *umk_host_rsp;

extern void umk_thread_trampoline(void);

_Static_assert(offsetof(umk_host_context_t, mxcsr) == 56, "context layout");
_Static_assert(offsetof(umk_host_context_t, io) == 64, "context layout");
_Static_assert(sizeof(umk_host_context_t) == 120, "context layout");
_Static_assert(offsetof(umk_host_context_t, kind) == 104, "context layout");
_Static_assert(offsetof(umk_full_frame_t, rip) == 120, "frame layout");
_Static_assert(sizeof(umk_full_frame_t) == 200, "frame layout");
_Static_assert(offsetof(umk_full_frame_t, fpstate) == 176, "frame layout");
_Static_assert(offsetof(umk_full_frame_t, xsave) == 184, "frame layout");

void umk_context_init(umk_host_context_t *ctx, uint64_t stack_top, uint64_t entry, uint64_t arg0, uint64_t arg1) {
    // After umk_resume's ret pops the trampoline's address, rsp is 16-byte aligned, so the
    // trampoline's call enters `entry` with the alignment the ABI promises.
    uint64_t *sp = (uint64_t *)(stack_top & ~(uint64_t)15);
    *--sp = (uint64_t)&umk_thread_trampoline;
    ctx->rsp = (uint64_t)sp;
    ctx->rbx = 0;
    ctx->rbp = 0;
    ctx->r12 = entry;
    ctx->r13 = arg0;
    ctx->r14 = arg1;
    ctx->r15 = 0;
    ctx->mxcsr = 0x1F80;
    ctx->fpucw = 0x037F;
    ctx->io = 0;
    ctx->kind = UMK_CONTEXT_CALL;
    ctx->frame = 0;
    for (int i = 0; i < 4; i++) ctx->access[i] = 0;
}

uint64_t umk_syscall_address(void) {
    return (uint64_t)&umk_syscall;
}

void umk_context_install(void *stack_top, umk_host_context_t *(*entry)(void *cookie), void *cookie) {
    umk_kernel_stack_top = stack_top;
    umk_kernel_entry = entry;
    umk_kernel_cookie = cookie;
    if (!entry) umk_current = NULL;
}

void umk_context_set_current(umk_host_context_t *ctx, uint64_t window, uint64_t ipc_buffer) {
    umk_current = ctx;
    umk_current_window = window;
    umk_current_ipc_buffer = ipc_buffer;
}

uint64_t umk_window(void) { return umk_current_window; }

void umk_set_errno(int value) { errno = value; }
uint64_t umk_ipc_buffer(void) { return umk_current_ipc_buffer; }
