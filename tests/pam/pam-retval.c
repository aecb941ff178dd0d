// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam-retval CONFDIR: the exact return codes of pam_open_session and
 * pam_close_session with the built module, one PAM service file per case in
 * CONFDIR (written by test-retval.sh, which also makes the users and the
 * policy files). TAP on stdout; exits 1 if a case failed. The module fails
 * closed (docs/design.md, "Security rules" 5 and "Trust boundaries").
 *
 * Each service's session stack is the module alone, "session required", so
 * libpam hands its failure codes through unchanged and PAM_SUCCESS as
 * PAM_SUCCESS. PAM_IGNORE leaves libpam without a decision: _pam_dispatch_aux
 * starts from PAM_MUST_FAIL_CODE (PAM_PERM_DENIED) and an ignoring module
 * leaves it there (Linux-PAM 1.5; an all-ignore stack never succeeds). The
 * module never returns PAM_PERM_DENIED itself, so here it stands for the
 * module's PAM_IGNORE (MOD_IGNORE).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/tap.h"

/* Kept in step with test-retval.sh. */
#define USER_PLAIN "nsir1" /* an ordinary user */
#define USER_GROUP0 "nsir0" /* a member of group 0 (root) */
#define USER_NONE "nsirnobody" /* never created */
#define RUN_DIR "/run/nsisolate"

/* What a stack of "session required pam_nsisolate.so" returns when the module ignores. */
#define MOD_IGNORE PAM_PERM_DENIED

static const char *confdir;
static char hold_path[PATH_MAX];

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static const struct pam_conv conversation = { conv, NULL };

static const char *code_name(int r)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{ PAM_SUCCESS, "PAM_SUCCESS" },
		{ PAM_IGNORE, "PAM_IGNORE" },
		{ PAM_PERM_DENIED, "PAM_PERM_DENIED" },
		{ PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN" },
		{ PAM_SERVICE_ERR, "PAM_SERVICE_ERR" },
		{ PAM_SESSION_ERR, "PAM_SESSION_ERR" },
		{ PAM_BUF_ERR, "PAM_BUF_ERR" },
		{ PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR" },
		{ PAM_ABORT, "PAM_ABORT" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == r)
			return names[i].name;
	return "another code";
}

static bool is_code(int got, int exp, const char *what, const char *desc)
{
	bool pass = ok(got == exp, "%s: %s returns %s", desc, what, code_name(exp));

	if (!pass)
		diag("got %d (%s), expected %d (%s)", got, code_name(got), exp, code_name(exp));
	return pass;
}

static pam_handle_t *start(const char *service, const char *user)
{
	pam_handle_t *ph = NULL;
	int r = pam_start_confdir(service, user, &conversation, confdir, &ph);

	if (r != PAM_SUCCESS) {
		diag("pam_start_confdir(%s, %s): %d", service, user, r);
		return NULL;
	}
	return ph;
}

/* One open and one close on one handle, as an application would do them. */
static void open_close(const char *service, const char *user, int exp_open, int exp_close,
		       const char *desc)
{
	pam_handle_t *ph = start(service, user);
	int r;

	if (!ok(ph != NULL, "%s: pam_start", desc))
		return;
	r = pam_open_session(ph, 0);
	is_code(r, exp_open, "open", desc);
	is_code(pam_close_session(ph, 0), exp_close, "close", desc);
	pam_end(ph, r);
}

/* pam_close_session on a handle that never opened one. */
static void close_only(const char *service, const char *user, int exp_close, const char *desc)
{
	pam_handle_t *ph = start(service, user);

	if (!ok(ph != NULL, "%s: pam_start", desc))
		return;
	is_code(pam_close_session(ph, 0), exp_close, "close", desc);
	pam_end(ph, PAM_SUCCESS);
}

static uid_t uid_of(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		diag("no user %s (run through test-retval.sh)", user);
		exit(2);
	}
	return pw->pw_uid;
}

static bool state_exists(uid_t uid, const char *ext)
{
	char path[64];

	snprintf(path, sizeof(path), RUN_DIR "/%u.%s", (unsigned)uid, ext);
	return access(path, F_OK) == 0;
}

