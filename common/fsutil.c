// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "why.h"

#define MAX_SYMLINKS 16

bool nsi_stat_trusted(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static bool dir_traversable(const struct stat *st)
{
	return st->st_uid == 0 && (!(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX));
}

bool nsi_path_is_normal(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || len >= PATH_MAX || p[0] != '/')
		return false;
	if (len > 1 && p[len - 1] == '/')
		return false;
	for (const char *c = p; *c; c++) {
		if (*c != '/')
			continue;
		if (c[1] == '/')
			return false;
		if (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return false;
		if (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))
			return false;
	}
	return true;
}

int nsi_walk_root(const char *path, int flags, char *why, size_t whylen)
{
	_cleanup_close_ int cur = -1;
	_cleanup_free_ char *work = NULL;
	char done[PATH_MAX];
	char *rest, *comp;
	bool all_trusted = true;
	int nlinks = 0;
	struct stat st;

	if (!nsi_path_is_normal(path))
		return nsi_fail(EINVAL, why, whylen, "%s: not a normalized absolute path", path);
	work = strdup(path);
	if (!work)
		return -ENOMEM;

restart:
	nsi_closep(&cur);
	cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return nsi_fail(errno, why, whylen, "/: %m");
	if (fstat(cur, &st) < 0)
		return nsi_fail(errno, why, whylen, "/: %m");
	if (!dir_traversable(&st))
		return nsi_fail(EPERM, why, whylen, "/: not owned by root or writable by others");
	all_trusted = nsi_stat_trusted(&st);
	rest = work + 1;
	done[0] = '\0';

	while (*rest) {
		_cleanup_close_ int next = -1;
		char *slash = strchr(rest, '/');
		bool last = !slash;

		comp = rest;
		if (slash) {
			*slash = '\0';
			rest = slash + 1;
		} else {
			rest += strlen(rest);
		}
		if (!strcmp(comp, ".") || !strcmp(comp, ".."))
			return nsi_fail(EINVAL, why, whylen, "%s: '.' or '..' component", path);

		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return nsi_fail(errno, why, whylen, "%s: component '%s': %s", path, comp,
					strerror(errno));
		if (fstat(next, &st) < 0)
			return nsi_fail(errno, why, whylen, "%s: %m", path);

		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;
			char *joined;

			if (last && !(flags & NSI_WALK_FOLLOW_LAST) && !(flags & NSI_WALK_DIR))
				return nsi_fail(ELOOP, why, whylen, "%s: is a symlink", path);
			/* Only root can have made a link inside a root-only directory. */
			/* A symlink's own mode is always 0777: only its owner counts. */
			if (!all_trusted || st.st_uid != 0)
				return nsi_fail(
					ELOOP, why, whylen,
					"%s: symlink '%s' below a directory others can write", path,
					comp);
			if (++nlinks > MAX_SYMLINKS)
				return nsi_fail(ELOOP, why, whylen, "%s: too many symlinks", path);
			n = readlinkat(next, "", target, sizeof(target) - 1);
			if (n < 0)
				return nsi_fail(errno, why, whylen, "%s: readlink '%s': %m", path,
						comp);
			target[n] = '\0';
			/* A relative target resolves against the directory walked so far. */
			if (asprintf(&joined, "%s%s%s%s", target[0] == '/' ? "" : done,
				     target[0] == '/' ? "" : "/", target, *rest ? "/" : "") < 0)
				return -ENOMEM;
			if (strlen(joined) + strlen(rest) >= PATH_MAX) {
				free(joined);
				return nsi_fail(ENAMETOOLONG, why, whylen, "%s: path too long",
						path);
			}
			{
				char *full;

				if (asprintf(&full, "%s%s", joined, rest) < 0) {
					free(joined);
					return -ENOMEM;
				}
				free(joined);
				joined = full;
			}
			/* Before free(work): comp points into it. */
			if (!nsi_path_is_normal(joined)) {
				int r = nsi_fail(
					EINVAL, why, whylen,
					"%s: symlink '%s' points to '%s', not a normalized path",
					path, comp, target);

				free(joined);
				return r;
			}
			free(work);
			work = joined;
			goto restart;
		}

		if (!last) {
			if (!S_ISDIR(st.st_mode))
				return nsi_fail(ENOTDIR, why, whylen, "%s: '%s' is not a directory",
						path, comp);
			if (!dir_traversable(&st))
				return nsi_fail(EPERM, why, whylen,
						"%s: directory '%s' is not owned by root or is "
						"writable by others",
						path, comp);
			all_trusted = all_trusted && nsi_stat_trusted(&st);
		} else if (flags & NSI_WALK_DIR) {
			if (!S_ISDIR(st.st_mode))
				return nsi_fail(ENOTDIR, why, whylen, "%s: not a directory", path);
			if (!dir_traversable(&st))
				return nsi_fail(EPERM, why, whylen,
						"%s: not owned by root or writable by others",
						path);
		}
		if (strlen(done) + strlen(comp) + 2 > sizeof(done))
			return nsi_fail(ENAMETOOLONG, why, whylen, "%s: path too long", path);
		strcat(done, "/");
		strcat(done, comp);
		nsi_closep(&cur);
		cur = TAKE_FD(next);
	}
	return TAKE_FD(cur);
}

