/* SPDX-License-Identifier: Apache-2.0 */
/* seL4's C API as umk offers it: include this, as with libsel4. */
#ifndef SEL4_SEL4_H
#define SEL4_SEL4_H

#include <kernel/gen_config.h>
#include <sel4/types.h>
#include <sel4/syscalls.h>
#include <sel4/invocations.h>

#endif
