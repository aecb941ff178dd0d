/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_PROTO_H
#define NSI_PROTO_H

/*
 * Module -> helper request and helper -> module reply: one fixed-size,
 * versioned message each way over pipes. The helper treats every field as
 * hostile: lengths are exact, strings must be NUL-terminated inside their
 * field, the op must be known.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define NSI_PROTO_MAGIC 0x4e534931u /* "NSI1" */
#define NSI_PROTO_VERSION 1u
#define NSI_USER_LEN 256
/* The helper is killed when it has not finished by then. */
#define NSI_HELPER_TIMEOUT_MS 15000
/*
 * The helper's exit status when it could not write its reply (out of memory
 * even a pipe write fails); it then tries syslog with what the reply said.
 */
#define NSI_EXIT_NO_REPLY 3

enum nsi_op {
	NSI_OP_CREATE = 1,
	/* End what a dead set leaves outside its namespaces: link, nft chains, lease. */
	NSI_OP_TEARDOWN = 2,
};

/*
 * TEARDOWN only: the helper runs detached (nsi_helper_start), holding the
 * uid's lock as fd 3; it ends the set's record itself and logs to syslog.
 */
#define NSI_REQ_DETACHED 0x1u

struct nsi_request {
	uint32_t magic;
	uint32_t version;
	uint32_t size; /* sizeof(struct nsi_request) */
	uint32_t op;
	uint32_t uid;
	uint32_t flags; /* NSI_REQ_* */
	uint64_t settings_hash; /* what the module resolved; the helper re-resolves */
	uint64_t groups_hash;
	char user[NSI_USER_LEN];
	char service[64];
	char config[NSI_PATH_LEN];
};

struct nsi_reply {
	uint32_t magic;
	uint32_t version;
	int32_t status; /* 0 or -errno */
	int32_t keeper_pid;
	uint64_t keeper_start; /* /proc/PID/stat start time, pins the pid */
	char msg[256]; /* why, when status < 0 */
};

/* FIELD is NUL-terminated within its SIZE bytes. */
bool nsi_field_ok(const char *field, size_t size);

/*
 * A request for OP on the set of UID (USER), under the policy file CONFIG;
 * SERVICE may be NULL. -ENAMETOOLONG when a string does not fit its field.
 */
int nsi_request_init(struct nsi_request *req, enum nsi_op op, uid_t uid, const char *user,
		     const char *service, const char *config);

/*
 * The helper's check of what it read: LEN bytes, EXTRA set when more
 * followed. 0, or -EPROTO with the reason in WHY.
 */
int nsi_request_check(const struct nsi_request *req, size_t len, bool extra, char *why,
		      size_t whylen);

/*
 * The reply as read (LEN bytes): 0 when it is well formed, status included.
 * Otherwise -EPROTO, and REP->msg is not to be trusted.
 */
int nsi_reply_check(const struct nsi_reply *rep, size_t len);

/*
 * Spawn NSI_HELPER_PATH as real root, without copying the caller's memory
 * and without a SIGCHLD to it: the request on its stdin, its reply read
 * from its stdout once it has exited, stderr /dev/null, no other fd, an
 * empty environment, killed after NSI_HELPER_TIMEOUT_MS. Returns the
 * reply's status (0 or -errno), or -errno when no valid reply came; REP->msg
 * then says why, or is empty. Used by the module and by nsisolate(8).
 */
int nsi_helper_run(const struct nsi_request *req, struct nsi_reply *rep);

/*
 * Start the helper for REQ (flags NSI_REQ_DETACHED) and return once it
 * runs, without waiting for it: it is nobody's child but init's (or a
 * subreaper's), bounds its own run time, and gets LOCK (the uid's lock)
 * as fd 3, so the lock is held until it exits. 0, or -errno when it could
 * not be started (then nothing runs).
 */
int nsi_helper_start(const struct nsi_request *req, int lock);

#endif
