// SPDX-License-Identifier: Apache-2.0
//
// Deliberate exceptions for fault tests (see umk_traps.h).
#if defined(__x86_64__)
    .text
    .globl umk_trap_ud2
    .type umk_trap_ud2, @function
umk_trap_ud2:
    ud2
    retq
    .size umk_trap_ud2, .-umk_trap_ud2

// umk_syscall(io) with rbx, rbp, r12, r13 and r14 set to 0x0B0B_0000_0000_000n (n = 1...5),
// the caller's values back after it.
    .globl umk_trap_syscall_marked
    .type umk_trap_syscall_marked, @function
umk_trap_syscall_marked:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    movabsq $0x0B0B000000000001, %rbx
    movabsq $0x0B0B000000000002, %rbp
    movabsq $0x0B0B000000000003, %r12
    movabsq $0x0B0B000000000004, %r13
    movabsq $0x0B0B000000000005, %r14
    callq umk_syscall@PLT
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    retq
    .size umk_trap_syscall_marked, .-umk_trap_syscall_marked

// Reads the word at the thread's FS base (its TLS pointer), then ud2.
    .globl umk_trap_read_fs
    .type umk_trap_read_fs, @function
umk_trap_read_fs:
    movq %fs:0, %rax
    ud2
    .size umk_trap_read_fs, .-umk_trap_read_fs

    .globl umk_trap_int3
    .type umk_trap_int3, @function
umk_trap_int3:
    int3
    retq
    .size umk_trap_int3, .-umk_trap_int3

    .globl umk_trap_divide
    .type umk_trap_divide, @function
umk_trap_divide:
    movq %rdi, %rax
    cqto
    idivq %rsi
    retq
    .size umk_trap_divide, .-umk_trap_divide

// A thread's first instruction: every general register, rsp and rflags into
// umk_probe_area, then ud2. Uses 8 bytes of stack below rsp.
    .globl umk_trap_probe_registers
    .type umk_trap_probe_registers, @function
umk_trap_probe_registers:
    pushq %rax
    movq umk_probe_area@GOTPCREL(%rip), %rax
    movq %rbx, 8(%rax)
    movq %rcx, 16(%rax)
    movq %rdx, 24(%rax)
    movq %rsi, 32(%rax)
    movq %rdi, 40(%rax)
    movq %rbp, 48(%rax)
    movq %r8, 56(%rax)
    movq %r9, 64(%rax)
    movq %r10, 72(%rax)
    movq %r11, 80(%rax)
    movq %r12, 88(%rax)
    movq %r13, 96(%rax)
    movq %r14, 104(%rax)
    movq %r15, 112(%rax)
    popq %rcx
    movq %rcx, 0(%rax)
    pushfq
    popq %rcx
    movq %rcx, 128(%rax)
    movq %rsp, 120(%rax)
    ud2
    .size umk_trap_probe_registers, .-umk_trap_probe_registers

// Registers get 0x1000 + n; xmm0 gets 0x5A5A...; after ud2 each is compared.
    .globl umk_trap_check_registers
    .type umk_trap_check_registers, @function
