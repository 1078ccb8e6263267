// SPDX-License-Identifier: Apache-2.0
//
// What a debugger needs to find guest threads and images in umk's process
// (scripts/umk-gdb.py reads it): where RAM is, where the kernel's thread list and a TCB's
// fields lie, how a stopped thread's context is laid out, and every program image with
// its load bias. umk_debug_images_ready is a place for a breakpoint: the images are known
// (their addresses are fixed before any is loaded).
#include "CShims.h"
#include <string.h>

umk_debug_info_t umk_debug_info = { .magic = UMK_DEBUG_MAGIC, .version = 1 };
umk_debug_image_t umk_debug_images[UMK_DEBUG_MAX_IMAGES];

void umk_debug_publish(const umk_debug_info_t *info) {
    uint64_t images = umk_debug_info.image_count;
    umk_debug_info = *info;
    umk_debug_info.magic = UMK_DEBUG_MAGIC;
    umk_debug_info.version = 1;
    umk_debug_info.image_count = images;
}

void umk_debug_add_image(const char *path, const char *task, uint64_t bias) {
    uint64_t n = umk_debug_info.image_count;
    if (n >= UMK_DEBUG_MAX_IMAGES) return;
    umk_debug_image_t *i = &umk_debug_images[n];
    strncpy(i->path, path, sizeof i->path - 1);
    strncpy(i->task, task, sizeof i->task - 1);
    i->bias = bias;
    umk_debug_info.image_count = n + 1;
}

__attribute__((noinline, used)) void umk_debug_images_ready(void) {
    __asm__ volatile("" ::: "memory");
}
