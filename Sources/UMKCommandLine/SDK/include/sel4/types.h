/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seL4's C types and constants (x86_64, non-MCS) as umk implements them: words and caps,
 * message info, capability rights, errors, object types, the initial caps, the IPC buffer
 * and BootInfo. Values are seL4's; umk's own additions are marked.
 */
#ifndef SEL4_TYPES_H
#define SEL4_TYPES_H

#include <stdint.h>

typedef uint8_t seL4_Uint8;
typedef uint16_t seL4_Uint16;
typedef uint32_t seL4_Uint32;
typedef uint64_t seL4_Uint64;
typedef int8_t seL4_Int8;
typedef int64_t seL4_Int64;
typedef seL4_Uint64 seL4_Word;
typedef seL4_Word seL4_CPtr;
typedef seL4_Int8 seL4_Bool;
#define seL4_True 1
#define seL4_False 0
typedef seL4_Word seL4_NodeId;
typedef seL4_Word seL4_PAddr;
typedef seL4_Word seL4_Domain;

typedef seL4_CPtr seL4_CNode;
typedef seL4_CPtr seL4_IRQHandler;
typedef seL4_CPtr seL4_IRQControl;
typedef seL4_CPtr seL4_TCB;
typedef seL4_CPtr seL4_Untyped;
typedef seL4_CPtr seL4_DomainSet;
typedef seL4_CPtr seL4_X86_ASIDControl;
typedef seL4_CPtr seL4_X86_ASIDPool;
typedef seL4_CPtr seL4_X86_IOPortControl;
typedef seL4_CPtr seL4_X86_IOPort;
typedef seL4_CPtr seL4_X86_Page;
typedef seL4_CPtr seL4_X86_PageDirectory;
typedef seL4_CPtr seL4_X86_PageTable;
typedef seL4_CPtr seL4_X86_PDPT;
typedef seL4_CPtr seL4_X64_PML4;

#define seL4_WordBits 64
#define seL4_WordSizeBits 3
#define seL4_PageBits 12
#define seL4_LargePageBits 21
#define seL4_HugePageBits 30
#define seL4_SlotBits 5
/* umk's TCB holds the machine's saved state too: 8 KiB (seL4 x86_64: 2 KiB). */
#define seL4_TCBBits 13
#define seL4_EndpointBits 4
#define seL4_NotificationBits 5
#define seL4_PageTableBits 12
#define seL4_PageDirBits 12
#define seL4_PDPTBits 12
#define seL4_PML4Bits 12
#define seL4_ASIDPoolBits 12
#define seL4_MinUntypedBits 4
#define seL4_MaxUntypedBits 47
#define seL4_UserTop 0x00007ffffffff000ul

#define seL4_MsgLengthBits 7
#define seL4_MsgMaxLength 120
#define seL4_MsgExtraCapBits 2
#define seL4_MsgMaxExtraCaps ((1 << seL4_MsgExtraCapBits) - 1)
#define seL4_IPCBufferSizeBits 10

typedef enum {
    seL4_NoError = 0,
    seL4_InvalidArgument,
    seL4_InvalidCapability,
    seL4_IllegalOperation,
    seL4_RangeError,
    seL4_AlignmentError,
    seL4_FailedLookup,
    seL4_TruncatedMessage,
    seL4_DeleteFirst,
    seL4_RevokeFirst,
    seL4_NotEnoughMemory,
    seL4_NumErrors
} seL4_Error;

typedef enum {
    seL4_UntypedObject = 0,
    seL4_TCBObject,
    seL4_EndpointObject,
    seL4_NotificationObject,
    seL4_CapTableObject,
    seL4_X86_PDPTObject,
    seL4_X64_PML4Object,
    seL4_X64_HugePageObject,
    seL4_X86_4K,
    seL4_X86_LargePageObject,
    seL4_X86_PageTableObject,
    seL4_X86_PageDirectoryObject,
    seL4_ObjectTypeCount
} seL4_ObjectType;

enum {
    seL4_CapNull = 0,
    seL4_CapInitThreadTCB = 1,
    seL4_CapInitThreadCNode = 2,
    seL4_CapInitThreadVSpace = 3,
    seL4_CapIRQControl = 4,
    seL4_CapASIDControl = 5,
    seL4_CapInitThreadASIDPool = 6,
    seL4_CapIOPortControl = 7,
    seL4_CapIOSpace = 8,
    seL4_CapBootInfoFrame = 9,
    seL4_CapInitThreadIPCBuffer = 10,
    seL4_CapDomain = 11,
    seL4_NumInitialCaps = 12
};

