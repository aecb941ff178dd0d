// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of nsisolate check --pam (cli/pamstack.c): Debian 12's stock
 * PAM files with the pam-auth-update profile enabled, then one change at a
 * time: a forking module after pam_nsisolate.so, controls that let a failure
 * through or skip the module, systemd-user without the module, include
 * loops and depth, substacks and jumps, options. The files live in one
 * mkdtemp directory (DIR/etc as /etc/pam.d, DIR/vendor as /usr/lib/pam.d),
 * removed at exit; no root needed.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "pamstack.h"
#include "tap.h"

static char tmpdir[] = "/tmp/nsi-test-pamstack-XXXXXX";
static bool tmpdir_made;
static char etc[256], vendor[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (tmpdir_made)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s: %s\n", p, strerror(errno));
		exit(1);
	}
}

static void drop(const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

/* Debian 12 (bookworm) as shipped, after "pam-auth-update --enable nsisolate". */
static const char common_session[] =
	"# /etc/pam.d/common-session - session-related modules common to all services\n"
	"#\n"
	"# here are the per-package modules (the \"Primary\" block)\n"
	"session\t[default=1]\t\t\tpam_permit.so\n"
	"# here's the fallback if no module succeeds\n"
	"session\trequisite\t\t\tpam_deny.so\n"
	"session\trequired\t\t\tpam_permit.so\n"
	"# and here are more per-package modules (the \"Additional\" block)\n"
	"session\trequired\tpam_unix.so \n"
	"session\toptional\tpam_systemd.so \n"
	"session\trequired\tpam_nsisolate.so \n"
	"# end of pam-auth-update config\n";
static const char common_session_ni[] = "session\t[default=1]\t\t\tpam_permit.so\n"
					"session\trequisite\t\t\tpam_deny.so\n"
					"session\trequired\t\t\tpam_permit.so\n"
					"session\trequired\tpam_unix.so \n"
					"session\trequired\tpam_nsisolate.so first_child\n";
static const char sshd[] =
	"# PAM configuration for the Secure Shell service\n"
	"@include common-auth\n"
	"account    required     pam_nologin.so\n"
	"@include common-account\n"
	"session [success=ok ignore=ignore module_unknown=ignore default=bad]        "
	"pam_selinux.so close\n"
	"session    required     pam_loginuid.so\n"
	"session    optional     pam_keyinit.so force revoke\n"
	"@include common-session\n"
	"session    optional     pam_motd.so  motd=/run/motd.dynamic\n"
	"session    optional     pam_motd.so noupdate\n"
	"session    optional     pam_mail.so standard noenv # [1]\n"
	"session    required     pam_limits.so\n"
	"session    required     pam_env.so # [1]\n"
	"session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale\n"
	"session [success=ok ignore=ignore module_unknown=ignore default=bad]        "
	"pam_selinux.so open\n"
	"@include common-password\n";
static const char cron[] = "@include common-auth\n"
			   "session    required     pam_loginuid.so\n"
			   "session       required   pam_env.so\n"
			   "session       required   pam_env.so envfile=/etc/default/locale\n"
			   "@include common-account\n"
			   "@include common-session-noninteractive \n"
			   "session    required   pam_limits.so\n";
static const char systemd_user[] = "# This file is part of systemd.\n"
				   "@include common-account\n"
				   "session  required pam_selinux.so close\n"
				   "session  required pam_selinux.so nottys open\n"
				   "session  required pam_loginuid.so\n"
				   "session  required pam_limits.so\n"
				   "@include common-session-noninteractive\n"
				   "session  optional pam_keyinit.so force revoke\n"
				   "session  optional pam_systemd.so\n";

static void stock(void)
{
	put(etc, "common-auth",
	    "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
	    "auth\trequisite\t\t\tpam_deny.so\n"
	    "auth\trequired\t\t\tpam_permit.so\n");
	put(etc, "common-account",
	    "account\t[success=1 new_authtok_reqd=done default=ignore]\t"
	    "pam_unix.so\naccount\trequisite\tpam_deny.so\n"
	    "account\trequired\tpam_permit.so\n");
	put(etc, "common-password",
	    "password\t[success=1 default=ignore]\tpam_unix.so obscure "
	    "yescrypt\npassword\trequisite\tpam_deny.so\n"
	    "password\trequired\tpam_permit.so\n");
	put(etc, "common-session", common_session);
	put(etc, "common-session-noninteractive", common_session_ni);
	put(etc, "sshd", sshd);
	put(etc, "cron", cron);
	put(etc, "login",
	    "auth       optional   pam_faildelay.so  delay=3000000\n"
	    "session [success=ok ignore=ignore module_unknown=ignore default=bad] "
	    "pam_selinux.so close\n"
	    "session    required     pam_loginuid.so\n"
	    "session    optional   pam_motd.so motd=/run/motd.dynamic\n"
	    "session       required   pam_env.so readenv=1\n"
	    "@include common-auth\n"
	    "session    required   pam_limits.so\n"
	    "session    optional   pam_lastlog.so\n"
	    "session    optional   pam_mail.so standard\n"
	    "session    optional   pam_keyinit.so force revoke\n"
	    "@include common-account\n"
	    "@include common-session\n"
	    "@include common-password\n");
	put(etc, "su",
	    "auth       sufficient pam_rootok.so\n"
	    "session       required   pam_env.so readenv=1\n"
	    "session    optional   pam_mail.so nopen\n"
	    "session    required   pam_limits.so\n"
	    "@include common-auth\n@include common-account\n@include common-session\n");
	put(etc, "su-l",
	    "auth\t\tinclude\t\tsu\naccount\t\tinclude\t\tsu\npassword\tinclude\t\tsu\n"
	    "session\t\toptional\tpam_keyinit.so force revoke\nsession\t\tinclude\t\tsu\n");
	put(etc, "sudo",
	    "session    required   pam_limits.so\n"
	    "@include common-auth\n@include common-account\n"
	    "@include common-session-noninteractive\n");
	put(etc, "runuser",
	    "auth\t\tsufficient\tpam_rootok.so\n"
	    "session\t\toptional\tpam_keyinit.so revoke\n"
	    "session\t\trequired\tpam_limits.so\n"
	    "session\t\trequired\tpam_unix.so\n");
	put(etc, "passwd", "@include common-password\n");
	put(etc, "other",
	    "@include common-auth\n@include common-account\n"
	    "@include common-password\n@include common-session\n");
	put(vendor, "systemd-user", systemd_user);
}

static int rc;
static char *out, *err;

/* nsisolate check --pam --pam-dir DIR/etc --pam-dir DIR/vendor [SERVICE...] */
static void run(int n, ...)
{
	const char *dirs[] = { etc, vendor };
	char *services[16];
	size_t olen, elen;
	FILE *o, *e;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		services[i] = va_arg(ap, char *);
	va_end(ap);
	free(out);
	free(err);
	o = open_memstream(&out, &olen);
	e = open_memstream(&err, &elen);
	rc = nsi_pam_check(dirs, 2, services, (size_t)n, o, e);
	fclose(o);
	fclose(e);
}

static bool has(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static bool contains(const char *text, const char *part)
{
	return text && strstr(text, part);
}

static void show(void)
{
	diag("stdout:\n%s", out);
	diag("stderr:\n%s", err);
}

#define has_line(text, line, ...) (ok(has((text), (line)), __VA_ARGS__) || (show(), 0))
#define has_part(text, part, ...) (ok(contains((text), (part)), __VA_ARGS__) || (show(), 0))
#define lacks_part(text, part, ...) (ok(!contains((text), (part)), __VA_ARGS__) || (show(), 0))

int main(void)
{
	char line[1024];

	atexit(cleanup);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	tmpdir_made = true;
	snprintf(etc, sizeof(etc), "%s/etc", tmpdir);
	snprintf(vendor, sizeof(vendor), "%s/vendor", tmpdir);
	if (mkdir(etc, 0755) < 0 || mkdir(vendor, 0755) < 0) {
		printf("Bail out! mkdir: %s\n", strerror(errno));
		return 1;
	}
	stock();

	/* ---- stock Debian 12 with the profile ---- */
	run(0);
	is_int(rc, 0, "stock + profile: exit 0");
	snprintf(line, sizeof(line), "sshd: pam_nsisolate.so required at %s/common-session:11",
		 etc);
	has_line(out, line, "sshd: the module, its control and FILE:LINE");
	snprintf(line, sizeof(line),
		 "cron: pam_nsisolate.so required first_child at "
		 "%s/common-session-noninteractive:5",
		 etc);
	has_line(out, line, "cron: first_child from common-session-noninteractive");
	snprintf(line, sizeof(line),
		 "systemd-user: pam_nsisolate.so required first_child at "
		 "%s/common-session-noninteractive:5 (opener mode)",
		 etc);
	has_line(out, line, "systemd-user: found in the vendor directory, opener mode");
	snprintf(line, sizeof(line), "su-l: pam_nsisolate.so required at %s/common-session:11",
		 etc);
	has_line(out, line, "su-l: through \"session include su\" and su's @include");
	has_line(out, "runuser: no pam_nsisolate.so in the session stack",
		 "runuser: not isolated (its own stack)");
	snprintf(line, sizeof(line),
		 "passwd: pam_nsisolate.so required at %s/common-session:11 (through \"other\")",
		 etc);
	has_line(out, line, "passwd: no session lines: those of other, which has the module");
	lacks_part(out, "\ncommon-", "common-* files are include files, not services");
	has_line(out, "pam: 10 services, 9 with pam_nsisolate.so: ok", "summary: ok");
	is_str(err, "",
	       "stock + profile: nothing on stderr (pam_motd after the module is harmless)");

	/* ---- a forking module after the module ---- */
	put(etc, "sshd.dpkg-old", sshd);
	{
		char text[sizeof(sshd) + 64];

		snprintf(text, sizeof(text), "%ssession optional pam_exec.so /bin/true\n", sshd);
		put(etc, "sshd", text);
	}
	run(0);
	is_int(rc, 1, "pam_exec after the module: exit 1");
	snprintf(line, sizeof(line),
		 "%s/sshd:17: pam_exec.so runs after pam_nsisolate.so (%s/common-session:11) and "
		 "forks the command it runs: its child joins the user's set; move it before "
		 "pam_nsisolate.so (sshd)",
		 etc, etc);
	has_line(err, line, "pam_exec: named with FILE:LINE and the module's place");
	has_line(out, "pam: 10 services, 9 with pam_nsisolate.so: 1 error", "summary: 1 error");
	lacks_part(out, "sshd.dpkg-old", "leftovers of upgrades are not services");
	run(1, "cron");
	is_int(rc, 0, "a service named alone: only it is checked");
	has_line(out, "pam: 1 service, 1 with pam_nsisolate.so: ok", "summary: 1 service");
	put(etc, "sshd", sshd);

	/* pam_mkhomedir before the module, in common-session (the mkhomedir profile) */
	{
		const char *p = strstr(common_session, "session\trequired\tpam_nsisolate.so");
		char text[sizeof(common_session) + 64];

		snprintf(text, sizeof(text), "%.*ssession\toptional\tpam_mkhomedir.so\n%s",
			 (int)(p - common_session), common_session, p);
		put(etc, "common-session", text);
		run(1, "login");
		is_int(rc, 0, "pam_mkhomedir before the module: no error");
		snprintf(text, sizeof(text), "%ssession\toptional\tpam_mkhomedir.so\n",
			 common_session);
		put(etc, "common-session", text);
		run(2, "login", "su");
		is_int(rc, 1, "pam_mkhomedir after it: exit 1");
		snprintf(line, sizeof(line),
			 "%s/common-session:13: pam_mkhomedir.so runs after pam_nsisolate.so "
			 "(%s/common-session:11) and forks mkhomedir_helper: its child joins the "
			 "user's set; move it before pam_nsisolate.so (login, su)",
			 etc, etc);
		has_line(err, line, "one error for the shared file, naming both services");
		put(etc, "common-session", common_session);
	}

	/* first_child: the forking module's child would take the session's place */
	{
		char text[sizeof(cron) + 64];

		snprintf(text, sizeof(text), "%ssession optional pam_exec.so /bin/true\n", cron);
		put(etc, "cron", text);
		run(1, "cron");
		is_int(rc, 1, "cron: pam_exec after a first_child module: exit 1");
		has_part(err,
			 "its child takes the place of the session, which then runs without "
			 "isolation",
			 "first_child: says the session would run without isolation");
		put(etc, "cron", cron);
	}
	/* opener mode arms no fork handler: a forking module after it is harmless */
	{
		char text[sizeof(systemd_user) + 64];

		snprintf(text, sizeof(text), "%ssession optional pam_exec.so /bin/true\n",
			 systemd_user);
		put(vendor, "systemd-user", text);
		run(1, "systemd-user");
		is_int(rc, 0, "systemd-user (opener mode): pam_exec after the module is no error");
		put(vendor, "systemd-user", systemd_user);
	}

	/* ---- systemd-user ---- */
	put(etc, "systemd-user", "@include common-account\nsession required pam_unix.so\n");
	run(1, "sshd");
	is_int(rc, 1, "systemd-user without the module, sshd with it: exit 1");
	snprintf(line, sizeof(line),
		 "%s/systemd-user: no pam_nsisolate.so in the session stack of systemd-user, but "
		 "in that of sshd: the user manager and what it starts run outside the user's "
		 "set; add it (pam-auth-update --enable nsisolate puts it in "
		 "common-session-noninteractive, which systemd-user includes) (systemd-user)",
		 etc);
	has_line(err, line, "systemd-user: /etc/pam.d overrides /usr/lib/pam.d, and is named");
	drop(etc, "systemd-user");
	run(1, "runuser");
	is_int(rc, 0, "no login service with the module: systemd-user is not asked");

	/* ---- controls ---- */
	put(etc, "svc", "session optional pam_nsisolate.so\n");
	run(1, "svc");
	is_int(rc, 0, "optional: a warning, exit 0");
	snprintf(line, sizeof(line),
		 "warning: %s/svc:1: pam_nsisolate.so is \"optional\": a failure (session_err, "
		 "service_err, user_unknown, buf_err, module_unknown) lets the session run "
		 "without isolation; use \"required\" (svc)",
		 etc);
	has_line(err, line, "optional: every failure is let through");
	put(etc, "svc", "session [success=ok session_err=ignore default=bad] pam_nsisolate.so\n");
	run(1, "svc");
	has_part(err, "a failure (session_err) lets", "[...]: the one code let through is named");
	put(etc, "svc",
	    "session [success=ok default=2] pam_nsisolate.so\n"
	    "session required pam_permit.so\nsession required pam_permit.so\n");
	run(1, "svc");
	has_part(err,
		 "a failure (session_err, service_err, user_unknown, buf_err, module_unknown) "
		 "lets",
		 "[...]: a jump lets a failure through (pam_open_session ignores it)");
	put(etc, "svc",
	    "session [success=ok module_unknown=ignore default=bad] pam_nsisolate.so\n");
	run(1, "svc");
	has_part(err, "a failure (module_unknown) lets", "[...]: a missing module let through");
	put(etc, "svc", "session [success=ok default=bad] pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "[default=bad]: no warning");
	put(etc, "svc", "session [success=ok default=die] pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "[default=die]: no warning");
	put(etc, "svc", "session [success=ok] pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "[success=ok]: the rest is bad, as Linux-PAM sets it");
	put(etc, "svc", "session requisite pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "requisite: no warning");
	put(etc, "svc", "session sufficient pam_nsisolate.so\n");
	run(1, "svc");
	has_part(err, "is \"sufficient\"", "sufficient: warned about");

	/* ---- lines before it that end or jump out of the stack ---- */
	put(etc, "svc",
	    "session sufficient pam_succeed_if.so user = alice\n"
	    "session required pam_nsisolate.so\n");
	run(1, "svc");
	snprintf(line, sizeof(line),
		 "warning: %s/svc:1: pam_succeed_if.so before pam_nsisolate.so (%s/svc:2): "
		 "sufficient: when it succeeds, the stack ends there, and the session runs "
		 "without isolation (svc)",
		 etc, etc);
	has_line(err, line, "sufficient before it: warned about, with both lines");
	is_int(rc, 0, "a warning only");
	put(etc, "svc",
	    "session [success=2 default=ignore] pam_succeed_if.so user = alice\n"
	    "session required pam_permit.so\n"
	    "session required pam_permit.so\n"
	    "session required pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "a jump that lands on the module: no warning");
	put(etc, "svc",
	    "session [success=3 default=ignore] pam_succeed_if.so user = alice\n"
	    "session required pam_permit.so\n"
	    "session required pam_permit.so\n"
	    "session required pam_nsisolate.so\n"
	    "session required pam_permit.so\n");
	run(1, "svc");
	has_part(err, "svc:1: pam_succeed_if.so before pam_nsisolate.so (",
		 "a jump over the module: warned about");
	has_part(err, "success=3 jumps over it", "the jump is named");
	put(etc, "sub", "session sufficient pam_permit.so\nsession [default=done] pam_permit.so\n");
	put(etc, "svc", "session substack sub\nsession required pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "done and sufficient in an earlier substack end only that substack");
	put(etc, "svc",
	    "session [success=1 default=ignore] pam_succeed_if.so user = alice\n"
	    "session substack sub\n"
	    "session required pam_nsisolate.so\n");
	run(1, "svc");
	is_str(err, "", "a jump of 1 skips the whole substack, and lands on the module");
	put(etc, "sub",
	    "session [success=1 default=ignore] pam_succeed_if.so user = alice\n"
	    "session required pam_nsisolate.so\n");
	put(etc, "svc",
	    "session [success=done default=ignore] pam_succeed_if.so user = bob\n"
	    "session substack sub\n");
	run(1, "svc");
	has_part(err, "svc:1: pam_succeed_if.so before pam_nsisolate.so",
		 "done in the enclosing stack skips a module in a substack");
	has_part(err, "sub:1: pam_succeed_if.so before pam_nsisolate.so",
		 "a jump inside the module's substack, over it");
	drop(etc, "sub");

	/* ---- options ---- */
	put(etc, "svc", "session required pam_nsisolate.so debug config=/etc/security/x.conf\n");
	run(1, "svc");
	is_int(rc, 0, "debug and an absolute config=: fine");
	put(etc, "svc", "session required pam_nsisolate.so config=x.conf\n");
	run(1, "svc");
	is_int(rc, 1, "a relative config=: exit 1");
	has_part(err, "config=x.conf: not a normalized absolute path", "a relative config= named");
	put(etc, "svc", "session required pam_nsisolate.so frist_child\n");
	run(1, "svc");
	is_int(rc, 1, "an unknown option: exit 1");
	has_part(err, "unknown option \"frist_child\"", "the unknown option is named");
	put(etc, "sshd", "session required pam_nsisolate.so opener\n");
	run(1, "sshd");
	is_int(rc, 1, "opener for sshd: exit 1");
	has_part(err, "the opener of sshd must stay in the host", "opener for sshd: why");
	put(etc, "cron", "session required pam_unix.so\nsession required pam_nsisolate.so\n");
	run(1, "cron");
	is_int(rc, 0, "cron without first_child: a warning only");
	has_part(err, "warning: ", "cron without first_child: warned about");
	has_part(err, "cron without first_child: the mailer joins the set", "and why");
	put(etc, "cron", cron);
	put(etc, "sshd", "@include common-session\nsession required pam_nsisolate.so\n");
	run(1, "sshd");
	is_int(rc, 0, "twice: a warning only");
	has_part(err, "pam_nsisolate.so again (first at", "twice: warned about");
	put(etc, "sshd", sshd);

	/* ---- reading files ---- */
	put(etc, "svc",
	    "# comment\n"
	    "session \\\n"
	    "  required \\\n"
	    "\n"
	    "  /lib/x86_64-linux-gnu/security/pam_nsisolate.so # last\n"
	    "Session Required pam_permit.so\n");
	run(1, "svc");
	snprintf(line, sizeof(line), "svc: pam_nsisolate.so required at %s/svc:2", etc);
	has_line(out, line, "continued lines, comments, a path to the module: found at line 2");
	is_str(err, "", "Linux-PAM's syntax is read without complaint");
	put(etc, "a", "session include b\n");
	put(etc, "b", "@include a\n");
	put(etc, "svc", "session required pam_nsisolate.so\nsession include a\n");
	run(1, "svc");
	is_int(rc, 1, "an include loop in a stack with the module: exit 1");
	bprintf(line,
		"%s/b:1: include loop: %s/a -> %s/b -> %s/a: Linux-PAM fails the whole stack: "
		"the session stack cannot be checked (svc)",
		etc, etc, etc, etc);
	has_line(err, line, "the loop is shown, at the line closing it");
	put(etc, "svc", "session include a\n");
	run(1, "svc");
	is_int(rc, 0, "the same loop in a stack without the module: a warning");
	has_part(err, "warning: ", "  ... marked as such");
	for (int i = 0; i < 20; i++) {
		char name[16], text[64];

		snprintf(name, sizeof(name), "d%d", i);
		snprintf(text, sizeof(text), "session include d%d\n", i + 1);
		put(etc, name, text);
	}
	put(etc, "d20", "session required pam_nsisolate.so\n");
	put(etc, "svc", "session required pam_nsisolate.so\nsession include d0\n");
	run(1, "svc");
	is_int(rc, 1, "includes 20 deep: exit 1");
	has_part(err, "includes nested deeper than 16 files", "depth: Linux-PAM's limit named");
	put(etc, "svc", "session include missing\nsession required pam_nsisolate.so\n");
	run(1, "svc");
	is_int(rc, 1, "a missing include: exit 1");
	has_part(err, "cannot open \"missing\": No such file or directory",
		 "the missing file named");
	put(etc, "svc", "sesion required pam_nsisolate.so\n");
	run(1, "svc");
	has_part(err, "warning: ", "a misspelt type: a warning");
	has_part(err, "svc:1: unknown module type \"sesion\": Linux-PAM makes the line fail",
		 "  naming the type");
	snprintf(line, sizeof(line),
		 "svc: pam_nsisolate.so required at %s/common-session:11 (through \"other\")", etc);
	has_line(out, line, "  and the line is not a session line: the service gets other's");
	run(1, "nosuchservice");
	snprintf(line, sizeof(line),
		 "nosuchservice: pam_nsisolate.so required at %s/common-session:11 (through "
		 "\"other\")",
		 etc);
	has_line(out, line, "a service without a file gets the stack of other");

	return done_testing();
}
