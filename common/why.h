/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_WHY_H
#define NSI_WHY_H

/*
 * The one error idiom of this tree: a function that can fail for a reason
 * an administrator must read returns -errno and writes that reason into the
 * caller's buffer, always spelled (char *why, size_t whylen). Callers log
 * or print it as it is, naming what they were doing.
 */
#include <stddef.h>

/* Write the reason into WHY (when WHY is not NULL) and return -ERR. */
int nsi_fail(int err, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
