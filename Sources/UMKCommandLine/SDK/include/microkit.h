/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Microkit's API (libmicrokit) on umk: a protection domain (PD) defines init(), notified()
 * and, if others call it, protected() (and fault() if it has children); the library's
 * event loop calls them. Names, types and semantics are Microkit's: channels 0-61,
 * notifications coalesce, a protected procedure call goes to a PD of higher priority.
 * umk's kernel is not MCS: there are no scheduling contexts, so a passive PD is an
 * ordinary thread that only runs when called or notified.
 *
 * The capability layout is umk's own (its init builds each PD's CSpace; code uses these
 * names, not numbers): the PD's input endpoint (with its notification bound to its TCB) at
 * INPUT_CAP, then for channel or id n: the notification to signal at
 * BASE_OUTPUT_NOTIFICATION_CAP + n, the endpoint to call at BASE_ENDPOINT_CAP + n, the IRQ
 * handler at BASE_IRQ_CAP + n, a child's TCB at BASE_TCB_CAP + n, an I/O port range at
 * BASE_IOPORT_CAP + n. Badges on the input endpoint: bit 63 a protected procedure call
 * (channel in the low bits), bit 62 a child's fault (its id), else one bit per channel.
 */
#ifndef MICROKIT_H
#define MICROKIT_H

#include <sel4/sel4.h>
#include <stdint.h>

typedef unsigned int microkit_channel;
typedef unsigned int microkit_child;
typedef unsigned int microkit_ioport;
typedef seL4_MessageInfo_t microkit_msginfo;

#define INPUT_CAP 1
#define BASE_OUTPUT_NOTIFICATION_CAP 128
#define BASE_ENDPOINT_CAP 192
#define BASE_IRQ_CAP 256
#define BASE_TCB_CAP 320
#define BASE_IOPORT_CAP 384
/* A PD's CNode: 2^PD_CAP_BITS slots (the caps above, and init's own slots 64-79). */
#define PD_CAP_BITS 9

#define MICROKIT_MAX_CHANNELS 62
#define MICROKIT_MAX_CHANNEL_ID (MICROKIT_MAX_CHANNELS - 1)
#define MICROKIT_MAX_IOPORT_ID MICROKIT_MAX_CHANNELS
#define MICROKIT_PD_NAME_LENGTH 64

/* The PD's entry points. */
void init(void);
void notified(microkit_channel ch);
microkit_msginfo protected(microkit_channel ch, microkit_msginfo msginfo);
seL4_Bool fault(microkit_child child, microkit_msginfo msginfo, microkit_msginfo *reply_msginfo);

/* Set for each PD when the system is built (umk patches them into the image). */
extern char microkit_name[MICROKIT_PD_NAME_LENGTH];
extern seL4_Bool microkit_passive;
extern seL4_Word microkit_irqs;          /* channel ids that are IRQs */
extern seL4_Word microkit_notifications; /* channel ids this PD may notify */
extern seL4_Word microkit_pps;           /* channel ids this PD may call */
extern seL4_Word microkit_ioports;       /* I/O port ids */

/* A deferred signal, sent as the PD next waits (microkit_deferred_*). */
extern seL4_Bool microkit_have_signal;
extern seL4_CPtr microkit_signal_cap;
extern seL4_MessageInfo_t microkit_signal_msg;

void microkit_dbg_putc(int c);
void microkit_dbg_puts(const char *s);
void microkit_dbg_put8(seL4_Uint8 x);
void microkit_dbg_put32(seL4_Uint32 x);
/* Reports a failed kernel call and stops the PD (its fault goes to its parent or init). */
void microkit_internal_crash(seL4_Error err);

/* True if `ch` is one of `mask`'s channels; else reports `what` and the channel. */
static inline seL4_Bool microkit_internal_channel_ok(seL4_Word mask, microkit_channel ch, const char *what) {
    if (ch <= MICROKIT_MAX_CHANNEL_ID && (mask & (1ull << ch))) return seL4_True;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(what);
    microkit_dbg_puts(": invalid channel given '");
    microkit_dbg_put32(ch);
    microkit_dbg_puts("'\n");
    return seL4_False;
}

static inline void microkit_notify(microkit_channel ch) {
    if (microkit_internal_channel_ok(microkit_notifications, ch, " microkit_notify")) seL4_Signal(BASE_OUTPUT_NOTIFICATION_CAP + ch);
}

static inline void microkit_irq_ack(microkit_channel ch) {
    if (microkit_internal_channel_ok(microkit_irqs, ch, " microkit_irq_ack")) seL4_IRQHandler_Ack(BASE_IRQ_CAP + ch);
}

static inline microkit_msginfo microkit_ppcall(microkit_channel ch, microkit_msginfo msginfo) {
    if (!microkit_internal_channel_ok(microkit_pps, ch, " microkit_ppcall")) return seL4_MessageInfo_new(0, 0, 0, 0);
    return seL4_Call(BASE_ENDPOINT_CAP + ch, msginfo);
}

/* Where each child's _start runs, less Microkit's link address of a PD's text (where its
 * _start is): on umk every PD is position-independent and has its own part of the
 * address space, so umk patches this for each child of the PD. */
#define MICROKIT_LINK_ADDRESS 0x200000
extern seL4_Word microkit_child_entry_offset[MICROKIT_MAX_CHANNELS];

/* A child PD: restarted at `entry_point` (an address as Microkit links the child:
 * MICROKIT_LINK_ADDRESS is its _start, which starts it over), stopped, resumed. */
