/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A root task in the style of seL4's tutorials, step by step: hello world, capabilities,
 * untyped memory, mapping, threads, IPC, notifications and faults. It starts as seL4
 * starts a root task, with BootInfo (sel4runtime_bootinfo()) describing its CNode, its
 * untyped memory and its free slots, and builds everything else itself.
 *
 *   umk cc -o root.elf root.c && umk run --root root.elf
 */
#include <sel4/sel4.h>
#include <sel4runtime.h>
#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        seL4_Error check_error_ = (call);                                                  \
        if (check_error_ != seL4_NoError) {                                                \
            printf("%s:%d: %s: error %d\n", __FILE__, __LINE__, #call, (int)check_error_); \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)
#define EXPECT(condition)                                                              \
    do {                                                                               \
        if (!(condition)) {                                                            \
            printf("%s:%d: expected %s\n", __FILE__, __LINE__, #condition);            \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

static const seL4_BootInfo *info;
static seL4_CPtr free_slot;

static seL4_CPtr slot(void) { return free_slot++; }

/* Makes one object of `type` from the first untyped big enough; returns its slot. */
static seL4_CPtr make(seL4_Word type, seL4_Word size_bits) {
    for (seL4_CPtr ut = info->untyped.start; ut < info->untyped.end; ut++) {
        const seL4_UntypedDesc *d = &info->untypedList[ut - info->untyped.start];
        if (d->isDevice || d->sizeBits < size_bits + 1) continue;
        seL4_CPtr s = slot();
        if (seL4_Untyped_Retype(ut, type, size_bits, seL4_CapInitThreadCNode, 0, 0, s, 1) == seL4_NoError) return s;
        free_slot--;
    }
    return seL4_CapNull;
}

/* Maps `frame` at `vaddr`, making the paging structures the lookup says are missing. */
static seL4_Error map_frame(seL4_CPtr frame, seL4_Word vaddr, seL4_CapRights_t rights) {
    for (;;) {
        seL4_Error e = seL4_X86_Page_Map(frame, seL4_CapInitThreadVSpace, vaddr, rights, seL4_X86_Default_VMAttributes);
        if (e != seL4_FailedLookup) return e;
        seL4_Word level = seL4_MappingFailedLookupLevel();
        seL4_CPtr table;
        if (level == 21) {
            table = make(seL4_X86_PageTableObject, seL4_PageTableBits);
            e = seL4_X86_PageTable_Map(table, seL4_CapInitThreadVSpace, vaddr, seL4_X86_Default_VMAttributes);
        } else if (level == 30) {
            table = make(seL4_X86_PageDirectoryObject, seL4_PageDirBits);
            e = seL4_X86_PageDirectory_Map(table, seL4_CapInitThreadVSpace, vaddr, seL4_X86_Default_VMAttributes);
        } else {
            table = make(seL4_X86_PDPTObject, seL4_PDPTBits);
            e = seL4_X86_PDPT_Map(table, seL4_CapInitThreadVSpace, vaddr, seL4_X86_Default_VMAttributes);
        }
        if (e != seL4_NoError) return e;
        printf("  mapped a paging structure for %d bits at %p\n", (int)level, (void *)vaddr);
    }
}

/* The second thread: its stack, TLS and IPC buffer address. */
static char thread_stack[16384] __attribute__((aligned(16)));
static char thread_tls[4096] __attribute__((aligned(16)));
static __thread int thread_counter = 41;
static seL4_CPtr endpoint, badged_endpoint, notification, signal_one, signal_four;

static void thread_main(seL4_Word argument) {
    thread_counter++;
    printf("thread: hello from a second thread (argument %p, its own TLS counter %d)\n", (void *)argument,
           thread_counter);
    seL4_SetMR(0, 6);
    seL4_SetMR(1, 7);
    seL4_MessageInfo_t reply = seL4_Call(badged_endpoint, seL4_MessageInfo_new(1, 0, 0, 2));
    printf("thread: the reply says %lu (label %lu)\n", (unsigned long)seL4_GetMR(0),
           (unsigned long)seL4_MessageInfo_get_label(reply));
    seL4_Signal(signal_one);
    seL4_Signal(signal_four);
    seL4_Send(badged_endpoint, seL4_MessageInfo_new(2, 0, 0, 0));
    /* The fault step: a write to an address nothing maps is a fault message to its
     * fault endpoint. */
    *(volatile int *)argument = 1;
}

int main(int argc, char *argv[]) {
    info = sel4runtime_bootinfo();
    EXPECT(info != NULL);

    /* 1. Hello, world. */
    printf("Hello, World! (%s, argc %d)\n", argv[0], argc);

    /* 2. Capabilities: the root CNode, its free slots, copying and deleting a cap. */
    free_slot = info->empty.start;
    printf("capabilities: a CNode of %lu slots, slots %lu-%lu free\n", 1ul << info->initThreadCNodeSizeBits,
           (unsigned long)info->empty.start, (unsigned long)info->empty.end - 1);
    seL4_CPtr copy = slot();
    CHECK(seL4_CNode_Copy(seL4_CapInitThreadCNode, copy, seL4_WordBits, seL4_CapInitThreadCNode,
                          seL4_CapInitThreadTCB, seL4_WordBits, seL4_AllRights));
    EXPECT(seL4_DebugCapIdentify(copy) == seL4_DebugCapIdentify(seL4_CapInitThreadTCB));
    EXPECT(seL4_CNode_Copy(seL4_CapInitThreadCNode, copy, seL4_WordBits, seL4_CapInitThreadCNode,
                           seL4_CapInitThreadTCB, seL4_WordBits, seL4_AllRights) == seL4_DeleteFirst);
    CHECK(seL4_CNode_Delete(seL4_CapInitThreadCNode, copy, seL4_WordBits));
    EXPECT(seL4_DebugCapIdentify(copy) == 0);
    printf("capabilities: copied the TCB cap to slot %lu and deleted it again\n", (unsigned long)copy);

    /* 3. Untyped memory: a 4 KiB child untyped holds one page and no more. */
    seL4_CPtr child = make(seL4_UntypedObject, seL4_PageBits);
    EXPECT(child != seL4_CapNull);
    seL4_CPtr page = slot();
    CHECK(seL4_Untyped_Retype(child, seL4_X86_4K, seL4_PageBits, seL4_CapInitThreadCNode, 0, 0, page, 1));
    EXPECT(seL4_Untyped_Retype(child, seL4_X86_4K, seL4_PageBits, seL4_CapInitThreadCNode, 0, 0, slot(), 1) ==
           seL4_NotEnoughMemory);
    CHECK(seL4_CNode_Revoke(seL4_CapInitThreadCNode, child, seL4_WordBits));
    EXPECT(seL4_DebugCapIdentify(page) == 0);
    CHECK(seL4_Untyped_Retype(child, seL4_X86_4K, seL4_PageBits, seL4_CapInitThreadCNode, 0, 0, page, 1));
    printf("untyped: a 4 KiB untyped gave one page, refused a second, and gave it again after a revoke\n");

    /* 4. Mapping: the page at an address 1 GiB above the BootInfo's, then written and read. */
    seL4_Word vaddr = ((seL4_Word)info & ~((1ul << 30) - 1)) + (3ul << 30);
    CHECK(map_frame(page, vaddr, seL4_ReadWrite));
    volatile seL4_Word *word = (volatile seL4_Word *)vaddr;
    *word = 0xC0FFEE;
    EXPECT(*word == 0xC0FFEE);
    seL4_X86_Page_GetAddress_t physical = seL4_X86_Page_GetAddress(page);
    CHECK(physical.error);
    printf("mapping: the page at %p (physical %p) holds %#lx\n", (void *)vaddr, (void *)physical.paddr,
           (unsigned long)*word);

    /* 5. Threads: a TCB in this CSpace and VSpace with its own stack, IPC buffer and TLS. */
    endpoint = make(seL4_EndpointObject, seL4_EndpointBits);
    notification = make(seL4_NotificationObject, seL4_NotificationBits);
    seL4_CPtr tcb = make(seL4_TCBObject, seL4_TCBBits);
    seL4_CPtr buffer = make(seL4_X86_4K, seL4_PageBits);
    seL4_CPtr fault_endpoint = slot();
    EXPECT(endpoint && notification && tcb && buffer);
    badged_endpoint = slot();
    signal_one = slot();
    signal_four = slot();
    CHECK(seL4_CNode_Mint(seL4_CapInitThreadCNode, badged_endpoint, seL4_WordBits, seL4_CapInitThreadCNode, endpoint,
                          seL4_WordBits, seL4_AllRights, 0x61));
    CHECK(seL4_CNode_Mint(seL4_CapInitThreadCNode, fault_endpoint, seL4_WordBits, seL4_CapInitThreadCNode, endpoint,
                          seL4_WordBits, seL4_AllRights, 0xFA));
    CHECK(seL4_CNode_Mint(seL4_CapInitThreadCNode, signal_one, seL4_WordBits, seL4_CapInitThreadCNode, notification,
                          seL4_WordBits, seL4_AllRights, 0x1));
    CHECK(seL4_CNode_Mint(seL4_CapInitThreadCNode, signal_four, seL4_WordBits, seL4_CapInitThreadCNode, notification,
                          seL4_WordBits, seL4_AllRights, 0x4));
    seL4_Word buffer_vaddr = vaddr + 0x1000;
    CHECK(map_frame(buffer, buffer_vaddr, seL4_ReadWrite));
    CHECK(seL4_TCB_Configure(tcb, fault_endpoint, seL4_CapInitThreadCNode, 0, seL4_CapInitThreadVSpace, 0, buffer_vaddr,
                             buffer));
    CHECK(seL4_TCB_SetPriority(tcb, seL4_CapInitThreadTCB, 254));
    EXPECT(sel4runtime_get_tls_size() <= sizeof thread_tls);
    uintptr_t tls = sel4runtime_write_tls_image(thread_tls);
    EXPECT(sel4runtime_set_tls_variable(tls, __sel4_ipc_buffer, (seL4_IPCBuffer *)buffer_vaddr) == 0);
    seL4_DebugNameThread(tcb, "second");
    seL4_UserContext registers = {0};
    registers.rip = (seL4_Word)thread_main;
    registers.rsp = ((seL4_Word)thread_stack + sizeof thread_stack) - 8;
    registers.rdi = vaddr + 0x100000; /* the argument: an address nothing maps, which the fault step writes */
    /* Every register, fs_base included, then the TLS base (WriteRegisters would have
     * overwritten it), then it runs. */
    CHECK(seL4_TCB_WriteRegisters(tcb, 0, 0, sizeof registers / sizeof(seL4_Word), &registers));
    CHECK(seL4_TCB_SetTLSBase(tcb, tls));
    CHECK(seL4_TCB_Resume(tcb));
    printf("threads: started a thread at %p\n", (void *)registers.rip);

    /* 6. IPC: the thread calls through its badged cap; this thread replies. */
    seL4_Word badge;
    seL4_MessageInfo_t message = seL4_Recv(endpoint, &badge);
    EXPECT(badge == 0x61 && seL4_MessageInfo_get_label(message) == 1 && seL4_MessageInfo_get_length(message) == 2);
    seL4_Word product = seL4_GetMR(0) * seL4_GetMR(1);
    printf("ipc: a call with badge %#lx: %lu x %lu\n", (unsigned long)badge, (unsigned long)seL4_GetMR(0),
           (unsigned long)seL4_GetMR(1));
    seL4_SetMR(0, product);
    seL4_Reply(seL4_MessageInfo_new(0, 0, 0, 1));

    /* 7. Notifications: nothing pending yet; two signals coalesce into one badge. */
    EXPECT(seL4_Poll(notification, &badge).words[0] == 0 && badge == 0);
    message = seL4_Recv(endpoint, &badge);
    EXPECT(seL4_MessageInfo_get_label(message) == 2);
    seL4_Wait(notification, &badge);
    EXPECT(badge == 0x5);
    printf("notifications: two signals arrived as one, badge %#lx\n", (unsigned long)badge);

    /* 8. Faults: the thread's bad write arrives on its fault endpoint as a VM fault. */
    message = seL4_Recv(endpoint, &badge);
    EXPECT(badge == 0xFA && seL4_MessageInfo_get_label(message) == seL4_Fault_VMFault);
    printf("faults: the thread faulted writing %p at %p\n", (void *)seL4_GetMR(seL4_VMFault_Addr),
           (void *)seL4_GetMR(seL4_VMFault_IP));
    CHECK(seL4_TCB_Suspend(tcb));

    printf("tutorial: all steps passed\n");
    return 0;
}