/* VM attributes (seL4_X86_VMAttributes). */
typedef enum {
    seL4_X86_WriteBack = 0,
    seL4_X86_WriteThrough = 1,
    seL4_X86_CacheDisabled = 2,
    seL4_X86_Uncacheable = 3,
    seL4_X86_WriteCombining = 4,
    seL4_X86_Default_VMAttributes = 0
} seL4_X86_VMAttributes;

/* The message info word: label 52 | capsUnwrapped 3 | extraCaps 2 | length 7. */
typedef struct { seL4_Uint64 words[1]; } seL4_MessageInfo_t;

static inline seL4_MessageInfo_t seL4_MessageInfo_new(seL4_Uint64 label, seL4_Uint64 capsUnwrapped,
                                                      seL4_Uint64 extraCaps, seL4_Uint64 length) {
    seL4_MessageInfo_t m = {{(label & 0xfffffffffffffull) << 12 | (capsUnwrapped & 7) << 9 | (extraCaps & 3) << 7 |
                             (length & 0x7f)}};
    return m;
}
static inline seL4_Uint64 seL4_MessageInfo_get_label(seL4_MessageInfo_t m) { return m.words[0] >> 12; }
static inline seL4_Uint64 seL4_MessageInfo_get_capsUnwrapped(seL4_MessageInfo_t m) { return (m.words[0] >> 9) & 7; }
static inline seL4_Uint64 seL4_MessageInfo_get_extraCaps(seL4_MessageInfo_t m) { return (m.words[0] >> 7) & 3; }
static inline seL4_Uint64 seL4_MessageInfo_get_length(seL4_MessageInfo_t m) { return m.words[0] & 0x7f; }
static inline seL4_MessageInfo_t seL4_MessageInfo_set_label(seL4_MessageInfo_t m, seL4_Uint64 v) {
    m.words[0] = (m.words[0] & 0xfffull) | (v & 0xfffffffffffffull) << 12; return m;
}
static inline seL4_MessageInfo_t seL4_MessageInfo_set_capsUnwrapped(seL4_MessageInfo_t m, seL4_Uint64 v) {
    m.words[0] = (m.words[0] & ~(7ull << 9)) | (v & 7) << 9; return m;
}
static inline seL4_MessageInfo_t seL4_MessageInfo_set_extraCaps(seL4_MessageInfo_t m, seL4_Uint64 v) {
    m.words[0] = (m.words[0] & ~(3ull << 7)) | (v & 3) << 7; return m;
}
static inline seL4_MessageInfo_t seL4_MessageInfo_set_length(seL4_MessageInfo_t m, seL4_Uint64 v) {
    m.words[0] = (m.words[0] & ~0x7full) | (v & 0x7f); return m;
}

/* Capability rights: grantReply 3 | grant 2 | read 1 | write 0. */
typedef struct { seL4_Uint64 words[1]; } seL4_CapRights_t;

static inline seL4_CapRights_t seL4_CapRights_new(seL4_Uint64 grantReply, seL4_Uint64 grant, seL4_Uint64 read,
                                                  seL4_Uint64 write) {
    seL4_CapRights_t r = {{(grantReply & 1) << 3 | (grant & 1) << 2 | (read & 1) << 1 | (write & 1)}};
    return r;
}
static inline seL4_Uint64 seL4_CapRights_get_capAllowGrantReply(seL4_CapRights_t r) { return (r.words[0] >> 3) & 1; }
static inline seL4_Uint64 seL4_CapRights_get_capAllowGrant(seL4_CapRights_t r) { return (r.words[0] >> 2) & 1; }
static inline seL4_Uint64 seL4_CapRights_get_capAllowRead(seL4_CapRights_t r) { return (r.words[0] >> 1) & 1; }
static inline seL4_Uint64 seL4_CapRights_get_capAllowWrite(seL4_CapRights_t r) { return r.words[0] & 1; }

