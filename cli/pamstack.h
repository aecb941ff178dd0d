/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_PAMSTACK_H
#define NSI_PAMSTACK_H

#include <stddef.h>
#include <stdio.h>

/* At most this many directories to look for service files in. */
#define NSI_PAM_DIRS_MAX 4

/*
 * nsisolate check --pam: read the session stack of each of the NSERVICES
 * SERVICES (of every service file in DIRS when NSERVICES is 0) as Linux-PAM
 * does, looking for a file in DIRS in order, and report whether
 * pam_nsisolate.so is where it works (pam_nsisolate(8), PLACEMENT). One line
 * per service goes to OUT, then warnings and errors to ERR, then a summary to
 * OUT. Returns 0 when there is no error, 1 otherwise.
 */
int nsi_pam_check(const char *const *dirs, size_t ndirs, char *const *services, size_t nservices,
		  FILE *out, FILE *err);

#endif
