// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Paths the user controls: the home directory and anything below it. Such a
 * path is reached through fds only: the home's parents must be root-owned
 * (nsi_walk_root), the home itself and every component below it must be
 * owned by the user and not be a symlink, and the part below the home is
 * walked with the user's fsuid, so a directory the user cannot traverse is
 * not reached through root's rights (and root_squash NFS homes work).
 * Attackers rename components from outside the set while we walk; each fd
 * pins the object that was checked, and mounts attach to those fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helper.h"
#include "mountfd.h"

#define SKEL_MAX_DEPTH 8
#define SKEL_MAX_ENTRIES 4096
/* walk_below_home: make missing components (as the user). */
#define WALK_CREATE_DIRS 0x100
#define NSI_WALK_MAX_MIDS 32

/* Switch file-system identity; the kernel drops fs capabilities while it is not 0. */
static int fs_as(uid_t uid, gid_t gid)
{
	setfsgid(gid);
	setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
		return -EPERM;
	return 0;
}

static void fs_as_root(void)
{
	setfsuid(0);
	setfsgid(0);
}

static bool under_home(const char *path, const char *home)
{
	size_t n = strlen(home);

	return !strncmp(path, home, n) && (path[n] == '\0' || path[n] == '/');
}

int open_home(const struct nsi_user_id *u, int *ret_parent, char *why, size_t whylen)
{
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int pfd = -1, hfd = -1;
	const char *base;
	struct stat st;

	if (!nsi_path_is_normal(u->home) || !strcmp(u->home, "/") ||
	    nsi_path_split(u->home, &parent, &base) < 0) {
		snprintf(why, whylen, "home %s: not a normalized absolute path", u->home);
		return -EINVAL;
	}
	pfd = nsi_walk_root(parent, NSI_WALK_DIR | NSI_WALK_FOLLOW_LAST, why, whylen);
	if (pfd < 0)
		return pfd;
	hfd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (hfd < 0) {
		int e = errno;

		snprintf(why, whylen, "home %s: %s", u->home,
			 e == ENOTDIR || e == ELOOP ? "a symlink or not a directory" : strerror(e));
		return -e;
	}
	if (fstat(hfd, &st) < 0)
		return -errno;
	if (st.st_uid != u->uid) {
		snprintf(why, whylen, "home %s: owned by uid %u, not by %s", u->home,
			 (unsigned)st.st_uid, u->name);
		return -EPERM;
	}
	if (ret_parent)
		*ret_parent = TAKE_FD(pfd);
	return TAKE_FD(hfd);
}

/*
 * Walk PATH below the user's home with the user's fsuid. With
 * WALK_CREATE_DIRS, missing components are made as empty directories (mode
 * 0700, the user's, as the user). With MIDS, the fds of the directories
 * strictly between the home and the last component go there (at most
 * NSI_WALK_MAX_MIDS, *NMIDS of them), for the caller to pin.
 */
