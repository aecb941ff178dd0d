// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the veth lease file parser (common/lease.c): each
 * input is a /run/nsisolate/UID.lease text. What nsi_lease_parse accepts
 * must be a well-formed lease (an aligned /30, a link of ours) and format
 * and parse back to the same lease. No root, no files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsi_lease l, again;
	char *text = malloc(size + 1), buf[512];

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&l, 0, sizeof(l));
	if (nsi_lease_parse(text, &l) != 0) {
		free(text);
		return 0;
	}
	free(text);
	if ((l.net & 3) != 0 || strncmp(l.link, NSI_LINK_PREFIX, 3) != 0 ||
	    memchr(l.link, '\0', sizeof(l.link)) == NULL)
		abort();
	if (nsi_lease_format(&l, buf, sizeof(buf)) != 0)
		abort();
	memset(&again, 0, sizeof(again));
	if (nsi_lease_parse(buf, &again) != 0 || memcmp(&l, &again, sizeof(l)) != 0)
		abort();
	return 0;
}
