// SPDX-License-Identifier: Apache-2.0
//
// The file of the program that holds Swift guests' code (umk's, or a user's own
// executable), for init's crash reports: read on first use through a descriptor opened
// when the process started (a run's sandbox refuses opening files later, not reading
// them); init finds the function in its symbol table (ImageSymbol) and the Swift runtime
// demangles the name.
#include "CGuest.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char *swift_demangle(const char *mangled, size_t length, char *out, size_t *out_size, uint32_t flags);

static int program_fd = -1;

__attribute__((constructor)) static void open_program(void) {
    program_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
}

int64_t umk_program_file_size(void) {
    struct stat st;
    if (program_fd < 0 || fstat(program_fd, &st) != 0) return -1;
    return (int64_t)st.st_size;
}

int umk_program_file_read(uint64_t offset, void *buffer, uint64_t size) {
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = pread(program_fd, (char *)buffer + done, size - done, (off_t)(offset + done));
        if (n <= 0) return -1;
        done += (uint64_t)n;
    }
    return 0;
}

int umk_demangle(const char *name, char *out, size_t size) {
    if (size == 0) return -1;
    char *demangled = swift_demangle(name, strlen(name), 0, 0, 0);
    if (!demangled) return -1;
    size_t n = strlen(demangled);
    if (n >= size) n = size - 1;
    memcpy(out, demangled, n);
    out[n] = 0;
    free(demangled);
    return 0;
}
