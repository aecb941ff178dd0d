/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny TAP producer for the unit tests: "ok N - desc" / "not ok N - desc"
 * on stdout, diagnostics as "# ..." lines, and done_testing() printing the
 * plan and returning the exit status (non-zero when anything failed).
 */
#ifndef NSI_TAP_H
#define NSI_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_run, tap_failed;

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static inline bool tap_vok(bool pass, const char *file, int line, const char *fmt, va_list ap)
{
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %u - ", pass ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return pass;
}

static inline bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(pass, file, line, fmt, ap);
	va_end(ap);
	return r;
}

static inline bool tap_is_str(const char *got, const char *exp, const char *file, int line,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline bool tap_is_str(const char *got, const char *exp, const char *file, int line,
			      const char *fmt, ...)
{
	bool pass = got && exp ? strcmp(got, exp) == 0 : got == exp;
	va_list ap;

	va_start(ap, fmt);
	tap_vok(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_diag("     got: %s%s%s", got ? "'" : "", got ? got : "NULL", got ? "'" : "");
		tap_diag("expected: %s%s%s", exp ? "'" : "", exp ? exp : "NULL", exp ? "'" : "");
	}
	return pass;
}

static inline bool tap_is_int(long long got, long long exp, const char *file, int line,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline bool tap_is_int(long long got, long long exp, const char *file, int line,
			      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(got == exp, file, line, fmt, ap);
	va_end(ap);
	if (got != exp) {
		tap_diag("     got: %lld", got);
		tap_diag("expected: %lld", exp);
	}
	return got == exp;
}

/* Prints the plan; returns the process exit status. */
static inline int done_testing(void)
{
	printf("1..%u\n", tap_run);
	if (tap_failed)
		printf("# %u of %u tests failed\n", tap_failed, tap_run);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

/*
 * snprintf into an array that must hold the whole result (a path built from
 * a temporary directory): a result that does not fit is a broken test, so
 * it stops the run instead of testing a truncated name.
 */
static inline void tap_bprintf(const char *file, int line, char *buf, size_t size, const char *fmt,
			       ...) __attribute__((format(printf, 5, 6)));
static inline void tap_bprintf(const char *file, int line, char *buf, size_t size, const char *fmt,
			       ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		printf("Bail out! %s:%d: a test path does not fit in %zu bytes\n", file, line,
		       size);
		exit(1);
	}
}
#define bprintf(buf, ...) tap_bprintf(__FILE__, __LINE__, (buf), sizeof(buf), __VA_ARGS__)

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, exp, ...) tap_is_str((got), (exp), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, exp, ...) \
	tap_is_int((long long)(got), (long long)(exp), __FILE__, __LINE__, __VA_ARGS__)
#define diag(...) tap_diag(__VA_ARGS__)

#endif
