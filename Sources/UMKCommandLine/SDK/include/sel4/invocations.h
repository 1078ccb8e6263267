/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel-object invocations by libsel4's names and argument order: each puts its
 * arguments in message registers and its caps in the extra caps, Calls the object and
 * returns the reply's seL4_Error (struct results as libsel4 returns them). Labels are
 * seL4's for a non-MCS x86_64 kernel without the hardware debug API, VT-x or an IOMMU.
 */
#ifndef SEL4_INVOCATIONS_H
#define SEL4_INVOCATIONS_H

#include <sel4/syscalls.h>

enum invocation_label {
    InvalidInvocation, UntypedRetype, TCBReadRegisters, TCBWriteRegisters, TCBCopyRegisters, TCBConfigure,
    TCBSetPriority, TCBSetMCPriority, TCBSetSchedParams, TCBSetIPCBuffer, TCBSetSpace, TCBSuspend, TCBResume,
    TCBBindNotification, TCBUnbindNotification, TCBSetTLSBase, TCBSetFlags, CNodeRevoke, CNodeDelete,
    CNodeCancelBadgedSends, CNodeCopy, CNodeMint, CNodeMove, CNodeMutate, CNodeRotate, CNodeSaveCaller,
    IRQIssueIRQHandler, IRQAckIRQ, IRQSetIRQHandler, IRQClearIRQHandler, DomainSetSet, DomainScheduleConfigure,
    DomainScheduleSetStart, nInvocationLabels
};
enum sel4_arch_invocation_label { X86PDPTMap = nInvocationLabels, X86PDPTUnmap, nSeL4ArchInvocationLabels };
enum arch_invocation_label {
    X86PageDirectoryMap = nSeL4ArchInvocationLabels, X86PageDirectoryUnmap, X86PageTableMap, X86PageTableUnmap,
    X86PageMap, X86PageUnmap, X86PageGetAddress, X86ASIDControlMakePool, X86ASIDPoolAssign, X86IOPortControlIssue,
    X86IOPortIn8, X86IOPortIn16, X86IOPortIn32, X86IOPortOut8, X86IOPortOut16, X86IOPortOut32,
    X86IRQIssueIRQHandlerIOAPIC, X86IRQIssueIRQHandlerMSI, nArchInvocationLabels
};
/* umk's own: the addresses a VSpace may map and run at (its host window). */
#define UMKVSpaceGetAddressRange 0x554D0001

/* Calls `service` with `length` words from `words` and `caps` extra caps; the reply's error. */
static inline seL4_Error umk_invoke(seL4_CPtr service, seL4_Word label, int length, const seL4_Word *words,
                                    int extraCaps, const seL4_CPtr *caps) {
    for (int i = 0; i < extraCaps; i++) seL4_SetCap(i, caps[i]);
    for (int i = 0; i < length; i++) seL4_SetMR(i, words[i]);
    seL4_MessageInfo_t reply = seL4_Call(service, seL4_MessageInfo_new(label, 0, extraCaps, length));
    return (seL4_Error)seL4_MessageInfo_get_label(reply);
}
#define UMK_WORDS(...) (const seL4_Word[]){__VA_ARGS__}
#define UMK_CAPS(...) (const seL4_CPtr[]){__VA_ARGS__}
#define UMK_COUNT(...) ((int)(sizeof((const seL4_Word[]){__VA_ARGS__}) / sizeof(seL4_Word)))
#define UMK_INVOKE(service, label, words, caps) \
    umk_invoke(service, label, UMK_COUNT words, UMK_WORDS words, UMK_COUNT caps, UMK_CAPS caps)
#define UMK_INVOKE_NOCAPS(service, label, words) umk_invoke(service, label, UMK_COUNT words, UMK_WORDS words, 0, 0)
#define UMK_INVOKE_NOARGS(service, label, caps) umk_invoke(service, label, 0, 0, UMK_COUNT caps, UMK_CAPS caps)

/* Untyped. */
static inline seL4_Error seL4_Untyped_Retype(seL4_Untyped service, seL4_Word type, seL4_Word size_bits, seL4_CNode root,
                                             seL4_Word node_index, seL4_Word node_depth, seL4_Word node_offset,
                                             seL4_Word num_objects) {
    return UMK_INVOKE(service, UntypedRetype, (type, size_bits, node_index, node_depth, node_offset, num_objects), (root));
}

