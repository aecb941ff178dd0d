// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the set state text (common/state.c): nsi_state_format and
 * nsi_state_parse round trip; a truncated, torn, repeated or out-of-range
 * entry is refused with the line that is wrong, never misread. No root, no
 * files (the salvage of a corrupt file is tested end to end in
 * tests/e2e/test-security.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "tap.h"

static struct nsi_state st, got;

static void sample(void)
{
	memset(&st, 0, sizeof(st));
	st.uid = 1000;
	strcpy(st.user, "alice@corp.example");
	strcpy(st.policy, "students");
	st.settings_hash = 0xdeadbeefcafe0001ull;
	st.groups_hash = 0x0123456789abcdefull;
	st.linger = true;
	st.created = 1764720000;
	st.keeper_pid = 4242;
	st.keeper_start = 987654321;
	st.ns_ino[NSI_NS_MNT] = 4026532301ull;
	st.ns_ino[NSI_NS_USER] = 4026532300ull;
	st.nsessions = 2;
	st.sessions[0] = (struct nsi_session_rec){ 5000, 1 };
	st.sessions[1] = (struct nsi_session_rec){ 5100, 2 };
}

/* The formatted sample with OLD replaced by NEW, parsed: the result, line in *LINE. */
static int parse_edited(const char *old, const char *new, int *line)
{
	char buf[4096], out[4096];
	const char *at;
	size_t len = nsi_state_format(&st, buf, sizeof(buf));

	if (len >= sizeof(buf) || !(at = strstr(buf, old)))
		return -999;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - buf), buf, new, at + strlen(old));
	memset(&got, 0, sizeof(got));
	return nsi_state_parse(out, 1000, &got, line);
}

int main(void)
{
	char buf[4096];
	int line = -1;
	size_t len;

	sample();
	len = nsi_state_format(&st, buf, sizeof(buf));
	ok(len < sizeof(buf), "the sample formats");
	is_int(nsi_state_parse(buf, 1000, &got, &line), 0, "and parses back");
	is_int(line, 0, "with no bad line");
	ok(memcmp(&st, &got, sizeof(st)) == 0, "to the same state");
	ok(nsi_state_format(&st, buf, 10) >= 10, "a buffer too small is reported by the length");
	len = nsi_state_format(&st, buf, sizeof(buf));
	is_int(nsi_state_parse(buf, 1001, &got, &line), -EBADMSG,
	       "the state of another uid is refused");

	is_int(parse_edited("end\n", "", &line), -EBADMSG, "no end line (torn): refused");
	is_int(line, 15, "naming the line after the last");
	is_int(parse_edited("nsisolate-state 1", "nsisolate-state 2", &line), -EBADMSG,
	       "another version: refused");
	is_int(line, 1, "at line 1");
	is_int(parse_edited("user alice@corp.example\n", "user alice\nuser bob\n", &line), -EBADMSG,
	       "a repeated user: refused, not \"the last wins\"");
	is_int(line, 4, "at the repeated line");
	is_int(parse_edited("ns mnt 4026532301\n", "ns mnt 4026532301\nns mnt 1\n", &line),
	       -EBADMSG, "a repeated namespace: refused");
	is_int(parse_edited("keeper 4242", "keeper 4242 1 2", &line), -EBADMSG,
	       "an extra field: refused");
	is_int(parse_edited("uid 1000", "uid -1", &line), -EBADMSG, "a negative uid: refused");
	is_int(parse_edited("uid 1000", "uid 4294968296", &line), -EBADMSG,
	       "a uid beyond 32 bits: refused (never wrapped to 1000)");
	is_int(parse_edited("keeper 4242", "keeper 1", &line), -EBADMSG, "keeper pid 1: refused");
	is_int(parse_edited("keeper 4242", "keeper 2147483647", &line), -EBADMSG,
	       "a pid beyond pid_max's limit: refused");
	is_int(parse_edited("user alice@corp.example\n", "", &line), -EBADMSG,
	       "no user line: refused");
	is_int(parse_edited("ns mnt 4026532301\n", "", &line), -EBADMSG,
	       "no mount namespace: refused");
	is_int(parse_edited("linger 1", "linger yes", &line), -EBADMSG, "linger not 0/1: refused");
	is_int(parse_edited("nested 0", "nested 2", &line), -EBADMSG, "nested not 0/1: refused");
	is_int(parse_edited("nested 0\n", "nested 0\nnested 1\n", &line), -EBADMSG,
	       "a repeated nested: refused");
	is_int(parse_edited("nested 0\n", "", &line), 0,
	       "no nested line (an older version) parses");
	ok(got.nested, "as a set whose sessions may nest namespaces (the full check)");
	is_int(parse_edited("settings_hash deadbeefcafe0001", "settings_hash 0xdeadbeef", &line),
	       -EBADMSG, "a 0x prefix where none is written: refused");
	is_int(parse_edited("ns user", "ns time", &line), -EBADMSG,
	       "an unknown namespace: refused");
	/* User names as NSS gives them: one word in the file, the same name back. */
	{
		static const char *const names[] = { "John Smith", "50%off", "tab\there",
						     "caf\xc3\xa9 user@corp.example" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct nsi_state one = st;

			snprintf(one.user, sizeof(one.user), "%s", names[i]);
			len = nsi_state_format(&one, buf, sizeof(buf));
			memset(&got, 0, sizeof(got));
			is_int(nsi_state_parse(buf, 1000, &got, &line), 0,
			       "a user name with a space, %% or a tab round-trips (%zu)", i);
			is_str(got.user, names[i], "to the same name (%zu)", i);
		}
		/* (parsing cut BUF into lines: format the last one again) */
		snprintf(got.user, sizeof(got.user), "%s", names[3]);
		got.uid = 1000;
		len = nsi_state_format(&got, buf, sizeof(buf));
		ok(strstr(buf, "\nuser caf\xc3\xa9%20user@corp.example\n") != NULL,
		   "a space is written %%20, UTF-8 as it is");
	}
	is_int(parse_edited("user alice@corp.example", "user a%2fb", &line), -EBADMSG,
	       "a lower-case escape: refused (only what the writer writes)");
	is_int(parse_edited("user alice@corp.example", "user a%41b", &line), -EBADMSG,
	       "an escaped byte that needs none: refused");
	is_int(parse_edited("user alice@corp.example", "user a%00b", &line), -EBADMSG,
	       "an escaped NUL: refused");
	is_int(parse_edited("user alice@corp.example", "user a%4", &line), -EBADMSG,
	       "a cut escape: refused");
	is_int(parse_edited("policy students", "policy -", &line), 0, "policy \"-\" is none");
	is_str(got.policy, "", "an empty policy name");
	return done_testing();
}
