// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nsisolate gc: the persistent /tmp instances (tmp.method = "instance") of
 * users who no longer exist. The helper keeps them in
 * /var/lib/nsisolate/UID/NAME (root 0700, then 1777 per directory); whatever
 * the user left inside is removed through fds, never by path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "instances.h"
#include "state.h"

/*
 * The walk holds one fd per level. A directory deeper than this is moved up
 * to the top of the tree being removed, and removed by a later pass, so a
 * tree of any depth goes with a bounded number of fds.
 */
#define RM_MAX_DEPTH 32

struct rm {
	int top; /* the tree's root */
	dev_t dev; /* its file system: never left */
	unsigned long moved; /* names for directories moved up */
	size_t removed; /* entries removed by the current pass */
	int error; /* the first error */
};

static void rm_error(struct rm *r, int err)
{
	if (!r->error)
		r->error = -err;
}

/* Remove what the directory DFD holds, DEPTH levels below the top. */
static void rm_contents(struct rm *r, int dfd, unsigned depth)
{
	struct dirent *de;
	DIR *d;
	int fd;

	d = nsi_opendir_at(dfd);
	if (!d) {
		rm_error(r, errno);
		return;
	}
	fd = dirfd(d);
	while ((de = readdir(d))) {
		_cleanup_close_ int sub = -1;
		struct stat sb, sub_sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				rm_error(r, errno);
			continue;
		}
		/* Symlinks, FIFOs, sockets and devices are unlinked, never opened. */
		if (!S_ISDIR(sb.st_mode)) {
			if (unlinkat(fd, de->d_name, 0) == 0)
				r->removed++;
			else if (errno != ENOENT)
				rm_error(r, errno);
			continue;
		}
		if (sb.st_dev != r->dev) {
			rm_error(r, EXDEV);
			continue;
		}
		if (depth + 1 >= RM_MAX_DEPTH) {
			char name[48];
			int q;

			/* RENAME_NOREPLACE: the top holds only the helper's directories and ours. */
			do {
				snprintf(name, sizeof(name), ".nsisolate-gc.%lu", r->moved++);
				q = renameat2(fd, de->d_name, r->top, name, RENAME_NOREPLACE);
			} while (q < 0 && errno == EEXIST);
			if (q == 0)
				r->removed++;
			else if (errno != ENOENT)
				rm_error(r, errno);
			continue;
		}
		sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno != ENOENT)
				rm_error(r, errno);
			continue;
		}
		/* What was looked at is what was opened: nothing swapped in between. */
		if (fstat(sub, &sub_sb) < 0 || sub_sb.st_dev != sb.st_dev ||
		    sub_sb.st_ino != sb.st_ino) {
			rm_error(r, ESTALE);
			continue;
		}
		rm_contents(r, sub, depth + 1);
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0)
			r->removed++;
		else if (errno != ENOENT)
			rm_error(r, errno);
	}
	closedir(d);
}

int nsi_remove_tree_at(int dirfd, const char *name)
{
	_cleanup_close_ int top = -1;
	struct rm r = { .top = -1 };
	struct stat sb;

	top = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(top, &sb) < 0)
		return -errno;
	r.top = top;
	r.dev = sb.st_dev;
	/* Passes until it is empty: directories moved up are taken by the next one. */
	do {
		r.removed = 0;
		r.error = 0;
		rm_contents(&r, top, 0);
	} while (r.removed > 0);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return r.error ? r.error : -errno;
	return r.error;
}

/* A canonical decimal uid ("0", "1000"; not "01" or "+1"), or -EINVAL. */
static int parse_uid(const char *s, uid_t *ret)
{
	unsigned long long v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return -EINVAL;
	for (; *s; s++)
		v = v * 10 + (unsigned)(*s - '0');
	if (v >= UINT32_MAX)
		return -EINVAL;
	*ret = (uid_t)v;
	return 0;
}

/* 1 when NSS says no user has UID, 0 when one has, -errno when NSS failed. */
static int uid_gone(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);

	if (r != 0)
		return -r;
	return res ? 0 : 1;
}

/* The instances of UID (entry NAME of STORE), if the user is gone and has no set. */
static int gc_uid(int store, int run, const char *name, uid_t uid, FILE *out)
{
	_cleanup_close_ int lock = -1;
	char state[32];
	struct stat sb;
	int r;

	/* Root is never isolated: a directory 0 was not made by the helper. */
	if (uid == 0)
		return 0;
	r = uid_gone(uid);
	if (r < 0) {
		fprintf(stderr,
			"nsisolate: " NSI_INSTANCE_DIR "/%s: looking up uid %s failed (%s): "
			"left in place\n",
			name, name, strerror(-r));
		return 0;
	}
	if (r == 0)
		return 0;
	if (run >= 0) {
		/* Under the uid's lock, as a login would make or join the set. */
		lock = nsi_lock_uid(run, uid, 1000);
		if (lock < 0) {
			fprintf(stderr, "nsisolate: cannot lock uid %s: %s\n", name,
				strerror(-lock));
			return 0;
		}
		snprintf(state, sizeof(state), "%s.state", name);
		if (fstatat(run, state, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			fprintf(stderr,
				"nsisolate: uid %s has no user but a set: its instances stay until "
				"the set ends\n",
				name);
			return 0;
		}
		/* Still no user: NSS may have learnt of one meanwhile. */
		if (uid_gone(uid) != 1)
			return 0;
	}
	r = nsi_remove_tree_at(store, name);
	if (run >= 0)
		(void)nsi_lock_remove(run, uid); /* made by taking it: no set */
	if (r < 0) {
		fprintf(stderr, "nsisolate: " NSI_INSTANCE_DIR "/%s: %s (what remains is left)\n",
			name, strerror(-r));
		return r;
	}
	fprintf(out, "gc (no such user): removed the /tmp instances of uid %s, %s/%s\n", name,
		NSI_INSTANCE_DIR, name);
	return 1;
}

int nsi_gc_instances_at(int store, int run, FILE *out)
{
	struct dirent **names = NULL;
	int n, done = 0;

	n = scandirat(store, ".", &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct stat sb;
		uid_t uid;

		if (parse_uid(name, &uid) < 0) {
			if (strcmp(name, ".") && strcmp(name, ".."))
				fprintf(stderr, "nsisolate: %s/%s: not a uid: left alone\n",
					NSI_INSTANCE_DIR, name);
		} else if (fstatat(store, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
			   !S_ISDIR(sb.st_mode) || sb.st_uid != 0) {
			fprintf(stderr,
				"nsisolate: %s/%s: not a directory owned by root: left alone\n",
				NSI_INSTANCE_DIR, name);
		} else if (gc_uid(store, run, name, uid, out) > 0) {
			done++;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int nsi_gc_instances(int run, FILE *out)
{
	_cleanup_close_ int path = -1, store = -1;
	char why[512];
	struct stat sb;

	/* Every component root's, as the helper requires: no one else could swap it. */
	path = nsi_walk_root(NSI_INSTANCE_DIR, NSI_WALK_DIR, why, sizeof(why));
	if (path == -ENOENT)
		return 0;
	if (path < 0) {
		fprintf(stderr, "nsisolate: %s\n", why);
		return path;
	}
	store = openat(path, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (store < 0 || fstat(store, &sb) < 0)
		return -errno;
	if (sb.st_uid != 0 || (sb.st_mode & 07777) != 0700) {
		fprintf(stderr,
			"nsisolate: " NSI_INSTANCE_DIR ": must be a directory owned by root, mode "
			"0700\n");
		return -EPERM;
	}
	return nsi_gc_instances_at(store, run, out);
}
