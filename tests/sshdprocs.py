# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""Find, stall (SIGSTOP) and resume the processes of the test sshd that
tests/functions.sh start_sshd started ($SSHD_DIR/sshd.pid).  The tests'
Python scripts import it (functions.sh puts tests/ on PYTHONPATH).
Stopping a process keeps its TCP connection up while nothing answers:
a stalled server.  The harness resumes every process when the test
exits (kill_tree sends SIGCONT after SIGTERM)."""

import os
import signal
import sys
import time


def listener():
    with open(os.path.join(os.environ["SSHD_DIR"], "sshd.pid")) as f:
        return int(f.read().split()[0])


def _table():
    """Maps of parent pid -> live children, and pid -> program name."""
    kids, names = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                names[int(d)] = f.read().split(b"\0")[0].decode()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if rest[0] in ("Z", "X"):
            continue
        kids.setdefault(int(rest[1]), []).append(int(d))
    return kids, names


def descendants(pid):
    """Every live descendant of pid, with its program name."""
    kids, names = _table()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append((c, names.get(c, "")))
            todo.append(c)
    return out


def sftp_servers(lp=None):
    """The sftp-server processes (one per open SFTP session) below the
    listener lp (default: the test sshd's)."""
    return [p for p, name in descendants(listener() if lp is None else lp)
            if name.endswith("sftp-server")]


def describe(pids):
    out = []
    for p in pids:
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                out.append("%d:%s" % (p, f.read().split(b"\0")[0].decode()))
        except OSError:
            out.append(str(p))
    return " ".join(out)


def stop(with_listener=False, min_conn_procs=2):
    """SIGSTOP every per-connection process of the sshd (and the listener
    too if with_listener, so that reconnecting cannot get past the
    banner).  Repeated until no new process shows up.  Exits the test if
    fewer than min_conn_procs per-connection processes were found.
    Returns the stopped pids."""
    lp = listener()
    stopped = []
    if with_listener:
        os.kill(lp, signal.SIGSTOP)
        stopped.append(lp)
    while True:
        new = [p for p, _ in descendants(lp) if p not in stopped]
        if not new:
            break
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
                stopped.append(p)
            except ProcessLookupError:
                pass
    if len([p for p in stopped if p != lp]) < min_conn_procs:
        sys.exit("FAIL: expected the per-connection sshd processes, "
                 "stopped only %s" % describe(stopped))
    print("stopped %s" % describe(stopped), flush=True)
    return stopped


def cont(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGCONT)
        except ProcessLookupError:
            pass


def alive(p):
    try:
        with open("/proc/%d/stat" % p) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def resume_and_wait(pids, seconds=10):
    """SIGCONT the stalled processes and wait (bounded) until the ones
    serving an abandoned connection have exited."""
    cont(pids)
    lp = listener()
    for p in pids:
        for _ in range(int(seconds * 10)):
            if p == lp or not alive(p):
                break
            time.sleep(0.1)
    still = [p for p in pids if p != lp and alive(p)]
    if still:
        sys.exit("FAIL: stalled sshd processes %s still alive %d s after "
                 "resuming" % (still, seconds))


def kill_connections(seconds=10):
    """SIGKILL every per-connection process of the sshd (not the
    listener): the server side of every connection dies.  Waits
    (bounded) until they are gone.  Returns the killed pids."""
    victims = [p for p, _ in descendants(listener())]
    if not victims:
        sys.exit("FAIL: no sshd connection process to kill")
    for p in victims:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(int(seconds * 10)):
        if not any(alive(p) for p in victims):
            break
        time.sleep(0.1)
    print("killed %s" % " ".join(map(str, victims)), flush=True)
    return victims
