// SPDX-License-Identifier: Apache-2.0
//
// A freestanding C task, loaded from its ELF image by init: no libc, no runtime. It
// finds its name and id in its start information, keeps the id in a global (each task
// that runs this image has its own copy of .data and .bss) and in thread-local storage
// (its own TLS block, reached through its FS base), yields so that another task of the
// same image runs in between, then prints through the kernel's debug console and tells
// init it is done.
//
// How umk starts an image task: rdi = the start information's address, rsi = the
// kernel's syscall entry (umk_syscall, called with a syscall block), rdx = the task's
// IPC buffer, FS base = its thread pointer. Addresses are the task's own (its address
// range is its host window).

#include <stdint.h>

typedef struct {
    int64_t number;   // seL4 syscall number (negative)
    uint64_t cptr;    // in: CPtr; out: badge
    uint64_t info;    // in/out: message info (label << 12 | length)
    uint64_t mr[4];   // in/out: MR0..MR3
} syscall_block;

typedef void (*syscall_entry)(syscall_block *);

enum { SYS_CALL = -1, SYS_YIELD = -7, SYS_DEBUG_PUT_CHAR = -9 };
enum { INIT_SLOT = 68, INIT_EXIT = 1 };

static syscall_entry enter;
static uint64_t my_id;                      // .bss: one copy per task
static uint64_t greetings = 100;            // .data: one copy per task
static __thread uint64_t visits = 40;       // .tdata: the TLS block's initial image
static __thread uint64_t seen_id;           // .tbss: zero in every new TLS block
static const char *words[] = {"hello", "from", "C"};  // pointers: RELATIVE relocations
static const char **volatile word_table = words;      // read at run time, not folded

static void syscall(int64_t number, uint64_t cptr, uint64_t info, uint64_t mr0) {
    syscall_block b = {number, cptr, info, {mr0, 0, 0, 0}};
    enter(&b);
}

static void put(const char *s) {
    while (*s) syscall(SYS_DEBUG_PUT_CHAR, (uint8_t)*s++, 0, 0);
}

static void put_number(uint64_t n) {
    char digits[21];
    int i = 20;
    digits[i] = 0;
    do { digits[--i] = (char)('0' + n % 10); n /= 10; } while (n);
    put(&digits[i]);
}

// The start information is little-endian words: a count, a magic word, then the name
// (its length in bytes, then the bytes packed 8 to a word) and the task id.
static const char *read_start(const uint64_t *info, uint64_t *id, uint64_t *name_length) {
    *name_length = info[2];
    *id = info[3 + (*name_length + 7) / 8];
    return (const char *)&info[3];
}

void _start(const uint64_t *start_info, syscall_entry entry, uint64_t ipc_buffer) {
    (void)ipc_buffer;
    enter = entry;
    uint64_t name_length;
    const char *name = read_start(start_info, &my_id, &name_length);
    greetings += my_id;
    visits += my_id;
    seen_id = my_id;
    syscall(SYS_YIELD, 0, 0, 0);            // a sibling runs now, on its own globals
    for (uint64_t i = 0; i < name_length; i++) syscall(SYS_DEBUG_PUT_CHAR, (uint8_t)name[i], 0, 0);
    put(": ");
    for (unsigned i = 0; i < 3; i++) { put(word_table[i]); put(i + 1 < 3 ? " " : ""); }
    put("; my id is ");
    put_number(my_id);
    put(", greetings ");
    put_number(greetings);
    put(", visits ");
    put_number(visits);
    put(seen_id == my_id ? " (TLS is mine)" : " (TLS is not mine)");
    put("\n");
    for (;;) syscall(SYS_CALL, INIT_SLOT, (uint64_t)INIT_EXIT << 12 | 1, 0);
}