static void no_state(uid_t uid, const char *desc)
{
	ok(!state_exists(uid, "state"), "%s: no " RUN_DIR "/%u.state left", desc, (unsigned)uid);
	ok(!state_exists(uid, "lock"), "%s: no " RUN_DIR "/%u.lock left", desc, (unsigned)uid);
}

/* The keeper pid on the "keeper PID START" line of UID.state, or 0. */
static pid_t keeper_of(uid_t uid)
{
	char path[64], line[512];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), RUN_DIR "/%u.state", (unsigned)uid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "keeper %ld", &pid) == 1)
			break;
	fclose(f);
	return pid > 0 ? (pid_t)pid : 0;
}

/* Gone, or a zombie nobody reaps yet (its namespaces are released either way). */
static bool process_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && (p[2] == 'Z' || p[2] == 'X');
}

static void isolated_session(uid_t uid)
{
	const char *desc = "isolated user";
	pam_handle_t *ph = start("good", USER_PLAIN);
	pid_t keeper;
	int r;

	if (!ok(ph != NULL, "%s: pam_start", desc))
		return;
	r = pam_open_session(ph, 0);
	is_code(r, PAM_SUCCESS, "open", desc);
	ok(state_exists(uid, "state"), "%s: " RUN_DIR "/%u.state while open", desc, (unsigned)uid);
	keeper = keeper_of(uid);
	ok(keeper > 0, "%s: the state names a keeper", desc);
	is_code(pam_close_session(ph, 0), PAM_SUCCESS, "close", desc);
	pam_end(ph, r);
	no_state(uid, desc);
	ok(keeper > 0 && process_gone(keeper), "%s: keeper %d is gone after close", desc,
	   (int)keeper);
}

/*
 * pam-hold SERVICE USER CONFDIR with its stdin on a pipe: it holds the
 * session until we close our end. Returns its pid, or -1.
 */
