/* SPDX-License-Identifier: Apache-2.0 */
/* assert: a failed one prints where and ends the task with status 134. */
#ifndef UMK_ASSERT_H
#define UMK_ASSERT_H

_Noreturn void __umk_assert_fail(const char *expression, const char *file, int line, const char *function);

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : __umk_assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#endif
