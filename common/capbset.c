// SPDX-License-Identifier: LGPL-2.1-or-later
/* Emptying the capability bounding set: see capbset.h. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include "capbset.h"

int nsi_capbset_drop(uint64_t keep)
{
	/*
	 * Capabilities newer than this build's headers too: up to the first
	 * number the kernel calls invalid. The mask bounds the walk at 64.
	 */
	for (int c = 0; c < 64; c++) {
		if (c == CAP_SETPCAP || (keep & NSI_CAP_BIT(c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && c > 0)
			break;
		return -errno;
	}
	if (!(keep & NSI_CAP_BIT(CAP_SETPCAP)) && prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
