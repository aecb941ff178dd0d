// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mounts of a new set, made inside its fresh mount namespace after
 * propagation is set to slave. Targets are reached through nsi_walk_root()
 * (root-owned components only) and every mount is attached by fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helper.h"
#include "state.h"

#define INSTANCE_ROOT "/var/lib/nsisolate"

static int attach(int mfd, int target)
{
	if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/* A fresh tmpfs: 1777 (or MODE), nosuid, nodev, size enforced by the kernel. */
static int mount_tmpfs(int target, uint64_t size, const char *mode, unsigned attrs)
{
	_cleanup_close_ int fs = -1, mfd = -1;
	char sz[32];

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mfd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | attrs);
	if (mfd < 0)
		return -errno;
	return attach(mfd, target);
}

/* Escape a path into one directory name: [A-Za-z0-9] kept, all else "_XX". */
static void escape_path(const char *p, char *out, size_t len)
{
	size_t o = 0;

	for (p += (*p == '/'); *p && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			out[o++] = *p;
		else
			o += (size_t)snprintf(out + o, len - o, "_%02x", (unsigned char)*p);
	}
	out[o] = '\0';
}

/* mkdirat + open without following, then insist on owner root and MODE exactly. */
static int root_dir_at(int dirfd, const char *name, mode_t mode)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != mode)
		return -EPERM;
	return TAKE_FD(fd);
}

/*
 * /run/nsisolate in the set: a read-only tmpfs of mode 000 holding "dir" and
 * "empty" (both 000), from which hide = [...] binds. Returns its mount fd.
 */
