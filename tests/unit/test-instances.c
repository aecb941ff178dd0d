// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the removal of /tmp instances (cli/instances.c), without a
 * login: instance directories planted for uids that exist and that do not,
 * with what a user could leave in a persistent /tmp (symlinks out of the
 * tree, a FIFO, unreadable directories, a tree deeper than the walk holds
 * fds for, a mount point). Runs as root (the store is root's); everything
 * lives in one mkdtemp directory under /tmp, removed at exit. The mount
 * point case runs in a private mount namespace of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "instances.h"
#include "tap.h"

static char tmpdir[] = "/tmp/nsi-test-instances-XXXXXX";
static bool tmpdir_made;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (tmpdir_made)
		nftw(tmpdir, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void mkdir_p(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdir_p(const char *fmt, ...)
{
	char p[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			bail(p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		bail(p);
}

static void touch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void touch(const char *fmt, ...)
{
	char p[4096];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		bail(p);
	close(fd);
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char p[4096];
	struct stat sb;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return lstat(p, &sb) == 0;
}

/* What a user could leave in an instance, under DIR. */
static void plant(const char *dir, const char *outside)
{
	char p[4096];

	mkdir_p("%s/tmp/a/b/c", dir);
	touch("%s/tmp/a/b/c/file", dir);
	touch("%s/tmp/plain", dir);
	snprintf(p, sizeof(p), "%s/tmp/to-outside-dir", dir);
	if (symlink(outside, p) < 0)
		bail(p);
	snprintf(p, sizeof(p), "%s/tmp/a/to-outside-file", dir);
	if (symlink("/etc/passwd", p) < 0)
		bail(p);
	snprintf(p, sizeof(p), "%s/tmp/fifo", dir);
	if (mkfifo(p, 0600) < 0)
		bail(p);
	mkdir_p("%s/var_2ftmp/closed", dir);
	touch("%s/var_2ftmp/closed/inside", dir);
	snprintf(p, sizeof(p), "%s/var_2ftmp/closed", dir);
	if (chmod(p, 0) < 0)
		bail(p);
	/* Deeper than the walk keeps fds for: moved up and removed by later passes. */
	snprintf(p, sizeof(p), "%s/dev_2fshm", dir);
	mkdir_p("%s", p);
	for (int i = 0; i < 100; i++) {
		size_t len = strlen(p);

		snprintf(p + len, sizeof(p) - len, "/d");
		if (mkdir(p, 0755) < 0)
			bail(p);
	}
	touch("%s/bottom", p);
}

int main(void)
{
	char store[256], outside[256], run[256], line[512];
	_cleanup_close_ int sfd = -1, rfd = -1;
	char *out = NULL;
	size_t olen;
	FILE *o;
	int r;

	atexit(cleanup);
	if (geteuid() != 0) {
		printf("1..0 # SKIP the instance store is root's: run as root\n");
		return 0;
	}
	if (!mkdtemp(tmpdir))
		bail("mkdtemp");
	tmpdir_made = true;
	snprintf(store, sizeof(store), "%s/store", tmpdir);
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	snprintf(run, sizeof(run), "%s/run", tmpdir);
	mkdir_p("%s", store);
	mkdir_p("%s", run);
	mkdir_p("%s/keep", outside);
	touch("%s/keep/precious", outside);

	/* ---- the tree walk ---- */
	plant(store, outside);
	sfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		bail(store);
	r = nsi_remove_tree_at(sfd, "tmp");
	is_int(r, 0, "a tree with symlinks, a FIFO and files: removed");
	ok(!exists("%s/tmp", store), "  nothing of it is left");
	ok(exists("%s/keep/precious", outside), "  a symlink's target outside is untouched");
	ok(exists("/etc/passwd"), "  a symlink to a file outside: the file is untouched");
	r = nsi_remove_tree_at(sfd, "var_2ftmp");
	is_int(r, 0, "a directory of mode 0 inside: removed (root)");
	ok(!exists("%s/var_2ftmp", store), "  nothing of it is left");
	r = nsi_remove_tree_at(sfd, "dev_2fshm");
	is_int(r, 0, "a tree 100 levels deep: removed with a bounded number of fds");
	ok(!exists("%s/dev_2fshm", store), "  nothing of it is left");
	is_int(nsi_remove_tree_at(sfd, "gone"), 0, "a tree that is not there: 0");
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/link", store);
		if (symlink(outside, p) < 0)
			bail(p);
		is_int(nsi_remove_tree_at(sfd, "link"), -ENOTDIR,
		       "a symlink as the tree itself: refused, not followed");
		ok(exists("%s/keep/precious", outside), "  its target is untouched");
		unlink(p);
	}

	/* A mount point inside: never crossed, left with what is on it. */
	{
		pid_t pid = fork();
		int status = 0;

		if (pid == 0) {
			char p[512];

			if (unshare(CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
				_exit(77);
			mkdir_p("%s/mnt/m", store);
			touch("%s/mnt/before", store);
			snprintf(p, sizeof(p), "%s/mnt/m", store);
			if (mount("tmpfs", p, "tmpfs", 0, "size=1M") < 0)
				_exit(77);
			touch("%s/mnt/m/on-the-mount", store);
			/* An fd opened before unshare() would walk the old namespace's mounts. */
			r = nsi_remove_tree_at(open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
					       "mnt");
			_exit(r == -EXDEV && !exists("%s/mnt/before", store) &&
					      exists("%s/mnt/m/on-the-mount", store)
				      ? 0
				      : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			bail("fork");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
			ok(1, "# SKIP no private mount namespace here");
		else
			ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			   "a mount point inside: -EXDEV, the mount and what is on it stay, the "
			   "rest goes");
		nftw(store, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		mkdir_p("%s", store);
		nsi_closep(&sfd);
		sfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			bail(store);
	}

	/* ---- gc of the store ---- */
	snprintf(line, sizeof(line), "%s/4000000123", store);
	plant(line, outside);
	mkdir_p("%s/1/tmp", store); /* daemon: exists on every Debian system */
	touch("%s/1/tmp/keep", store);
	mkdir_p("%s/0/tmp", store); /* root: never isolated, never touched */
	mkdir_p("%s/4000000125/tmp", store); /* no user, but a live set */
	mkdir_p("%s/not-a-uid", store);
	mkdir_p("%s/04000000123", store);
	snprintf(line, sizeof(line), "%s/4000000126", store);
	if (symlink(outside, line) < 0)
		bail(line);
	touch("%s/4000000125.state", run);
	rfd = open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		bail(run);

	o = open_memstream(&out, &olen);
	r = nsi_gc_instances_at(sfd, rfd, o);
	fclose(o);
	is_int(r, 1, "gc: one uid's instances removed");
	is_str(out,
	       "gc (no such user): removed the /tmp instances of uid 4000000123, "
	       "/var/lib/nsisolate/4000000123\n",
	       "gc: one line naming the uid");
	ok(!exists("%s/4000000123", store), "gc: the uid without a user is gone, all of it");
	ok(exists("%s/keep/precious", outside), "gc: what its symlinks point to is untouched");
	ok(exists("%s/1/tmp/keep", store), "gc: an existing user's instances stay");
	ok(exists("%s/0/tmp", store), "gc: uid 0 is never touched");
	ok(exists("%s/4000000125/tmp", store), "gc: a uid with a live set keeps its instances");
	ok(exists("%s/not-a-uid", store) && exists("%s/04000000123", store),
	   "gc: names that are not canonical uids are left alone");
	ok(exists("%s/4000000126", store) && exists("%s/keep/precious", outside),
	   "gc: a symlink in the store is not a uid directory: left, not followed");
	ok(!exists("%s/4000000123.lock", run), "gc: the lock it took is removed with the uid");
	ok(exists("%s/4000000125.state", run), "gc: the live set's state is untouched");

	free(out);
	out = NULL;
	o = open_memstream(&out, &olen);
	r = nsi_gc_instances_at(sfd, -1, o);
	fclose(o);
	is_int(r, 1, "gc without a run directory (no set anywhere): the uid of the dead set goes");
	ok(!exists("%s/4000000125", store), "  its instances are removed");
	free(out);
	return done_testing();
}
