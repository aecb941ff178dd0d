// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"

static int cg_mount(void)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "cgroup", FSOPEN_CLOEXEC);
	int m;

	if (fs < 0)
		return -errno;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "none", NULL, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "name", NSI_CGROUP_NAME, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	return m < 0 ? -errno : m;
}

int nsi_cg_open(void)
{
	int m = -EBUSY;

	/*
	 * A hierarchy being torn down makes the kernel sleep and restart the
	 * call, which the new mount API then refuses with EBUSY: start over.
	 */
	for (int i = 0; i < 5 && m == -EBUSY; i++)
		m = cg_mount();
	if (m < 0)
		return m;
	/*
	 * The anchor keeps the hierarchy alive between sets; without it the
	 * last set's directory going takes the hierarchy with it, and the next
	 * login waits for that (10 ms).
	 */
	if (mkdirat(m, NSI_CGROUP_ANCHOR, 0755) < 0 && errno != EEXIST) {
		int r = -errno;

		close(m);
		return r;
	}
	return m;
}

static int procs_open(bool create, uid_t uid)
{
	_cleanup_close_ int cg = nsi_cg_open();
	char path[32];
	int fd;

	if (cg < 0)
		return cg;
	snprintf(path, sizeof(path), "%u", (unsigned)uid);
	/* The hierarchy's root is 0555: only root with CAP_DAC_OVERRIDE adds to it. */
	if (create && mkdirat(cg, path, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%u/cgroup.procs", (unsigned)uid);
	fd = openat(cg, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int nsi_cg_procs_open(uid_t uid)
{
	return procs_open(false, uid);
}

int nsi_cg_create_procs(uid_t uid)
{
	return procs_open(true, uid);
}

int nsi_cg_pids(int cg, uid_t uid, pid_t **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	size_t len = 0, cap = 0;
	pid_t *pids = NULL;
	int n = 0, r = 0;
	char path[32];

	*ret = NULL;
	snprintf(path, sizeof(path), "%u/cgroup.procs", (unsigned)uid);
	fd = openat(cg, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t k;

		if (cap - len < 4096) {
			char *t = realloc(text, cap + 16384);

			if (!t)
				return -ENOMEM;
			text = t;
			cap += 16384;
		}
		k = read(fd, text + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	text[len] = '\0';
	for (char *p = text, *end; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p || (*end && *end != '\n') || v <= 0 || v > INT32_MAX) {
			r = -EBADMSG;
			break;
		}
		if (*end)
			end++;
		if (n % 64 == 0) {
			pid_t *t = realloc(pids, (size_t)(n + 64) * sizeof(*pids));

			if (!t) {
				r = -ENOMEM;
				break;
			}
			pids = t;
		}
		pids[n++] = (pid_t)v;
	}
	if (r < 0) {
		free(pids);
		return r;
	}
	*ret = pids;
	return n;
}

int nsi_cg_remove(int cg, uid_t uid)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	return unlinkat(cg, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}