static pid_t hold_start(const char *service, const char *user, int *in_w, FILE **out)
{
	int in[2], o[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0)
			_exit(127);
		execl(hold_path, hold_path, service, user, confdir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	*in_w = in[1];
	*out = fdopen(o[0], "re");
	return pid;
}

/* The next "WORD RC" line of pam-hold, or -1. */
static int hold_line(FILE *f, const char *word)
{
	char line[128], w[32];
	int rc;

	if (!f || !fgets(line, sizeof(line), f))
		return -1;
	if (sscanf(line, "%31s %d", w, &rc) != 2 || strcmp(w, word) != 0)
		return -1;
	return rc;
}

static void held_elsewhere(uid_t uid)
{
	const char *desc = "second open while another process holds a session";
	FILE *out = NULL;
	int in_w = -1, r, status;
	pid_t pid, keeper = 0;

	/* Fork only here, with no session open in this process: nothing is armed. */
	pid = hold_start("good", USER_PLAIN, &in_w, &out);
	if (!ok(pid > 0 && out, "%s: pam-hold started", desc))
		return;
	r = hold_line(out, "open");
	is_code(r, PAM_SUCCESS, "pam-hold open", desc);
	if (r == PAM_SUCCESS) {
		keeper = keeper_of(uid);
		ok(keeper > 0, "%s: the state names a keeper", desc);
		open_close("differ", USER_PLAIN, PAM_SESSION_ERR, MOD_IGNORE,
			   "held set, another policy (on_error = \"allow\")");
		open_close("changed", USER_PLAIN, PAM_SESSION_ERR, MOD_IGNORE,
			   "held set, same policy with other settings");
		open_close("good", USER_PLAIN, PAM_SUCCESS, PAM_SUCCESS,
			   "held set, same policy joins");
		ok(state_exists(uid, "state"), "%s: the held set outlives the joiner's close",
		   desc);
	}
	close(in_w);
	r = hold_line(out, "close");
	is_code(r, PAM_SUCCESS, "pam-hold close", desc);
	fclose(out);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: pam-hold exits 0", desc);
	no_state(uid, desc);
	ok(keeper > 0 && process_gone(keeper), "%s: keeper %d is gone after the last close", desc,
	   (int)keeper);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n;
	uid_t plain, group0;

	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: pam-retval /ABSOLUTE/CONFDIR (see test-retval.sh)\n");
		return 2;
	}
	confdir = argv[1];
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 2;
	self[n] = '\0';
	snprintf(hold_path, sizeof(hold_path), "%s/pam-hold", dirname(self));
	if (access(hold_path, X_OK) < 0) {
		fprintf(stderr, "pam-retval: %s: %s\n", hold_path, strerror(errno));
		return 2;
	}
	plain = uid_of(USER_PLAIN);
	group0 = uid_of(USER_GROUP0);
	if (getpwnam(USER_NONE)) {
		fprintf(stderr, "pam-retval: user %s must not exist\n", USER_NONE);
		return 2;
	}

	/* Module options: checked first, for every user and for close too. */
	open_close("badopt", USER_PLAIN, PAM_SERVICE_ERR, PAM_SERVICE_ERR, "unknown option");
	open_close("badopt", "root", PAM_SERVICE_ERR, PAM_SERVICE_ERR, "unknown option, root");
	open_close("relconfig", USER_PLAIN, PAM_SERVICE_ERR, PAM_SERVICE_ERR,
		   "config=relative/path");
	open_close("dotconfig", USER_PLAIN, PAM_SERVICE_ERR, PAM_SERVICE_ERR,
		   "config= path with a .. component");

	/* The user. */
	open_close("good", USER_NONE, PAM_USER_UNKNOWN, MOD_IGNORE, "user that does not exist");
	open_close("good", "nsir x", PAM_USER_UNKNOWN, MOD_IGNORE, "user name with a blank");

	/* Root is recognized before the policy is read. */
	open_close("good", "root", MOD_IGNORE, MOD_IGNORE, "root");
	open_close("syntax", "root", MOD_IGNORE, MOD_IGNORE, "root, config with a syntax error");
	open_close("missing", "root", MOD_IGNORE, MOD_IGNORE, "root, missing config");

	/* The policy file and its checks. */
	open_close("missing", USER_PLAIN, PAM_SERVICE_ERR, MOD_IGNORE, "missing config");
	open_close("syntax", USER_PLAIN, PAM_SERVICE_ERR, MOD_IGNORE, "config with a syntax error");
	open_close("unknownkey", USER_PLAIN, PAM_SERVICE_ERR, MOD_IGNORE,
		   "config with an unknown key");
	open_close("groupw", USER_PLAIN, PAM_SERVICE_ERR, MOD_IGNORE, "group-writable config");
	open_close("symlink", USER_PLAIN, PAM_SERVICE_ERR, MOD_IGNORE, "symlinked config");
	open_close("hostname", USER_PLAIN, PAM_SERVICE_ERR, MOD_IGNORE,
		   "hostname invalid for this user");
	open_close("noisolate", USER_PLAIN, MOD_IGNORE, MOD_IGNORE, "isolate = false");

	/* Sessions. */
	isolated_session(plain);
	close_only("good", USER_PLAIN, MOD_IGNORE, "close without open");

	/* Runtime failures: on_error decides. */
	open_close("good", USER_GROUP0, PAM_SESSION_ERR, MOD_IGNORE,
		   "user in group 0, on_error = \"deny\"");
	no_state(group0, "user in group 0, deny");
	open_close("allow", USER_GROUP0, PAM_SUCCESS, MOD_IGNORE,
		   "user in group 0, on_error = \"allow\"");
	no_state(group0, "user in group 0, allow");
	open_close("rootid-deny", USER_PLAIN, PAM_SESSION_ERR, MOD_IGNORE,
		   "root_id owned by a user, on_error = \"deny\"");
	open_close("rootid-allow", USER_PLAIN, PAM_SUCCESS, MOD_IGNORE,
		   "root_id owned by a user, on_error = \"allow\"");
	no_state(plain, "root_id owned by a user");

	/* A live set made under other settings refuses the login, whatever on_error says. */
	held_elsewhere(plain);

	return done_testing();
}
