/* SPDX-License-Identifier: Apache-2.0 */
/* printf and friends to the kernel's debug console (seL4_DebugPutChar). */
#ifndef UMK_STDIO_H
#define UMK_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

int putchar(int c);
int puts(const char *s);
/* %d %i %u %x %X %o %c %s %p %%, with flags - 0 + space #, a width and a precision, and
   the length modifiers hh h l ll z j t. */
int printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *format, va_list args);
int snprintf(char *buffer, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buffer, size_t size, const char *format, va_list args);

#endif
