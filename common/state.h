/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_STATE_H
#define NSI_STATE_H

/*
 * Live sets, one per uid, recorded under /run/nsisolate (root only, 0700):
 * UID.state (versioned text) and UID.lock (flock). Processes are pinned by
 * pid plus start time; a dead opener counts as a closed session.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define NSI_RUN_DIR "/run/nsisolate"
#define NSI_STATE_VERSION 1
#define NSI_MAX_SESSIONS 1024

/* The namespaces a set may hold, in the order a session joins them: user last. */
enum nsi_ns_kind {
	NSI_NS_MNT,
	NSI_NS_NET,
	NSI_NS_IPC,
	NSI_NS_UTS,
	NSI_NS_PID, /* joined by the opener as pid_for_children, not by setns in the child */
	NSI_NS_USER,
	NSI_NS_COUNT
};

struct nsi_ns_type {
	int flag; /* CLONE_NEW* */
	const char *name; /* as in /proc/PID/ns/NAME */
};
extern const struct nsi_ns_type nsi_ns_types[NSI_NS_COUNT];

struct nsi_session_rec {
	pid_t pid;
	uint64_t start;
};

struct nsi_state {
	uid_t uid;
	char user[256];
	char policy[NSI_NAME_LEN];
	uint64_t settings_hash;
	uint64_t groups_hash;
	bool linger;
	/*
	 * Sessions may nest user (and so mount) namespaces (userns.nested);
	 * true unless recorded otherwise, as by older versions.
	 */
	bool nested;
	pid_t keeper_pid;
	uint64_t keeper_start;
	int64_t created;
	uint64_t ns_ino[NSI_NS_COUNT]; /* 0: shared with the host */
	size_t nsessions;
	struct nsi_session_rec sessions[NSI_MAX_SESSIONS];
};

/* Open /run/nsisolate, creating it 0700 root; refuse it unless root-owned 0700. */
int nsi_run_dir_open(void);
/* Take the uid's lock (flock), waiting at most TIMEOUT_MS. */
int nsi_lock_uid(int dirfd, uid_t uid, int timeout_ms);
/* Remove the uid's lock file; only while holding the lock, when the set is gone. */
int nsi_lock_remove(int dirfd, uid_t uid);
/*
 * UID.state of DIRFD into ST: 0, -ENOENT (no set), -ENODATA (an empty file:
 * a write that never happened), -EBADMSG (corrupt), or another -errno.
 */
int nsi_state_read(int dirfd, uid_t uid, struct nsi_state *st);
/*
 * Parse the state TEXT (modified) of UID: 0, or -EBADMSG with the first
 * offending line in *LINE (the line after the last when the file ends
 * early or lacks a required entry), or -ENOMEM.
 */
int nsi_state_parse(char *text, uid_t uid, struct nsi_state *st, int *line);
/*
 * UID.state did not parse: rename it to UID.state.corrupt and recover what
 * it still names: the keeper (checked to be one: the helper's image and the
 * name nsisolate-keep) with the namespaces it holds, or, when that keeper
 * is dead, the namespaces recorded. 0 with ST filled for nsi_set_kill(),
 * -ENOENT when no keeper line survived, -ESRCH when nothing of it can be
 * proven to be the set's; *LINE is the first bad line. Under the uid's lock.
 */
int nsi_state_salvage(int dirfd, uid_t uid, struct nsi_state *st, int *line);
/* The text of ST into BUF: its length, >= CAP when it did not fit. */
size_t nsi_state_format(const struct nsi_state *st, char *buf, size_t cap);
int nsi_state_write(int dirfd, const struct nsi_state *st);
int nsi_state_remove(int dirfd, uid_t uid);

/* Start time (field 22 of /proc/PID/stat), or -errno. */
int nsi_proc_start(pid_t pid, uint64_t *ret);
/* The same through an fd of a procfs root (PROCFD) or AT_FDCWD for /proc. */
int nsi_proc_start_at(int procfd, pid_t pid, uint64_t *ret);
/* A pidfd for PID if it is still the process that started at START, else -ESRCH. */
int nsi_pin_process(pid_t pid, uint64_t start);
/* Drop records of dead openers; returns how many remain. */
size_t nsi_state_prune(struct nsi_state *st);

/*
 * An fd per namespace the set holds (-1 for those shared with the host),
 * each checked against the recorded inode, opened while PIDFD (the pinned
 * keeper) lives. Open them all before entering any: inside the set's mount
 * namespace /proc may be the set's own. Returns 0 or -ESRCH (none left open).
 */
int nsi_set_open_ns(const struct nsi_state *st, int pidfd, int fds[NSI_NS_COUNT]);

/* Inode of /proc/PID/ns/NAME (PID 0 = self), or 0 on error. */
/* As nsi_ns_inode, PID (0: the caller) looked up in the procfs PROCFD. */
uint64_t nsi_ns_inode_at(int procfd, pid_t pid, const char *name);
uint64_t nsi_ns_inode(pid_t pid, const char *name);

/*
 * Processes living in the set (same mount namespace, and same user namespace
 * when the set has one), the keeper excluded. Returns the count or -errno.
 */
int nsi_set_count_members(const struct nsi_state *st);
/* SIGKILL every member, rescanning until none remain, then the keeper. */
int nsi_set_kill(const struct nsi_state *st);

#endif
