// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam-fdcheck SERVICE USER [--selftest]: checks that a PAM session open and
 * close leave the opener as they found it (docs/design.md, "Security rules" 5,
 * module hygiene: the module leaks no fd, changes no signal disposition, and
 * the opener moves into no namespace).
 *
 * Before pam_start it sets up what a real application has: a SIGCHLD
 * handler (SA_SIGINFO, counting SIGCHLDs that no child of ours sent),
 * SIGPIPE ignored, SIGUSR1 blocked, and the syslog socket opened (glibc
 * keeps it open after the first syslog(3) call; pam_syslog would otherwise
 * open it during the session and look like a leak). Then it takes
 * snapshots of its open fds (number and target), every signal's
 * disposition (sigaction: handler, flags, mask), the blocked mask,
 * /proc/self/status SigBlk/SigIgn/SigCgt and its namespaces:
 *	S0 before pam_start, S1 after pam_start,
 *	pam_open_session; fork a child that reports its mount namespace;
 *	pam_close_session; S2; fork a child again (must not be moved);
 *	pam_end; S3.
 * and compares S1 with S2 ("open+close") and S0 with S3 ("whole").
 * Prints "open RC", "close RC", "end RC", "child-moved yes|no",
 * "after-close-child-moved yes|no", "foreign-sigchld N", and for each
 * comparison either "same WHAT (open+close)" or "DIFF WHAT (open+close): ...".
 * With --selftest it leaks an fd and ignores SIGUSR2 between open and close
 * (the positive control: both must be reported as DIFF).
 * Exit status 0 iff open and close returned PAM_SUCCESS and nothing differs
 * (a foreign SIGCHLD is reported, not counted: the caller checks it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#define MAX_FDS 256
#define TEXT_LEN 4096

struct snap {
	int nfds;
	int fd[MAX_FDS];
	char target[MAX_FDS][128];
	bool have_sig[NSIG];
	struct sigaction sa[NSIG];
	sigset_t blocked;
	char status[512];
	char ns[TEXT_LEN];
};

/* Senders of the SIGCHLDs received; those not our own children are reported. */
#define MAX_CHLD 64
static volatile pid_t chld_from[MAX_CHLD];
static volatile sig_atomic_t nchld;
static pid_t own_child[4];
static int nown, diffs;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	if (nchld < MAX_CHLD)
		chld_from[nchld++] = si->si_pid;
}

/* SIGCHLDs that none of our own children sent. */
static int foreign_chld(void)
{
	int n = 0;

	for (int i = 0; i < nchld; i++) {
		bool own = false;

		for (int j = 0; j < nown; j++)
			own |= chld_from[i] == own_child[j];
		if (!own) {
			printf("SIGCHLD from pid %d, not a child of ours\n", (int)chld_from[i]);
			n++;
		}
	}
	return n;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static void take(struct snap *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	FILE *f;
	char line[256];
	static const char *const ns[] = {
		"mnt", "net", "ipc", "uts", "user", "pid", "pid_for_children", "cgroup"
	};

	memset(s, 0, sizeof(*s));
	if (d) {
		while ((de = readdir(d)) && s->nfds < MAX_FDS) {
			char path[64];
			int fd;
			ssize_t n;

			if (de->d_name[0] == '.')
				continue;
			fd = atoi(de->d_name);
			if (fd == dirfd(d))
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, s->target[s->nfds], sizeof(s->target[0]) - 1);
			s->target[s->nfds][n > 0 ? n : 0] = '\0';
			s->fd[s->nfds++] = fd;
		}
		closedir(d);
	}
	for (int sig = 1; sig < NSIG; sig++)
		s->have_sig[sig] = sigaction(sig, NULL, &s->sa[sig]) == 0;
	sigprocmask(SIG_BLOCK, NULL, &s->blocked);
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7) ||
			    !strncmp(line, "SigCgt:", 7))
				strncat(s->status, line, sizeof(s->status) - strlen(s->status) - 1);
		fclose(f);
	}
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64], buf[128];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		n = readlink(path, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		snprintf(s->ns + strlen(s->ns), sizeof(s->ns) - strlen(s->ns), "%s ", buf);
	}
}

static void fd_list(const struct snap *s, char *out, size_t len)
{
	out[0] = '\0';
	for (int i = 0; i < s->nfds; i++)
		snprintf(out + strlen(out), len - strlen(out), "%d=%s ", s->fd[i], s->target[i]);
}

static bool same_sa(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_flags != b->sa_flags)
		return false;
	if ((a->sa_flags & SA_SIGINFO) ? a->sa_sigaction != b->sa_sigaction
				       : a->sa_handler != b->sa_handler)
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&a->sa_mask, sig) != sigismember(&b->sa_mask, sig))
			return false;
	return true;
}

