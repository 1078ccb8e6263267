/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seL4's system calls (non-MCS) and message registers. On umk a syscall is a direct call
 * of the kernel's entry with a syscall block (umk's fast way in): the block carries what
 * seL4's x86_64 registers carry (the number, the cap or badge, the message info and MR0-MR3);
 * MR4 and up live in the IPC buffer, as on seL4. The runtime (crt0) keeps the entry and
 * the IPC buffer's address, in thread-local storage as libsel4 keeps the latter.
 */
#ifndef SEL4_SYSCALLS_H
#define SEL4_SYSCALLS_H

#include <sel4/types.h>

/* umk: the syscall block and the kernel's entry, as the kernel starts a thread with it. */
typedef struct {
    seL4_Int64 number;
    seL4_Word cptr;
    seL4_Word info;
    seL4_Word mr[4];
} umk_syscall_block_t;
extern void (*__umk_syscall)(umk_syscall_block_t *);
extern __thread seL4_IPCBuffer *__sel4_ipc_buffer;

typedef enum {
    seL4_SysCall = -1,
    seL4_SysReplyRecv = -2,
    seL4_SysSend = -3,
    seL4_SysNBSend = -4,
    seL4_SysRecv = -5,
    seL4_SysReply = -6,
    seL4_SysYield = -7,
    seL4_SysNBRecv = -8,
    seL4_SysDebugPutChar = -9,
    seL4_SysDebugDumpScheduler = -10,
    seL4_SysDebugHalt = -11,
    seL4_SysDebugCapIdentify = -12,
    seL4_SysDebugSnapshot = -13,
    seL4_SysDebugNameThread = -14,
    seL4_SysSetTLSBase = -30
} seL4_Syscall_ID;

static inline seL4_IPCBuffer *seL4_GetIPCBuffer(void) { return __sel4_ipc_buffer; }
static inline void seL4_SetIPCBuffer(seL4_IPCBuffer *buffer) { __sel4_ipc_buffer = buffer; }
static inline seL4_Word seL4_GetMR(int i) { return __sel4_ipc_buffer->msg[i]; }
static inline void seL4_SetMR(int i, seL4_Word v) { __sel4_ipc_buffer->msg[i] = v; }
static inline seL4_Word seL4_GetUserData(void) { return __sel4_ipc_buffer->userData; }
static inline void seL4_SetUserData(seL4_Word v) { __sel4_ipc_buffer->userData = v; }
static inline seL4_Word seL4_GetBadge(int i) { return __sel4_ipc_buffer->caps_or_badges[i]; }
static inline seL4_CPtr seL4_GetCap(int i) { return (seL4_CPtr)__sel4_ipc_buffer->caps_or_badges[i]; }
static inline void seL4_SetCap(int i, seL4_CPtr cptr) { __sel4_ipc_buffer->caps_or_badges[i] = (seL4_Word)cptr; }
static inline void seL4_GetCapReceivePath(seL4_CPtr *root, seL4_CPtr *index, seL4_Word *depth) {
    if (root) *root = __sel4_ipc_buffer->receiveCNode;
    if (index) *index = __sel4_ipc_buffer->receiveIndex;
    if (depth) *depth = __sel4_ipc_buffer->receiveDepth;
}
static inline void seL4_SetCapReceivePath(seL4_CPtr root, seL4_CPtr index, seL4_Word depth) {
    __sel4_ipc_buffer->receiveCNode = root;
    __sel4_ipc_buffer->receiveIndex = index;
    __sel4_ipc_buffer->receiveDepth = depth;
}

/* One syscall: MR0-MR3 from `mrs` in, back into it out (null: not sent, not kept). */
#ifdef UMK_SYSCALL_TRAP
/* Built with -DUMK_SYSCALL_TRAP: seL4's binary ABI, a `syscall` instruction with seL4's
 * x86_64 registers (RDX the number, RDI the cap or badge, RSI the message info, R10, R8,
 * R9 and R15 MR0-MR3; RBX keeps the stack pointer, RCX and R11 are lost), which umk traps
 * (Syscall User Dispatch). Slower than the direct call; the same results. */