/* CNode. */
static inline seL4_Error seL4_CNode_Revoke(seL4_CNode service, seL4_Word index, seL4_Uint8 depth) {
    return UMK_INVOKE_NOCAPS(service, CNodeRevoke, (index, depth));
}
static inline seL4_Error seL4_CNode_Delete(seL4_CNode service, seL4_Word index, seL4_Uint8 depth) {
    return UMK_INVOKE_NOCAPS(service, CNodeDelete, (index, depth));
}
static inline seL4_Error seL4_CNode_CancelBadgedSends(seL4_CNode service, seL4_Word index, seL4_Uint8 depth) {
    return UMK_INVOKE_NOCAPS(service, CNodeCancelBadgedSends, (index, depth));
}
static inline seL4_Error seL4_CNode_Copy(seL4_CNode service, seL4_Word dest_index, seL4_Uint8 dest_depth,
                                         seL4_CNode src_root, seL4_Word src_index, seL4_Uint8 src_depth,
                                         seL4_CapRights_t rights) {
    return UMK_INVOKE(service, CNodeCopy, (dest_index, dest_depth, src_index, src_depth, rights.words[0]), (src_root));
}
static inline seL4_Error seL4_CNode_Mint(seL4_CNode service, seL4_Word dest_index, seL4_Uint8 dest_depth,
                                         seL4_CNode src_root, seL4_Word src_index, seL4_Uint8 src_depth,
                                         seL4_CapRights_t rights, seL4_Word badge) {
    return UMK_INVOKE(service, CNodeMint, (dest_index, dest_depth, src_index, src_depth, rights.words[0], badge), (src_root));
}
static inline seL4_Error seL4_CNode_Move(seL4_CNode service, seL4_Word dest_index, seL4_Uint8 dest_depth,
                                         seL4_CNode src_root, seL4_Word src_index, seL4_Uint8 src_depth) {
    return UMK_INVOKE(service, CNodeMove, (dest_index, dest_depth, src_index, src_depth), (src_root));
}
static inline seL4_Error seL4_CNode_Mutate(seL4_CNode service, seL4_Word dest_index, seL4_Uint8 dest_depth,
                                           seL4_CNode src_root, seL4_Word src_index, seL4_Uint8 src_depth,
                                           seL4_Word badge) {
    return UMK_INVOKE(service, CNodeMutate, (dest_index, dest_depth, src_index, src_depth, badge), (src_root));
}
static inline seL4_Error seL4_CNode_Rotate(seL4_CNode service, seL4_Word dest_index, seL4_Uint8 dest_depth,
                                           seL4_Word dest_badge, seL4_CNode pivot_root, seL4_Word pivot_index,
                                           seL4_Uint8 pivot_depth, seL4_Word pivot_badge, seL4_CNode src_root,
                                           seL4_Word src_index, seL4_Uint8 src_depth) {
    return UMK_INVOKE(service, CNodeRotate, (dest_index, dest_depth, dest_badge, pivot_index, pivot_depth, pivot_badge,
                                             src_index, src_depth), (pivot_root, src_root));
}
static inline seL4_Error seL4_CNode_SaveCaller(seL4_CNode service, seL4_Word index, seL4_Uint8 depth) {
    return UMK_INVOKE_NOCAPS(service, CNodeSaveCaller, (index, depth));
}

