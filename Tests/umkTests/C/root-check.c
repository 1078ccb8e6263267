// SPDX-License-Identifier: Apache-2.0
//
// Every invocation wrapper and syscall of the SDK, from a C root task, against the result
// seL4 gives. Built twice: with the direct call and with -D UMK_SYSCALL_TRAP (the
// syscall instruction, trapped); both print the same lines. Then a syscall instruction
// with a number seL4 does not have, and a host (Linux) syscall, both from a thread of this
// image: each is an UnknownSyscall fault on the thread's fault endpoint.

#include <sel4/sel4.h>
#include <sel4runtime.h>
#include <stdio.h>
#include <string.h>

static int checks, failed;
static const seL4_BootInfo *info;
static seL4_CPtr next_slot;
#define CNODE seL4_CapInitThreadCNode
#define VSPACE seL4_CapInitThreadVSpace
#define D seL4_WordBits

static void expect(const char *what, long got, long want) {
    checks++;
    if (got != want) failed++;
    printf("%s %s: %ld%s\n", got == want ? "ok" : "FAIL", what, got, got == want ? "" : " (seL4: different)");
    if (got != want) printf("  want %ld\n", want);
}

static seL4_CPtr slot(void) { return next_slot++; }

/* The largest untyped, for every object this program makes. */
static seL4_CPtr untyped(void) {
    seL4_CPtr best = info->untyped.start;
    for (seL4_CPtr s = info->untyped.start; s < info->untyped.end; s++) {
        const seL4_UntypedDesc *d = &info->untypedList[s - info->untyped.start];
        if (!d->isDevice && d->sizeBits > info->untypedList[best - info->untyped.start].sizeBits) best = s;
    }
    return best;
}

static seL4_CPtr make(seL4_Word type, seL4_Word bits) {
    seL4_CPtr s = slot();
    seL4_Error e = seL4_Untyped_Retype(untyped(), type, bits, CNODE, 0, 0, s, 1);
    if (e != seL4_NoError) printf("FAIL make type %lu: %d\n", (unsigned long)type, (int)e);
    return s;
}

/* A second thread in this CSpace and VSpace: its stack, TLS and IPC buffer. */
static char stacks[2][16384] __attribute__((aligned(16)));
static char tls_blocks[2][512] __attribute__((aligned(16)));
static seL4_Word area;  /* a free 1 GiB-aligned part of the root's range for mappings */

static seL4_CPtr start_thread(int i, void (*fn)(seL4_Word), seL4_Word arg, seL4_CPtr fault_ep) {
    seL4_CPtr tcb = make(seL4_TCBObject, seL4_TCBBits);
    seL4_CPtr buffer = make(seL4_X86_4K, seL4_PageBits);
    seL4_Word buffer_at = area + 0x200000 + (seL4_Word)i * 0x1000;
    seL4_X86_Page_Map(buffer, VSPACE, buffer_at, seL4_ReadWrite, seL4_X86_Default_VMAttributes);
    seL4_TCB_Configure(tcb, fault_ep, CNODE, 0, VSPACE, 0, buffer_at, buffer);
    seL4_TCB_SetPriority(tcb, seL4_CapInitThreadTCB, 254);
    uintptr_t tls = sel4runtime_write_tls_image(tls_blocks[i]);
    sel4runtime_set_tls_variable(tls, __sel4_ipc_buffer, (seL4_IPCBuffer *)buffer_at);
    seL4_UserContext regs = {0};
    regs.rip = (seL4_Word)fn;
    regs.rsp = (seL4_Word)stacks[i] + sizeof stacks[i] - 8;
    regs.rdi = arg;
    regs.fs_base = tls;
    seL4_TCB_WriteRegisters(tcb, 1, 0, sizeof regs / sizeof(seL4_Word), &regs);
    return tcb;
}

static seL4_CPtr ep, ntfn;