int nsi_read_trusted_file(int dirfd, const char *name, size_t max, char **ret, char *why,
			  size_t whylen)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t cap;
	ssize_t n;
	int flags;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return nsi_fail(ELOOP, why, whylen, "is a symlink");
		return nsi_fail(errno, why, whylen, "%s", strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		return nsi_fail(errno, why, whylen, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return nsi_fail(EINVAL, why, whylen, "not a regular file");
	if (st.st_uid != 0)
		return nsi_fail(EPERM, why, whylen, "owned by uid %u, not root",
				(unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return nsi_fail(EPERM, why, whylen, "writable by group or others (mode %04o)",
				(unsigned)(st.st_mode & 07777));
	if ((size_t)st.st_size > max)
		return nsi_fail(EFBIG, why, whylen, "larger than %zu bytes", max);
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);

	/*
	 * Sized by fstat, plus one byte to see whether the file grew since; if
	 * it did, on up to one byte past the cap. (A buffer of the cap itself,
	 * 256 KiB, cost an mmap, page faults and an munmap on every login.)
	 */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	n = nsi_read_full(fd, buf, cap);
	if (n == (ssize_t)cap && cap <= max) {
		char *bigger = realloc(buf, max + 2);
		ssize_t more;

		if (!bigger)
			return -ENOMEM;
		buf = bigger;
		more = nsi_read_full(fd, buf + n, max + 1 - (size_t)n);
		n = more < 0 ? more : n + more;
	}
	if (n < 0)
		return nsi_fail((int)-n, why, whylen, "read: %s", strerror((int)-n));
	if ((size_t)n > max)
		return nsi_fail(EFBIG, why, whylen, "larger than %zu bytes", max);
	if (memchr(buf, '\0', (size_t)n))
		return nsi_fail(EINVAL, why, whylen, "contains a NUL byte");
	buf[n] = '\0';
	*ret = steal_pointer(&buf);
	return 0;
}

int nsi_path_split(const char *path, char **parent, const char **base)
{
	const char *slash = strrchr(path, '/');
	char *p;

	if (!slash || !slash[1])
		return -EINVAL;
	if (slash == path)
		p = strdup("/");
	else
		p = strndup(path, (size_t)(slash - path));
	if (!p)
		return -ENOMEM;
	*parent = p;
	*base = slash + 1;
	return 0;
}

DIR *nsi_opendir_at(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), saved;
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return d;
}

int nsi_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nsi_unlink_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

ssize_t nsi_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int nsi_lock_file_at(int dirfd, const char *name, int timeout_ms)
{
	int waited = 0;

	for (;;) {
		_cleanup_close_ int fd = -1;
		struct stat st, now;

		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode) || st.st_uid != 0)
			return -EPERM;
		/* Poll rather than block: no alarm(), no signal disposition touched. */
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK && errno != EINTR)
				return -errno;
			if (waited >= timeout_ms)
				return -ETIMEDOUT;
			nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
			waited += 2;
		}
		/* The last holder may have removed the file: then lock the new one. */
		if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			return TAKE_FD(fd);
	}
}