static int hide_state_dir(int *ret_dir, int *ret_empty)
{
	_cleanup_close_ int target = -1, fs = -1, mfd = -1, f = -1;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	char why[512];

	target = nsi_walk_root("/run/nsisolate", NSI_WALK_DIR, why, sizeof(why));
	if (target < 0)
		die(-target, "cannot hide /run/nsisolate: %s", why);
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", "65536", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		die(errno, "tmpfs for /run/nsisolate: %m");
	mfd = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mfd < 0)
		die(errno, "tmpfs for /run/nsisolate: %m");
	/* Filled while 0700 (the helper has no DAC override), then closed to 000. */
	f = openat(mfd, "empty", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (f < 0 || mkdirat(mfd, "dir", 0) < 0)
		die(errno, "tmpfs for /run/nsisolate: %m");
	nsi_closep(&f);
	/* Kept open: once the root is 000 not even the helper can look them up. */
	*ret_dir = openat(mfd, "dir", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	*ret_empty = openat(mfd, "empty", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*ret_dir < 0 || *ret_empty < 0)
		die(errno, "tmpfs for /run/nsisolate: %m");
	f = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f < 0 || fchmod(f, 0) < 0)
		die(errno, "tmpfs for /run/nsisolate: %m");
	if (mount_setattr(mfd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		die(errno, "read-only /run/nsisolate: %m");
	if (attach(mfd, target) < 0)
		die(errno, "cannot hide /run/nsisolate: %m");
	return TAKE_FD(mfd);
}

/* /var/lib/nsisolate/UID/ESCAPED: outer levels 0700 root, inner 1777 root. */
static int instance_dir(uid_t uid, const char *dir)
{
	_cleanup_close_ int top = -1, parent = -1, outer = -1;
	char why[512], name[32], esc[NSI_PATH_LEN * 3];

	/* /var/lib is root's; its parents were checked by the walk. */
	parent = nsi_walk_root("/var/lib", NSI_WALK_DIR | NSI_WALK_FOLLOW_LAST, why, sizeof(why));
	if (parent < 0)
		die(-parent, "instance store: %s", why);
	{
		int real = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (real < 0)
			return -errno;
		nsi_closep(&parent);
		parent = real;
	}
	top = root_dir_at(parent, "nsisolate", 0700);
	if (top < 0)
		die(-top, INSTANCE_ROOT ": must be a directory owned by root, mode 0700");
	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	outer = root_dir_at(top, name, 0700);
	if (outer < 0)
		die(-outer, INSTANCE_ROOT "/%s: must be a directory owned by root, mode 0700",
		    name);
	escape_path(dir, esc, sizeof(esc));
	return root_dir_at(outer, esc, 01777);
}

static int hide_dir(const char *path)
{
	_cleanup_close_ int target = -1;
	char why[512];

	target = nsi_walk_root(path, NSI_WALK_DIR, why, sizeof(why));
	if (target == -ENOENT)
		return 0;
	if (target < 0)
		die(-target, "cannot hide %s: %s", path, why);
	return mount_tmpfs(target, 4096, "000", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
}

int setup_mounts(const struct nsi_settings *s, const struct nsi_user_id *u)
{
	_cleanup_close_ int hidden = -1, hidden_dir = -1, hidden_file = -1;
	int r;

	/* Before any mount: nothing made in the set may propagate to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		die(errno, "cannot make / a slave mount: %m");
	setup_home(s, u);

	for (unsigned i = 0; i < s->tmp.ndirs; i++) {
		_cleanup_close_ int target = -1;
		char dir[NSI_PATH_LEN * 2], why[512];

		if (s->tmp.method == NSI_TMP_SHARED)
			break;
		if (nsi_expand_path(s->tmp.dirs[i], u->home, u->name, dir, sizeof(dir)) < 0)
			die(EINVAL, "tmp.dirs: \"%s\" does not expand to a path for %s",
			    s->tmp.dirs[i], u->name);
		/* What the template check saw before expansion, once more after it. */
		if (!strcmp(dir, "/") || !strcmp(dir, "/proc") || !strncmp(dir, "/proc/", 6) ||
		    !strcmp(dir, NSI_RUN_DIR) ||
		    !strncmp(dir, NSI_RUN_DIR "/", sizeof(NSI_RUN_DIR)))
			die(EINVAL,
			    "tmp.dirs: \"%s\" expands to %s, which cannot be polyinstantiated",
			    s->tmp.dirs[i], dir);
		target = walk_target(dir, u, NSI_WALK_DIR | NSI_WALK_FOLLOW_LAST, why, sizeof(why));
		if (target == -ENOENT)
			continue; /* documented: a missing tmp dir is skipped */
		if (target < 0)
			die(-target, "tmp.dirs: %s", why);
		if (s->tmp.method == NSI_TMP_TMPFS) {
			r = mount_tmpfs(target, s->tmp.size, "1777", 0);
			if (r < 0)
				die(-r, "tmpfs on %s: %s", dir, strerror(-r));
		} else {
			_cleanup_close_ int inner = instance_dir(u->uid, dir), tree = -1;
			struct mount_attr attr = { .attr_set =
							   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };

			if (inner < 0)
				die(-inner, "instance directory for %s: %s", dir, strerror(-inner));
			tree = open_tree(inner, "",
					 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
						 AT_RECURSIVE);
			if (tree < 0)
				die(errno, "open_tree for %s: %m", dir);
			if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
					  sizeof(attr)) < 0)
				die(errno, "nosuid,nodev for %s: %m", dir);
			r = attach(tree, target);
			if (r < 0)
				die(-r, "bind instance on %s: %s", dir, strerror(-r));
		}
	}
	/* The state of every set and the instance store stay out of sight. */
	hidden = hide_state_dir(&hidden_dir, &hidden_file);
	setup_hide_readonly(s, u, hidden_dir, hidden_file);
	r = hide_dir(INSTANCE_ROOT);
	if (r < 0)
		die(-r, "hide " INSTANCE_ROOT ": %s", strerror(-r));
	return 0;
}

/*
 * A fresh instance of FSTYPE on the directory PATH, nosuid,nodev,noexec.
 * fsopen() binds proc to the caller's PID namespace and mqueue to its IPC
 * namespace, so the caller must already be in the set's.
 */
static int mount_fresh(const char *fstype, const char *path)
{
	_cleanup_close_ int target = -1, fs = -1, mfd = -1;
	char why[256];

	target = nsi_walk_root(path, NSI_WALK_DIR, why, sizeof(why));
	if (target < 0)
		return target;
	fs = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mfd = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mfd < 0)
		return -errno;
	return attach(mfd, target);
}

int setup_mqueue(void)
{
	int r = mount_fresh("mqueue", "/dev/mqueue");

	return r == -ENOENT ? 0 : r;
}

/* Called by the set's PID 1. */
int mount_proc(void)
{
	return mount_fresh("proc", "/proc");
}
