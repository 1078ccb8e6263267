// SPDX-License-Identifier: Apache-2.0
//
// Context globals and the layout of a fresh guest context.
#include "CShims.h"
#include <cpuid.h>
#include <stddef.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <asm/prctl.h>
#include <sys/syscall.h>

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
_Static_assert(sizeof(umk_host_context_t) == 128, "context layout");
_Static_assert(offsetof(umk_host_context_t, fs_base) == 120, "context layout");
_Static_assert(offsetof(umk_host_context_t, kind) == 104, "context layout");
_Static_assert(offsetof(umk_full_frame_t, rip) == 120, "frame layout");
_Static_assert(sizeof(umk_full_frame_t) == 200, "frame layout");
_Static_assert(offsetof(umk_full_frame_t, fpstate) == 176, "frame layout");
_Static_assert(offsetof(umk_full_frame_t, xsave) == 184, "frame layout");

/// True if the OS enabled XSAVE (CPUID.1:ECX.OSXSAVE), so xrstor may restore a frame.
static int xsave_enabled(void) {
    static int known = -1;
    if (known < 0) {
        unsigned a, b, c, d;
        known = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27)) != 0;
    }
    return known;
}

void umk_context_init_full(umk_host_context_t *ctx, umk_full_frame_t *frame) {
    // The FS base is the thread's (seL4's TLS base, kept by the kernel), not the frame's.
    uint64_t fs_base = ctx->fs_base;
    memset(ctx, 0, sizeof(*ctx));
    ctx->fs_base = fs_base;
    ctx->kind = UMK_CONTEXT_FULL;
    ctx->frame = (uint64_t)(uintptr_t)frame;
    // An fxsave image of the default state (fxrstor reads 512 bytes; the tag word's zero
    // means every x87 register empty).
    uint8_t *fp = (uint8_t *)(uintptr_t)frame->fpstate;
    memset(fp, 0, 512);
    *(uint16_t *)(fp + 0) = 0x037F;
    *(uint32_t *)(fp + 24) = 0x1F80;
    // With XSAVE, an XSAVE image whose header marks every component as in its initial
    // state (XSTATE_BV 0; MXCSR still comes from the legacy area): xrstor then clears the
    // AVX (and wider) registers too, which fxrstor leaves as the last thread had them.
    frame->xsave = 0;
    if (xsave_enabled()) {
        memset(fp + 512, 0, 64);
        frame->xsave = 1;
    }
    frame->saved_errno = 0;
}

uint64_t umk_host_fs;
/// Nonzero if the host lets user code read and write FS directly (HWCAP2_FSGSBASE).
static int fsgsbase;

// arch_prctl without glibc's wrapper, which would set errno (TLS) on failure.
static long raw_arch_prctl(long code, uint64_t arg) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_arch_prctl), "D"(code), "S"(arg) : "rcx", "r11", "memory");
    return r;
}

void umk_fs_load(uint64_t base) {
    if (fsgsbase) __asm__ volatile("wrfsbase %0" : : "r"(base) : "memory");
    else raw_arch_prctl(ARCH_SET_FS, base);
}

uint64_t umk_fs_enter_host(void) {
    if (!umk_host_fs) return 0;
    uint64_t fs = umk_fs_current();
    if (fs == umk_host_fs || !umk_on_guest_thread()) return 0;
    umk_fs_load(umk_host_fs);
    return fs;
}

uint64_t umk_fs_current(void) {
    uint64_t base = 0;
    if (fsgsbase) __asm__ volatile("rdfsbase %0" : "=r"(base));
    else raw_arch_prctl(ARCH_GET_FS, (uint64_t)(uintptr_t)&base);
    return base;
}

void umk_context_install(void *stack_top, umk_host_context_t *(*entry)(void *cookie), void *cookie) {
    if (entry) {
        fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;  // HWCAP2_FSGSBASE
        umk_host_fs = umk_fs_current();
    }
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
