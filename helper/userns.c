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
#include "idmap.h"

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

int write_id_maps(int procfd, pid_t pid, const char *user, uid_t uid, const gid_t *groups,
		  size_t ngroups, uint32_t root_id)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ struct nsi_gid_map *gmap = calloc(1, sizeof(*gmap));
	char umap[128], path[64];
	int r;

	if (!gmap)
		return -ENOMEM;
	if (uid == 0 || uid == root_id)
		return -EPERM;
	snprintf(path, sizeof(path), "%d", (int)pid);
	dfd = openat(procfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	/* Real root is never mapped: the namespace's 0 is root_id, which owns nothing. */
	snprintf(umap, sizeof(umap), "0 %u 1\n%u %u 1\n", root_id, (unsigned)uid, (unsigned)uid);
	r = nsi_gid_map_build(groups, ngroups, root_id, gmap);
	if (r < 0)
		return r;
	if (gmap->ranges < gmap->exact_ranges)
		notice("the %zu groups of %s are %zu ranges of gids, more than a gid map holds "
		       "(%d lines, %d bytes): mapped as %zu ranges that also span %llu gids "
		       "%s does not hold",
		       ngroups, user, gmap->exact_ranges, NSI_MAP_MAX_LINES, NSI_MAP_MAX_BYTES,
		       gmap->ranges, (unsigned long long)gmap->spanned, user);

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
	return write_file(dfd, "gid_map", gmap->text, gmap->len);
}
