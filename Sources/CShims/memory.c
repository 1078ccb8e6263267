// SPDX-License-Identifier: Apache-2.0
//
// memfd RAM and window mappings. Every failure is returned as -errno.
#include "CShims.h"
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/personality.h>

// prot: 1 read, 2 write, 4 execute.
static int prot_bits(int prot) {
    return ((prot & 1) ? PROT_READ : 0) | ((prot & 2) ? PROT_WRITE : 0) | ((prot & 4) ? PROT_EXEC : 0);
}

int umk_memfd_create(const char *name, uint64_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int64_t umk_map_shared(int fd, uint64_t offset, uint64_t length) {
    void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    return p == MAP_FAILED ? -(int64_t)errno : (int64_t)(uintptr_t)p;
}

int umk_ram_populate(int fd, void *base, uint64_t size) {
    // The pages of the file first, then the physmap's page tables: a first touch of RAM
    // then costs neither a page allocation nor a fault. MADV_POPULATE_WRITE is Linux 5.14;
    // where it is missing the physmap fills in on use as before.
    if (fallocate(fd, 0, 0, (off_t)size) != 0) return -errno;
#ifdef MADV_POPULATE_WRITE
    (void)madvise(base, size, MADV_POPULATE_WRITE);
#else
    (void)base;
#endif
    return 0;
}

int64_t umk_reserve(uint64_t length) {
    void *p = mmap(NULL, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? -(int64_t)errno : (int64_t)(uintptr_t)p;
}

int umk_reserve_fixed(uint64_t addr, uint64_t length) {
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
    void *want = (void *)(uintptr_t)addr;
    void *p = mmap(want, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return -errno;
    if (p != want) {
        // A kernel before 4.17 ignores the flag and treats the address as a hint.
        munmap(p, length);
        return -EEXIST;
    }
    return 0;
}

int umk_map_fixed(uint64_t addr, int fd, uint64_t offset, uint64_t length, int prot) {
    void *p = mmap((void *)(uintptr_t)addr, length, prot_bits(prot), MAP_SHARED | MAP_FIXED, fd, (off_t)offset);
    return p == MAP_FAILED ? -errno : 0;
}

int umk_map_fresh(uint64_t addr, int fd, uint64_t offset, uint64_t length, int prot, int populate) {
    void *want = (void *)(uintptr_t)addr;
    void *p = mmap(want, length, prot_bits(prot), MAP_SHARED | MAP_FIXED_NOREPLACE | (populate ? MAP_POPULATE : 0),
                   fd, (off_t)offset);
    if (p == MAP_FAILED) return -errno;
    if (p != want) {
        // A kernel before 4.17 takes the address as a hint.
        munmap(p, length);
        return -EEXIST;
    }
    return 0;
}

int umk_map_grow(uint64_t end, uint64_t tail, uint64_t length) {
    void *old = (void *)(uintptr_t)(end - tail);
    return mremap(old, tail, tail + length, 0) == MAP_FAILED ? -errno : 0;
}

int umk_protect(uint64_t addr, uint64_t length, int prot) {
    return mprotect((void *)(uintptr_t)addr, length, prot_bits(prot)) == 0 ? 0 : -errno;
}

static uint64_t strict_base, strict_size;
/// 1 while a guest runs with kernel RAM closed.
static volatile int strict_closed;

void umk_strict_configure(uint64_t base, uint64_t size) {
    strict_base = base;
    strict_size = size;
}

int umk_strict_guest_enter(uint64_t keep, uint64_t keep_size) {
    if (!strict_size) return 0;
    if (mprotect((void *)(uintptr_t)strict_base, strict_size, PROT_NONE) != 0) return -errno;
    strict_closed = 1;
    if (mprotect((void *)(uintptr_t)keep, keep_size, PROT_READ | PROT_WRITE) != 0) return -errno;
    return 0;
}

static uint64_t reopen_ns;

void umk_strict_kernel_enter(void) {
    if (!strict_closed) return;
    uint64_t start = umk_monotonic_ns();
    strict_closed = 0;
    // Cannot fail on a range that is mapped (the physmap is, for the whole run).
    mprotect((void *)(uintptr_t)strict_base, strict_size, PROT_READ | PROT_WRITE);
    reopen_ns += umk_monotonic_ns() - start;
}

uint64_t umk_strict_reopen_ns(void) {
    uint64_t n = reopen_ns;
    reopen_ns = 0;
    return n;
}

int umk_unmap(uint64_t addr, uint64_t length) {
    return munmap((void *)(uintptr_t)addr, length) == 0 ? 0 : -errno;
}

int64_t umk_map_anonymous(uint64_t length) {
    void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? -(int64_t)errno : (int64_t)(uintptr_t)p;
}

int umk_create_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

int umk_open_backing(const char *path, uint64_t size) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_size < (off_t)size && ftruncate(fd, (off_t)size) != 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int umk_getpid(void) { return (int)getpid(); }

int umk_close(int fd) {
    return close(fd) == 0 ? 0 : -errno;
}

void umk_write_byte(int fd, uint8_t byte) {
    ssize_t r;
    do { r = write(fd, &byte, 1); } while (r < 0 && errno == EINTR);
}

int umk_address_randomisation(void) {
    int persona = personality(0xffffffff);
    if (persona == -1) return -errno;
    return (persona & ADDR_NO_RANDOMIZE) ? 0 : 1;
}

int umk_disable_address_randomisation(void) {
    int persona = personality(0xffffffff);
    if (persona == -1) return -errno;
    if (personality((unsigned long)persona | ADDR_NO_RANDOMIZE) == -1) return -errno;
    return (personality(0xffffffff) & ADDR_NO_RANDOMIZE) ? 0 : -EPERM;
}
