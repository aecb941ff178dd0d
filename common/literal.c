// SPDX-License-Identifier: LGPL-2.1-or-later
/* Integer literals read back from a policy file's text: see literal.h. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "literal.h"

void nsi_literal_scan_init(struct nsi_literal_scan *sc, const char *text)
{
	sc->text = text;
	sc->pos = NULL;
	sc->line = 1;
}

static bool is_ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

/* Past blanks, newlines and comments (#, //, C style) from P, counting newlines in *LINE. */
static const char *skip_blank(const char *p, int *line)
{
	const char *e;

	for (;;) {
		if (*p == '\n')
			++*line;
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
			continue;
		}
		if (p[0] != '/' || p[1] != '*')
			return p;
		e = strstr(p + 2, "*/");
		e = e ? e + 2 : p + strlen(p);
		for (; p < e; p++)
			*line += *p == '\n';
	}
}

/* The literal at Q: as libconfig reads them, decimal (a leading 0 is not octal) or 0x hex. */
static int read_literal(const char *q, long long *v, char *lit, size_t litlen)
{
	size_t len = strspn(q, "+-0123456789abcdefABCDEFxX");
	char *end;

	if (litlen) {
		if (len >= litlen)
			len = litlen - 1;
		memcpy(lit, q, len);
		lit[len] = '\0';
	}
	if (*q != '-' && *q != '+' && !isdigit((unsigned char)*q))
		return -ENOENT;
	errno = 0;
	*v = strtoll(q, &end, strncasecmp(q + (*q == '-' || *q == '+'), "0x", 2) ? 10 : 16);
	if (end == q)
		return -ENOENT;
	return errno ? -ERANGE : 0;
}

int nsi_literal_find(struct nsi_literal_scan *sc, const char *name, int want, long long *v,
		     char *lit, size_t litlen)
{
	const char *p = sc->text, *q;
	size_t nlen = strlen(name), len;
	int line = 1, qline;

	if (litlen)
		lit[0] = '\0';
	if (sc->pos && sc->line <= want) {
		p = sc->pos;
		line = sc->line;
	}
	while (*(p = skip_blank(p, &line)) && line <= want) {
		if (*p == '"') { /* a string, with its escapes */
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				line += *p == '\n';
			}
			p += *p == '"';
			continue;
		}
		len = 0;
		while (is_ident_char(p[len]))
			len++;
		if (len == 0) {
			p++;
			continue;
		}
		qline = line;
		q = skip_blank(p + len, &qline);
		if (line != want || len != nlen || strncmp(p, name, nlen) != 0 ||
		    (*q != '=' && *q != ':')) {
			p += len;
			continue;
		}
		sc->pos = p;
		sc->line = line;
		return read_literal(skip_blank(q + 1, &qline), v, lit, litlen);
	}
	return -ENOENT;
}