static int walk_below_home(const char *path, const struct nsi_user_id *u, int flags, int *mids,
			   size_t *nmids, char *why, size_t whylen)
{
	_cleanup_close_ int cur = -1;
	char rel[PATH_MAX], *save = NULL, *comp;
	int r;

	cur = open_home(u, NULL, why, whylen);
	if (cur < 0)
		return cur;
	snprintf(rel, sizeof(rel), "%s", path + strlen(u->home));
	r = fs_as(u->uid, u->gid);
	if (r < 0) {
		fs_as_root();
		snprintf(why, whylen, "%s: cannot take the user's file-system identity", path);
		return r;
	}
	for (comp = strtok_r(rel, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		_cleanup_close_ int next = -1;
		bool last = !save || !*save;
		struct stat st;

		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && (flags & WALK_CREATE_DIRS)) {
			/* As the user: quota, NFS root_squash and ownership as if they made it. */
			if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST) {
				r = -errno;
				snprintf(why, whylen, "%s: creating '%s': %s", path, comp,
					 strerror(-r));
				goto out;
			}
			next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			r = -errno;
			snprintf(why, whylen, "%s: '%s': %s", path, comp, strerror(-r));
			goto out;
		}
		if (fstat(next, &st) < 0) {
			r = -errno;
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			snprintf(why, whylen, "%s: '%s' is a symlink", path, comp);
			r = -ELOOP;
			goto out;
		}
		if (st.st_uid != u->uid) {
			snprintf(why, whylen, "%s: '%s' is owned by uid %u, not by %s", path, comp,
				 (unsigned)st.st_uid, u->name);
			r = -EPERM;
			goto out;
		}
		if ((!last || (flags & NSI_WALK_DIR)) && !S_ISDIR(st.st_mode)) {
			snprintf(why, whylen, "%s: '%s' is not a directory", path, comp);
			r = -ENOTDIR;
			goto out;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			snprintf(why, whylen, "%s: not a regular file or directory", path);
			r = -EINVAL;
			goto out;
		}
		if (mids && !last) {
			if (*nmids >= NSI_WALK_MAX_MIDS) {
				snprintf(why, whylen, "%s: more than %d directories below the home",
					 path, NSI_WALK_MAX_MIDS);
				r = -ENAMETOOLONG;
				goto out;
			}
			mids[*nmids] = fcntl(next, F_DUPFD_CLOEXEC, 3);
			if (mids[*nmids] < 0) {
				r = -errno;
				goto out;
			}
			(*nmids)++;
		}
		nsi_closep(&cur);
		cur = TAKE_FD(next);
	}
	r = TAKE_FD(cur);
out:
	fs_as_root();
	return r;
}

int walk_target(const char *path, const struct nsi_user_id *u, int flags, char *why, size_t whylen)
{
	if (!under_home(path, u->home))
		return nsi_walk_root(path, flags, why, whylen);
	return walk_below_home(path, u, flags, NULL, NULL, why, whylen);
}

/* Copy one regular file; both ends opened without following links or blocking. */
static int copy_file(int sdir, int ddir, const char *name, mode_t mode)
{
	_cleanup_close_ int s = -1, d = -1;
	char buf[16384];
	struct stat st;
	ssize_t n;

	s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return -errno;
	if (fstat(s, &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL;
	d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
	if (d < 0)
		return -errno;
	while ((n = read(s, buf, sizeof(buf))) > 0) {
		int r = nsi_write_all(d, buf, (size_t)n);

		if (r < 0)
			return r;
	}
	return n < 0 ? -errno : 0;
}

static int copy_tree(int sdir, int ddir, int depth, int *entries)
{
	struct dirent *de;
	DIR *dir;
	int r = 0;

	if (depth > SKEL_MAX_DEPTH)
		return -ELOOP;
	dir = nsi_opendir_at(sdir);
	if (!dir)
		return -errno;
	while (r == 0 && (de = readdir(dir))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++*entries > SKEL_MAX_ENTRIES) {
			r = -E2BIG;
			break;
		}
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s = -1, d = -1;

			/* Only root may have put things into the skeleton. */
			if (!nsi_stat_trusted(&st)) {
				r = -EPERM;
				break;
			}
			if (mkdirat(ddir, de->d_name, (st.st_mode & 0777) | 0700) < 0) {
				r = -errno;
				break;
			}
			s = openat(dirfd(dir), de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d = openat(ddir, de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || d < 0) {
				r = -errno;
				break;
			}
			r = copy_tree(s, d, depth + 1, entries);
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file(dirfd(dir), ddir, de->d_name, st.st_mode);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);

			if (n < 0) {
				r = -errno;
				break;
			}
			target[n] = '\0';
			if (symlinkat(target, ddir, de->d_name) < 0)
				r = -errno;
		}
		/* Devices, FIFOs and sockets are not copied. */
	}
	closedir(dir);
	return r;
}

