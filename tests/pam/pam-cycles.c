// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam-cycles [-n CYCLES] [-s SAMPLE_EVERY] [-F] [-M] [-v] SERVICE USER1 [USER2...]:
 * one long-lived opener that runs CYCLES login cycles (pam_start,
 * pam_open_session, a forked session child, pam_close_session, pam_end)
 * and fails if the module leaves anything behind in it (docs/design.md,
 * "Security rules": module hygiene; README.md, "Reliability").
 *
 * The users take turns, round robin. At the start a holder process opens a
 * session of USER1 and keeps it open for the whole run, so every cycle of
 * USER1 is a joining login, and every cycle of the other users is a first
 * login (helper spawned, keeper made) followed by a teardown. (The holder
 * is a forked process, not a second handle in this process: the module
 * arms one session per process and refuses a second open in a process
 * that holds one, "this process already holds an isolated session".)
 *
 * In each cycle, unless -F, the opener forks one child while the session
 * is open, as sshd or login do; the child must be in another mount
 * namespace than the opener (the fork handler moved it) and exits. The
 * opener's own mount namespace must never change.
 *
 * Every open and close must return PAM_SUCCESS: otherwise the cycle, the
 * user and pam_strerror() are printed and the exit status is 1.
 *
 * After a warm-up (the first 5% of the cycles, at least 20: libraries,
 * NSS and the syslog socket settle), every SAMPLE_EVERY cycles (default
 * 10) and after the last one it samples: open fds (/proc/self/fd), mappings
 * (lines of /proc/self/maps) and VmRSS (/proc/self/status); -v prints each
 * sample. The last line of output is the summary:
 *	cycles N fds A->B maps A->B rss_kib A->B secs S per_sec R
 * (A: the first sample after the warm-up, B: the last sample). The exit
 * status is 1 if fds or maps grew at all, or RSS by more than RSS_SLACK_KIB.
 * -M still measures maps and RSS but does not fail on their growth: for a
 * run under valgrind, whose own allocator (and memcheck's queue of freed
 * blocks) grows the process by itself; its fds are constant, so the fd
 * check stays.
 *
 * Positive controls (the checks above can fail), from the environment:
 *	NSIT_LEAK_FD=1     leak one fd per cycle (/dev/null, left open)
 *	NSIT_LEAK_MAP=1    leak one mapping per cycle (an mmap never unmapped)
 *	NSIT_LEAK_KIB=N    leak N KiB of touched heap per cycle
 *
 * Exit status: 0 all cycles succeeded and nothing grew, 1 a cycle failed or
 * something grew, 2 usage or setup error. The syslog connection is closed
 * before exit, so a tool that lists the fds open at exit (valgrind
 * --track-fds=yes) sees only what the module or this program kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/*
 * How much VmRSS may grow between the first sample after the warm-up and
 * the last one. glibc's malloc keeps freed memory in its arenas and trims
 * the heap top only past M_TRIM_THRESHOLD (128 KiB by default), and the
 * module and its libraries (libconfig, libcap) are loaded and unloaded by
 * every pam_start/pam_end, so page-cache-backed text and relocated data
 * pages come and go: a few dozen pages of noise between two samples. 512 KiB
 * (128 pages) is well above that noise and well below what a real leak of
 * a state struct, a config tree or a reply per cycle adds over hundreds of
 * cycles.
 */
#define RSS_SLACK_KIB 512L
#define MIN_WARMUP 20

/* NSIT_LEAK_KIB's last block (volatile: the memset is not optimised away). */
static void *volatile leaked;

