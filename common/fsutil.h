/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_FSUTIL_H
#define NSI_FSUTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Final component must be a directory. */
#define NSI_WALK_DIR 0x1
/* Final component may be a trusted symlink, which is followed. */
#define NSI_WALK_FOLLOW_LAST 0x2

/*
 * Walk an absolute PATH from "/" one component at a time through O_PATH fds.
 * Every directory passed through must be root-owned and either not writable
 * by group or others, or sticky. A symlink is followed only while every
 * component so far (the symlink included) is root-owned and not writable by
 * group or others. No "." or ".." components. Returns an O_PATH|O_CLOEXEC fd of
 * the final component, or -errno with a reason in why.
 */
int nsi_walk_root(const char *path, int flags, char *why, size_t whylen);

/* Root-owned and not writable by group or others. */
bool nsi_stat_trusted(const struct stat *st);

/*
 * Open the regular file NAME in directory DIRFD without following symlinks or
 * blocking on FIFOs, check it is root-owned, not group/world-writable and at
 * most MAX bytes, and read it whole into a NUL-terminated buffer.
 */
int nsi_read_trusted_file(int dirfd, const char *name, size_t max, char **ret, char *why,
			  size_t whylen);

/* Split an absolute path into a malloc'd parent and a pointer to its last component. */
int nsi_path_split(const char *path, char **parent, const char **base);

/* Absolute, no "//", no "." or ".." components, no trailing "/", bounded length. */
bool nsi_path_is_normal(const char *p);

/*
 * Take an exclusive flock on the root-owned regular file NAME in DIRFD,
 * creating it 0600, polling for at most TIMEOUT_MS. A holder may unlink the
 * file while holding the lock (when what it guards is gone); a waiter then
 * retries on the new file. Returns the locked fd or -errno.
 */
int nsi_lock_file_at(int dirfd, const char *name, int timeout_ms);

/* Remove NAME below DIRFD (never a directory); 0 also when it is already gone, or -errno. */
int nsi_unlink_at(int dirfd, const char *name);
/* Write all of BUF, looping on short writes and EINTR. */
/*
 * A directory stream of the directory DIRFD (which stays open and the
 * caller's), through a new fd of its own: NULL with errno set.
 */
DIR *nsi_opendir_at(int dirfd);
int nsi_write_all(int fd, const void *buf, size_t len);
/* Read exactly LEN bytes unless EOF comes first; returns bytes read or -errno. */
ssize_t nsi_read_full(int fd, void *buf, size_t len);

#endif
