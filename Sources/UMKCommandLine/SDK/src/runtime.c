/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C runtime of a program on umk (crt0 and what libc it has), as seL4's sel4runtime is.
 * A program starts as a function of up to three arguments:
 *  - as the root task (umk run --root), from the kernel: rdi = seL4's BootInfo, rsi = the
 *    kernel's syscall entry. _start sets up the thread's TLS from the image's PT_TLS (on
 *    its stack, which it never leaves) and sets its TLS base; main gets argv {"rootserver"};
 *    the system halts with main's status.
 *  - as a task init started from a manifest: rdi = its start information, rsi = the
 *    syscall entry, rdx = its IPC buffer; init set up its TLS. argv is the task's name,
 *    then the manifest's args; the task ends with main's status (init's exit request).
 * _start keeps the syscall entry, and the IPC buffer in TLS, as libsel4 does.
 */
#include <sel4runtime.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void (*__umk_syscall)(umk_syscall_block_t *);
__thread seL4_IPCBuffer *__sel4_ipc_buffer;

static const seL4_Word *start_info;
static const seL4_BootInfo *boot_info;
static seL4_Word range_start, range_end;

int main(int argc, char *argv[]);

/* The start information's slot of init's endpoint and its exit request (BootPlan.swift). */
enum { INIT_SLOT = 68, INIT_EXIT = 1 };
#define START_INFO_MAGIC 0x4F464E4954525301ull
/* The extra BootInfo chunk with the root's address range (BootInfo.swift). */
#define ADDRESS_RANGE_CHUNK 0x554D4B41ull

#define MAX_ARGS 64
static char *argv_list[MAX_ARGS + 1];
static char arg_bytes[4096];

/* Reads a PlanWriter string at words[*at] into `out` (NUL-terminated); false if it does not fit. */
static int read_string(const seL4_Word *words, seL4_Word count, seL4_Word *at, char **out, size_t *used) {
    if (*at >= count) return 0;
    seL4_Word length = words[(*at)++];
    if (length > (count - *at) * 8 || *used + length + 1 > sizeof arg_bytes) return 0;
    *out = &arg_bytes[*used];
    for (seL4_Word i = 0; i < length; i++) (*out)[i] = (char)(words[*at + i / 8] >> (8 * (i % 8)));
    (*out)[length] = 0;
    *used += length + 1;
    *at += (length + 7) / 8;
    return 1;
}

/* argv from the start information: the name, then the args. */
static int make_argv(const seL4_Word *info) {
    seL4_Word count = info[0];
    const seL4_Word *words = info + 1;
    if (count < 3 || words[0] != START_INFO_MAGIC) return 0;
    range_start = words[count - 2];
    range_end = words[count - 1];
    seL4_Word at = 1;
    size_t used = 0;
    char *program = 0;
    if (!read_string(words, count, &at, &argv_list[0], &used)) return 0;
    at++; /* the task id */
    if (!read_string(words, count, &at, &program, &used) || at >= count) return 1;
    seL4_Word n = words[at++];
    int argc = 1;
    for (seL4_Word i = 0; i < n && argc < MAX_ARGS; i++) {
        if (!read_string(words, count, &at, &argv_list[argc], &used)) break;
        argc++;
    }
    argv_list[argc] = 0;
    return argc;
}

/* The root's address range, from the extra BootInfo after the BootInfo frame. */
static void read_address_range(const seL4_BootInfo *bi) {
    const char *extra = (const char *)bi + 4096;
    for (seL4_Word at = 0; at + sizeof(seL4_BootInfoHeader) <= bi->extraLen;) {
        const seL4_BootInfoHeader *h = (const seL4_BootInfoHeader *)(extra + at);
        if (h->len < sizeof *h) break;
        if (h->id == ADDRESS_RANGE_CHUNK && h->len >= sizeof *h + 16) {
            const seL4_Word *words = (const seL4_Word *)(h + 1);
            range_start = words[0];
            range_end = words[1];
        }
        at += h->len;
    }
}

/* The image's PT_TLS (found through its own program headers) and load bias. */
typedef struct {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
} program_header;
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
static const program_header *tls_header;
static uintptr_t load_bias;

static void find_tls(void) {
    const unsigned char *e = (const unsigned char *)__ehdr_start;
    const program_header *ph = (const program_header *)(e + *(const uint64_t *)(e + 32));
    uint16_t count = *(const uint16_t *)(e + 56);
    for (uint16_t i = 0; i < count; i++) {
        if (ph[i].type == 1 && ph[i].offset == 0) load_bias = (uintptr_t)e - ph[i].vaddr;
        if (ph[i].type == 7) tls_header = &ph[i];
    }
}

static uintptr_t align_up(uintptr_t v, uintptr_t a) { return (v + a - 1) & ~(a - 1); }
static uintptr_t tls_align(void) {
    uintptr_t a = tls_header && tls_header->align > 16 ? tls_header->align : 16;
    return a;
}

/* Variant II (x86_64): the block ends at the thread pointer, which holds its own address. */
size_t sel4runtime_get_tls_size(void) {
    if (!tls_header) return 0;
    return align_up(tls_header->memsz, tls_align()) + tls_align() + sizeof(uintptr_t);
}
int sel4runtime_initial_tls_enabled(void) { return tls_header != 0; }

uintptr_t sel4runtime_write_tls_image(void *tls_memory) {
    if (!tls_header || !tls_memory) return 0;
    uintptr_t block = align_up(tls_header->memsz, tls_align());
    uintptr_t tp = align_up((uintptr_t)tls_memory + block, tls_align());
    char *start = (char *)(tp - block);
    memcpy(start, (const char *)(load_bias + tls_header->vaddr), tls_header->filesz);
    memset(start + tls_header->filesz, 0, block - tls_header->filesz);
    *(uintptr_t *)tp = tp;
    return tp;
}

/* A copy of the calling thread's TLS (its current values) in `tls_memory`; the caller
 * then makes it the thread's (seL4_SetTLSBase). Used for the root's first block. */
uintptr_t sel4runtime_move_initial_tls(void *tls_memory) {
    uintptr_t tp = sel4runtime_write_tls_image(tls_memory);
    if (tp && sel4runtime_get_tls_base()) {
        uintptr_t block = align_up(tls_header->memsz, tls_align());
        memcpy((char *)(tp - block), (const char *)(sel4runtime_get_tls_base() - block), block);
    }
    return tp;
}

const char *sel4runtime_process_name(void) { return argv_list[0]; }

/*
 * The entry point, first in the text (Microkit links a PD's _start at its text's start).
 * A PD's parent may restart it here with only its rip written (microkit_pd_restart), so
 * the first entry keeps the stack pointer and the three arguments and a later entry takes
 * them back: the program starts over on its first stack with what init gave it.
 */
__attribute__((visibility("hidden"))) seL4_Word __umk_entry_stack;
__attribute__((visibility("hidden"))) seL4_Word __umk_entry_arguments[3];
__attribute__((visibility("hidden"), used)) _Noreturn void __umk_start(const seL4_Word *, void (*)(umk_syscall_block_t *),
                                                                       seL4_IPCBuffer *);
__asm__(".pushsection .text.start, \"ax\", @progbits\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    cmpq $0, __umk_entry_stack(%rip)\n"
        "    jne 1f\n"
        "    movq %rsp, __umk_entry_stack(%rip)\n"
        "    movq %rdi, __umk_entry_arguments(%rip)\n"
        "    movq %rsi, __umk_entry_arguments+8(%rip)\n"
        "    movq %rdx, __umk_entry_arguments+16(%rip)\n"
        "    jmp 2f\n"
        "1:  movq __umk_entry_stack(%rip), %rsp\n"
        "    movq __umk_entry_arguments(%rip), %rdi\n"
        "    movq __umk_entry_arguments+8(%rip), %rsi\n"
        "    movq __umk_entry_arguments+16(%rip), %rdx\n"
        "2:  andq $-16, %rsp\n"
        "    xorl %ebp, %ebp\n"
        "    call __umk_start\n"
        "    ud2\n"
        ".size _start, . - _start\n"
        ".popsection\n");

_Noreturn void __umk_start(const seL4_Word *info, void (*entry)(umk_syscall_block_t *), seL4_IPCBuffer *ipc) {
    __umk_syscall = entry;
    find_tls();
    int argc;
    if (info[1] == START_INFO_MAGIC) {
        start_info = info;
        __sel4_ipc_buffer = ipc;
        argc = make_argv(info);
    } else {
        /* The root task: BootInfo (whose second word, nodeID, is 0). Its TLS block lives
         * in this frame, which main's returns to and exit never leaves. */
        boot_info = (const seL4_BootInfo *)info;
        read_address_range(boot_info);
        if (tls_header) {
            void *area = __builtin_alloca(sel4runtime_get_tls_size());
            seL4_SetTLSBase(sel4runtime_write_tls_image(area));
        }
        __sel4_ipc_buffer = boot_info->ipcBuffer;
        static char root_name[] = "rootserver";
        argv_list[0] = root_name;
        argc = 1;
    }
    exit(main(argc, argv_list));
}

const seL4_BootInfo *sel4runtime_bootinfo(void) { return boot_info; }
const seL4_Word *umk_start_info(void) { return start_info; }
seL4_Word umk_address_range_start(void) { return range_start; }
seL4_Word umk_address_range_end(void) { return range_end; }

/* The C library's functions are weak: a program (a Microkit PD, say) may define its own. */
#define LIBC __attribute__((weak))

/* A task asks init to end it; the root task halts the system with the status. */
_Noreturn void exit(int status) {
    for (;;) {
        if (boot_info) {
            umk_syscall(seL4_SysDebugHalt, (seL4_Word)(int64_t)status, seL4_MessageInfo_new(0, 0, 0, 0), 0, 0);
        } else {
            seL4_SetMR(0, (seL4_Word)(int64_t)status);
            seL4_Call(INIT_SLOT, seL4_MessageInfo_new(INIT_EXIT, 0, 0, 1));
        }
    }
}
_Noreturn void sel4runtime_exit(int status) { exit(status); }
_Noreturn void abort(void) { exit(134); }
LIBC int abs(int v) { return v < 0 ? -v : v; }
LIBC long labs(long v) { return v < 0 ? -v : v; }

_Noreturn void __umk_assert_fail(const char *expression, const char *file, int line, const char *function) {
    printf("%s:%d: %s: assertion '%s' failed\n", file, line, function, expression);
    exit(134);
}

/* <string.h> */
LIBC void *memcpy(void *restrict to, const void *restrict from, size_t n) {
    unsigned char *t = to;
    const unsigned char *f = from;
    while (n--) *t++ = *f++;
    return to;
}
LIBC void *memmove(void *to, const void *from, size_t n) {
    unsigned char *t = to;
    const unsigned char *f = from;
    if (t < f) { while (n--) *t++ = *f++; }
    else { while (n--) t[n] = f[n]; }
    return to;
}
LIBC void *memset(void *to, int c, size_t n) {
    unsigned char *t = to;
    while (n--) *t++ = (unsigned char)c;
    return to;
}
LIBC int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}
LIBC size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
LIBC int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return (unsigned char)*a - (unsigned char)*b;
}
LIBC int strncmp(const char *a, const char *b, size_t n) {
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}
LIBC char *strcpy(char *restrict to, const char *restrict from) { char *t = to; while ((*t++ = *from++)) {} return to; }
LIBC char *strncpy(char *restrict to, const char *restrict from, size_t n) {
    size_t i = 0;
    for (; i < n && from[i]; i++) to[i] = from[i];
    for (; i < n; i++) to[i] = 0;
    return to;
}
LIBC char *strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char)c) return (char *)s;
        if (!*s) return 0;
    }
}

