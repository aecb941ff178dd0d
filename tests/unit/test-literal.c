// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of common/literal.c, the lexer that reads an integer setting's
 * literal back from a policy file's text: names and separators, comments
 * and strings that look like settings, the line libconfig reports, decimal
 * and hex, 64-bit overflow, and a scan that resumes in file order.
 * No root, no files.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "literal.h"
#include "tap.h"

static int find(const char *text, const char *name, int line, long long *v, char *lit,
		size_t litlen)
{
	struct nsi_literal_scan sc;

	nsi_literal_scan_init(&sc, text);
	return nsi_literal_find(&sc, name, line, v, lit, litlen);
}

static void basics(void)
{
	char lit[32];
	long long v = 0;

	is_int(find("root_id = 4294967294;\n", "root_id", 1, &v, lit, sizeof(lit)), 0,
	       "a decimal literal after =");
	is_int(v, 4294967294LL, "its value, beyond an int");
	is_str(lit, "4294967294", "its text");
	is_int(find("x: 0x10;", "x", 1, &v, lit, sizeof(lit)), 0, "a hex literal after :");
	is_int(v, 16, "hex is read as hex");
	is_int(find("x = 010;", "x", 1, &v, lit, sizeof(lit)), 0, "a leading zero");
	is_int(v, 10, "is decimal, as libconfig reads it (not octal)");
	is_int(find("x = -5;", "x", 1, &v, lit, sizeof(lit)), 0, "a negative literal");
	is_int(v, -5, "its value");
	is_int(find("x = 99999999999999999999;", "x", 1, &v, lit, sizeof(lit)), -ERANGE,
	       "beyond 64 bits: -ERANGE");
	is_str(lit, "99999999999999999999", "the out-of-range text is kept for the message");
	is_int(find("x = \"12\";", "x", 1, &v, lit, sizeof(lit)), -ENOENT,
	       "a string is not an integer literal");
	is_int(find("x = 1;", "y", 1, &v, lit, sizeof(lit)), -ENOENT, "another name: not found");
	is_int(find("xy = 1;", "x", 1, &v, lit, sizeof(lit)), -ENOENT,
	       "a name is matched whole, not as a prefix");
	is_int(find("x = 1;", "x", 2, &v, lit, sizeof(lit)), -ENOENT,
	       "the setting must be on the line libconfig reports");
	is_int(find("x = 123456;", "x", 1, &v, lit, 4), 0, "a short LIT buffer still parses");
	is_str(lit, "123", "and holds a truncated, terminated text");
}

static void comments_and_strings(void)
{
	const char *text = "# x = 1\n"
			   "// x = 2\n"
			   "/* x = 3\n x = 4 */ s = \"x = 5\\\" x = 6\";\n"
			   "x = 7;\n";
	long long v = 0;
	char lit[32];

	is_int(find(text, "x", 1, &v, lit, sizeof(lit)), -ENOENT, "not inside a # comment");
	is_int(find(text, "x", 2, &v, lit, sizeof(lit)), -ENOENT, "not inside a // comment");
	is_int(find(text, "x", 4, &v, lit, sizeof(lit)), -ENOENT,
	       "not inside a C comment or a string with an escaped quote");
	is_int(find(text, "x", 5, &v, lit, sizeof(lit)), 0, "the real setting, line 5");
	is_int(v, 7, "its value");
	is_int(find("a = { x = /* c */ 8; };", "x", 1, &v, lit, sizeof(lit)), 0,
	       "a comment between = and the literal");
	is_int(v, 8, "its value");
	is_int(find("/* never closed x = 1", "x", 1, &v, lit, sizeof(lit)), -ENOENT,
	       "an unterminated comment ends the text");
	is_int(find("s = \"never closed x = 1", "x", 1, &v, lit, sizeof(lit)), -ENOENT,
	       "an unterminated string ends the text");
}

static void resumes_in_order(void)
{
	const char *text = "a = { n = 1; };\nb = { n = 2; };\nc = { n = 3; };\n";
	struct nsi_literal_scan sc;
	long long v = 0;
	char lit[32];

	nsi_literal_scan_init(&sc, text);
	is_int(nsi_literal_find(&sc, "n", 1, &v, lit, sizeof(lit)), 0, "first n");
	is_int(v, 1, "is 1");
	is_int(nsi_literal_find(&sc, "n", 3, &v, lit, sizeof(lit)), 0, "third n, resuming");
	is_int(v, 3, "is 3");
	is_int(sc.line, 3, "the scan is now on line 3");
	is_int(nsi_literal_find(&sc, "n", 2, &v, lit, sizeof(lit)), 0,
	       "an earlier line starts again from the top");
	is_int(v, 2, "is 2");
}

int main(void)
{
	basics();
	comments_and_strings();
	resumes_in_order();
	return done_testing();
}
