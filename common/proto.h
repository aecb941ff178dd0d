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
#include <stdint.h>

#include "config.h"

#define NSI_PROTO_MAGIC 0x4e534931u /* "NSI1" */
#define NSI_PROTO_VERSION 1u
#define NSI_USER_LEN 256

enum nsi_op {
	NSI_OP_CREATE = 1,
	/* End what a dead set leaves outside its namespaces: link, nft chains, lease. */
	NSI_OP_TEARDOWN = 2,
};

struct nsi_request {
	uint32_t magic;
	uint32_t version;
	uint32_t size; /* sizeof(struct nsi_request) */
	uint32_t op;
	uint32_t uid;
	uint32_t pad;
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

/* Field is NUL-terminated within its size. */
static inline bool nsi_field_ok(const char *f, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		if (f[i] == '\0')
			return true;
	return false;
}

#endif
