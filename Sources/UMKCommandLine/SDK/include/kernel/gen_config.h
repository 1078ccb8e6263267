/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel configuration umk has, under the names seL4's build gives it (Microkit's
 * Makefiles read CONFIG_SEL4_ARCH from here): x86_64, one core, not MCS, a debug kernel
 * that prints, a thread that sets its own TLS base.
 */
#pragma once

#define CONFIG_SEL4_ARCH  x86_64
#define CONFIG_ARCH_X86_64  1
#define CONFIG_ARCH_X86  1
#define CONFIG_WORD_SIZE  64
#define CONFIG_MAX_NUM_NODES  1
#define CONFIG_DEBUG_BUILD  1
#define CONFIG_PRINTING  1
#define CONFIG_SET_TLS_BASE_SELF  1
