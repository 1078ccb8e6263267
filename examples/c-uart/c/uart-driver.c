/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A 16550 UART driver in C, on seL4's API: COM1's registers through an I/O port cap,
 * its interrupt through an IRQ handler cap. Output is interrupt-driven (a byte per
 * transmitter-empty interrupt, from a ring), input too (each received line is echoed and
 * handed to the client waiting for one). Clients call the driver's endpoint:
 *   label 1, write: MR0 = length, the bytes packed from MR1 on; the reply comes when the
 *           bytes are queued;
 *   label 2, read a line: the reply (MR0 = length, bytes from MR1) comes when one arrives.
 * init bound the IRQ's notification to this thread: an interrupt arrives on the endpoint
 * with the badge 1 << 62 | 1 << 4.
 */
#include <sel4/sel4.h>
#include <string.h>

enum { CLIENTS = 1, PORTS = 2, IRQ = 3 };          /* the manifest's ids */
enum { CNODE = 65, CNODE_DEPTH = 8, READER = 80 }; /* own CNode; the first free slot */
#define IRQ_BADGE (1ul << 62 | 1ul << 4)

enum { COM1 = 0x3F8, THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
enum { IER_RX = 1, IER_TX = 2, LSR_DATA = 1, LSR_THR_EMPTY = 0x20 };

static void out8(int reg, seL4_Uint8 value) { seL4_X86_IOPort_Out8(PORTS, COM1 + reg, value); }
static seL4_Uint8 in8(int reg) { return seL4_X86_IOPort_In8(PORTS, COM1 + reg).result; }

/* The transmit ring. */
static char ring[4096];
static size_t head, tail;
static int transmitting;

static void start_transmitting(void) {
    if (transmitting || head == tail) return;
    transmitting = 1;
    out8(IER, IER_RX | IER_TX); /* enabling it with THR empty raises the interrupt at once */
}
static void queue(const char *bytes, size_t n) {
    for (size_t i = 0; i < n && (head + 1) % sizeof ring != tail; i++) {
        ring[head] = bytes[i];
        head = (head + 1) % sizeof ring;
    }
    start_transmitting();
}
static void transmit(void) {
    while (head != tail && (in8(LSR) & LSR_THR_EMPTY)) {
        out8(THR, (seL4_Uint8)ring[tail]);
        tail = (tail + 1) % sizeof ring;
        if (head != tail) break; /* one byte per interrupt */
    }
    if (head == tail) {
        transmitting = 0;
        out8(IER, IER_RX);
    }
}

/* The line being received, and whether a client waits for it. */
static char line[256];
static size_t line_length;
static int reader_waiting, line_ready;

static void reply_line(void) {
    seL4_SetMR(0, line_length);
    memcpy(&seL4_GetIPCBuffer()->msg[1], line, line_length);
    seL4_Send(READER, seL4_MessageInfo_new(0, 0, 0, 1 + (line_length + 7) / 8));
    reader_waiting = 0;
    line_ready = 0;
    line_length = 0;
}

static void receive(void) {
    while (in8(LSR) & LSR_DATA) {
        char c = (char)in8(RBR);
        if (c == '\r') c = '\n';
        queue(&c, 1); /* echo */
        if (line_ready) continue; /* one line waits for a reader; later bytes are only echoed */
        if (c == '\n') {
            line_ready = 1;
            if (reader_waiting) reply_line();
        } else if (line_length < sizeof line) {
            line[line_length++] = c;
        }
    }
}

int main(void) {
    /* 115200 8N1, FIFOs on, DTR and RTS (ready to receive), OUT2 (the PC's interrupt
     * gate), receive interrupts. */
    out8(LCR, 0x80);
    out8(DLL, 1);
    out8(DLM, 0);
    out8(LCR, 0x03);
    out8(FCR, 0x07);
    out8(MCR, 0x0B);
    out8(IER, IER_RX);
    static const char banner[] = "uart: 16550 driver ready (IRQ 4, ports 0x3f8-0x3ff)\n";
    queue(banner, sizeof banner - 1);
    receive(); /* what arrived before the receive interrupt was on */
    seL4_IRQHandler_Ack(IRQ);

    seL4_Word badge;
    seL4_MessageInfo_t m = seL4_Recv(CLIENTS, &badge);
    for (;;) {
        if (badge == IRQ_BADGE) {
            seL4_Uint8 cause = in8(IIR) & 0x0F;
            if (cause == 0x04 || cause == 0x0C) receive();
            transmit();
            seL4_IRQHandler_Ack(IRQ);
            m = seL4_Recv(CLIENTS, &badge);
            continue;
        }
        switch (seL4_MessageInfo_get_label(m)) {
        case 1: {
            seL4_Word n = seL4_GetMR(0);
            if (n > (seL4_MsgMaxLength - 1) * 8) n = (seL4_MsgMaxLength - 1) * 8;
            queue((const char *)&seL4_GetIPCBuffer()->msg[1], n);
            m = seL4_ReplyRecv(CLIENTS, seL4_MessageInfo_new(0, 0, 0, 0), &badge);
            break;
        }
        case 2:
            seL4_CNode_SaveCaller(CNODE, READER, CNODE_DEPTH);
            reader_waiting = 1;
            if (line_ready) reply_line();
            m = seL4_Recv(CLIENTS, &badge);
            break;
        default:
            m = seL4_ReplyRecv(CLIENTS, seL4_MessageInfo_new(seL4_IllegalOperation, 0, 0, 0), &badge);
            break;
        }
    }
}