/* <stdio.h>: a formatter writing through a sink. */
typedef struct { char *buffer; size_t size, length; int console; } sink;

static void emit(sink *s, char c) {
    if (s->console) seL4_DebugPutChar(c);
    else if (s->length + 1 < s->size) s->buffer[s->length] = c;
    s->length++;
}

static int v_nonzero(const char *digits, int n) {
    for (int i = 0; i < n; i++) if (digits[i] != '0') return 1;
    return 0;
}

static void emit_number(sink *s, uint64_t v, int negative, unsigned base, int upper, int width, int precision,
                        int zero, int left, char sign, int alternate) {
    char digits[24];
    int n = 0;
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do { digits[n++] = set[v % base]; v /= base; } while (v);
    if (precision == 0 && n == 1 && digits[0] == '0') n = 0;
    int zeros = precision > n ? precision - n : 0;
    char prefix = negative ? '-' : sign;
    /* '#': 0x (0X) before a non-zero hexadecimal number, a 0 before an octal one. */
    const char *radix = alternate && v_nonzero(digits, n) ? (base == 16 ? (upper ? "0X" : "0x") : base == 8 ? "0" : "") : "";
    int radix_length = (int)strlen(radix);
    int total = n + zeros + (prefix ? 1 : 0) + radix_length;
    if (zero && !left && precision < 0 && width > total) { zeros += width - total; total = width; }
    if (!left) for (int i = total; i < width; i++) emit(s, ' ');
    if (prefix) emit(s, prefix);
    for (int i = 0; i < radix_length; i++) emit(s, radix[i]);
    while (zeros--) emit(s, '0');
    while (n) emit(s, digits[--n]);
    if (left) for (int i = total; i < width; i++) emit(s, ' ');
}

