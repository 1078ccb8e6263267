// SPDX-License-Identifier: Apache-2.0
//
// The direct-call syscall entry and the guest context switch (x86_64 SysV). Only the
// callee-saved registers, the stack pointer and the FP control words are switched: a
// guest is always stopped at a call, so everything else is dead by the ABI.

#if defined(__x86_64__)
    .text

// void umk_syscall(umk_syscall_io_t *io)
    .globl umk_syscall
    .type umk_syscall, @function
    .p2align 4
umk_syscall:
    movq $0, umk_in_guest(%rip)
    movq umk_current@GOTPCREL(%rip), %rax
    movq (%rax), %rax
    // The caller's Syscall User Dispatch selector (BLOCK for an image's code) comes back
    // when it returns; the kernel runs with ALLOW.
    movzbl umk_dispatch_selector(%rip), %ecx
    movb %cl, 62(%rax)
    movb $0, umk_dispatch_selector(%rip)
    movq %rsp, 0(%rax)
    movq %rbx, 8(%rax)
    movq %rbp, 16(%rax)
    movq %r12, 24(%rax)
    movq %r13, 32(%rax)
    movq %r14, 40(%rax)
    movq %r15, 48(%rax)
    stmxcsr 56(%rax)
    fnstcw 60(%rax)
    movq %rdi, 64(%rax)
    movq $0, 104(%rax)
    movq umk_kernel_stack_top@GOTPCREL(%rip), %rcx
    movq (%rcx), %rsp
    // A guest with TLS of its own runs with its FS base: the kernel needs the host's.
    cmpq $0, 120(%rax)
    je 5f
    subq $16, %rsp
    movq %rax, (%rsp)
    movq umk_host_fs@GOTPCREL(%rip), %rcx
    movq (%rcx), %rdi
    callq umk_fs_load
    movq (%rsp), %rax
    addq $16, %rsp
5:
    // The kernel runs with the ABI's FP control state (the guest's was saved above). The
    // loads serialise and cost more than the compares, and guests nearly always have the
    // defaults, so they are made only when a value differs.
    cmpl $0x1F80, 56(%rax)
    je 1f
    ldmxcsr umk_default_mxcsr(%rip)
1:
    cmpw $0x037F, 60(%rax)
    je 2f
    fldcw umk_default_fpucw(%rip)
2:
    movq umk_kernel_cookie@GOTPCREL(%rip), %rcx
    movq (%rcx), %rdi
    movq umk_kernel_entry@GOTPCREL(%rip), %rcx
    callq *(%rcx)
umk_dispatch:
    testq %rax, %rax
    jz umk_return_to_host
umk_resume:
    // The kernel runs with the host's FS base; a guest with TLS of its own gets its own.
    // (rbx is the guest's again below; the stack is the kernel's or, at the first
    // resume, the host's, so it is aligned for the call here.)
    cmpq $0, 120(%rax)
    je 6f
    movq %rsp, %rbx
    andq $-16, %rsp
    subq $16, %rsp
    movq %rax, (%rsp)
    movq 120(%rax), %rdi
    callq umk_fs_load
    movq (%rsp), %rax
    movq %rbx, %rsp
6:
    // From here on no host syscall until the guest runs: its selector may block them.
    movzbl 62(%rax), %ecx
    movb %cl, umk_dispatch_selector(%rip)
    cmpq $1, 104(%rax)
    je umk_resume_full
    movq 0(%rax), %rsp
    movq 8(%rax), %rbx
    movq 16(%rax), %rbp
    movq 24(%rax), %r12
    movq 32(%rax), %r13
    movq 40(%rax), %r14
    movq 48(%rax), %r15
    // The kernel's control state is the default: load the guest's only if it differs.
    cmpl $0x1F80, 56(%rax)
    je 3f
    ldmxcsr 56(%rax)
3:
    cmpw $0x037F, 60(%rax)
    je 4f
    fldcw 60(%rax)
4:
    movq $1, umk_in_guest(%rip)
    retq

