// SPDX-License-Identifier: LGPL-2.1-or-later
/* Mounts by file descriptor: see mountfd.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "mountfd.h"

int mountfd_new(const char *fstype, const char *const *opts, unsigned attrs)
{
	_cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
	int mfd;

	if (fs < 0)
		return -errno;
	for (; opts && opts[0] && opts[1]; opts += 2)
		if (fsconfig(fs, FSCONFIG_SET_STRING, opts[0], opts[1], 0) < 0)
			return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mfd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | attrs);
	return mfd < 0 ? -errno : mfd;
}

int mountfd_tmpfs(uint64_t size, mode_t mode, uid_t uid, gid_t gid, unsigned attrs)
{
	char sz[24], md[8], u[12], g[12];
	const char *opts[] = { "size", sz, "mode", md, "uid", u, "gid", g, NULL };

	snprintf(sz, sizeof(sz), "%" PRIu64, size);
	snprintf(md, sizeof(md), "%04o", (unsigned)mode & 07777);
	if (uid == (uid_t)-1)
		opts[4] = NULL;
	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	snprintf(g, sizeof(g), "%u", (unsigned)gid);
	return mountfd_new("tmpfs", opts, attrs);
}

static int set_attrs(int mfd, unsigned attrs, uint64_t propagation, bool recursive)
{
	struct mount_attr attr = { .attr_set = attrs, .propagation = propagation };

	if (mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
			  sizeof(attr)) < 0)
		return -errno;
	return 0;
}

int mountfd_clone(int fd, bool recursive, unsigned attrs, uint64_t propagation)
{
	_cleanup_close_ int tree = open_tree(fd, "",
					     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
						     (recursive ? AT_RECURSIVE : 0));
	int r;

	if (tree < 0)
		return -errno;
	if (attrs || propagation) {
		r = set_attrs(tree, attrs, propagation, recursive);
		if (r < 0)
			return r;
	}
	return TAKE_FD(tree);
}

int mountfd_setattr(int mfd, unsigned attrs)
{
	return set_attrs(mfd, attrs, 0, false);
}

int mountfd_attach(int mfd, int target)
{
	if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}
