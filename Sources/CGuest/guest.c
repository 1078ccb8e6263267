// SPDX-License-Identifier: Apache-2.0
//
// The register probe's area (umk_traps.h). The guest-visible variables umk_guest.h
// declares (the running guest's IPC buffer) are defined in CShims/context.c,
// beside the rest of the switch's state, so a switch writes one cache line; a guest only
// ever runs inside a umk that links CShims.
#include "CGuest.h"

uint64_t umk_probe_area[17];

void umk_probe_reset(void) {
    for (int i = 0; i < 17; i++) umk_probe_area[i] = 0;
}

uint64_t umk_probe_word(int i) { return i >= 0 && i < 17 ? umk_probe_area[i] : 0; }

__attribute__((noinline, used)) void umk_debug_task_crashed(const char *task, const char *report) {
    __asm__ volatile("" :: "r"(task), "r"(report) : "memory");
}
