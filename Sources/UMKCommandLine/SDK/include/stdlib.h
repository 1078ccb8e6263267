/* SPDX-License-Identifier: Apache-2.0 */
/* The freestanding part of <stdlib.h> a program on umk has. */
#ifndef UMK_STDLIB_H
#define UMK_STDLIB_H

#include <stddef.h>

/* Ends the task with `status` (init learns it, as the task's exit status). */
_Noreturn void exit(int status);
/* Ends the task with status 134, as a host's SIGABRT would. */
_Noreturn void abort(void);
int abs(int v);
long labs(long v);

#endif