/* A fresh tmpfs owned by the user, seeded from the skeleton as the user. */
static int home_ephemeral(const struct nsi_settings *s, const struct nsi_user_id *u, int hfd,
			  char *why, size_t whylen)
{
	_cleanup_close_ int mfd = -1, skel = -1;
	int r, entries = 0;

	mfd = mountfd_tmpfs(s->home.size, 0700, u->uid, u->gid, 0);
	if (mfd < 0)
		return mfd;
	if (s->home.skel[0]) {
		skel = nsi_walk_root(s->home.skel, NSI_WALK_DIR | NSI_WALK_FOLLOW_LAST, why,
				     whylen);
		if (skel < 0 && skel != -ENOENT)
			return skel;
	}
	if (skel >= 0) {
		_cleanup_close_ int sdir = -1, ddir = -1;
		struct stat st;

		if (fstat(skel, &st) < 0)
			return -errno;
		if (!nsi_stat_trusted(&st)) {
			snprintf(why, whylen, "%s: not owned by root or writable by others",
				 s->home.skel);
			return -EPERM;
		}

		/* As the user: what is created is the user's, and nothing root-only is read. */
		r = fs_as(u->uid, u->gid);
		if (r == 0) {
			sdir = openat(skel, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			ddir = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			r = sdir < 0 || ddir < 0 ? -errno : copy_tree(sdir, ddir, 0, &entries);
		}
		fs_as_root();
		if (r < 0) {
			snprintf(why, whylen, "copying %s into the ephemeral home: %s",
				 s->home.skel, strerror(-r));
			return r;
		}
	}
	return mountfd_attach(mfd, hfd);
}

/* The home's parent shows only this user's home: a root-only tmpfs holding one bind. */
static int home_private(const struct nsi_user_id *u, int pfd, int hfd, char *why, size_t whylen)
{
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int tree = -1, mfd = -1, top = -1, target = -1;
	const char *base;
	int r;

	if (nsi_path_split(u->home, &parent, &base) < 0)
		return -EINVAL;
	if (!strcmp(parent, "/")) {
		snprintf(why, whylen, "needs a home below a directory other than / (%s)", u->home);
		return -EINVAL;
	}
	tree = mountfd_clone(hfd, true, 0, 0);
	if (tree < 0)
		return tree;
	mfd = mountfd_tmpfs(1048576, 0755, (uid_t)-1, 0, 0);
	if (mfd < 0)
		return mfd;
	r = mountfd_attach(mfd, pfd);
	if (r < 0)
		return r;
	/* The new, root-only tmpfs on the parent: only we write there. */
	top = nsi_walk_root(parent, NSI_WALK_DIR | NSI_WALK_FOLLOW_LAST, why, whylen);
	if (top < 0)
		return top;
	if (mkdirat(top, base, 0755) < 0)
		return -errno;
	target = openat(top, base, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return -errno;
	return mountfd_attach(tree, target);
}

void setup_home(const struct nsi_settings *s, const struct nsi_user_id *u)
{
	_cleanup_close_ int pfd = -1, hfd = -1;
	char why[512] = "";
	int r;

	if (s->home.mode == NSI_HOME_SHARED)
		return;
	hfd = open_home(u, &pfd, why, sizeof(why));
	if (hfd < 0)
		die(-hfd, "home.mode: %s", why);
	if (s->home.mode == NSI_HOME_PRIVATE)
		r = home_private(u, pfd, hfd, why, sizeof(why));
	else
		r = home_ephemeral(s, u, hfd, why, sizeof(why));
	if (r < 0)
		die(-r, "home.mode \"%s\" for %s: %s", nsi_home_mode_name(s->home.mode), u->home,
		    why[0] ? why : strerror(-r));
}

/*
 * Pin the directories between the home and a hidden or read-only path: each
 * becomes a mount point (a recursive bind onto itself, deepest first, so each
 * copy holds the mounts below it) and a mount point cannot be renamed or
 * removed from inside the set. Without it, renaming ~/a detaches a mount on
 * ~/a/b: mounts follow the directory entry, not the path.
 */
static void pin_dirs(const char *key, const char *path, const int *mids, size_t n)
{
	while (n-- > 0) {
		_cleanup_close_ int tree = mountfd_clone(mids[n], true, 0, 0);
		int r = tree < 0 ? tree : mountfd_attach(tree, mids[n]);

		if (r < 0)
			die(-r, "%s %s: pinning its directories: %s", key, path, strerror(-r));
	}
}

/*
 * A missing entry outside the home is skipped only where the session could
 * never make it: a parent that is root's and writable by nobody else.
 */
static bool nobody_else_can_create(const char *path)
{
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int pfd = -1;
	const char *base;
	char why[256];
	struct stat st;

	if (nsi_path_split(path, &parent, &base) < 0)
		return false;
	pfd = nsi_walk_root(parent, NSI_WALK_DIR, why, sizeof(why));
	if (pfd < 0)
		return pfd == -ENOENT ? nobody_else_can_create(parent) : false;
	return fstat(pfd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

void setup_hide_readonly(const struct nsi_settings *s, const struct nsi_user_id *u, int dir,
			 int file)
{
	for (unsigned k = 0; k < s->nhide + s->nreadonly; k++) {
		bool hide = k < s->nhide;
		const char *tmpl = hide ? s->hide[k] : s->readonly[k - s->nhide];
		const char *key = hide ? "hide" : "readonly";
		_cleanup_close_ int target = -1, tree = -1;
		char path[NSI_PATH_LEN * 2], why[512];
		int mids[NSI_WALK_MAX_MIDS];
		size_t nmids = 0;
		struct stat st;
		int r;

		if (nsi_expand_path(tmpl, u->home, u->name, path, sizeof(path)) < 0)
			die(EINVAL, "%s: \"%s\" does not expand to a path for %s", key, tmpl,
			    u->name);
		if (under_home(path, u->home)) {
			/*
			 * The session could make a missing readonly path itself:
			 * it is made now, an empty directory, and bound read-only.
			 * A missing hidden path is hidden all the same.
			 */
			if (!strcmp(path, u->home))
				die(EINVAL, "%s: %s is the home itself", key, path);
			target = walk_below_home(path, u, WALK_CREATE_DIRS, mids, &nmids, why,
						 sizeof(why));
		} else {
			target = nsi_walk_root(path, 0, why, sizeof(why));
			if (target == -ENOENT && nobody_else_can_create(path)) {
				notice("%s: %s does not exist, skipped (only root can create it)",
				       key, path);
				continue;
			}
			if (target == -ENOENT)
				die(ENOENT,
				    "%s: %s does not exist and the session could create it; create "
				    "it first",
				    key, path);
		}
		if (target < 0) {
			for (size_t i = 0; i < nmids; i++)
				close(mids[i]);
			die(-target, "%s: %s", key, why);
		}
		if (fstat(target, &st) < 0)
			die(errno, "%s: %s: %m", key, path);
		if (hide) {
			/*
			 * Empty and inaccessible: the 000 directory, or for a file the
			 * empty 000 file, of the hidden state tmpfs, bound over it.
			 */
			tree = mountfd_clone(S_ISDIR(st.st_mode) ? dir : file, false,
					     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						     MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
					     0);
			if (tree < 0)
				die(-tree, "hide %s: %s", path, strerror(-tree));
		} else {
			tree = mountfd_clone(target, true, MOUNT_ATTR_RDONLY, 0);
			if (tree < 0)
				die(-tree, "readonly %s: %s", path, strerror(-tree));
		}
		r = mountfd_attach(tree, target);
		if (r < 0)
			die(-r, "%s %s: %s", key, path, strerror(-r));
		pin_dirs(key, path, mids, nmids);
		for (size_t i = 0; i < nmids; i++)
			close(mids[i]);
	}
}