/* TCB. */
static inline seL4_Error seL4_TCB_Configure(seL4_TCB service, seL4_Word fault_ep, seL4_CNode cspace_root,
                                            seL4_Word cspace_root_data, seL4_CPtr vspace_root,
                                            seL4_Word vspace_root_data, seL4_Word buffer, seL4_CPtr bufferFrame) {
    return UMK_INVOKE(service, TCBConfigure, (fault_ep, cspace_root_data, vspace_root_data, buffer),
                      (cspace_root, vspace_root, bufferFrame));
}
static inline seL4_Error seL4_TCB_SetSpace(seL4_TCB service, seL4_Word fault_ep, seL4_CNode cspace_root,
                                           seL4_Word cspace_root_data, seL4_CPtr vspace_root,
                                           seL4_Word vspace_root_data) {
    return UMK_INVOKE(service, TCBSetSpace, (fault_ep, cspace_root_data, vspace_root_data), (cspace_root, vspace_root));
}
static inline seL4_Error seL4_TCB_SetIPCBuffer(seL4_TCB service, seL4_Word buffer, seL4_CPtr bufferFrame) {
    return UMK_INVOKE(service, TCBSetIPCBuffer, (buffer), (bufferFrame));
}
static inline seL4_Error seL4_TCB_SetPriority(seL4_TCB service, seL4_TCB authority, seL4_Word priority) {
    return UMK_INVOKE(service, TCBSetPriority, (priority), (authority));
}
static inline seL4_Error seL4_TCB_SetMCPriority(seL4_TCB service, seL4_TCB authority, seL4_Word mcp) {
    return UMK_INVOKE(service, TCBSetMCPriority, (mcp), (authority));
}
static inline seL4_Error seL4_TCB_SetSchedParams(seL4_TCB service, seL4_TCB authority, seL4_Word mcp,
                                                 seL4_Word priority) {
    return UMK_INVOKE(service, TCBSetSchedParams, (mcp, priority), (authority));
}
static inline seL4_Error seL4_TCB_Suspend(seL4_TCB service) { return umk_invoke(service, TCBSuspend, 0, 0, 0, 0); }
static inline seL4_Error seL4_TCB_Resume(seL4_TCB service) { return umk_invoke(service, TCBResume, 0, 0, 0, 0); }
static inline seL4_Error seL4_TCB_BindNotification(seL4_TCB service, seL4_CPtr notification) {
    return UMK_INVOKE_NOARGS(service, TCBBindNotification, (notification));
}
static inline seL4_Error seL4_TCB_UnbindNotification(seL4_TCB service) {
    return umk_invoke(service, TCBUnbindNotification, 0, 0, 0, 0);
}
static inline seL4_Error seL4_TCB_SetTLSBase(seL4_TCB service, seL4_Word tls_base) {
    return UMK_INVOKE_NOCAPS(service, TCBSetTLSBase, (tls_base));
}
static inline seL4_Error seL4_TCB_ReadRegisters(seL4_TCB service, seL4_Bool suspend_source, seL4_Uint8 arch_flags,
                                                seL4_Word count, seL4_UserContext *regs) {
    (void)arch_flags;
    seL4_Error e = UMK_INVOKE_NOCAPS(service, TCBReadRegisters, ((seL4_Word)(suspend_source & 1), count));
    if (e == seL4_NoError) {
        seL4_Word *out = (seL4_Word *)regs;
        for (seL4_Word i = 0; i < count && i < sizeof(seL4_UserContext) / sizeof(seL4_Word); i++) out[i] = seL4_GetMR((int)i);
    }
    return e;
}
static inline seL4_Error seL4_TCB_WriteRegisters(seL4_TCB service, seL4_Bool resume_target, seL4_Uint8 arch_flags,
                                                 seL4_Word count, seL4_UserContext *regs) {
    (void)arch_flags;
    const seL4_Word *in = (const seL4_Word *)regs;
    seL4_Word n = count < sizeof(seL4_UserContext) / sizeof(seL4_Word) ? count : sizeof(seL4_UserContext) / sizeof(seL4_Word);
    seL4_SetMR(0, (seL4_Word)(resume_target & 1));
    seL4_SetMR(1, n);
    for (seL4_Word i = 0; i < n; i++) seL4_SetMR((int)(i + 2), in[i]);
    seL4_MessageInfo_t reply = seL4_Call(service, seL4_MessageInfo_new(TCBWriteRegisters, 0, 0, n + 2));
    return (seL4_Error)seL4_MessageInfo_get_label(reply);
}
static inline seL4_Error seL4_TCB_CopyRegisters(seL4_TCB service, seL4_TCB source, seL4_Bool suspend_source,
                                                seL4_Bool resume_target, seL4_Bool transfer_frame,
                                                seL4_Bool transfer_integer, seL4_Uint8 arch_flags) {
    (void)arch_flags;
    seL4_Word flags = (seL4_Word)(suspend_source & 1) | (seL4_Word)(resume_target & 1) << 1 |
                      (seL4_Word)(transfer_frame & 1) << 2 | (seL4_Word)(transfer_integer & 1) << 3;
    return UMK_INVOKE(service, TCBCopyRegisters, (flags), (source));
}
typedef struct { int error; seL4_Word flags; } seL4_TCB_SetFlags_t;
static inline seL4_TCB_SetFlags_t seL4_TCB_SetFlags(seL4_TCB service, seL4_Word clear, seL4_Word set) {
    seL4_TCB_SetFlags_t r = {UMK_INVOKE_NOCAPS(service, TCBSetFlags, (clear, set)), 0};
    if (r.error == seL4_NoError) r.flags = seL4_GetMR(0);
    return r;
}