static inline void microkit_pd_restart(microkit_child pd, seL4_Word entry_point) {
    seL4_UserContext ctxt = {0};
    ctxt.rip = entry_point + (pd <= MICROKIT_MAX_CHANNEL_ID ? microkit_child_entry_offset[pd] : 0);
    seL4_Error err = seL4_TCB_WriteRegisters(BASE_TCB_CAP + pd, seL4_True, 0, 1, &ctxt);
    if (err != seL4_NoError) {
        microkit_dbg_puts("microkit_pd_restart: error writing registers\n");
        microkit_internal_crash(err);
    }
}
static inline void microkit_pd_stop(microkit_child pd) {
    seL4_Error err = seL4_TCB_Suspend(BASE_TCB_CAP + pd);
    if (err != seL4_NoError) {
        microkit_dbg_puts("microkit_pd_stop: error suspending the child\n");
        microkit_internal_crash(err);
    }
}
static inline void microkit_pd_resume(microkit_child pd) {
    seL4_Error err = seL4_TCB_Resume(BASE_TCB_CAP + pd);
    if (err != seL4_NoError) {
        microkit_dbg_puts("microkit_pd_resume: error resuming the child\n");
        microkit_internal_crash(err);
    }
}

static inline microkit_msginfo microkit_msginfo_new(seL4_Word label, seL4_Uint16 count) {
    return seL4_MessageInfo_new(label, 0, 0, count);
}
static inline seL4_Word microkit_msginfo_get_label(microkit_msginfo msginfo) { return seL4_MessageInfo_get_label(msginfo); }
static inline seL4_Word microkit_msginfo_get_count(microkit_msginfo msginfo) { return seL4_MessageInfo_get_length(msginfo); }
static inline void microkit_mr_set(seL4_Uint8 mr, seL4_Word value) { seL4_SetMR(mr, value); }
static inline seL4_Word microkit_mr_get(seL4_Uint8 mr) { return seL4_GetMR(mr); }

/* x86 I/O ports, through the port cap with `ioport_id`. */
static inline seL4_Bool microkit_internal_ioport_ok(microkit_ioport ioport_id, const char *what) {
    if (ioport_id > MICROKIT_MAX_IOPORT_ID || !(microkit_ioports & (1ull << ioport_id))) {
        microkit_dbg_puts(microkit_name);
        microkit_dbg_puts(what);
        microkit_dbg_puts(": invalid I/O port id '");
        microkit_dbg_put32(ioport_id);
        microkit_dbg_puts("'\n");
        return seL4_False;
    }
    return seL4_True;
}
static inline void microkit_x86_ioport_write_8(microkit_ioport ioport_id, seL4_Word port_addr, seL4_Word data) {
    if (microkit_internal_ioport_ok(ioport_id, " microkit_x86_ioport_write_8"))
        seL4_X86_IOPort_Out8(BASE_IOPORT_CAP + ioport_id, port_addr, data);
}
static inline void microkit_x86_ioport_write_16(microkit_ioport ioport_id, seL4_Word port_addr, seL4_Word data) {
    if (microkit_internal_ioport_ok(ioport_id, " microkit_x86_ioport_write_16"))
        seL4_X86_IOPort_Out16(BASE_IOPORT_CAP + ioport_id, port_addr, data);
}
static inline void microkit_x86_ioport_write_32(microkit_ioport ioport_id, seL4_Word port_addr, seL4_Word data) {
    if (microkit_internal_ioport_ok(ioport_id, " microkit_x86_ioport_write_32"))
        seL4_X86_IOPort_Out32(BASE_IOPORT_CAP + ioport_id, port_addr, data);
}
static inline seL4_Uint8 microkit_x86_ioport_read_8(microkit_ioport ioport_id, seL4_Word port_addr) {
    if (!microkit_internal_ioport_ok(ioport_id, " microkit_x86_ioport_read_8")) return 0;
    return seL4_X86_IOPort_In8(BASE_IOPORT_CAP + ioport_id, port_addr).result;
}
static inline seL4_Uint16 microkit_x86_ioport_read_16(microkit_ioport ioport_id, seL4_Word port_addr) {
    if (!microkit_internal_ioport_ok(ioport_id, " microkit_x86_ioport_read_16")) return 0;
    return seL4_X86_IOPort_In16(BASE_IOPORT_CAP + ioport_id, port_addr).result;
}
static inline seL4_Uint32 microkit_x86_ioport_read_32(microkit_ioport ioport_id, seL4_Word port_addr) {
    if (!microkit_internal_ioport_ok(ioport_id, " microkit_x86_ioport_read_32")) return 0;
    return seL4_X86_IOPort_In32(BASE_IOPORT_CAP + ioport_id, port_addr).result;
}

/* Deferred: sent when the PD next waits (one at a time, as in Microkit). */
static inline void microkit_deferred_notify(microkit_channel ch) {
    if (!microkit_internal_channel_ok(microkit_notifications, ch, " microkit_deferred_notify")) return;
    microkit_have_signal = seL4_True;
    microkit_signal_msg = seL4_MessageInfo_new(0, 0, 0, 0);
    microkit_signal_cap = BASE_OUTPUT_NOTIFICATION_CAP + ch;
}
static inline void microkit_deferred_irq_ack(microkit_channel ch) {
    if (!microkit_internal_channel_ok(microkit_irqs, ch, " microkit_deferred_irq_ack")) return;
    microkit_have_signal = seL4_True;
    microkit_signal_msg = seL4_MessageInfo_new(IRQAckIRQ, 0, 0, 0);
    microkit_signal_cap = BASE_IRQ_CAP + ch;
}

/* A slot of the PD's CNode as a cap pointer (the CNode is the CSpace root, no guard). */
static inline seL4_CPtr microkit_cspace_root_slot_to_cptr(seL4_Word slot) { return slot; }

#endif