struct sample {
	long fds;
	long maps;
	long rss_kib;
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static bool take(struct sample *s)
{
	/* Counted in this order, the stdio buffers of maps/status are freed again. */
	s->fds = count_fds();
	s->maps = count_maps();
	s->rss_kib = rss_kib();
	return s->fds >= 0 && s->maps >= 0 && s->rss_kib >= 0;
}

static void mnt_ns(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/mnt");
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/*
 * Fork the session's child, as a login program does: it must land in
 * another mount namespace than HOST_MNT (the opener's). 0 if so.
 */
static int session_child(const char *host_mnt, char *why, size_t whylen)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char mine[128];

		mnt_ns(0, mine, sizeof(mine));
		_exit(!mine[0] ? 4 : strcmp(mine, host_mnt) ? 0 : 3);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		snprintf(why, whylen, "the session child stayed in the opener's mount namespace");
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(why, whylen, "the session child died with 127 (the fork handler failed)");
	else if (WIFEXITED(status))
		snprintf(why, whylen, "the session child exited with %d", WEXITSTATUS(status));
	else
		snprintf(why, whylen, "the session child was killed by signal %d",
			 WTERMSIG(status));
	return -1;
}

/*
 * The holder: opens USER's session, forks its child, writes one byte on
 * READY, then keeps the session open until EOF reaches end of file. Exit status 0
 * iff open, child and close succeeded. Runs in a forked process.
 */
static int hold(const char *service, const char *user, const char *host_mnt, int ready, int eof)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *ph = NULL;
	char why[256] = "", buf[16];
	int r, cr;