// A context stopped by a signal: every register and the FP state come back.
umk_resume_full:
    movq 112(%rax), %rax
    movq 176(%rax), %rcx
    cmpq $0, 184(%rax)
    je 1f
    movq %rax, %r8
    movl $-1, %eax
    movl $-1, %edx
    xrstor (%rcx)
    movq %r8, %rax
    jmp 2f
1:
    fxrstor (%rcx)
2:
    movq 120(%rax), %rcx
    movq %rcx, umk_resume_rip(%rip)
    pushq 136(%rax)
    popfq
    movq 8(%rax), %rbx
    movq 16(%rax), %rcx
    movq 24(%rax), %rdx
    movq 32(%rax), %rsi
    movq 40(%rax), %rdi
    movq 48(%rax), %rbp
    movq 56(%rax), %r8
    movq 64(%rax), %r9
    movq 72(%rax), %r10
    movq 80(%rax), %r11
    movq 88(%rax), %r12
    movq 96(%rax), %r13
    movq 104(%rax), %r14
    movq 112(%rax), %r15
    movq 128(%rax), %rsp
    movq $1, umk_in_guest(%rip)
    movq 0(%rax), %rax
    jmpq *umk_resume_rip(%rip)
    .globl umk_stub_end
umk_stub_end:
    .size umk_syscall, .-umk_syscall

// Where a guest's fault signal returns to: on the kernel stack, cookie in rdi.
    .globl umk_fault_entry
    .type umk_fault_entry, @function
    .p2align 4
umk_fault_entry:
    cld
    movq umk_kernel_fault_entry@GOTPCREL(%rip), %rcx
    callq *(%rcx)
    jmp umk_dispatch
    .size umk_fault_entry, .-umk_fault_entry

// void umk_fault_entry_from_handler(void *stack_top, void *cookie): leaves a signal handler
// for umk_fault_entry on the kernel stack without sigreturn (the handler's frame is
// abandoned; nothing was blocked for it to restore).
    .globl umk_fault_entry_from_handler
    .type umk_fault_entry_from_handler, @function
    .p2align 4
umk_fault_entry_from_handler:
    movq %rdi, %rsp
    movq %rsi, %rdi
    jmp umk_fault_entry
    .size umk_fault_entry_from_handler, .-umk_fault_entry_from_handler

// The handler entry of every fault signal (a signal handler's arguments in rdi, rsi, rdx,
// untouched): takes umk_in_guest first, in two instructions an interrupt signal
// recognises by their addresses (a fault signal blocks nothing, so one may land here),
// then the C handler.
    .globl umk_fault_signal_entry
    .globl umk_fault_signal_entry_end
    .type umk_fault_signal_entry, @function
    .p2align 4
umk_fault_signal_entry:
    movq umk_in_guest(%rip), %rax
    movq $0, umk_in_guest(%rip)
umk_fault_signal_entry_end:
    movq %rax, umk_fault_in_guest(%rip)
    jmp umk_fault_signal_handler
    .size umk_fault_signal_entry, .-umk_fault_signal_entry

// void umk_context_start(umk_host_context_t *first)
    .globl umk_context_start
    .type umk_context_start, @function
    .p2align 4
umk_context_start:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $16, %rsp
    stmxcsr 0(%rsp)
    fnstcw 4(%rsp)
    movq umk_host_rsp@GOTPCREL(%rip), %rcx
    movq %rsp, (%rcx)
    // From here on the kernel's control state is the default (the resume path relies on it).
    ldmxcsr umk_default_mxcsr(%rip)
    fldcw umk_default_fpucw(%rip)
    movq %rdi, %rax
    jmp umk_resume
umk_return_to_host:
    movq umk_host_rsp@GOTPCREL(%rip), %rcx
    movq (%rcx), %rsp
    ldmxcsr 0(%rsp)
    fldcw 4(%rsp)
    addq $16, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    retq
    .size umk_context_start, .-umk_context_start

    .section .rodata
    .p2align 2
umk_default_mxcsr:
    .long 0x1F80
umk_default_fpucw:
    .word 0x037F

    .section .note.GNU-stack,"",@progbits
#endif
