/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Microkit PD driving COM1's 16550: its registers through the I/O port range the SDF
 * gives it (id 0), its receive interrupt on the channel the SDF's <irq> names. The
 * channel id and the port base arrive in variables the system patches (setvar_id,
 * setvar_addr). Each typed line is echoed back with its length.
 */
#include <microkit.h>

#define UART 0

seL4_Word uart_irq;  /* setvar_id of the <irq> */
seL4_Word uart_base; /* setvar_addr of the <ioport> */

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };

static void out(int reg, seL4_Uint8 value) { microkit_x86_ioport_write_8(UART, uart_base + reg, value); }
static seL4_Uint8 in(int reg) { return microkit_x86_ioport_read_8(UART, uart_base + reg); }

static void put(const char *s) {
    for (; *s; s++) {
        while (!(in(LSR) & 0x20)) {}
        out(THR, (seL4_Uint8)*s);
    }
}

static char line[128];
static unsigned length;

static void receive(void) {
    while (in(LSR) & 1) {
        char c = (char)in(RBR);
        if (c == '\r' || c == '\n') {
            char count[12], *p = count + sizeof count - 1;
            *p = 0;
            unsigned n = length;
            do { *--p = (char)('0' + n % 10); n /= 10; } while (n);
            line[length] = 0;
            put(microkit_name);
            put(": got \"");
            put(line);
            put("\" (");
            put(p);
            put(" bytes)\n");
            length = 0;
        } else if (length < sizeof line - 1) {
            line[length++] = c;
        }
    }
}

void init(void) {
    out(LCR, 0x80); /* 115200 8N1, FIFOs, DTR, RTS and OUT2, receive interrupts */
    out(DLL, 1);
    out(DLM, 0);
    out(LCR, 0x03);
    out(FCR, 0x07);
    out(MCR, 0x0B);
    out(IER, 0x01);
    put(microkit_name);
    put(": 16550 driver ready (a Microkit PD), type a line\n");
    receive();
}

void notified(microkit_channel ch) {
    if (ch != uart_irq) return;
    receive();
    microkit_irq_ack(ch);
}
