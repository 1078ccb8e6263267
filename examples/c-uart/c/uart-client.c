/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of the C UART driver: says hello through it, reads a line typed on the console,
 * and writes it back.
 */
#include <sel4/sel4.h>
#include <stdio.h>
#include <string.h>

enum { UART = 1 };

static void uart_write(const char *text) {
    size_t n = strlen(text);
    seL4_SetMR(0, n);
    memcpy(&seL4_GetIPCBuffer()->msg[1], text, n);
    seL4_Call(UART, seL4_MessageInfo_new(1, 0, 0, 1 + (n + 7) / 8));
}

int main(int argc, char *argv[]) {
    char text[300];
    snprintf(text, sizeof text, "%s: type a line, please\n", argv[0]);
    uart_write(text);
    seL4_Call(UART, seL4_MessageInfo_new(2, 0, 0, 0));
    size_t n = seL4_GetMR(0);
    char got[257];
    if (n > 256) n = 256;
    memcpy(got, &seL4_GetIPCBuffer()->msg[1], n);
    got[n] = 0;
    snprintf(text, sizeof text, "%s: the driver read \"%s\" (%d bytes)\n", argv[0], got, (int)n);
    uart_write(text);
    (void)argc;
    return 0;
}
