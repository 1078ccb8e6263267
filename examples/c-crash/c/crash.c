/* SPDX-License-Identifier: Apache-2.0 */
/* A C task that writes through a null pointer in a function of its own: init's crash
 * report names the function (its image's symbols). */
#include <sel4/sel4.h>
#include <stdio.h>

__attribute__((noinline)) static void write_through_null(volatile int *p) {
    *p = 1;
}

int main(void) {
    printf("null: writing through a null pointer\n");
    write_through_null((volatile int *)0);
    printf("null: still running (should not be)\n");
    return 0;
}