#define seL4_NoWrite seL4_CapRights_new(1, 1, 1, 0)
#define seL4_NoRead seL4_CapRights_new(1, 1, 0, 1)
#define seL4_CanRead seL4_CapRights_new(0, 0, 1, 0)
#define seL4_CanWrite seL4_CapRights_new(0, 0, 0, 1)
#define seL4_CanGrant seL4_CapRights_new(0, 1, 0, 0)
#define seL4_CanGrantReply seL4_CapRights_new(1, 0, 0, 0)
#define seL4_AllRights seL4_CapRights_new(1, 1, 1, 1)
#define seL4_ReadWrite seL4_CapRights_new(0, 0, 1, 1)
#define seL4_NoRights seL4_CapRights_new(0, 0, 0, 0)

/* The IPC buffer (1 KiB, seL4_IPCBufferSizeBits). */
typedef struct seL4_IPCBuffer_ {
    seL4_MessageInfo_t tag;
    seL4_Word msg[seL4_MsgMaxLength];
    seL4_Word userData;
    seL4_Word caps_or_badges[seL4_MsgMaxExtraCaps];
    seL4_CPtr receiveCNode;
    seL4_CPtr receiveIndex;
    seL4_Word receiveDepth;
} __attribute__((__aligned__(1 << seL4_IPCBufferSizeBits))) seL4_IPCBuffer;

/* Fault labels and message indices. */
typedef enum {
    seL4_Fault_NullFault = 0,
    seL4_Fault_CapFault,
    seL4_Fault_UnknownSyscall,
    seL4_Fault_UserException,
    seL4_Fault_DebugException,
    seL4_Fault_VMFault
} seL4_FaultType;

enum { seL4_VMFault_IP, seL4_VMFault_Addr, seL4_VMFault_PrefetchFault, seL4_VMFault_FSR, seL4_VMFault_Length };
enum {
    seL4_UserException_FaultIP, seL4_UserException_SP, seL4_UserException_FLAGS, seL4_UserException_Number,
    seL4_UserException_Code, seL4_UserException_Length
};
enum {
    seL4_CapFault_IP, seL4_CapFault_Addr, seL4_CapFault_InRecvPhase, seL4_CapFault_LookupFailureType,
    seL4_CapFault_BitsLeft, seL4_CapFault_DepthMismatch_BitsFound, seL4_CapFault_GuardMismatch_GuardFound =
        seL4_CapFault_DepthMismatch_BitsFound, seL4_CapFault_GuardMismatch_BitsFound
};
enum {
    seL4_UnknownSyscall_RAX, seL4_UnknownSyscall_RBX, seL4_UnknownSyscall_RCX, seL4_UnknownSyscall_RDX,
    seL4_UnknownSyscall_RSI, seL4_UnknownSyscall_RDI, seL4_UnknownSyscall_RBP, seL4_UnknownSyscall_R8,
    seL4_UnknownSyscall_R9, seL4_UnknownSyscall_R10, seL4_UnknownSyscall_R11, seL4_UnknownSyscall_R12,
    seL4_UnknownSyscall_R13, seL4_UnknownSyscall_R14, seL4_UnknownSyscall_R15, seL4_UnknownSyscall_FaultIP,
    seL4_UnknownSyscall_SP, seL4_UnknownSyscall_FLAGS, seL4_UnknownSyscall_Syscall, seL4_UnknownSyscall_Length
};

/* A thread's registers as Read/WriteRegisters order them. */
typedef struct {
    seL4_Word rip, rsp, rflags, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    seL4_Word fs_base, gs_base;
} seL4_UserContext;

/* BootInfo (seL4_BootInfo, x86_64). */
typedef struct { seL4_Word start, end; } seL4_SlotRegion;
typedef struct {
    seL4_Word paddr;
    seL4_Uint8 sizeBits;
    seL4_Uint8 isDevice;
    seL4_Uint8 padding[sizeof(seL4_Word) - 2];
} seL4_UntypedDesc;
#define CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS 230
typedef struct {
    seL4_Word extraLen;
    seL4_NodeId nodeID;
    seL4_Word numNodes;
    seL4_Word numIOPTLevels;
    seL4_IPCBuffer *ipcBuffer;
    seL4_SlotRegion empty;
    seL4_SlotRegion sharedFrames;
    seL4_SlotRegion userImageFrames;
    seL4_SlotRegion userImagePaging;
    seL4_SlotRegion ioSpaceCaps;
    seL4_SlotRegion extraBIPages;
    seL4_Word initThreadCNodeSizeBits;
    seL4_Domain initThreadDomain;
    seL4_SlotRegion untyped;
    seL4_UntypedDesc untypedList[CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS];
} seL4_BootInfo;
typedef struct { seL4_Word id, len; } seL4_BootInfoHeader;

#endif