/* Paging structures and frames. */
/* After a map invocation failed with seL4_FailedLookup: the bits left to translate where
 * the lookup stopped (39: no PDPT, 30: no page directory, 21: no page table). */
#define SEL4_MAPPING_LOOKUP_LEVEL 2
static inline seL4_Word seL4_MappingFailedLookupLevel(void) { return seL4_GetMR(SEL4_MAPPING_LOOKUP_LEVEL); }

static inline seL4_Error seL4_X86_PDPT_Map(seL4_X86_PDPT service, seL4_X64_PML4 pml4, seL4_Word vaddr,
                                           seL4_X86_VMAttributes attr) {
    return UMK_INVOKE(service, X86PDPTMap, (vaddr, attr), (pml4));
}
static inline seL4_Error seL4_X86_PDPT_Unmap(seL4_X86_PDPT service) { return umk_invoke(service, X86PDPTUnmap, 0, 0, 0, 0); }
static inline seL4_Error seL4_X86_PageDirectory_Map(seL4_X86_PageDirectory service, seL4_CPtr vspace, seL4_Word vaddr,
                                                    seL4_X86_VMAttributes attr) {
    return UMK_INVOKE(service, X86PageDirectoryMap, (vaddr, attr), (vspace));
}
static inline seL4_Error seL4_X86_PageDirectory_Unmap(seL4_X86_PageDirectory service) {
    return umk_invoke(service, X86PageDirectoryUnmap, 0, 0, 0, 0);
}
static inline seL4_Error seL4_X86_PageTable_Map(seL4_X86_PageTable service, seL4_CPtr vspace, seL4_Word vaddr,
                                                seL4_X86_VMAttributes attr) {
    return UMK_INVOKE(service, X86PageTableMap, (vaddr, attr), (vspace));
}
static inline seL4_Error seL4_X86_PageTable_Unmap(seL4_X86_PageTable service) {
    return umk_invoke(service, X86PageTableUnmap, 0, 0, 0, 0);
}
static inline seL4_Error seL4_X86_Page_Map(seL4_X86_Page service, seL4_CPtr vspace, seL4_Word vaddr,
                                           seL4_CapRights_t rights, seL4_X86_VMAttributes attr) {
    return UMK_INVOKE(service, X86PageMap, (vaddr, rights.words[0], attr), (vspace));
}
static inline seL4_Error seL4_X86_Page_Unmap(seL4_X86_Page service) { return umk_invoke(service, X86PageUnmap, 0, 0, 0, 0); }
typedef struct { int error; seL4_Word paddr; } seL4_X86_Page_GetAddress_t;
static inline seL4_X86_Page_GetAddress_t seL4_X86_Page_GetAddress(seL4_X86_Page service) {
    seL4_X86_Page_GetAddress_t r = {umk_invoke(service, X86PageGetAddress, 0, 0, 0, 0), 0};
    if (r.error == seL4_NoError) r.paddr = seL4_GetMR(0);
    return r;
}
static inline seL4_Error seL4_X86_ASIDControl_MakePool(seL4_X86_ASIDControl service, seL4_Untyped untyped,
                                                       seL4_CNode root, seL4_Word index, seL4_Uint8 depth) {
    return UMK_INVOKE(service, X86ASIDControlMakePool, (index, depth), (untyped, root));
}
static inline seL4_Error seL4_X86_ASIDPool_Assign(seL4_X86_ASIDPool service, seL4_CPtr vspace) {
    return UMK_INVOKE_NOARGS(service, X86ASIDPoolAssign, (vspace));
}
/* umk: the addresses `vspace` may map and run at, [start, end). */
typedef struct { int error; seL4_Word start, end; } umk_VSpace_GetAddressRange_t;
static inline umk_VSpace_GetAddressRange_t umk_VSpace_GetAddressRange(seL4_CPtr vspace) {
    umk_VSpace_GetAddressRange_t r = {umk_invoke(vspace, UMKVSpaceGetAddressRange, 0, 0, 0, 0), 0, 0};
    if (r.error == seL4_NoError) { r.start = seL4_GetMR(0); r.end = seL4_GetMR(1); }
    return r;
}

