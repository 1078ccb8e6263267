// SPDX-License-Identifier: Apache-2.0
//
// Context globals and the layout of a fresh guest context.
#include "CShims.h"
#include <stddef.h>
#include <errno.h>
#include <link.h>
#include <string.h>

umk_host_context_t *umk_current;
// Declared in CGuest's umk_guest.h (guests read them); defined here beside the switch's
// other state so a switch touches one cache line.
uint64_t umk_current_ipc_buffer;
void *umk_kernel_stack_top;
umk_host_context_t *(*umk_kernel_entry)(void *cookie);
void *umk_kernel_cookie;
/// The host stack pointer of umk_context_start's caller while guests run.
void *umk_host_rsp;


_Static_assert(offsetof(umk_host_context_t, mxcsr) == 56, "context layout");
_Static_assert(offsetof(umk_host_context_t, io) == 64, "context layout");
_Static_assert(sizeof(umk_host_context_t) == 120, "context layout");
_Static_assert(offsetof(umk_host_context_t, kind) == 104, "context layout");
_Static_assert(offsetof(umk_full_frame_t, rip) == 120, "frame layout");
_Static_assert(sizeof(umk_full_frame_t) == 200, "frame layout");
_Static_assert(offsetof(umk_full_frame_t, fpstate) == 176, "frame layout");
_Static_assert(offsetof(umk_full_frame_t, xsave) == 184, "frame layout");

void umk_context_init_full(umk_host_context_t *ctx, umk_full_frame_t *frame) {
    memset(ctx, 0, sizeof(*ctx));
    ctx->kind = UMK_CONTEXT_FULL;
    ctx->frame = (uint64_t)(uintptr_t)frame;
    // An fxsave image of the default state (fxrstor reads 512 bytes; the tag word's zero
    // means every x87 register empty).
    uint8_t *fp = (uint8_t *)(uintptr_t)frame->fpstate;
    memset(fp, 0, 512);
    *(uint16_t *)(fp + 0) = 0x037F;
    *(uint32_t *)(fp + 24) = 0x1F80;
    frame->xsave = 0;
    frame->saved_errno = 0;
}

void umk_context_install(void *stack_top, umk_host_context_t *(*entry)(void *cookie), void *cookie) {
    umk_kernel_stack_top = stack_top;
    umk_kernel_entry = entry;
    umk_kernel_cookie = cookie;
    if (!entry) umk_current = NULL;
}

void umk_set_errno(int value) { errno = value; }

void **umk_access_head_slot;

static int find_swift_core_tls(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "/libswiftCore.so") && info->dlpi_tls_data) {
        *(void **)data = info->dlpi_tls_data;
        return 1;
    }
    return 0;
}

void umk_access_probe(void) {
    umk_access_head_slot = NULL;
    void *tls = NULL;
    dl_iterate_phdr(find_swift_core_tls, &tls);
    if (!tls) return;
    // The runtime's thread-local context starts with the access set's head. Check it: a
    // dummy access pushed through the runtime must appear there, and leave with the pop.
    void **slot = tls;
    void *before = *slot;
    uint64_t dummy[3] = { 0, 0, 0 };  // an Access record: pointer, pc, next and action
    uint64_t state[2] = { (uint64_t)dummy, (uint64_t)dummy };
    swift_task_enterThreadLocalContext((char *)state);
    int seen = *slot == (void *)dummy;
    swift_task_exitThreadLocalContext((char *)state);
    if (seen && *slot == before && state[0] == (uint64_t)dummy) umk_access_head_slot = slot;
}