/* The IPC partner: calls, sends with MRs beyond MR3, replies to a call and exits to Recv. */
static void partner(seL4_Word badged) {
    seL4_SetMR(0, 10); seL4_SetMR(1, 20); seL4_SetMR(2, 30); seL4_SetMR(3, 40); seL4_SetMR(4, 50);
    seL4_MessageInfo_t r = seL4_Call(badged, seL4_MessageInfo_new(7, 0, 0, 5));
    seL4_SetMR(0, seL4_MessageInfo_get_label(r) == 8 && seL4_GetMR(0) == 150 ? 1 : 0);
    seL4_Word mr0 = 1, mr1 = 2, mr2 = 3, mr3 = 4;
    seL4_SendWithMRs(badged, seL4_MessageInfo_new(9, 0, 0, 4), &mr0, &mr1, &mr2, &mr3);
    seL4_Signal(ntfn);
    seL4_Yield();
    seL4_Word badge;
    seL4_Recv(ep, &badge);
    seL4_SetMR(0, badge + 1);
    seL4_Reply(seL4_MessageInfo_new(0, 0, 0, 1));
    seL4_Recv(ep, &badge);
}

/* A syscall instruction with a number seL4 does not have (RDX), then a Linux write(2). */
static void rogue(seL4_Word unused) {
    (void)unused;
    register seL4_Word rdx __asm__("rdx") = 0x7777;
    register seL4_Word rax __asm__("rax") = 0;
    __asm__ volatile("syscall" : "+r"(rdx), "+r"(rax) : : "rcx", "r11", "memory");
    static const char text[] = "host\n";
    register seL4_Word rdi __asm__("rdi") = 1;
    register seL4_Word rsi __asm__("rsi") = (seL4_Word)text;
    rdx = 5;
    rax = 1; /* Linux's write */
    __asm__ volatile("syscall" : "+r"(rdx), "+r"(rax), "+r"(rdi), "+r"(rsi) : : "rcx", "r11", "memory");
    for (;;) seL4_Yield();
}

