// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helper.h"

#define MAP_MAX_BYTES 4096
#define MAP_MAX_LINES 340

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static int write_file(int dirfd, const char *name, const char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* A map must arrive in one write(): the kernel parses it once. */
	n = write(fd, buf, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int write_id_maps(int procfd, pid_t pid, uid_t uid, const gid_t *groups, size_t ngroups,
		  uint32_t root_id)
{
	_cleanup_close_ int dfd = -1;
	gid_t sorted[NSI_MAX_GROUPS];
	char umap[128], gmap[MAP_MAX_BYTES];
	size_t glen, lines = 1;
	char path[64];
	int r;

	if (ngroups > NSI_MAX_GROUPS)
		return -E2BIG;
	if (uid == 0 || uid == root_id)
		return -EPERM;
	snprintf(path, sizeof(path), "%d", (int)pid);
	dfd = openat(procfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	/* Real root is never mapped: the namespace's 0 is root_id, which owns nothing. */
	snprintf(umap, sizeof(umap), "0 %u 1\n%u %u 1\n", root_id, (unsigned)uid, (unsigned)uid);

	memcpy(sorted, groups, ngroups * sizeof(gid_t));
	qsort(sorted, ngroups, sizeof(gid_t), cmp_gid);
	glen = (size_t)snprintf(gmap, sizeof(gmap), "0 %u 1\n", root_id);
	for (size_t i = 0; i < ngroups;) {
		size_t j = i + 1;

		if (sorted[i] == 0 || sorted[i] == root_id)
			return -EPERM;
		while (j < ngroups &&
		       (sorted[j] == sorted[j - 1] || sorted[j] == sorted[j - 1] + 1))
			j++;
		if (++lines > MAP_MAX_LINES)
			return -E2BIG;
		glen += (size_t)snprintf(gmap + glen, sizeof(gmap) - glen, "%u %u %u\n",
					 (unsigned)sorted[i], (unsigned)sorted[i],
					 (unsigned)(sorted[j - 1] - sorted[i] + 1));
		if (glen >= sizeof(gmap))
			return -E2BIG;
		i = j;
	}

	/*
	 * "allow": login programs call initgroups() inside; no session process
	 * keeps CAP_SETGID afterwards, and the map only holds the user's own gids.
	 */
	r = write_file(dfd, "setgroups", "allow", 5);
	if (r < 0)
		return r;
	r = write_file(dfd, "uid_map", umap, strlen(umap));
	if (r < 0)
		return r;
	return write_file(dfd, "gid_map", gmap, glen);
}
