// SPDX-License-Identifier: Apache-2.0
//
// An echo server in C against seL4's API: it receives on its endpoint (id 1) and answers
// every call with the same words, labelled with the caller's badge.

#include <sel4/sel4.h>
#include <stdio.h>

enum { ENDPOINT = 1 };

int main(int argc, char *argv[]) {
    (void)argc;
    printf("%s: serving\n", argv[0]);
    seL4_Word badge;
    seL4_MessageInfo_t info = seL4_Recv(ENDPOINT, &badge);
    for (;;) {
        // The words are in the IPC buffer already: the reply sends them back.
        seL4_Word length = seL4_MessageInfo_get_length(info);
        info = seL4_ReplyRecv(ENDPOINT, seL4_MessageInfo_new(badge, 0, 0, length), &badge);
    }
}