static int format(sink *s, const char *f, va_list args) {
    for (; *f; f++) {
        if (*f != '%') { emit(s, *f); continue; }
        int left = 0, zero = 0, width = 0, precision = -1, alternate = 0;
        char sign = 0;
        for (;; f++) {
            if (f[1] == '-') left = 1;
            else if (f[1] == '#') alternate = 1;
            else if (f[1] == '0') zero = 1;
            else if (f[1] == '+') sign = '+';
            else if (f[1] == ' ') { if (!sign) sign = ' '; }
            else break;
        }
        if (f[1] == '*') { width = va_arg(args, int); f++; }
        else while (f[1] >= '0' && f[1] <= '9') width = width * 10 + (*++f - '0');
        if (f[1] == '.') {
            f++;
            precision = 0;
            if (f[1] == '*') { precision = va_arg(args, int); f++; }
            else while (f[1] >= '0' && f[1] <= '9') precision = precision * 10 + (*++f - '0');
        }
        int longs = 0;
        while (f[1] == 'l' || f[1] == 'h' || f[1] == 'z' || f[1] == 'j' || f[1] == 't') {
            if (f[1] != 'h') longs = 2;
            f++;
        }
        switch (*++f) {
        case 'd': case 'i': {
            int64_t v = longs ? va_arg(args, int64_t) : va_arg(args, int);
            emit_number(s, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0, 10, 0, width, precision, zero, left, sign, 0);
            break;
        }
        case 'u': case 'x': case 'X': case 'o': {
            uint64_t v = longs ? va_arg(args, uint64_t) : va_arg(args, unsigned);
            unsigned base = *f == 'u' ? 10 : *f == 'o' ? 8 : 16;
            emit_number(s, v, 0, base, *f == 'X', width, precision, zero, left, 0, alternate);
            break;
        }
        case 'p': {
            uint64_t v = (uint64_t)(uintptr_t)va_arg(args, void *);
            emit_number(s, v, 0, 16, 0, width, precision, zero, left, 0, 1);
            break;
        }
        case 'c': {
            if (!left) for (int i = 1; i < width; i++) emit(s, ' ');
            emit(s, (char)va_arg(args, int));
            if (left) for (int i = 1; i < width; i++) emit(s, ' ');
            break;
        }
        case 's': {
            const char *str = va_arg(args, const char *);
            if (!str) str = "(null)";
            int n = 0;
            while (str[n] && (precision < 0 || n < precision)) n++;
            if (!left) for (int i = n; i < width; i++) emit(s, ' ');
            for (int i = 0; i < n; i++) emit(s, str[i]);
            if (left) for (int i = n; i < width; i++) emit(s, ' ');
            break;
        }
        case '%': emit(s, '%'); break;
        case 0: return (int)s->length;
        default: emit(s, '%'); emit(s, *f); break;
        }
    }
    return (int)s->length;
}

LIBC int vprintf(const char *f, va_list args) { sink s = {0, 0, 0, 1}; return format(&s, f, args); }
LIBC int printf(const char *f, ...) {
    va_list args;
    va_start(args, f);
    int n = vprintf(f, args);
    va_end(args);
    return n;
}
LIBC int vsnprintf(char *buffer, size_t size, const char *f, va_list args) {
    sink s = {buffer, size, 0, 0};
    int n = format(&s, f, args);
    if (size) buffer[s.length < size ? s.length : size - 1] = 0;
    return n;
}
LIBC int snprintf(char *buffer, size_t size, const char *f, ...) {
    va_list args;
    va_start(args, f);
    int n = vsnprintf(buffer, size, f, args);
    va_end(args);
    return n;
}
LIBC int putchar(int c) { seL4_DebugPutChar((char)c); return (unsigned char)c; }
LIBC int puts(const char *str) { while (*str) seL4_DebugPutChar(*str++); seL4_DebugPutChar('\n'); return 1; }
