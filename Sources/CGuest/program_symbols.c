// SPDX-License-Identifier: Apache-2.0
//
// The function of the program (umk's, or a user's own executable) that holds a Swift
// guest's code at a given offset, for init's crash reports: from the program file's ELF
// symbol table, read on first use through a descriptor opened when the process started
// (a run's sandbox refuses opening files later, not reading them), with Swift names
// demangled by the Swift runtime. Only a crash asks, so the table is read then, not at
// every start.
#include "CGuest.h"
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char *swift_demangle(const char *mangled, size_t length, char *out, size_t *out_size, uint32_t flags);

static int program_fd = -1;

__attribute__((constructor)) static void open_program(void) {
    program_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
}

static int read_at(void *buffer, size_t size, uint64_t offset) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(program_fd, (char *)buffer + done, size - done, (off_t)(offset + done));
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

static Elf64_Sym *symbols;
static size_t symbol_count;
static char *names;
static size_t names_size;
static int loaded;

/// Reads .symtab and its string table once; 0 on success.
static int load(void) {
    if (loaded) return symbols ? 0 : -1;
    loaded = 1;
    Elf64_Ehdr eh;
    if (program_fd < 0 || read_at(&eh, sizeof eh, 0) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
        eh.e_shnum > 4096) return -1;
    Elf64_Shdr *sections = malloc(sizeof(Elf64_Shdr) * eh.e_shnum);
    if (!sections || read_at(sections, sizeof(Elf64_Shdr) * eh.e_shnum, eh.e_shoff) != 0) { free(sections); return -1; }
    int result = -1;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr *s = &sections[i];
        if (s->sh_type != SHT_SYMTAB || s->sh_link >= eh.e_shnum || s->sh_entsize != sizeof(Elf64_Sym)) continue;
        Elf64_Shdr *strtab = &sections[s->sh_link];
        if (s->sh_size > (256u << 20) || strtab->sh_size > (256u << 20) || strtab->sh_size == 0) break;
        Elf64_Sym *syms = malloc(s->sh_size);
        char *strings = malloc(strtab->sh_size + 1);
        if (!syms || !strings || read_at(syms, s->sh_size, s->sh_offset) != 0 ||
            read_at(strings, strtab->sh_size, strtab->sh_offset) != 0) {
            free(syms);
            free(strings);
            break;
        }
        strings[strtab->sh_size] = 0;
        symbols = syms;
        symbol_count = s->sh_size / sizeof(Elf64_Sym);
        names = strings;
        names_size = strtab->sh_size;
        result = 0;
        break;
    }
    free(sections);
    return result;
}

int umk_program_function(uint64_t offset, char *out, size_t size, uint64_t *function_offset) {
    if (size == 0 || load() != 0) return -1;
    const Elf64_Sym *best = 0;
    for (size_t i = 0; i < symbol_count; i++) {
        const Elf64_Sym *s = &symbols[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_name >= names_size) continue;
        if (offset >= s->st_value && offset - s->st_value < (s->st_size ? s->st_size : 1)) {
            best = s;
            break;
        }
    }
    if (!best) return -1;
    const char *name = names + best->st_name;
    *function_offset = offset - best->st_value;
    char *demangled = swift_demangle(name, strlen(name), 0, 0, 0);
    const char *text = demangled ? demangled : name;
    size_t n = strlen(text);
    if (n >= size) n = size - 1;
    memcpy(out, text, n);
    out[n] = 0;
    free(demangled);
    return 0;
}
