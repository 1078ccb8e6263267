// SPDX-License-Identifier: Apache-2.0
//
// Host console endpoints that glibc only declares under _GNU_SOURCE/_XOPEN_SOURCE.
#include "CShims.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

int umk_open_pty(char *name, uint64_t capacity) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, name, capacity) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int umk_accept(int listener) {
    int fd = accept4(listener, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

void umk_line_buffer_stdout(void) {
    setvbuf(stdout, 0, _IOLBF, 0);
}