umk_trap_check_registers:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movabsq $0x5A5A5A5A5A5A5A5A, %rax
    movq %rax, %xmm0
    // ymm1's upper half carries 0x3C3C...: only a full XSAVE restore keeps it.
    movabsq $0x3C3C3C3C3C3C3C3C, %rax
    movq %rax, %xmm2
    vpbroadcastq %xmm2, %ymm1
    movq $0x1001, %rax
    movq $0x1002, %rbx
    movq $0x1003, %rcx
    movq $0x1004, %rdx
    movq $0x1005, %rsi
    movq $0x1006, %rdi
    movq $0x1007, %rbp
    movq $0x1008, %r8
    movq $0x1009, %r9
    movq $0x100a, %r10
    movq $0x100b, %r11
    movq $0x100c, %r12
    movq $0x100d, %r13
    movq $0x100e, %r14
    movq $0x100f, %r15
    ud2
    // Resumed here: store every register, then compare each with what was loaded.
    subq $128, %rsp
    movq %rax, 0(%rsp)
    movq %rbx, 8(%rsp)
    movq %rcx, 16(%rsp)
    movq %rdx, 24(%rsp)
    movq %rsi, 32(%rsp)
    movq %rdi, 40(%rsp)
    movq %rbp, 48(%rsp)
    movq %r8, 56(%rsp)
    movq %r9, 64(%rsp)
    movq %r10, 72(%rsp)
    movq %r11, 80(%rsp)
    movq %r12, 88(%rsp)
    movq %r13, 96(%rsp)
    movq %r14, 104(%rsp)
    movq %r15, 112(%rsp)
    movq %xmm0, %rax
    movq %rax, 120(%rsp)
    xorq %rax, %rax
    cmpq $0x1001, 0(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $0, %rcx
    orq %rcx, %rax
    cmpq $0x1002, 8(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $1, %rcx
    orq %rcx, %rax
    cmpq $0x1003, 16(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $2, %rcx
    orq %rcx, %rax
    cmpq $0x1004, 24(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $3, %rcx
    orq %rcx, %rax
    cmpq $0x1005, 32(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $4, %rcx
    orq %rcx, %rax
    cmpq $0x1006, 40(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $5, %rcx
    orq %rcx, %rax
    cmpq $0x1007, 48(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $6, %rcx
    orq %rcx, %rax
    cmpq $0x1008, 56(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $7, %rcx
    orq %rcx, %rax
    cmpq $0x1009, 64(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $8, %rcx
    orq %rcx, %rax
    cmpq $0x100a, 72(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $9, %rcx
    orq %rcx, %rax
    cmpq $0x100b, 80(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $10, %rcx
    orq %rcx, %rax
    cmpq $0x100c, 88(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $11, %rcx
    orq %rcx, %rax
    cmpq $0x100d, 96(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $12, %rcx
    orq %rcx, %rax
    cmpq $0x100e, 104(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $13, %rcx
    orq %rcx, %rax
    cmpq $0x100f, 112(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $14, %rcx
    orq %rcx, %rax
    movabsq $0x5A5A5A5A5A5A5A5A, %rdx
    cmpq %rdx, 120(%rsp)
    setne %cl
    movzbq %cl, %rcx
    shlq $15, %rcx
    orq %rcx, %rax
    vextracti128 $1, %ymm1, %xmm2
    movq %xmm2, %rdx
    movabsq $0x3C3C3C3C3C3C3C3C, %r8
    cmpq %r8, %rdx
    setne %cl
    movzbq %cl, %rcx
    shlq $16, %rcx
    orq %rcx, %rax
    vzeroupper
    addq $128, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    retq
    .size umk_trap_check_registers, .-umk_trap_check_registers


// The trap-call benchmark's two threads, seL4's binary ABI: code that umk copies into a
// page of a task (a program image's code runs with its syscall instructions trapped), so it
// refers to nothing outside itself. Each gets a umk_trap_bench_t in rdi.
#define TSC_INTO_RAX lfence; rdtsc; shlq $32, %rdx; orq %rdx, %rax
    .text
    .p2align 4
    .globl umk_trap_bench_client
umk_trap_bench_client:
    movq %rdi, %r12
    movq 16(%r12), %rbp         // rounds
    movq 24(%r12), %r13         // the shared stamp
    movq 32(%r12), %r14         // samples: reply arrivals (ReplyRecv, one way)
1:  TSC_INTO_RAX
    movq %rax, (%r13)
    movq 0(%r12), %rdi          // the endpoint
    movq $0x1000, %rsi          // label 1, length 0
    movq $-1, %rdx              // Call
    syscall
    TSC_INTO_RAX
    subq (%r13), %rax
    movq %rax, (%r14)
    addq $8, %r14
    decq %rbp
    jnz 1b
    movq 8(%r12), %rdi          // done: Signal (Send on a notification)
    xorl %esi, %esi
    movq $-3, %rdx
    syscall
2:  movq $-7, %rdx              // then Yield for ever
    syscall
    jmp 2b

    .globl umk_trap_bench_server
umk_trap_bench_server:
    movq %rdi, %r12
    movq 16(%r12), %rbp
    movq 24(%r12), %r13
    movq 32(%r12), %r14         // samples: call arrivals (Call, one way)
    movq 0(%r12), %rdi
    movq $-5, %rdx              // Recv
    syscall
3:  TSC_INTO_RAX
    subq (%r13), %rax
    testq %rbp, %rbp
    jz 4f
    movq %rax, (%r14)
    addq $8, %r14
    decq %rbp
4:  TSC_INTO_RAX
    movq %rax, (%r13)
    movq 0(%r12), %rdi
    xorl %esi, %esi
    movq $-2, %rdx              // ReplyRecv
    syscall
    jmp 3b
    .globl umk_trap_bench_end
umk_trap_bench_end:
    .section .note.GNU-stack,"",@progbits
#endif
