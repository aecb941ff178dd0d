// SPDX-License-Identifier: LGPL-2.1-or-later
/* The error idiom: see why.h. */
#include <stdarg.h>
#include <stdio.h>

#include "why.h"

int nsi_fail(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -err;
}
