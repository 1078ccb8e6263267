// SPDX-License-Identifier: Apache-2.0
//
// An echo client in C: it sends its first argument, packed 8 bytes to a message register,
// to the echo server (its channel's client end, id 1) and checks what comes back.

#include <sel4/sel4.h>
#include <stdio.h>
#include <string.h>

enum { ENDPOINT = 1 };

int main(int argc, char *argv[]) {
    const char *text = argc > 1 ? argv[1] : "hello";
    size_t length = strlen(text), words = (length + 8) / 8;
    if (words > seL4_MsgMaxLength) return 2;
    for (size_t i = 0; i < words; i++) {
        seL4_Word w = 0;
        for (size_t b = 0; b < 8 && i * 8 + b < length; b++) w |= (seL4_Word)(unsigned char)text[i * 8 + b] << (8 * b);
        seL4_SetMR((int)i, w);
    }
    seL4_MessageInfo_t reply = seL4_Call(ENDPOINT, seL4_MessageInfo_new(1, 0, 0, words));
    char echoed[seL4_MsgMaxLength * 8 + 1];
    size_t n = seL4_MessageInfo_get_length(reply);
    for (size_t i = 0; i < n * 8; i++) echoed[i] = (char)(seL4_GetMR((int)(i / 8)) >> (8 * (i % 8)));
    echoed[n * 8] = 0;
    int same = strcmp(echoed, text) == 0;
    printf("%s: sent %zu words, got them back %s, labelled with my badge %lu\n", argv[0], words,
           same ? "unchanged" : "changed", (unsigned long)seL4_MessageInfo_get_label(reply));
    return same ? 0 : 1;
}