static inline seL4_MessageInfo_t umk_syscall(seL4_Syscall_ID number, seL4_Word cptr, seL4_MessageInfo_t info,
                                             seL4_Word *sender, seL4_Word *mrs[4]) {
    register seL4_Word rdx __asm__("rdx") = (seL4_Word)(seL4_Int64)number;
    register seL4_Word rdi __asm__("rdi") = cptr;
    register seL4_Word rsi __asm__("rsi") = info.words[0];
    register seL4_Word r10 __asm__("r10") = mrs && mrs[0] ? *mrs[0] : 0;
    register seL4_Word r8 __asm__("r8") = mrs && mrs[1] ? *mrs[1] : 0;
    register seL4_Word r9 __asm__("r9") = mrs && mrs[2] ? *mrs[2] : 0;
    register seL4_Word r15 __asm__("r15") = mrs && mrs[3] ? *mrs[3] : 0;
    __asm__ volatile("movq %%rsp, %%rbx\n\tsyscall\n\tmovq %%rbx, %%rsp"
                     : "+r"(rdx), "+r"(rdi), "+r"(rsi), "+r"(r10), "+r"(r8), "+r"(r9), "+r"(r15)
                     :
                     : "rbx", "rcx", "r11", "memory");
    seL4_Word out_mrs[4] = {r10, r8, r9, r15};
    for (int i = 0; i < 4; i++) if (mrs && mrs[i]) *mrs[i] = out_mrs[i];
    if (sender) *sender = rdi;
    seL4_MessageInfo_t out = {{rsi}};
    return out;
}
#else
static inline seL4_MessageInfo_t umk_syscall(seL4_Syscall_ID number, seL4_Word cptr, seL4_MessageInfo_t info,
                                             seL4_Word *sender, seL4_Word *mrs[4]) {
    umk_syscall_block_t b = {number, cptr, info.words[0], {0, 0, 0, 0}};
    for (int i = 0; i < 4; i++) if (mrs && mrs[i]) b.mr[i] = *mrs[i];
    __umk_syscall(&b);
    for (int i = 0; i < 4; i++) if (mrs && mrs[i]) *mrs[i] = b.mr[i];
    if (sender) *sender = b.cptr;
    seL4_MessageInfo_t out = {{b.info}};
    return out;
}
#endif

/* MR0-MR3 of the IPC buffer, as libsel4 moves them into the syscall's registers. */
#define UMK_BUFFER_MRS \
    seL4_Word *umk_mrs[4] = {&__sel4_ipc_buffer->msg[0], &__sel4_ipc_buffer->msg[1], &__sel4_ipc_buffer->msg[2], \
                             &__sel4_ipc_buffer->msg[3]}

static inline void seL4_Send(seL4_CPtr dest, seL4_MessageInfo_t info) {
    UMK_BUFFER_MRS;
    umk_syscall(seL4_SysSend, dest, info, 0, umk_mrs);
}
static inline void seL4_NBSend(seL4_CPtr dest, seL4_MessageInfo_t info) {
    UMK_BUFFER_MRS;
    umk_syscall(seL4_SysNBSend, dest, info, 0, umk_mrs);
}
static inline seL4_MessageInfo_t seL4_Call(seL4_CPtr dest, seL4_MessageInfo_t info) {
    UMK_BUFFER_MRS;
    return umk_syscall(seL4_SysCall, dest, info, 0, umk_mrs);
}
static inline seL4_MessageInfo_t seL4_Recv(seL4_CPtr src, seL4_Word *sender) {
    UMK_BUFFER_MRS;
    return umk_syscall(seL4_SysRecv, src, seL4_MessageInfo_new(0, 0, 0, 0), sender, umk_mrs);
}
static inline seL4_MessageInfo_t seL4_NBRecv(seL4_CPtr src, seL4_Word *sender) {
    UMK_BUFFER_MRS;
    return umk_syscall(seL4_SysNBRecv, src, seL4_MessageInfo_new(0, 0, 0, 0), sender, umk_mrs);
}
static inline void seL4_Reply(seL4_MessageInfo_t info) {
    UMK_BUFFER_MRS;
    umk_syscall(seL4_SysReply, 0, info, 0, umk_mrs);
}
static inline seL4_MessageInfo_t seL4_ReplyRecv(seL4_CPtr src, seL4_MessageInfo_t info, seL4_Word *sender) {
    UMK_BUFFER_MRS;
    return umk_syscall(seL4_SysReplyRecv, src, info, sender, umk_mrs);
}
static inline void seL4_Yield(void) { umk_syscall(seL4_SysYield, 0, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0); }
static inline void seL4_Signal(seL4_CPtr dest) { umk_syscall(seL4_SysSend, dest, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0); }
static inline void seL4_Wait(seL4_CPtr src, seL4_Word *sender) {
    umk_syscall(seL4_SysRecv, src, seL4_MessageInfo_new(0, 0, 0, 0), sender, 0);
}
static inline seL4_MessageInfo_t seL4_Poll(seL4_CPtr src, seL4_Word *sender) {
    return umk_syscall(seL4_SysNBRecv, src, seL4_MessageInfo_new(0, 0, 0, 0), sender, 0);
}