/* IRQs. */
static inline seL4_Error seL4_IRQControl_Get(seL4_IRQControl service, seL4_Word irq, seL4_CNode root,
                                             seL4_Word index, seL4_Uint8 depth) {
    return UMK_INVOKE(service, IRQIssueIRQHandler, (irq, index, depth), (root));
}
static inline seL4_Error seL4_IRQHandler_Ack(seL4_IRQHandler service) { return umk_invoke(service, IRQAckIRQ, 0, 0, 0, 0); }
static inline seL4_Error seL4_IRQHandler_SetNotification(seL4_IRQHandler service, seL4_CPtr notification) {
    return UMK_INVOKE_NOARGS(service, IRQSetIRQHandler, (notification));
}
static inline seL4_Error seL4_IRQHandler_Clear(seL4_IRQHandler service) {
    return umk_invoke(service, IRQClearIRQHandler, 0, 0, 0, 0);
}

/* I/O ports. */
static inline seL4_Error seL4_X86_IOPortControl_Issue(seL4_X86_IOPortControl service, seL4_Word first_port,
                                                      seL4_Word last_port, seL4_CNode root, seL4_Word index,
                                                      seL4_Uint8 depth) {
    return UMK_INVOKE(service, X86IOPortControlIssue, (first_port, last_port, index, depth), (root));
}
typedef struct { int error; seL4_Uint8 result; } seL4_X86_IOPort_In8_t;
typedef struct { int error; seL4_Uint16 result; } seL4_X86_IOPort_In16_t;
typedef struct { int error; seL4_Uint32 result; } seL4_X86_IOPort_In32_t;
static inline seL4_X86_IOPort_In8_t seL4_X86_IOPort_In8(seL4_X86_IOPort service, seL4_Uint16 port) {
    seL4_X86_IOPort_In8_t r = {UMK_INVOKE_NOCAPS(service, X86IOPortIn8, (port)), 0};
    if (r.error == seL4_NoError) r.result = (seL4_Uint8)seL4_GetMR(0);
    return r;
}
static inline seL4_X86_IOPort_In16_t seL4_X86_IOPort_In16(seL4_X86_IOPort service, seL4_Uint16 port) {
    seL4_X86_IOPort_In16_t r = {UMK_INVOKE_NOCAPS(service, X86IOPortIn16, (port)), 0};
    if (r.error == seL4_NoError) r.result = (seL4_Uint16)seL4_GetMR(0);
    return r;
}
static inline seL4_X86_IOPort_In32_t seL4_X86_IOPort_In32(seL4_X86_IOPort service, seL4_Uint16 port) {
    seL4_X86_IOPort_In32_t r = {UMK_INVOKE_NOCAPS(service, X86IOPortIn32, (port)), 0};
    if (r.error == seL4_NoError) r.result = (seL4_Uint32)seL4_GetMR(0);
    return r;
}
static inline seL4_Error seL4_X86_IOPort_Out8(seL4_X86_IOPort service, seL4_Word port, seL4_Word data) {
    return UMK_INVOKE_NOCAPS(service, X86IOPortOut8, (port, data));
}
static inline seL4_Error seL4_X86_IOPort_Out16(seL4_X86_IOPort service, seL4_Word port, seL4_Word data) {
    return UMK_INVOKE_NOCAPS(service, X86IOPortOut16, (port, data));
}
static inline seL4_Error seL4_X86_IOPort_Out32(seL4_X86_IOPort service, seL4_Word port, seL4_Word data) {
    return UMK_INVOKE_NOCAPS(service, X86IOPortOut32, (port, data));
}

/* Domains. */
static inline seL4_Error seL4_DomainSet_Set(seL4_DomainSet service, seL4_Uint8 domain, seL4_TCB thread) {
    return UMK_INVOKE(service, DomainSetSet, (domain), (thread));
}

#endif
