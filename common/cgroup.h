/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_CGROUP_H
#define NSI_CGROUP_H

/*
 * The index of a set's processes: a directory per uid in a cgroup v1
 * hierarchy of our own, named "nsisolate", with no controller. It is
 * never mounted anywhere: each user opens a detached mount of it (the new
 * mount API), which leaves every mount table as it was; the kernel keeps
 * the hierarchy while a directory in it exists. Children inherit their
 * parent's cgroup and only root can move a process, so every process that
 * descends from one that entered is listed in UID/cgroup.procs. The index
 * only narrows the search: a pid read from it is still checked to be in
 * the set's namespaces before it is counted or signalled.
 */
#include <stddef.h>
#include <sys/types.h>

#define NSI_CGROUP_NAME "nsisolate"
/* A directory that is never a set's (not a uid), so the hierarchy outlives every set. */
#define NSI_CGROUP_ANCHOR "anchor"

/* A detached mount of the hierarchy, or -errno (-ENODEV: no cgroup v1 in this kernel). */
int nsi_cg_open(void);
/*
 * UID's cgroup.procs opened for writing (O_CLOEXEC), or -errno: writing
 * "0" to it moves the writer (root) into the set's cgroup. It holds its
 * own detached mount.
 */
int nsi_cg_procs_open(uid_t uid);
/* The same, creating UID's directory first (or reusing it). Needs CAP_DAC_OVERRIDE. */
int nsi_cg_create_procs(uid_t uid);
/*
 * The pids listed in UID/cgroup.procs into a malloc'd array (*RET, count
 * returned), or -errno: -ENOENT when UID has no directory.
 */
int nsi_cg_pids(int cg, uid_t uid, pid_t **ret);
/* Remove UID's directory once it is empty: 0, -ENOENT, -EBUSY (still used), -errno. */
int nsi_cg_remove(int cg, uid_t uid);

#endif
