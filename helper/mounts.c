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
#include "mountfd.h"
#include "state.h"

#define INSTANCE_ROOT "/var/lib/nsisolate"

/* A fresh tmpfs on TARGET: MODE, nosuid, nodev, size enforced by the kernel. */
static int mount_tmpfs(int target, uint64_t size, mode_t mode, unsigned attrs)
{
	_cleanup_close_ int mfd = mountfd_tmpfs(size, mode, (uid_t)-1, 0, attrs);

	return mfd < 0 ? mfd : mountfd_attach(mfd, target);
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
	_cleanup_close_ int target = -1, mfd = -1, f = -1;
	char why[512];
	int r;

	target = nsi_walk_root("/run/nsisolate", NSI_WALK_DIR, why, sizeof(why));
	if (target < 0)
		die(-target, "cannot hide /run/nsisolate: %s", why);
	mfd = mountfd_tmpfs(65536, 0700, (uid_t)-1, 0, MOUNT_ATTR_NOEXEC);
	if (mfd < 0)
		die(-mfd, "tmpfs for /run/nsisolate: %s", strerror(-mfd));
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
	r = mountfd_setattr(mfd, MOUNT_ATTR_RDONLY);
	if (r < 0)
		die(-r, "read-only /run/nsisolate: %s", strerror(-r));
	r = mountfd_attach(mfd, target);
	if (r < 0)
		die(-r, "cannot hide /run/nsisolate: %s", strerror(-r));
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
	return mount_tmpfs(target, 4096, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
}

void setup_mounts(const struct nsi_settings *s, const struct nsi_user_id *u)
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
			r = mount_tmpfs(target, s->tmp.size, 01777, 0);
			if (r < 0)
				die(-r, "tmpfs on %s: %s", dir, strerror(-r));
		} else {
			_cleanup_close_ int inner = instance_dir(u->uid, dir), tree = -1;

			if (inner < 0)
				die(-inner, "instance directory for %s: %s", dir, strerror(-inner));
			tree = mountfd_clone(inner, true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
			if (tree < 0)
				die(-tree, "nosuid,nodev bind of %s: %s", dir, strerror(-tree));
			r = mountfd_attach(tree, target);
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
}

/*
 * A fresh instance of FSTYPE on the directory PATH, nosuid,nodev,noexec.
 * fsopen() binds proc to the caller's PID namespace and mqueue to its IPC
 * namespace, so the caller must already be in the set's.
 */
static int mount_fresh(const char *fstype, const char *path)
{
	_cleanup_close_ int target = -1, mfd = -1;
	char why[256];

	target = nsi_walk_root(path, NSI_WALK_DIR, why, sizeof(why));
	if (target < 0)
		return target;
	mfd = mountfd_new(fstype, NULL, MOUNT_ATTR_NOEXEC);
	return mfd < 0 ? mfd : mountfd_attach(mfd, target);
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