static void compare(const char *what, const struct snap *a, const struct snap *b)
{
	char la[TEXT_LEN], lb[TEXT_LEN];
	bool fds_same = a->nfds == b->nfds, sig_same = true, mask_same = true;

	fd_list(a, la, sizeof(la));
	fd_list(b, lb, sizeof(lb));
	fds_same = fds_same && !strcmp(la, lb);
	if (fds_same) {
		printf("same fds (%s): %d open\n", what, a->nfds);
	} else {
		printf("DIFF fds (%s): %d before [%s], %d after [%s]\n", what, a->nfds, la, b->nfds,
		       lb);
		diffs++;
	}
	for (int sig = 1; sig < NSIG; sig++) {
		if (a->have_sig[sig] != b->have_sig[sig] ||
		    (a->have_sig[sig] && !same_sa(&a->sa[sig], &b->sa[sig]))) {
			printf("DIFF signal %d (%s) disposition (%s)\n", sig, strsignal(sig), what);
			sig_same = false;
		}
		if (sigismember(&a->blocked, sig) != sigismember(&b->blocked, sig)) {
			printf("DIFF signal %d (%s) blocked (%s)\n", sig, strsignal(sig), what);
			mask_same = false;
		}
	}
	if (strcmp(a->status, b->status) != 0) {
		printf("DIFF /proc/self/status (%s): before\n%safter\n%s", what, a->status,
		       b->status);
		sig_same = false;
	}
	if (sig_same)
		printf("same signal dispositions (%s)\n", what);
	if (mask_same)
		printf("same blocked mask (%s)\n", what);
	diffs += !sig_same + !mask_same;
	if (!strcmp(a->ns, b->ns)) {
		printf("same namespaces (%s)\n", what);
	} else {
		printf("DIFF namespaces (%s): before %s after %s\n", what, a->ns, b->ns);
		diffs++;
	}
}

/* Fork a child that reports its mount namespace; "yes" if it differs from ours. */
static const char *child_moved(void)
{
	char mine[128], theirs[128] = "";
	ssize_t n;
	int p[2], status;
	pid_t pid;

	n = readlink("/proc/self/ns/mnt", mine, sizeof(mine) - 1);
	mine[n > 0 ? n : 0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return "error";
	pid = fork();
	if (pid == 0) {
		char buf[128];
		ssize_t m = readlink("/proc/self/ns/mnt", buf, sizeof(buf));

		if (m > 0 && write(p[1], buf, (size_t)m) != m)
			_exit(1);
		_exit(0);
	}
	if (pid > 0 && nown < 4)
		own_child[nown++] = pid;
	close(p[1]);
	n = pid > 0 ? read(p[0], theirs, sizeof(theirs) - 1) : -1;
	theirs[n > 0 ? n : 0] = '\0';
	close(p[0]);
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (!theirs[0])
		return "error";
	return strcmp(mine, theirs) ? "yes" : "no";
}

int main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	struct sigaction sa = { 0 };
	pam_handle_t *ph = NULL;
	static struct snap s0, s1, s2, s3;
	bool selftest = argc > 3 && !strcmp(argv[3], "--selftest");
	/* An application that never closes: pam_end() alone must disarm. */
	bool no_close = argc > 3 && !strcmp(argv[3], "--no-close");
	sigset_t usr1;
	char closebuf[16];
	int r, cr, er, leak = -1, nforeign;
	bool ok;

	if (argc < 3) {
		fprintf(stderr, "usage: pam-fdcheck SERVICE USER [--selftest|--no-close]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	openlog("pam-fdcheck", LOG_NDELAY | LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_DEBUG, "start");

	take(&s0);
	r = pam_start(argv[1], argv[2], &c, &ph);
	if (r != PAM_SUCCESS) {
		printf("start %d\n", r);
		return 1;
	}
	take(&s1);
	r = pam_open_session(ph, 0);
	printf("open %d\n", r);
	printf("child-moved %s\n", r == PAM_SUCCESS ? child_moved() : "not-opened");
	if (selftest) {
		leak = open("/dev/null", O_RDONLY | O_CLOEXEC);
		signal(SIGUSR2, SIG_IGN);
	}
	cr = no_close ? PAM_SUCCESS : pam_close_session(ph, 0);
	printf("close %s\n",
	       no_close ? "skipped" : (snprintf(closebuf, sizeof(closebuf), "%d", cr), closebuf));
	take(&s2);
	printf("after-close-child-moved %s\n", child_moved());
	er = pam_end(ph, r);
	printf("end %d\n", er);
	printf("after-end-child-moved %s\n", child_moved());
	take(&s3);
	nforeign = foreign_chld();
	printf("foreign-sigchld %d\n", nforeign);
	if (!no_close)
		compare("open+close", &s1, &s2);
	compare("whole", &s0, &s3);
	if (leak >= 0)
		close(leak);
	ok = r == PAM_SUCCESS && cr == PAM_SUCCESS && er == PAM_SUCCESS && !diffs;
	return ok ? 0 : 1;
}
