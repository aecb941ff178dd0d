// SPDX-License-Identifier: LGPL-2.1-or-later
/* Emptying the capability bounding set: see capbset.h. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include "capbset.h"

/*
 * Capability C out of the bounding set: 0, or -1 with errno. Without
 * CAP_SETPCAP (a second call, after the caller changed uid) a capability
 * that is already out is no failure: the set is what was asked.
 */
static int drop(int c)
{
	int saved, in;

	if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
		return 0;
	saved = errno;
	/* The kernel checks the permission before the number: EINVAL comes from the read. */
	if (saved == EPERM) {
		in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (in == 0)
			return 0;
		if (in < 0)
			saved = errno;
	}
	errno = saved;
	return -1;
}

int nsi_capbset_drop(uint64_t keep)
{
	/*
	 * Capabilities newer than this build's headers too: up to the first
	 * number the kernel calls invalid. The mask bounds the walk at 64.
	 */
	for (int c = 0; c < 64; c++) {
		if (c == CAP_SETPCAP || (keep & NSI_CAP_BIT(c)))
			continue;
		if (drop(c) == 0)
			continue;
		if (errno == EINVAL && c > 0)
			break;
		return -errno;
	}
	if (!(keep & NSI_CAP_BIT(CAP_SETPCAP)) && drop(CAP_SETPCAP) < 0)
		return -errno;
	return 0;
}