	r = pam_start(service, user, &c, &ph);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam-cycles: holder: pam_start %s: %s\n", user,
			pam_strerror(NULL, r));
		return 1;
	}
	r = pam_open_session(ph, 0);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam-cycles: holder: open %s: %s\n", user, pam_strerror(ph, r));
		pam_end(ph, r);
		return 1;
	}
	if (session_child(host_mnt, why, sizeof(why)) < 0) {
		fprintf(stderr, "pam-cycles: holder: %s\n", why);
		r = PAM_SESSION_ERR;
	}
	if (write(ready, "1", 1) != 1)
		r = PAM_SYSTEM_ERR;
	close(ready);
	for (;;) {
		ssize_t n = read(eof, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	cr = pam_close_session(ph, 0);
	if (cr != PAM_SUCCESS)
		fprintf(stderr, "pam-cycles: holder: close %s: %s\n", user, pam_strerror(ph, cr));
	pam_end(ph, r != PAM_SUCCESS ? r : cr);
	return r == PAM_SUCCESS && cr == PAM_SUCCESS ? 0 : 1;
}

/* Sample after cycle DONE: at the end of the warm-up, every EVERY cycles, at the end. */
static bool sample_due(long done, long warmup, long every, long cycles)
{
	if (done < warmup)
		return false;
	return done == warmup || (done - warmup) % every == 0 || done == cycles;
}

static long env_long(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pam-cycles [-n CYCLES] [-s SAMPLE_EVERY] [-F] [-M] [-v] SERVICE USER1 "
		"[USER2...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	long cycles = 1000, every = 10, warmup, leak_kib = env_long("NSIT_LEAK_KIB");
	bool fork_child = true, verbose = false, leak_fd = env_long("NSIT_LEAK_FD") > 0;
	bool leak_map = env_long("NSIT_LEAK_MAP") > 0, have_first = false, ok = true,
	     check_mem = true;
	struct sample first = { 0 }, last = { 0 };
	char host_mnt[128], now_mnt[128], why[256];
	const char *service;
	char **users;
	int nusers, opt, ready[2], eof[2], status;
	struct timespec t0, t1;
	double secs;
	pid_t holder;
	char byte;

	while ((opt = getopt(argc, argv, "+n:s:FMv")) != -1) {
		switch (opt) {
		case 'n':
			cycles = strtol(optarg, NULL, 10);
			break;
		case 's':
			every = strtol(optarg, NULL, 10);
			break;
		case 'F':
			fork_child = false;
			break;
		case 'M':
			check_mem = false;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || every < 1 || cycles < 1 || cycles > LONG_MAX / 100)
		usage();
	service = argv[optind];
	users = &argv[optind + 1];
	nusers = argc - optind - 1;
	warmup = cycles * 5 / 100;
	if (warmup < MIN_WARMUP)
		warmup = MIN_WARMUP;
	if (cycles <= warmup) {
		fprintf(stderr, "pam-cycles: %ld cycles: need more than the warm-up (%ld)\n",
			cycles, warmup);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mnt_ns(0, host_mnt, sizeof(host_mnt));
	if (!host_mnt[0]) {
		perror("pam-cycles: /proc/self/ns/mnt");
		return 2;
	}

	/* The holder of USER1's long-lived session. */
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(eof, O_CLOEXEC) < 0) {
		perror("pam-cycles: pipe2");
		return 2;
	}
	holder = fork();
	if (holder < 0) {
		perror("pam-cycles: fork");
		return 2;
	}
	if (holder == 0) {
		close(ready[0]);
		close(eof[1]);
		_exit(hold(service, users[0], host_mnt, ready[1], eof[0]));
	}
	close(ready[1]);
	close(eof[0]);
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "pam-cycles: the holder of %s's session failed\n", users[0]);
		close(eof[1]);
		waitpid(holder, NULL, 0);
		return 1;
	}
	close(ready[0]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < cycles && ok; i++) {
		const char *user = users[i % nusers];
		pam_handle_t *ph = NULL;
		int r, cr;

		r = pam_start(service, user, &c, &ph);
		if (r != PAM_SUCCESS) {
			printf("cycle %ld user %s: pam_start: %s\n", i + 1, user,
			       pam_strerror(NULL, r));
			ok = false;
			break;
		}
		r = pam_open_session(ph, 0);
		if (r != PAM_SUCCESS) {
			printf("cycle %ld user %s: pam_open_session: %s\n", i + 1, user,
			       pam_strerror(ph, r));
			pam_end(ph, r);
			ok = false;
			break;
		}
		if (fork_child && session_child(host_mnt, why, sizeof(why)) < 0) {
			printf("cycle %ld user %s: %s\n", i + 1, user, why);
			ok = false;
		}
		cr = pam_close_session(ph, 0);
		if (cr != PAM_SUCCESS) {
			printf("cycle %ld user %s: pam_close_session: %s\n", i + 1, user,
			       pam_strerror(ph, cr));
			ok = false;
		}
		r = pam_end(ph, cr);
		if (r != PAM_SUCCESS) {
			printf("cycle %ld user %s: pam_end: %s\n", i + 1, user,
			       pam_strerror(NULL, r));
			ok = false;
		}
		mnt_ns(0, now_mnt, sizeof(now_mnt));
		if (strcmp(now_mnt, host_mnt) != 0) {
			printf("cycle %ld user %s: the opener moved from %s to %s\n", i + 1, user,
			       host_mnt, now_mnt);
			ok = false;
		}

		if (leak_fd && open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
			perror("pam-cycles: NSIT_LEAK_FD");
		if (leak_map) {
			/* Two pages, the second PROT_NONE: never merged with a neighbour. */
			char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED || mprotect(p + 4096, 4096, PROT_NONE) < 0)
				perror("pam-cycles: NSIT_LEAK_MAP");
		}
		if (leak_kib > 0) {
			char *p = malloc((size_t)leak_kib * 1024);

			/* Touched, so it counts in VmRSS; never freed, on purpose. */
			if (p)
				memset(p, 0x5a, (size_t)leak_kib * 1024);
			leaked = p;
		}

		if (sample_due(i + 1, warmup, every, cycles)) {
			if (!take(&last)) {
				perror("pam-cycles: sampling /proc/self");
				ok = false;
				break;
			}
			if (!have_first) {
				first = last;
				have_first = true;
			}
			if (verbose)
				printf("sample %ld fds %ld maps %ld rss_kib %ld\n", i + 1, last.fds,
				       last.maps, last.rss_kib);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	close(eof[1]);
	while (waitpid(holder, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (status != 0) {
		printf("holder of %s's session failed (status %d)\n", users[0], status);
		ok = false;
	}
	closelog();
	if (!ok || !have_first) {
		printf("cycles %ld FAILED\n", cycles);
		return 1;
	}
	if (last.fds > first.fds) {
		printf("fds grew from %ld to %ld\n", first.fds, last.fds);
		ok = false;
	}
	if (check_mem && last.maps > first.maps) {
		printf("maps grew from %ld to %ld\n", first.maps, last.maps);
		ok = false;
	}
	if (check_mem && last.rss_kib - first.rss_kib > RSS_SLACK_KIB) {
		printf("rss grew from %ld KiB to %ld KiB (more than %ld KiB)\n", first.rss_kib,
		       last.rss_kib, RSS_SLACK_KIB);
		ok = false;
	}
	printf("cycles %ld fds %ld->%ld maps %ld->%ld rss_kib %ld->%ld secs %.2f per_sec %.1f\n",
	       cycles, first.fds, last.fds, first.maps, last.maps, first.rss_kib, last.rss_kib,
	       secs, secs > 0 ? (double)cycles / secs : 0.0);
	return ok ? 0 : 1;
}
