// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the set state parser (common/state.c): each input is
 * a /run/nsisolate/UID.state text. Strict parsing must accept it whole or
 * name a line; what it accepts must format and parse back to the same
 * state (nothing misread, nothing lost); the lenient pass a corrupt file
 * gets (its salvage) must not crash either. No root, no files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_UID 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nsi_state st, again;
	char *text = malloc(size + 1), *buf;
	size_t cap, len;
	int r, line = -1;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	r = nsi_state_parse(text, FUZZ_UID, &st, &line);
	free(text);
	if (r != 0) {
		/* A refusal names the offending line (or the one after the last). */
		if (line <= 0)
			abort();
		return 0;
	}
	if (line != 0 || st.uid != FUZZ_UID || !st.ns_ino[NSI_NS_MNT] || st.keeper_pid <= 1)
		abort();
	cap = 1024 + st.nsessions * 48;
	buf = malloc(cap);
	if (!buf)
		abort();
	len = nsi_state_format(&st, buf, cap);
	if (len >= cap)
		abort();
	memset(&again, 0, sizeof(again));
	if (nsi_state_parse(buf, FUZZ_UID, &again, &line) != 0)
		abort(); /* what was accepted must be written so that it reads back */
	free(buf);
	if (memcmp(&st, &again, sizeof(st)) != 0)
		abort();
	return 0;
}
