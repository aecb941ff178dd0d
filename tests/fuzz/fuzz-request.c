// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the helper's request decoder (common/proto.c): each
 * input is what the helper reads from its stdin, at most one request plus
 * one byte. nsi_request_check must refuse anything but one whole request
 * with a known op, terminated strings and a normal absolute config path;
 * what it accepts must be rebuilt identically by nsi_request_init (nothing
 * the helper acts on hides in padding or after a NUL). No root.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsi_request req, rebuilt;
	size_t len = size < sizeof(req) ? size : sizeof(req);
	char why[64] = "";

	memset(&req, 0, sizeof(req));
	memcpy(&req, data, len);
	if (nsi_request_check(&req, len, size > sizeof(req), why, sizeof(why)) != 0) {
		if (!why[0] || !memchr(why, '\0', sizeof(why)))
			abort(); /* a refusal always says why */
		return 0;
	}
	if (size != sizeof(req) || (req.op != NSI_OP_CREATE && req.op != NSI_OP_TEARDOWN) ||
	    !nsi_path_is_normal(req.config))
		abort();
	if (nsi_request_init(&rebuilt, (enum nsi_op)req.op, req.uid, req.user, req.service,
			     req.config) != 0)
		abort();
	rebuilt.settings_hash = req.settings_hash;
	rebuilt.groups_hash = req.groups_hash;
	if (strcmp(rebuilt.user, req.user) || strcmp(rebuilt.service, req.service) ||
	    strcmp(rebuilt.config, req.config) || rebuilt.uid != req.uid || rebuilt.op != req.op)
		abort();
	return 0;
}