/* The *WithMRs forms: MR0-MR3 through the given words (null: not sent, not kept). */
static inline void seL4_SendWithMRs(seL4_CPtr dest, seL4_MessageInfo_t info, seL4_Word *mr0, seL4_Word *mr1,
                                    seL4_Word *mr2, seL4_Word *mr3) {
    seL4_Word *mrs[4] = {mr0, mr1, mr2, mr3};
    umk_syscall(seL4_SysSend, dest, info, 0, mrs);
}
static inline void seL4_NBSendWithMRs(seL4_CPtr dest, seL4_MessageInfo_t info, seL4_Word *mr0, seL4_Word *mr1,
                                      seL4_Word *mr2, seL4_Word *mr3) {
    seL4_Word *mrs[4] = {mr0, mr1, mr2, mr3};
    umk_syscall(seL4_SysNBSend, dest, info, 0, mrs);
}
static inline seL4_MessageInfo_t seL4_CallWithMRs(seL4_CPtr dest, seL4_MessageInfo_t info, seL4_Word *mr0,
                                                  seL4_Word *mr1, seL4_Word *mr2, seL4_Word *mr3) {
    seL4_Word *mrs[4] = {mr0, mr1, mr2, mr3};
    return umk_syscall(seL4_SysCall, dest, info, 0, mrs);
}
static inline seL4_MessageInfo_t seL4_RecvWithMRs(seL4_CPtr src, seL4_Word *sender, seL4_Word *mr0, seL4_Word *mr1,
                                                  seL4_Word *mr2, seL4_Word *mr3) {
    seL4_Word *mrs[4] = {mr0, mr1, mr2, mr3};
    return umk_syscall(seL4_SysRecv, src, seL4_MessageInfo_new(0, 0, 0, 0), sender, mrs);
}
static inline void seL4_ReplyWithMRs(seL4_MessageInfo_t info, seL4_Word *mr0, seL4_Word *mr1, seL4_Word *mr2,
                                     seL4_Word *mr3) {
    seL4_Word *mrs[4] = {mr0, mr1, mr2, mr3};
    umk_syscall(seL4_SysReply, 0, info, 0, mrs);
}
static inline seL4_MessageInfo_t seL4_ReplyRecvWithMRs(seL4_CPtr src, seL4_MessageInfo_t info, seL4_Word *sender,
                                                       seL4_Word *mr0, seL4_Word *mr1, seL4_Word *mr2, seL4_Word *mr3) {
    seL4_Word *mrs[4] = {mr0, mr1, mr2, mr3};
    return umk_syscall(seL4_SysReplyRecv, src, info, sender, mrs);
}

/* Debug calls. */
static inline void seL4_DebugPutChar(char c) {
    umk_syscall(seL4_SysDebugPutChar, (seL4_Uint8)c, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0);
}
/* The caller's TLS base (seL4 with CONFIG_SET_TLS_BASE_SELF). */
static inline void seL4_SetTLSBase(seL4_Word tls_base) {
    umk_syscall(seL4_SysSetTLSBase, tls_base, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0);
}
static inline void seL4_DebugSnapshot(void) { umk_syscall(seL4_SysDebugSnapshot, 0, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0); }
static inline void seL4_DebugHalt(void) { umk_syscall(seL4_SysDebugHalt, 0, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0); }
static inline void seL4_DebugDumpScheduler(void) {
    umk_syscall(seL4_SysDebugDumpScheduler, 0, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0);
}
static inline seL4_Uint32 seL4_DebugCapIdentify(seL4_CPtr cap) {
    seL4_Word tag = 0;
    umk_syscall(seL4_SysDebugCapIdentify, cap, seL4_MessageInfo_new(0, 0, 0, 0), &tag, 0);
    return (seL4_Uint32)tag;
}
static inline void seL4_DebugNameThread(seL4_CPtr tcb, const char *name) {
    char *to = (char *)&__sel4_ipc_buffer->msg[0];
    unsigned i = 0;
    for (; name[i] && i < (seL4_MsgMaxLength * sizeof(seL4_Word)) - 1; i++) to[i] = name[i];
    to[i] = 0;
    umk_syscall(seL4_SysDebugNameThread, tcb, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0);
}

#endif