int main(void) {
    info = sel4runtime_bootinfo();
    next_slot = info->empty.start;
    area = ((seL4_Word)info & ~((1ul << 30) - 1)) + (2ul << 30);

    // Untyped: every object type, and seL4's refusals.
    seL4_CPtr u = untyped();
    expect("Retype an endpoint", seL4_Untyped_Retype(u, seL4_EndpointObject, 0, CNODE, 0, 0, (ep = slot()), 1), seL4_NoError);
    expect("Retype a notification", seL4_Untyped_Retype(u, seL4_NotificationObject, 0, CNODE, 0, 0, (ntfn = slot()), 1), seL4_NoError);
    expect("Retype a CNode of 16 slots", seL4_Untyped_Retype(u, seL4_CapTableObject, 4, CNODE, 0, 0, slot(), 1), seL4_NoError);
    expect("Retype two 4K pages", seL4_Untyped_Retype(u, seL4_X86_4K, 0, CNODE, 0, 0, next_slot, 2), seL4_NoError);
    seL4_CPtr page = next_slot, page2 = next_slot + 1;
    next_slot += 2;
    seL4_CPtr pd, pt, pdpt, pml4, large;
    expect("Retype a page directory", seL4_Untyped_Retype(u, seL4_X86_PageDirectoryObject, 0, CNODE, 0, 0, (pd = slot()), 1), seL4_NoError);
    expect("Retype a page table", seL4_Untyped_Retype(u, seL4_X86_PageTableObject, 0, CNODE, 0, 0, (pt = slot()), 1), seL4_NoError);
    expect("Retype a PDPT", seL4_Untyped_Retype(u, seL4_X86_PDPTObject, 0, CNODE, 0, 0, (pdpt = slot()), 1), seL4_NoError);
    expect("Retype a PML4", seL4_Untyped_Retype(u, seL4_X64_PML4Object, 0, CNODE, 0, 0, (pml4 = slot()), 1), seL4_NoError);
    expect("Retype a 2M page", seL4_Untyped_Retype(u, seL4_X86_LargePageObject, 0, CNODE, 0, 0, (large = slot()), 1), seL4_NoError);
    expect("Retype an unknown type", seL4_Untyped_Retype(u, 99, 0, CNODE, 0, 0, slot(), 1), seL4_InvalidArgument);
    expect("Retype a CNode of 0 bits", seL4_Untyped_Retype(u, seL4_CapTableObject, 0, CNODE, 0, 0, slot(), 1), seL4_InvalidArgument);
    expect("Retype 0 objects", seL4_Untyped_Retype(u, seL4_EndpointObject, 0, CNODE, 0, 0, slot(), 0), seL4_RangeError);
    expect("Retype into a full slot", seL4_Untyped_Retype(u, seL4_EndpointObject, 0, CNODE, 0, 0, ep, 1), seL4_DeleteFirst);
    expect("Retype past the CNode's end", seL4_Untyped_Retype(u, seL4_EndpointObject, 0, CNODE, 0, 0, 4095, 2), seL4_RangeError);

    // CNode.
    seL4_CPtr badged = slot(), copy = slot(), moved = slot();
    expect("Mint a badge", seL4_CNode_Mint(CNODE, badged, D, CNODE, ep, D, seL4_AllRights, 0x42), seL4_NoError);
    expect("Mint over a badge", seL4_CNode_Mint(CNODE, copy, D, CNODE, badged, D, seL4_AllRights, 0x43), seL4_IllegalOperation);
    expect("Copy", seL4_CNode_Copy(CNODE, copy, D, CNODE, badged, D, seL4_CanWrite), seL4_NoError);
    expect("Copy into a full slot", seL4_CNode_Copy(CNODE, copy, D, CNODE, badged, D, seL4_AllRights), seL4_DeleteFirst);
    expect("Move", seL4_CNode_Move(CNODE, moved, D, CNODE, copy, D), seL4_NoError);
    expect("Mutate an endpoint", seL4_CNode_Mutate(CNODE, copy, D, CNODE, moved, D, 5), seL4_IllegalOperation);
    expect("CancelBadgedSends", seL4_CNode_CancelBadgedSends(CNODE, badged, D), seL4_NoError);
    expect("CancelBadgedSends without all rights", seL4_CNode_CancelBadgedSends(CNODE, moved, D), seL4_IllegalOperation);
    expect("Rotate an endpoint (its badge cannot change)", seL4_CNode_Rotate(CNODE, copy, D, 0, CNODE, page2, D, 0, CNODE, moved, D), seL4_IllegalOperation);
    expect("Delete", seL4_CNode_Delete(CNODE, moved, D), seL4_NoError);
    expect("Revoke", seL4_CNode_Revoke(CNODE, ep, D), seL4_NoError);
    expect("Revoke took the badged copy", seL4_DebugCapIdentify(badged), 0);
    expect("Copy from an empty slot", seL4_CNode_Copy(CNODE, copy, D, CNODE, badged, D, seL4_AllRights), seL4_FailedLookup);
    expect("SaveCaller with no caller", seL4_CNode_SaveCaller(CNODE, copy, D), seL4_NoError);
    expect("CNode depth too large", seL4_CNode_Delete(CNODE, copy, 65), seL4_RangeError);

    // Mapping: a PDPT is there (BootInfo's); a page directory, a page table, pages.
    expect("Page_Map without a page directory", seL4_X86_Page_Map(page, VSPACE, area, seL4_ReadWrite, 0), seL4_FailedLookup);
    expect("the lookup stopped at the PDPT's level", seL4_MappingFailedLookupLevel(), 30);
    expect("PDPT_Map where one is", seL4_X86_PDPT_Map(pdpt, VSPACE, area, 0), seL4_DeleteFirst);
    expect("PageDirectory_Map", seL4_X86_PageDirectory_Map(pd, VSPACE, area, 0), seL4_NoError);
    expect("PageTable_Map", seL4_X86_PageTable_Map(pt, VSPACE, area, 0), seL4_NoError);
    expect("PageTable_Map again", seL4_X86_PageTable_Map(pt, VSPACE, area, 0), seL4_InvalidCapability);
    expect("Page_Map", seL4_X86_Page_Map(page, VSPACE, area, seL4_ReadWrite, 0), seL4_NoError);
    *(volatile seL4_Word *)area = 0x5EED;
    expect("the page holds what was written", (long)*(volatile seL4_Word *)area, 0x5EED);
    expect("Page_Map unaligned", seL4_X86_Page_Map(page2, VSPACE, area + 8, seL4_ReadWrite, 0), seL4_AlignmentError);
    // x86 seL4 replaces a 4 KiB mapping without asking (a 2 MiB one over a page table it refuses).
    expect("Page_Map over a mapping", seL4_X86_Page_Map(page2, VSPACE, area, seL4_ReadWrite, 0), seL4_NoError);
    expect("the other page is there now", (long)*(volatile seL4_Word *)area, 0);
    expect("Page_Map a 2M page over the page table", seL4_X86_Page_Map(large, VSPACE, area, seL4_ReadWrite, 0), seL4_DeleteFirst);
    expect("Page_Map a 2M page", seL4_X86_Page_Map(large, VSPACE, area + (2ul << 21), seL4_ReadWrite, 0), seL4_NoError);
    seL4_X86_Page_GetAddress_t addr = seL4_X86_Page_GetAddress(page);
    expect("Page_GetAddress", addr.error, seL4_NoError);
    expect("Page_GetAddress is page-aligned", (long)(addr.paddr & 0xFFF), 0);
    expect("Page_Unmap", seL4_X86_Page_Unmap(page), seL4_NoError);
    expect("Page_Unmap of an unmapped page", seL4_X86_Page_Unmap(page), seL4_NoError);
    expect("PageTable_Unmap", seL4_X86_PageTable_Unmap(pt), seL4_NoError);
    expect("PageDirectory_Unmap", seL4_X86_PageDirectory_Unmap(pd), seL4_NoError);
    expect("PDPT_Unmap of an unmapped PDPT", seL4_X86_PDPT_Unmap(pdpt), seL4_NoError);
    expect("map in a PML4 with no ASID", seL4_X86_PDPT_Map(pdpt, pml4, 0, 0), seL4_InvalidCapability);
    expect("PageDirectory_Map after its unmap", seL4_X86_PageDirectory_Map(pd, VSPACE, area, 0), seL4_NoError);
    expect("PageTable_Map after its unmap", seL4_X86_PageTable_Map(pt, VSPACE, area + 0x200000, 0), seL4_NoError);

    // ASIDs: a pool from a 4 KiB untyped, then the new VSpace gets an ASID and a range.
    seL4_CPtr small = make(seL4_UntypedObject, seL4_ASIDPoolBits), pool = slot();
    expect("ASIDControl_MakePool", seL4_X86_ASIDControl_MakePool(seL4_CapASIDControl, small, CNODE, pool, D), seL4_NoError);
    expect("ASIDControl_MakePool again", seL4_X86_ASIDControl_MakePool(seL4_CapASIDControl, small, CNODE, slot(), D),
           seL4_RevokeFirst);
    expect("ASIDPool_Assign", seL4_X86_ASIDPool_Assign(pool, pml4), seL4_NoError);
    expect("ASIDPool_Assign again", seL4_X86_ASIDPool_Assign(pool, pml4), seL4_InvalidCapability);
    umk_VSpace_GetAddressRange_t range = umk_VSpace_GetAddressRange(pml4);
    expect("the new VSpace's range", range.error, seL4_NoError);
    expect("PDPT_Map in the new VSpace", seL4_X86_PDPT_Map(pdpt, pml4, range.start, 0), seL4_NoError);

    // IRQs and I/O ports: COM1's line and registers (the 16550's scratch register holds a byte).
    seL4_CPtr irq = slot(), ports = slot();
    expect("IRQControl_Get", seL4_IRQControl_Get(seL4_CapIRQControl, 4, CNODE, irq, D), seL4_NoError);
    expect("IRQControl_Get again", seL4_IRQControl_Get(seL4_CapIRQControl, 4, CNODE, slot(), D), seL4_RevokeFirst);
    expect("IRQControl_Get of line 300", seL4_IRQControl_Get(seL4_CapIRQControl, 300, CNODE, slot(), D), seL4_RangeError);
    expect("IRQHandler_SetNotification", seL4_IRQHandler_SetNotification(irq, ntfn), seL4_NoError);
    expect("IRQHandler_Ack", seL4_IRQHandler_Ack(irq), seL4_NoError);
    expect("IRQHandler_Clear", seL4_IRQHandler_Clear(irq), seL4_NoError);
    expect("IOPortControl_Issue", seL4_X86_IOPortControl_Issue(seL4_CapIOPortControl, 0x3F8, 0x3FF, CNODE, ports, D), seL4_NoError);
    expect("IOPortControl_Issue overlapping", seL4_X86_IOPortControl_Issue(seL4_CapIOPortControl, 0x3FF, 0x400, CNODE, slot(), D),
           seL4_RevokeFirst);
    expect("IOPort_Out8", seL4_X86_IOPort_Out8(ports, 0x3FF, 0xA5), seL4_NoError);
    seL4_X86_IOPort_In8_t in8 = seL4_X86_IOPort_In8(ports, 0x3FF);
    expect("IOPort_In8", in8.error, seL4_NoError);
    expect("IOPort_In8 reads the scratch register", in8.result, 0xA5);
    expect("IOPort_Out16", seL4_X86_IOPort_Out16(ports, 0x3FE, 0), seL4_NoError);
    expect("IOPort_In16", seL4_X86_IOPort_In16(ports, 0x3FE).error, seL4_NoError);
    expect("IOPort_Out32", seL4_X86_IOPort_Out32(ports, 0x3FC, 0), seL4_NoError);
    expect("IOPort_In32", seL4_X86_IOPort_In32(ports, 0x3FC).error, seL4_NoError);
    expect("IOPort_In32 past the cap's last port", seL4_X86_IOPort_In32(ports, 0x3FD).error, seL4_IllegalOperation);

    // TCBs, and IPC with a thread of this image.
    seL4_CPtr minted = slot();
    seL4_CNode_Mint(CNODE, minted, D, CNODE, ep, D, seL4_AllRights, 0x61);
    seL4_CPtr tcb = start_thread(0, partner, minted, 0);
    seL4_Word badge = 0;
    seL4_MessageInfo_t m = seL4_Recv(ep, &badge);
    expect("Recv: the badge", (long)badge, 0x61);
    expect("Recv: label and length", (long)(seL4_MessageInfo_get_label(m) * 100 + seL4_MessageInfo_get_length(m)), 705);
    expect("Recv: MR0-MR4", (long)(seL4_GetMR(0) + seL4_GetMR(1) + seL4_GetMR(2) + seL4_GetMR(3) + seL4_GetMR(4)), 150);
    expect("SaveCaller", seL4_CNode_SaveCaller(CNODE, copy, D), seL4_NoError);
    seL4_SetMR(0, 150);
    seL4_Send(copy, seL4_MessageInfo_new(8, 0, 0, 1));
    expect("the saved reply cap is gone after use", seL4_DebugCapIdentify(copy), 0);
    seL4_Word mr0 = 0, mr1 = 0, mr2 = 0, mr3 = 0;
    m = seL4_RecvWithMRs(ep, &badge, &mr0, &mr1, &mr2, &mr3);
    expect("RecvWithMRs", (long)(seL4_MessageInfo_get_label(m) * 10000 + mr0 * 1000 + mr1 * 100 + mr2 * 10 + mr3), 91234);
    seL4_Wait(ntfn, &badge);
    expect("Wait", (long)badge, 0);
    expect("Poll with nothing", (long)seL4_Poll(ntfn, &badge).words[0] + (long)badge, 0);
    seL4_NBSend(ep, seL4_MessageInfo_new(0, 0, 0, 0));
    seL4_Word nb_badge = 99;
    seL4_NBRecv(ep, &nb_badge);
    expect("NBRecv with nobody sending", (long)nb_badge, 0);
    seL4_Yield();
    seL4_SetMR(0, 1000);
    m = seL4_Call(ep, seL4_MessageInfo_new(0, 0, 0, 1));
    expect("Call answered with the badge + 1", (long)seL4_GetMR(0), 1);
    expect("ReadRegisters", seL4_TCB_ReadRegisters(tcb, 0, 0, 20, &(seL4_UserContext){0}), seL4_NoError);
    expect("Suspend", seL4_TCB_Suspend(tcb), seL4_NoError);
    seL4_UserContext regs;
    expect("ReadRegisters of a suspended thread", seL4_TCB_ReadRegisters(tcb, 0, 0, 20, &regs), seL4_NoError);
    expect("its TLS base as written", regs.fs_base != 0, 1);
    seL4_CPtr tcb2 = make(seL4_TCBObject, seL4_TCBBits);
    expect("CopyRegisters", seL4_TCB_CopyRegisters(tcb2, tcb, 0, 0, 1, 1, 0), seL4_NoError);
    expect("SetSpace", seL4_TCB_SetSpace(tcb2, 0, CNODE, 0, VSPACE, 0), seL4_NoError);
    expect("SetIPCBuffer without a frame", seL4_TCB_SetIPCBuffer(tcb2, area + 0x200000, 0), seL4_IllegalOperation);
    expect("SetIPCBuffer unaligned", seL4_TCB_SetIPCBuffer(tcb2, area + 0x200001, page2), seL4_AlignmentError);
    expect("SetMCPriority above the authority's", seL4_TCB_SetMCPriority(tcb2, tcb, 255), seL4_RangeError);
    expect("SetSchedParams", seL4_TCB_SetSchedParams(tcb2, seL4_CapInitThreadTCB, 100, 50), seL4_NoError);
    expect("SetPriority", seL4_TCB_SetPriority(tcb2, seL4_CapInitThreadTCB, 60), seL4_NoError);
    expect("BindNotification", seL4_TCB_BindNotification(tcb2, ntfn), seL4_NoError);
    expect("BindNotification twice", seL4_TCB_BindNotification(tcb2, ntfn), seL4_IllegalOperation);
    expect("UnbindNotification", seL4_TCB_UnbindNotification(tcb2), seL4_NoError);
    expect("SetTLSBase", seL4_TCB_SetTLSBase(tcb2, 0x1000), seL4_NoError);
    expect("SetFlags", seL4_TCB_SetFlags(tcb2, 0, 0).error, seL4_NoError);
    expect("DomainSet_Set domain 0", seL4_DomainSet_Set(seL4_CapDomain, 0, tcb2), seL4_NoError);
    expect("DomainSet_Set domain 1", seL4_DomainSet_Set(seL4_CapDomain, 1, tcb2), seL4_InvalidArgument);
    expect("Resume", seL4_TCB_Resume(tcb), seL4_NoError);
    expect("TCB_Configure", seL4_TCB_Configure(tcb2, 0, CNODE, 0, VSPACE, 0, 0, 0), seL4_NoError);
    expect("Page_Map on a TCB", seL4_X86_Page_Map(tcb2, VSPACE, area, seL4_ReadWrite, 0), seL4_IllegalOperation);

    // Debug calls.
    expect("DebugCapIdentify of the TCB", seL4_DebugCapIdentify(seL4_CapInitThreadTCB), 12);
    seL4_DebugNameThread(tcb2, "checked");
    seL4_DebugSnapshot();

    // Syscall instructions that are not seL4's: UnknownSyscall faults on the fault endpoint.
    seL4_CPtr fault_ep = slot();
    seL4_CNode_Mint(CNODE, fault_ep, D, CNODE, ep, D, seL4_AllRights, 0xFA);
    start_thread(1, rogue, 0, fault_ep);
    m = seL4_Recv(ep, &badge);
    expect("unknown syscall: a fault message", (long)(seL4_MessageInfo_get_label(m) * 100 + seL4_MessageInfo_get_length(m)),
           seL4_Fault_UnknownSyscall * 100 + seL4_UnknownSyscall_Length);
    expect("unknown syscall: the number", (long)seL4_GetMR(seL4_UnknownSyscall_Syscall), 0x7777);
    expect("unknown syscall: its badge", (long)badge, 0xFA);
    seL4_Word ip = seL4_GetMR(seL4_UnknownSyscall_FaultIP);
    /* Resume after the instruction, as an emulator of the call would. */
    seL4_SetMR(seL4_UnknownSyscall_FaultIP, ip + 2);
    m = seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, seL4_UnknownSyscall_Length), &badge);
    expect("a host syscall: a fault message too", (long)seL4_MessageInfo_get_label(m), seL4_Fault_UnknownSyscall);
    expect("a host syscall: seL4's number is RDX (write's count)", (long)seL4_GetMR(seL4_UnknownSyscall_Syscall), 5);
    expect("a host syscall: RAX is Linux's number", (long)seL4_GetMR(seL4_UnknownSyscall_RAX), 1);

    printf("root: %d checks, %d failed\n", checks, failed);
    return failed;
}
