/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_FAULT_H
#define NSI_FAULT_H

/*
 * Fault points for the crash tests (tests/e2e/test-faults.sh), compiled in
 * only by a test build (make B=build/fault NSI_FAULTS=1, never installed
 * system-wide): NSI_FAULT("name") SIGKILLs the calling process when the
 * file NSI_FAULT_FILE holds exactly that name. Everywhere else it is
 * nothing at all.
 */
#ifdef NSI_FAULTS
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define NSI_FAULT_FILE "/run/nsit-fault/point"

static inline void nsi_fault(const char *point)
{
	char buf[64] = "";
	int fd = open(NSI_FAULT_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (n > 0 && strcmp(buf, point) == 0) {
		raise(SIGKILL);
		/* The init of a PID namespace (a keeper) ignores its own SIGKILL. */
		_exit(128 + SIGKILL);
	}
}
#define NSI_FAULT(point) nsi_fault(point)
#else
#define NSI_FAULT(point) ((void)0)
#endif

#endif
