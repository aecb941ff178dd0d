// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nsit-euid: prints the real, effective and saved uid. test-userns.sh installs
 * it setuid root: run by a user outside a session it prints euid=0; inside an
 * isolated session (real root unmapped) the set-user-ID bit is inert and it
 * prints the user's own uid.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	uid_t r, e, s;

	if (getresuid(&r, &e, &s) < 0) {
		perror("getresuid");
		return 1;
	}
	printf("ruid=%u euid=%u suid=%u\n", (unsigned)r, (unsigned)e, (unsigned)s);
	return 0;
}
