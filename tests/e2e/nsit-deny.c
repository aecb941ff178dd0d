// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nsit-deny RULE CMD [ARG...]: run CMD under a seccomp filter that makes one
 * system call of pam_nsisolate's fork handler fail with EPERM, so
 * test-userns.sh can check that a session child that cannot enter the set
 * exits with status 127 instead of running un-isolated. The filter is
 * inherited by CMD (pam-hold) and by the child it forks; nothing else is
 * denied. RULE:
 *   none          no filter (the positive control)
 *   setns-mnt     setns(fd, CLONE_NEWNS)
 *   setns-user    setns(fd, CLONE_NEWUSER): the set's user namespace is unjoinable
 *   setresgid     setresgid()
 *   setresuid     setresuid()
 *   capbset-drop  prctl(PR_CAPBSET_DROP, ...)
 * Must run as root (installing a filter without no_new_privs needs
 * CAP_SYS_ADMIN; no_new_privs is left alone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "nsit-deny: add this architecture's AUDIT_ARCH"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

int main(int argc, char **argv)
{
	long nr;
	int argi = -1;
	unsigned argval = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: nsit-deny RULE CMD [ARG...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "none")) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		return 126;
	} else if (!strcmp(argv[1], "setns-mnt")) {
		nr = SYS_setns, argi = 1, argval = CLONE_NEWNS;
	} else if (!strcmp(argv[1], "setns-user")) {
		nr = SYS_setns, argi = 1, argval = CLONE_NEWUSER;
	} else if (!strcmp(argv[1], "setresgid")) {
		nr = SYS_setresgid;
	} else if (!strcmp(argv[1], "setresuid")) {
		nr = SYS_setresuid;
	} else if (!strcmp(argv[1], "capbset-drop")) {
		nr = SYS_prctl, argi = 0, argval = PR_CAPBSET_DROP;
	} else {
		fprintf(stderr, "nsit-deny: unknown rule %s\n", argv[1]);
		return 2;
	}

	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 3),
		/* No argument test: the two statements below become a jump to deny. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, argi >= 0 ? ARG_LO(argi) : 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, argval, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	if (argi < 0) {
		f[5] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 1);
		f[6] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0);
	}
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
		perror("nsit-deny: seccomp");
		return 126;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 126;
}
