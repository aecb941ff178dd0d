#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memcg-referee.py CGROUP OUT CMD...: run CMD (stdout and stderr to the
file OUT) in the cgroup v1 memory cgroup CGROUP, whose memory.oom_control
has oom_kill_disable set, and play the OOM killer for the first helper of
the login (used by test-resources.sh, section 3).

The cgroup has no limit until the referee sees nsisolate-helper in it
(a task named so whose parent is not one, so not the keeper before its
exec) while OUT has no "open" line yet (so the helper that opens the set).
Then the limit drops to what the cgroup uses: the helper's next page charge
finds it full and waits, as a task the OOM killer is about to pick. When
the cgroup is under OOM and that helper still lives, it gets SIGKILL through
a pidfd opened before its name, parent and cgroup were checked (a recycled
pid is never signalled); any other task under OOM (the opener, the close
helper) makes the limit grow by 256 KiB so the login goes on.

Prints "caught 0|1", "killed 0|1" and "stalled 0|1" (CMD still ran after
20 s; the limit is then lifted so that it ends) and exits with CMD's
status (128+N for a signal).
"""
import os
import signal
import subprocess
import sys
import time

HELPER = "nsisolate-helpe"  # comm is cut at 15 bytes


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def comm(pid):
    return read(f"/proc/{pid}/comm").strip()


def in_cgroup(pid, name):
    for line in read(f"/proc/{pid}/cgroup").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and "memory" in parts[1].split(",") and parts[2] == name:
            return True
    return False


def find_helper(cg, name):
    """A pidfd for the opening helper in cg, or None."""
    for pid in read(f"{cg}/cgroup.procs").split():
        try:
            fd = os.pidfd_open(int(pid))
        except OSError:
            continue
        stat = read(f"/proc/{pid}/stat")
        ppid = stat[stat.rfind(")") + 2:].split()[1:2]
        if comm(pid) == HELPER and ppid and comm(ppid[0]) != HELPER and in_cgroup(pid, name):
            return fd
        os.close(fd)
    return None


def set_limit(cg, value):
    with open(f"{cg}/memory.limit_in_bytes", "w") as f:
        f.write(str(value))


def hold_at_usage(cg):
    """Drop the limit to the usage; it may grow while the kernel reclaims."""
    for _ in range(50):
        try:
            set_limit(cg, int(read(f"{cg}/memory.usage_in_bytes")))
            return True
        except OSError:
            continue
    return False


def join(cg):
    with open(f"{cg}/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))


def main():
    cg, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    name = "/" + os.path.basename(cg.rstrip("/"))
    set_limit(cg, -1)
    with open(out, "wb") as f:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
            preexec_fn=lambda: join(cg))
    helper, killed = None, 0  # helper: the pidfd of the one held at the limit
    deadline = time.monotonic() + 20
    while proc.poll() is None and time.monotonic() < deadline:
        if helper is None and "open " not in read(out):
            helper = find_helper(cg, name)
            if helper is not None and not hold_at_usage(cg):
                os.close(helper)
                helper = None
        if "under_oom 1" in read(f"{cg}/memory.oom_control"):
            if helper is not None and not killed:
                try:
                    signal.pidfd_send_signal(helper, signal.SIGKILL)
                    killed = 1
                    continue
                except ProcessLookupError:
                    pass
            set_limit(cg, int(read(f"{cg}/memory.limit_in_bytes")) + 256 * 1024)
        time.sleep(0.0005)
    stalled = proc.poll() is None
    set_limit(cg, -1)
    rc = proc.wait()
    print(f"caught {int(helper is not None)}")
    print(f"killed {killed}")
    print(f"stalled {int(stalled)}")
    return 128 - rc if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main())
