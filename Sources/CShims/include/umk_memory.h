// SPDX-License-Identifier: Apache-2.0
//
// Host memory for RAM and address-space windows: memfd, mmap, mprotect. Every function
// returns 0 (or a value) on success and -errno on failure; errno is never left to Swift.
#ifndef UMK_MEMORY_H
#define UMK_MEMORY_H

#include <stdint.h>

/// Creates a memfd of `size` bytes; returns the fd or -errno.
int umk_memfd_create(const char *name, uint64_t size);
/// Maps `length` bytes of `fd` at `offset` shared read-write anywhere; returns the address
/// or -errno (as a negative integer).
int64_t umk_map_shared(int fd, uint64_t offset, uint64_t length);
/// Allocates every page of the RAM memfd `fd` (`size` bytes) and fills in the page tables
/// of its mapping at `base`, so that RAM behaves as present memory from the start.
/// Returns 0 or -errno.
int umk_ram_populate(int fd, void *base, uint64_t size);
/// Reserves `length` bytes of address space, inaccessible; returns the address or -errno.
int64_t umk_reserve(uint64_t length);
/// Reserves [addr, addr + length), inaccessible, only if nothing is mapped there
/// (MAP_FIXED_NOREPLACE); returns 0, -EEXIST if the host has a mapping in the range (also
/// on a kernel too old to know the flag), or -errno.
int umk_reserve_fixed(uint64_t addr, uint64_t length);
/// Maps `fd` at `offset` over [addr, addr + length), replacing what is there, with `prot`
/// (bit 0 read, bit 1 write, bit 2 execute); returns 0 or -errno.
int umk_map_fixed(uint64_t addr, int fd, uint64_t offset, uint64_t length, int prot);
/// Opens (creating it if missing) the file behind a device region, at least `size` bytes
/// long (extended with zeros if shorter); the descriptor or -errno.
int umk_open_backing(const char *path, uint64_t size);
/// The process's id (a device region's shared-memory object is /proc/PID/fd/N).
int umk_getpid(void);
/// Maps `fd` at `offset` into the unmapped range [addr, addr + length) with `prot`, its
/// page table entries filled too if `populate`; returns 0, -EEXIST if the host has a
/// mapping in the range, or -errno.
int umk_map_fresh(uint64_t addr, int fd, uint64_t offset, uint64_t length, int prot, int populate);
/// Grows the host mapping whose last `tail` bytes end at `end` by `length` bytes in place
/// (mremap without MREMAP_MAYMOVE): the same file, its offsets going on. Returns 0,
/// -ENOMEM (nothing changed) if anything lies in the way, or -errno.
int umk_map_grow(uint64_t end, uint64_t tail, uint64_t length);
/// Changes the protection of [addr, addr + length); returns 0 or -errno.
int umk_protect(uint64_t addr, uint64_t length, int prot);
/// Unmaps [addr, addr + length); returns 0 or -errno.
int umk_unmap(uint64_t addr, uint64_t length);
/// Anonymous read-write memory (stacks); returns the address or -errno.
int64_t umk_map_anonymous(uint64_t length);
/// Closes a file descriptor; returns 0 or -errno.
/// Creates (or truncates) a file for writing. Returns the descriptor or -errno.
int umk_create_file(const char *path);
int umk_close(int fd);

/// Strict mode (umk run --strict): while a guest runs, kernel RAM (the physmap, `base`,
/// `size`) is inaccessible but for the running thread's TCB (the entry glue saves into
/// it); the kernel's entry opens it again before anything else. Configure with size 0 to
/// turn it off.
void umk_strict_configure(uint64_t base, uint64_t size);
/// Before a guest runs: closes kernel RAM but [keep, keep + keep_size). 0 or -errno.
int umk_strict_guest_enter(uint64_t keep, uint64_t keep_size);
/// First thing on a kernel entry: kernel RAM open again (if a guest ran with it closed).
void umk_strict_kernel_enter(void);
/// Nanoseconds the reopenings took since the last call.
uint64_t umk_strict_reopen_ns(void);

/// Writes one byte to `fd` (the debug console); errors are ignored.
void umk_write_byte(int fd, uint8_t byte);

/// 1 if the process's next exec randomises its address space (Linux's default), 0 if not
/// (personality ADDR_NO_RANDOMIZE), or -errno.
int umk_address_randomisation(void);
/// Sets ADDR_NO_RANDOMIZE in the process's personality (it takes effect at the next exec);
/// 0 or -errno.
int umk_disable_address_randomisation(void);

#endif
