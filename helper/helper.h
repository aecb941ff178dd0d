/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_HELPER_H
#define NSI_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/*
 * report.c: the reply. Every step of the helper either succeeds or calls
 * die(), which replies -ERR with the message and exits: steps return void.
 */
_Noreturn void die(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Something the module should log at LOG_NOTICE (a skipped path). */
void notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The set exists: reply with its keeper and the notices. 0 or -errno. */
int reply_created(pid_t keeper, uint64_t keeper_start);
/* Reply STATUS (0 or -errno, WHY the reason) and exit. */
_Noreturn void reply_done(int status, const char *why);
/* A detached run (NSI_REQ_DETACHED): die() logs to syslog, nobody reads a reply. */
void report_detached(void);

/* The user, as re-derived from NSS by the helper. */
struct nsi_user_id {
	const char *name;
	uid_t uid;
	gid_t gid;
	const char *home;
};

/* mounts.c: run inside the set's fresh mount namespace. */
void setup_mounts(const struct nsi_settings *s, const struct nsi_user_id *u);

/* home.c: paths below the user's home, walked by fd with the user's fsuid. */
int open_home(const struct nsi_user_id *u, int *ret_parent, char *why, size_t whylen);
int walk_target(const char *path, const struct nsi_user_id *u, int flags, char *why, size_t whylen);
void setup_home(const struct nsi_settings *s, const struct nsi_user_id *u);
/* DIR and FILE: an empty 000 directory and an empty 000 file to bind over hidden paths. */
void setup_hide_readonly(const struct nsi_settings *s, const struct nsi_user_id *u, int dir,
			 int file);
int setup_mqueue(void);
int mount_proc(void);

/* userns.c */
int write_id_maps(int procfd, pid_t pid, const char *user, uid_t uid, const gid_t *groups,
		  size_t ngroups, uint32_t root_id);

/*
 * scope.c: with systemd as PID 1, move KEEPER into a transient scope of its
 * own (its name in UNIT); 0 without systemd, or -errno with a reason.
 */
int keeper_scope(int procfd, pid_t keeper, uid_t uid, char *unit, size_t unitlen, char *why,
		 size_t len);

/* keeper.c: the process that holds the set. Never returns. */
struct keeper_args {
	int ready_fd; /* written once the keeper is set up */
	int go_fd; /* read: maps are written (userns only) */
	bool userns;
	bool nested;
	bool pid; /* PID 1 of a new PID namespace: mounts its /proc */
	uint32_t root_id;
};
_Noreturn void keeper_main(const struct keeper_args *a);

#endif
