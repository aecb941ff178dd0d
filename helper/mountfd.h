/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_MOUNTFD_H
#define NSI_MOUNTFD_H

/*
 * The helper's mounts, all by file descriptor (the new mount API): a mount
 * is made detached, configured, then attached to a target the caller has
 * already reached safely. No path is ever resolved here. Each returns a
 * new fd or 0, or -errno.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/types.h>

/*
 * A detached instance of FSTYPE, always nosuid and nodev, plus ATTRS
 * (MOUNT_ATTR_*). OPTS: NULL, or key, value, ..., NULL (fsconfig strings).
 * fsopen() binds proc to the caller's PID namespace and mqueue to its IPC
 * namespace.
 */
int mountfd_new(const char *fstype, const char *const *opts, unsigned attrs);

/*
 * A detached tmpfs of SIZE bytes whose root has MODE, owned by UID:GID
 * (root when UID is (uid_t)-1), nosuid, nodev, plus ATTRS.
 */
int mountfd_tmpfs(uint64_t size, mode_t mode, uid_t uid, gid_t gid, unsigned attrs);

/*
 * A detached copy of the mount at FD (with the mounts below it when
 * RECURSIVE), with ATTRS set on it (recursively when RECURSIVE), and with
 * PROPAGATION (MS_PRIVATE...) unless it is 0. Set on the copy only: the
 * original keeps its own.
 */
int mountfd_clone(int fd, bool recursive, unsigned attrs, uint64_t propagation);

/* Set ATTRS on the detached mount MFD itself. */
int mountfd_setattr(int mfd, unsigned attrs);

/* Attach the detached mount MFD onto TARGET (an O_PATH fd of a directory or file). */
int mountfd_attach(int mfd, int target);

#endif
