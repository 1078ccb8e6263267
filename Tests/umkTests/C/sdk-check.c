// SPDX-License-Identifier: Apache-2.0
//
// The SDK's wrappers from C, each against the result seL4 gives: a task init built, with
// its own TCB (64), CNode (65), VSpace (66) and init's endpoint (68), and free slots from
// 80 on. Prints one line per check; "sdk: N checks, M failed" at the end.

#include <sel4/sel4.h>
#include <sel4runtime.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

enum { TCB = 64, CNODE = 65, VSPACE = 66, INIT = 68, FREE = 80 };
/* The task's CNode has 2^8 slots; its cap at 65 has no guard (the guard is the CSpace
   root's, set by TCB_Configure), so a slot's depth through it is 8. */
enum { D = 8 };

static int checks, failed;

static void expect(const char *what, long got, long want) {
    checks++;
    if (got != want) { failed++; printf("FAIL %s: got %ld, want %ld\n", what, got, want); }
}

int main(int argc, char *argv[]) {
    (void)argc;
    // Message info and rights: seL4's bit layout.
    seL4_MessageInfo_t m = seL4_MessageInfo_new(0x123, 1, 2, 9);
    expect("MessageInfo word", (long)m.words[0], (long)(0x123ul << 12 | 1 << 9 | 2 << 7 | 9));
    expect("label", (long)seL4_MessageInfo_get_label(m), 0x123);
    expect("set_length", (long)seL4_MessageInfo_get_length(seL4_MessageInfo_set_length(m, 3)), 3);
    expect("AllRights", (long)seL4_AllRights.words[0], 0xf);
    expect("CanRead", (long)seL4_CanRead.words[0], 2);
    expect("IPC buffer size", sizeof(seL4_IPCBuffer), 1024);
    expect("BootInfo untypedList offset", (long)__builtin_offsetof(seL4_BootInfo, untypedList), 168);

    // The task's own address range, from the kernel and from the start information.
    umk_VSpace_GetAddressRange_t r = umk_VSpace_GetAddressRange(VSPACE);
    expect("GetAddressRange", r.error, seL4_NoError);
    expect("range as started", r.start == umk_address_range_start() && r.end == umk_address_range_end(), 1);
    expect("range of a TCB", umk_VSpace_GetAddressRange(TCB).error, seL4_IllegalOperation);

    // CNode: copy, mint, move, mutate, rotate, delete, revoke, as seL4 answers them.
    expect("Copy", seL4_CNode_Copy(CNODE, FREE, D, CNODE, INIT, D, seL4_CanWrite), seL4_NoError);
    expect("copied cap is an endpoint", seL4_DebugCapIdentify(FREE), seL4_DebugCapIdentify(INIT));
    expect("Copy into a full slot", seL4_CNode_Copy(CNODE, FREE, D, CNODE, INIT, D, seL4_AllRights), seL4_DeleteFirst);
    // init's endpoint is badged (the task's id): seL4 mints no badge, not even 0, over a badge.
    expect("Mint on a badged cap", seL4_CNode_Mint(CNODE, FREE + 1, D, CNODE, INIT, D, seL4_AllRights, 5),
           seL4_IllegalOperation);
    expect("Mint badge 0 on a badged cap", seL4_CNode_Mint(CNODE, FREE + 1, D, CNODE, INIT, D, seL4_AllRights, 0),
           seL4_IllegalOperation);
    expect("Copy (rights masked to the source's)", seL4_CNode_Copy(CNODE, FREE + 1, D, CNODE, INIT, D, seL4_AllRights), seL4_NoError);
    expect("Move", seL4_CNode_Move(CNODE, FREE + 2, D, CNODE, FREE + 1, D), seL4_NoError);
    expect("moved away", seL4_DebugCapIdentify(FREE + 1), 0);
    expect("Mutate of an endpoint", seL4_CNode_Mutate(CNODE, FREE + 3, D, CNODE, FREE + 2, D, 9), seL4_IllegalOperation);
    expect("Rotate re-badging an endpoint", seL4_CNode_Rotate(CNODE, FREE + 3, D, 1, CNODE, FREE + 2, D, 2, CNODE, FREE, D),
           seL4_IllegalOperation);
    // The copies are write-only, as init gave the endpoint: cancelling sends needs all rights.
    expect("CancelBadgedSends without all rights", seL4_CNode_CancelBadgedSends(CNODE, FREE + 2, D), seL4_IllegalOperation);
    expect("Delete", seL4_CNode_Delete(CNODE, FREE + 2, D), seL4_NoError);
    expect("Revoke", seL4_CNode_Revoke(CNODE, FREE, D), seL4_NoError);
    expect("Delete an empty slot", seL4_CNode_Delete(CNODE, FREE + 2, D), seL4_NoError);
    expect("Copy from an empty slot", seL4_CNode_Copy(CNODE, FREE + 4, D, CNODE, FREE + 9, D, seL4_AllRights),
           seL4_FailedLookup);
    expect("SaveCaller with none", seL4_CNode_SaveCaller(CNODE, FREE + 5, D), seL4_NoError);

    // TCB methods on itself.
    expect("SetPriority", seL4_TCB_SetPriority(TCB, TCB, 90), seL4_NoError);
    seL4_UserContext regs;
    expect("ReadRegisters of itself", seL4_TCB_ReadRegisters(TCB, 0, 0, 20, &regs), seL4_IllegalOperation);
    seL4_TCB_SetFlags_t flags = seL4_TCB_SetFlags(TCB, 0, 0);
    expect("SetFlags", flags.error, seL4_NoError);
    expect("Resume a running thread", seL4_TCB_Resume(TCB), seL4_NoError);

    // Methods of one object on another's cap.
    expect("Page_GetAddress on a TCB", seL4_X86_Page_GetAddress(TCB).error, seL4_IllegalOperation);
    expect("ASIDPool_Assign on a TCB", seL4_X86_ASIDPool_Assign(TCB, VSPACE), seL4_IllegalOperation);
    expect("Untyped_Retype on a CNode", seL4_Untyped_Retype(CNODE, seL4_EndpointObject, 0, CNODE, 0, 0, FREE + 6, 1),
           seL4_IllegalOperation);
    expect("IRQHandler_Ack on an empty slot", seL4_IRQHandler_Ack(FREE + 9), seL4_InvalidCapability);

    // The runtime: argv, string.h, snprintf.
    char text[64];
    int n = snprintf(text, sizeof text, "%s|%5.2s|%-3d|%#x|%lu", argv[0], "xyz", 7, 255, 12345678901ul);
    expect("snprintf", strcmp(text, "check|   xy|7  |0xff|12345678901"), 0);
    expect("snprintf length", n, (long)strlen(text));
    assert(strlen("abc") == 3);

    printf("sdk: %d checks, %d failed\n", checks, failed);
    return failed;
}
