/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_LITERAL_H
#define NSI_LITERAL_H

/*
 * libconfig 1.5 stores an integer literal without an L suffix in an int, so
 * 4294968296 silently becomes 1000. The policy loader reads each integer
 * setting's literal again from the file's text and compares: a second,
 * small lexer for exactly that (comments, strings, names, = or :).
 */
#include <stddef.h>

/* A scan over one file's text; settings are looked up in file order. */
struct nsi_literal_scan {
	const char *text; /* NUL-terminated */
	const char *pos; /* where the last setting was found (a token start), or NULL */
	int line; /* pos's line */
};

void nsi_literal_scan_init(struct nsi_literal_scan *sc, const char *text);

/*
 * The literal after the first NAME on LINE (1-based) that is followed by =
 * or :, lexed from the top so that strings and comments are known as such.
 * The scan resumes where the previous lookup succeeded, so a file's settings
 * cost one pass in all. Returns 0 with *V set; -ERANGE when the literal does
 * not fit in 64 bits; -ENOENT when no integer literal is there. LIT gets the
 * literal's text (truncated to LITLEN) in every case.
 */
int nsi_literal_find(struct nsi_literal_scan *sc, const char *name, int line, long long *v,
		     char *lit, size_t litlen);

#endif
