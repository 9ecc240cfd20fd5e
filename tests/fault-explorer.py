# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""A randomized fault explorer, run by tests/test-fault-explorer.sh under
nbdkit's --run (one nbdkit, one trial):

    fault-explorer.py [--seed N] [--seconds S] [--steps N] --state DIR
                      --remote FILE [--filler FILE] [--proxy-pid PID]
                      [--timeout T] [--replay FILE] URI
    fault-explorer.py --check --state DIR --remote FILE

The first form draws a schedule from the seed, step by step until S
seconds have passed or N steps were drawn: NBD connections (up to 4
slots) opened and closed (with or without a flush), writes (unaligned,
some FUA), reads and flushes, one at a time, and faults: the sshd
processes of every connection or of one killed, an sftp-server killed,
every TCP connection cut (tests/fault-proxy, SIGUSR1), the server
stalled (SIGSTOP) or the link held (fault-proxy SIGUSR2/SIGHUP) for a
short while (shorter than timeout=: nothing may break) or a long one
(then the stalled sessions are killed or cut, never resumed: a write
they hold would land late, the documented stalled-server limit), the
file system of the remote file filled up (ENOSPC) and freed, and the
file replaced by another one of the same size, mode and mtime.  Some
draws are motifs, short sequences known to reach corners (a write
caught by a stall and killed while its client leaves; a write refused
for lack of space then flushes on two other connections; a flush on
another connection then a kill).

A model of the file checks every step: per write, its bytes, whether it
failed (its bytes are then unknown), whether a fault may have lost it
(a fault while it was acknowledged but not yet covered by a successful
flush or FUA, or a write that failed), and which connections a failed
flush told.  A read must return the model's bytes, except where a
failed or possibly lost write is the last writer.  A flush may fail
only if a fault may have lost an acknowledged write (or a fault was in
effect during it); else it is a false alarm.  After a successful flush
on connection Y the remote file itself (read from disk) must hold every
acknowledged write, except one that may have been lost and that Y was
told about, or that some connection was told about before Y opened
(the promise: a lost write makes the next flush of every connection
open when it was lost fail, and of a connection opened later while
nobody has been told).  At the end the faults stop, the connections
close, a fresh connection reads the whole file and flushes, and the
model goes to DIR for the second form, run once nbdkit has exited:
the file on disk must hold every acknowledged write that was never
reported.

On a failure the seed, the failure and the schedule (one step per
line, with what happened) are printed and the exit status is 1;
DIR/schedule.json replays it (--replay, which also takes a file with
lines removed: shrinking by hand or by the test script).
"""

import argparse
import json
import os
import random
import signal
import sys
import threading
import time

import nbdtest
import sshdprocs

SLOTS = 4
HOT = 512 * 1024            # writes and reads gather here (overlaps)


class Failure(Exception):
    pass


def now():
    return time.monotonic()


def close_handle(h):
    """Close an NBD handle now: dropping it is not enough, as the
    traceback of an error it raised may keep it alive until the garbage
    collector runs (and nbdkit would wait for its next request)."""
    if hasattr(h, "_o"):
        h.__del__()
        del h._o


# ----------------------------------------------------------------------
# Intervals: sorted lists of disjoint [a, b).

def iv_add(ivs, a, b):
    out, i = [], 0
    while i < len(ivs) and ivs[i][1] < a:
        out.append(ivs[i])
        i += 1
    while i < len(ivs) and ivs[i][0] <= b:
        a, b = min(a, ivs[i][0]), max(b, ivs[i][1])
        i += 1
    out.append((a, b))
    out.extend(ivs[i:])
    return out


def iv_minus(a, b, ivs):
    """[a, b) minus ivs."""
    out = []
    for x, y in ivs:
        if y <= a:
            continue
        if x >= b:
            break
        if x > a:
            out.append((a, x))
        a = max(a, y)
        if a >= b:
            break
    if a < b:
        out.append((a, b))
    return out


# ----------------------------------------------------------------------
# The schedule: steps drawn from the seed alone (never from what
# happened), so that a seed always gives the same schedule.  A step
# that does not apply when it comes (a write on a slot whose open
# failed) is skipped.

class Generator:
    def __init__(self, rng, size, have_proxy, have_filler, faults=None):
        self.rng = rng
        self.faults = faults        # None: all kinds
        self.size = size
        self.proxy = have_proxy
        self.filler = have_filler
        self.open = set()         # slots open as drawn
        self.full = False
        self.queue = []

    def _slot(self, open_only=True):
        r = self.rng
        if open_only and self.open:
            return r.choice(sorted(self.open))
        return r.randrange(SLOTS)

    def _extent(self, big_ok=True):
        r = self.rng
        k = r.random()
        if k < 0.3:
            n = r.randint(1, 600)
        elif k < 0.6:
            n = 4096 + r.randint(-100, 100)
        elif k < 0.85 or not big_ok:
            n = r.randint(1, 65536)
        else:
            n = r.randint(65536, 300 * 1024)
        if r.random() < 0.5:
            off = r.randrange(HOT)
        else:
            off = r.randrange(self.size - n)
        return off, n

    def _write(self, slot, fua=None):
        off, n = self._extent()
        if fua is None:
            fua = self.rng.random() < 0.12
        return {"op": "write", "slot": slot, "off": off, "len": n,
                "fua": fua, "data": self.rng.randrange(1 << 32)}

    def _open(self, slot):
        self.open.add(slot)
        return {"op": "open", "slot": slot}

    def _close(self, slot, how=None):
        self.open.discard(slot)
        if how is None:
            how = self.rng.choice(["shutdown", "close", "flush-shutdown"])
        return {"op": "close", "slot": slot, "how": how}

    def _stall(self, long_):
        r = self.rng
        kinds = ["server"] + (["link"] if self.proxy else [])
        kind = r.choice(kinds)
        return {"op": "stall", "kind": kind, "long": long_,
                "end": ("kill" if kind == "server" else "cut") if long_
                else ("cont" if kind == "server" else "release"),
                # short: well within timeout=; long: the sessions
                # time out (scaled by the caller).
                "secs": round(r.uniform(0.3, 0.45) if not long_
                              else r.uniform(0.6, 1.2), 2)}

    def _fault(self):
        r = self.rng
        kinds = ["kill-all", "kill-one", "kill-sftp", "stall-short",
                 "stall-long"]
        if self.proxy:
            kinds += ["cut", "cut"]
        if self.filler:
            kinds += ["unfill" if self.full else "fill"] * 2
        if self.faults is not None:
            kinds = [k for k in kinds if k.split("-")[0] in self.faults or
                     k in self.faults]
            if not kinds:
                return {"op": "pause", "secs": 0.1}
        k = r.choice(kinds)
        if k == "stall-short":
            return self._stall(False)
        if k == "stall-long":
            return self._stall(True)
        if k == "fill":
            self.full = True
        if k == "unfill":
            self.full = False
        return {"op": k}

    def _motif(self):
        r = self.rng
        m = r.choice(["lost-on-close", "lost-on-close", "refused",
                      "flush-elsewhere", "replace"])
        steps = []
        if m == "replace":
            # Everything flushed and closed, the file replaced, read
            # through a new connection (idle-keep= has warm sessions).
            if self.open:
                steps.append({"op": "flush", "slot": self._slot()})
            for s in sorted(self.open):
                steps.append(self._close(s, "shutdown"))
            if self.full:
                steps.append({"op": "unfill"})
                self.full = False
            steps.append({"op": "replace", "data": r.randrange(1 << 32)})
            s = r.randrange(SLOTS)
            steps.append(self._open(s))
            steps.append({"op": "read", "slot": s, "off": 0,
                          "len": self.size})
            return steps
        if m == "lost-on-close":
            # A write the server never sees (stalled, then killed) whose
            # client leaves without a flush.
            s = self._slot(open_only=False)
            if s not in self.open:
                steps.append(self._open(s))
            st = self._stall(True)
            st["secs"] = round(r.uniform(0.5, 1.0), 2)
            steps.append(st)
            steps.append(self._write(s, fua=False))
            steps.append(self._close(s, r.choice(["shutdown", "close"])))
            # A connection opened later, before anyone was told.
            steps.append(self._open(s))
            steps.append({"op": "flush", "slot": s})
        elif m == "refused" and self.filler:
            # Acknowledged writes refused for lack of space, then
            # flushes on other connections.
            for s in range(3):
                if s not in self.open:
                    steps.append(self._open(s))
            a, b, c = r.sample(range(3), 3)
            if not self.full:
                steps.append({"op": "fill"})
                self.full = True
            w = self._write(a, fua=False)
            w["off"] = r.randrange(HOT, self.size - w["len"])
            steps.append(w)
            steps.append({"op": "flush", "slot": b})
            if r.random() < 0.5:
                steps.append({"op": "unfill"})
                self.full = False
            steps.append({"op": "flush", "slot": c})
            steps.append({"op": "flush", "slot": a})
        else:
            # A write, a flush on another connection, a fault, flushes.
            for s in range(2):
                if s not in self.open:
                    steps.append(self._open(s))
            a, b = r.sample(range(2), 2)
            steps.append(self._write(a, fua=False))
            steps.append({"op": "flush", "slot": b})
            steps.append({"op": r.choice(["kill-all", "kill-one"] +
                                         (["cut"] if self.proxy else []))})
            steps.append({"op": "flush", "slot": a})
            steps.append({"op": "flush", "slot": b})
        return steps

    def next(self):
        if self.queue:
            return self.queue.pop(0)
        r = self.rng
        if r.random() < 0.12 and self.faults is None:
            self.queue = self._motif()
            return self.queue.pop(0)
        if not self.open:
            return self._open(self._slot(open_only=False))
        k = r.random()
        if k < 0.30:
            return self._write(self._slot())
        if k < 0.45:
            off, n = self._extent()
            return {"op": "read", "slot": self._slot(), "off": off, "len": n}
        if k < 0.60:
            return {"op": "flush", "slot": self._slot()}
        if k < 0.67:
            free = [s for s in range(SLOTS) if s not in self.open]
            if free:
                return self._open(r.choice(free))
            return self._close(self._slot())
        if k < 0.74:
            return self._close(self._slot())
        if k < 0.95:
            return self._fault()
        if k < 0.98:
            return {"op": "pause", "secs": round(r.uniform(0.1, 0.5), 2)}
        return {"op": "replace", "data": r.randrange(1 << 32)}


def describe(st):
    op = st["op"]
    if op == "write":
        return "write c%d off=%d len=%d%s" % (st["slot"], st["off"],
                                              st["len"],
                                              " FUA" if st["fua"] else "")
    if op == "read":
        return "read c%d off=%d len=%d" % (st["slot"], st["off"], st["len"])
    if op in ("flush", "open"):
        return "%s c%d" % (op, st["slot"])
    if op == "close":
        return "close c%d (%s)" % (st["slot"], st["how"])
    if op == "stall":
        return "stall %s %.2fxT then %s" % (st["kind"], st["secs"],
                                            st["end"])
    if op == "pause":
        return "pause %.2f s" % st["secs"]
    return op


# ----------------------------------------------------------------------
# The model.

class Write:
    def __init__(self, wid, step, slot, cid, off, n, fua):
        self.id, self.step, self.slot, self.cid = wid, step, slot, cid
        self.off, self.n, self.fua = off, n, fua
        self.ok = None              # None: in progress
        self.durable = False        # known to be on disk
        self.lost = False           # a fault may have lost it
        self.told = set()           # connections whose flush failed since
        self.first_told = None      # seq of the first such flush

    def __str__(self):
        return "write #%d (step %d, c%d, off=%d len=%d%s)" % (
            self.id, self.step, self.slot, self.off, self.n,
            " FUA" if self.fua else "")


class Conn:
    def __init__(self, cid, slot, h, seq, may_fail, refusal):
        self.cid, self.slot, self.h = cid, slot, h
        self.open_seq = seq
        self.may_fail = may_fail    # open during a risk, no flush since
        self.refusal = refusal      # a write may have been refused since
        self.lenient = False        # a flush failed during a fault: the
                                    # plugin may not count it as a report


class Explorer:
    def __init__(self, args):
        self.args = args
        self.uri = args.uri
        self.remote = args.remote
        self.T = args.timeout
        self.size = os.path.getsize(self.remote)
        self.val = bytearray(self.size)
        with open(self.remote, "rb") as f:
            self.val[:] = f.read()
        self.writes = []
        self.at_risk = set()        # write ids acknowledged, not fsynced
        self.risk_untold = False
        self.refusal_untold = False
        self.conns = {}             # slot -> Conn
        self.next_cid = 1
        self.seq = 0
        self.log = []               # executed steps, with outcomes
        self.steps = []             # the steps as drawn (replay)
        self.lock = threading.Lock()
        self.fault_events = 0       # counts asynchronous fault actions
        self.stall = None           # the stall in effect
        self.full = False
        # An sftp-server was killed while its SSH connection lives, with
        # more than one channel per session: the plugin abandons the
        # whole session once it notices, and counts the writes the
        # other channels took meanwhile, not yet fsynced, as lost (the
        # man page's limit, "A dead SFTP channel").  Until a flush
        # succeeds, every write is at risk.
        self.channel_dead = False
        self.nbdkit = self._nbdkit_pid()
        self.base_threads = None

    # --- output

    def note(self, text):
        self.log.append(text)
        print(text, flush=True)

    def fail(self, msg):
        raise Failure(msg)

    # --- nbdkit: its threads tell when a closed connection is done.

    def _nbdkit_pid(self):
        """The nbdkit server.  --run forks: one nbdkit process runs our
        shell, its other child (also "nbdkit", perhaps under valgrind)
        serves."""
        def argv(pid):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    return f.read().split(b"\0")
            except OSError:
                return []

        def is_nbdkit(pid):
            a = argv(pid)
            return bool(a) and \
                os.path.basename(a[0]) not in (b"sh", b"bash", b"dash",
                                               b"timeout", b"env") and \
                any(os.path.basename(x) == b"nbdkit" for x in a[:16])

        chain, pid = [], os.getpid()
        for _ in range(8):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    st = f.read()
            except OSError:
                return None
            pid = int(st[st.rindex(")") + 2:].split()[1])
            chain.append(pid)
            if is_nbdkit(pid):
                break
        else:
            return None
        kids = []
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                    kids += [int(k) for k in f.read().split()]
        except OSError:
            pass
        for k in kids:
            if k not in chain and is_nbdkit(k):
                return k
        return pid

    def threads(self):
        try:
            return len(os.listdir("/proc/%d/task" % self.nbdkit))
        except (OSError, TypeError):
            return None

    def settle(self):
        """Wait (bounded) until nbdkit is done with the connections the
        client closed: its thread count is back to one per open one."""
        if self.base_threads is None:
            time.sleep(0.2)
            return
        deadline = now() + 3 * self.T * (self.args.retries + 2)
        while now() < deadline:
            n = self.threads()
            if n is None or n <= self.base_threads + len(self.conns):
                return
            time.sleep(0.02)
        stacks = ""
        try:
            import subprocess
            r = subprocess.run(["gdb", "-p", str(self.nbdkit), "-batch",
                                "-ex", "thread apply all bt"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60,
                               text=True)
            stacks = "\n".join(line for line in r.stdout.splitlines()
                                if line.startswith(("#", "Thread")))
        except (OSError, subprocess.SubprocessError):
            pass
        self.fail("nbdkit is still busy with a closed connection after "
                  "%.0f s (%d threads, %d connections open)%s"
                  % (3 * self.T * (self.args.retries + 2), self.threads(),
                     len(self.conns),
                     "; its threads:\n" + stacks if stacks else ""))

    # --- excuses

    def parts(self):
        """(write, [intervals where it is the last writer]), newest
        first, for the writes that completed."""
        covered, out = [], []
        for w in reversed(self.writes):
            if w.ok is None:
                continue
            mine = iv_minus(w.off, w.off + w.n, covered)
            if mine:
                out.append((w, mine))
                covered = iv_add(covered, w.off, w.off + w.n)
        return out

    def excused_for_read(self, w):
        return not w.ok or (w.lost and not w.durable)

    def excused_for(self, w, conn):
        if not w.ok:
            return True
        if not w.lost or w.durable:
            return False
        return conn.cid in w.told or (w.first_told is not None and
                                      w.first_told < conn.open_seq)

    def excused_at_end(self, w):
        return not w.ok or (w.lost and not w.durable and bool(w.told))

    def compare(self, got, off, excuse):
        """First byte of got (read at off) that differs from the model
        where no excused write is the last writer: (offset, write or
        None), or None."""
        n = len(got)
        exp = bytearray(self.val[off:off + n])
        owners = []
        for w, ivs in self.parts():
            for a, b in ivs:
                a, b = max(a, off), min(b, off + n)
                if a >= b:
                    continue
                if excuse(w):
                    exp[a - off:b - off] = got[a - off:b - off]
                else:
                    owners.append((a, b, w))
        if exp == got:
            return None
        i = next(i for i in range(n) if exp[i] != got[i])
        owner = next((w for a, b, w in owners if a <= off + i < b), None)
        return off + i, owner, got[i], exp[i]

    def disk(self):
        with open(self.remote, "rb") as f:
            return f.read()

    # --- risk

    def may_fail(self, c):
        """May a flush on c fail: was c open during a risk (or opened
        while nobody had been told), and is a write that may be lost
        and that c was not told of left?"""
        if c.lenient:
            return True
        return c.may_fail and any(
            w.lost and not w.durable and c.cid not in w.told
            for w in self.writes if w.ok is not None)

    def risk(self, why, force=False):
        """An acknowledged write may have been lost (force: a write
        failed).  With the file system full, or after a write failed,
        the server may have refused one: a flush on any connection may
        report it, even once the bytes were written again since."""
        if force or (self.full and self.at_risk):
            for c in self.conns.values():
                c.refusal = True
            self.refusal_untold = True
        if not self.at_risk and not force:
            return
        new = [w for w in self.writes if w.id in self.at_risk and not w.lost]
        for w in new:
            w.lost = True
        for c in self.conns.values():
            c.may_fail = True
        self.risk_untold = True
        if new or force:
            self.note("     risk: %s with %d unflushed writes (%s)"
                      % (why, len(self.at_risk),
                         " ".join("#%d" % i for i in sorted(self.at_risk))))

    # --- faults

    def faults_active(self):
        """A fault that may break connections is in effect (a full file
        system does not: the model deals with it apart)."""
        return self.stall is not None and self.stall["long"]

    def sshd_roots(self):
        kids, _ = sshdprocs._table()
        return kids.get(sshdprocs.listener(), [])

    def kill_pids(self, pids):
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(100):
            if not any(sshdprocs.alive(p) for p in pids):
                return
            time.sleep(0.02)

    def proxy_signal(self, sig):
        """Send tests/fault-proxy sig, and wait (bounded) until it has
        acted on it, which it logs (--proxy-log): its signal thread may
        take a while, and a connection it accepts meanwhile would be
        cut or held too, a fault leaking into the next step."""
        def taken():
            try:
                with open(self.args.proxy_log, errors="replace") as f:
                    return sum(1 for line in f
                               if line.startswith("fault-proxy: SIG"))
            except OSError:
                return None
        before = taken() if self.args.proxy_log else None
        os.kill(self.args.proxy_pid, sig)
        if before is None:
            return
        deadline = now() + 10
        while now() < deadline:
            n = taken()
            if n is None or n > before:
                return
            time.sleep(0.005)
        # Not a failure of the plugin (and this may run in the stall's
        # timer thread): the schedule says so.
        self.note("     tests/fault-proxy did not log signal %d within "
                  "10 s" % sig)

    def end_stall(self, st):
        """The end of a stall (timer thread, or the end of the run)."""
        with self.lock:
            if self.stall is not st or st.get("ended"):
                return
            st["ended"] = True
            end = st["end"]
            if st["kind"] == "server":
                if end == "kill":
                    self.kill_pids(st["pids"])
                else:
                    sshdprocs.cont(st["pids"])
            elif end == "cut":
                # The cut alone: a SIGHUP sent with it could be taken
                # first (signal-number order), and for a moment the
                # proxy would forward what it held to the abandoned
                # sessions: a write landing late.
                self.proxy_signal(signal.SIGUSR1)
            else:
                self.proxy_signal(signal.SIGHUP)
            if st["long"]:
                self.fault_events += 1
            self.stall = None

    def start_stall(self, st):
        st = dict(st)
        secs = st["secs"] * self.T
        if st["kind"] == "server":
            lp = sshdprocs.listener()
            pids = [p for p, _ in sshdprocs.descendants(lp)]
            for p in pids:
                try:
                    os.kill(p, signal.SIGSTOP)
                except ProcessLookupError:
                    pass
            st["pids"] = pids
        else:
            self.proxy_signal(signal.SIGUSR2)
        self.stall = st
        t = threading.Timer(secs, self.end_stall, (st,))
        t.daemon = True
        st["timer"] = t
        t.start()

    def other_fault(self):
        """A fault during a stall: a stalled server must not be resumed
        after its client reconnected (a write it holds would land
        late), so it is killed at the end instead."""
        with self.lock:
            if self.stall is not None and self.stall["kind"] == "server":
                self.stall["end"] = "kill"
                self.stall["long"] = True

    def fault(self, st):
        op = st["op"]
        if op == "stall":
            if self.stall is not None:
                return "skipped (a stall is in effect)"
            self.start_stall(st)
            return "pids %s" % " ".join(map(str, self.stall.get("pids", [])))
        if op == "fill":
            if self.full:
                return "skipped (full)"
            self.full = True
            return "filler %d bytes" % nbdtest.fill_filesystem(
                self.args.filler)
        if op == "unfill":
            if not self.full:
                return "skipped (not full)"
            os.unlink(self.args.filler)
            self.full = False
            return "freed"
        self.other_fault()
        if op == "cut":
            self.proxy_signal(signal.SIGUSR1)
            return "SIGUSR1"
        roots = self.sshd_roots()
        if op == "kill-all":
            victims = [p for p, _ in sshdprocs.descendants(
                sshdprocs.listener())]
        elif op == "kill-one":
            if not roots:
                return "no connection"
            root = random.Random(self.seq).choice(sorted(roots))
            victims = [root] + [p for p, _ in sshdprocs.descendants(root)]
        else:
            sftp = sshdprocs.sftp_servers()
            if not sftp:
                return "no sftp-server"
            victims = [random.Random(self.seq).choice(sorted(sftp))]
            if self.args.channels > 1:
                self.channel_dead = True
        self.kill_pids(victims)
        return "killed %s" % " ".join(map(str, victims))

    # --- NBD operations

    def connect(self, slot):
        h = nbd.NBD()
        h.connect_uri(self.uri)
        c = Conn(self.next_cid, slot, h, self.seq, self.risk_untold,
                 self.refusal_untold)
        self.next_cid += 1
        return c

    def op_write(self, c, st, step):
        rng = random.Random(st["data"])
        data = rng.randbytes(st["len"])
        w = Write(len(self.writes) + 1, step, c.slot, c.cid, st["off"],
                  st["len"], st["fua"])
        self.writes.append(w)
        try:
            c.h.pwrite(data, w.off, nbd.CMD_FLAG_FUA if w.fua else 0)
        except nbd.Error as e:
            w.ok = False
            return e
        finally:
            self.val[w.off:w.off + w.n] = data
        w.ok = True
        self.at_risk.add(w.id)
        if w.fua:
            # The FUA write and every earlier write of its connection
            # were fsynced; this one must be on disk now.
            for x in self.writes:
                if x.cid == c.cid:
                    self.at_risk.discard(x.id)
            got = self.disk()[w.off:w.off + w.n]
            if got != data:
                i = next(i for i in range(w.n) if got[i] != data[i])
                self.fail("FUA %s succeeded, but byte %d of the file is "
                          "%d, not %d" % (w, w.off + i, got[i], data[i]))
            w.durable = True
        return None

    def op_read(self, c, st):
        try:
            got = c.h.pread(st["len"], st["off"])
        except nbd.Error as e:
            return e
        bad = self.compare(got, st["off"], self.excused_for_read)
        if bad:
            at, w, g, e = bad
            self.fail("read on c%d at off=%d len=%d: byte %d is %d, "
                      "expected %d from %s"
                      % (c.slot, st["off"], st["len"], at, g, e,
                         w or "the file as it was"))
        return None

    def flush_ok(self, c, what):
        """A flush on c succeeded: every acknowledged write is on disk,
        but for the lost ones c (or someone before c opened) was told
        of."""
        data = self.disk()
        bad = self.compare(data, 0, lambda w: self.excused_for(w, c))
        if bad:
            at, w, g, e = bad
            if w is None:
                whose = "the file as it was"
            else:
                whose = "%s, %s; %s" % (
                    w, "whose connection %d is %s" % (
                        w.cid, "still open" if any(
                            x.cid == w.cid for x in self.conns.values())
                        else "closed"),
                    "no failed flush has reported it to any connection"
                    if not w.told else
                    "only the flushes of connections %s failed since, "
                    "not that of connection %d, open since step seq %d"
                    % (sorted(w.told), c.cid, c.open_seq))
            self.fail("acknowledged write lost without report: %s on c%d "
                      "(connection %d) succeeded, but byte %d of the file "
                      "is %d, expected %d from %s"
                      % (what, c.slot, c.cid, at, g, e, whose))
        # What the flush vouches for is durable now: not the writes
        # that c was told may be lost (even if their bytes are on disk,
        # the plugin cannot know it: the connections not told yet may
        # still have to fail a flush for them).
        for w in self.writes:
            if w.ok and not self.excused_for(w, c):
                w.durable = True
        self.at_risk.clear()
        self.channel_dead = False
        c.may_fail = False
        c.refusal = False
        c.lenient = False

    def flush_failed(self, c, e, touched, what):
        if not (self.may_fail(c) or c.refusal or touched):
            self.fail("false alarm: %s on c%d (connection %d) failed (%s) "
                      "although no acknowledged write may be missing (since "
                      "its last flush, or its opening, no fault hit a write "
                      "not yet covered by a successful flush or FUA that "
                      "is not on disk now, no write may have been refused "
                      "or failed)" % (what, c.slot, c.cid, e))
        for w in self.writes:
            if w.ok is not None and w.lost and not w.durable:
                w.told.add(c.cid)
                if w.first_told is None:
                    w.first_told = self.seq
        self.risk_untold = False
        c.lenient = touched
        if not touched:
            c.may_fail = False
            c.refusal = False
            self.refusal_untold = False

    def op_flush(self, c):
        try:
            c.h.flush()
        except nbd.Error as e:
            return e
        self.flush_ok(c, "flush")
        return None

    # --- one step

    FAULTS = ("stall", "cut", "kill-all", "kill-one", "kill-sftp")

    def run_step(self, i, st):
        op = st["op"]
        self.seq += 1
        slot = st.get("slot")
        c = self.conns.get(slot)
        text = "%4d %s" % (i, describe(st))
        if (op in ("write", "read", "flush", "close") and c is None) or \
           (op == "open" and c is not None):
            self.note(text + " -> skipped (%s)" %
                      ("open" if op == "open" else "not open"))
            return
        events = self.fault_events
        active = self.faults_active()
        t0 = now()
        err = None
        result = "ok"
        if op == "open":
            try:
                self.conns[slot] = self.connect(slot)
                result = "ok: connection %d (nbdkit threads %s)" % (
                    self.conns[slot].cid, self.threads())
            except nbd.Error as e:
                err = e
        elif op == "close":
            if st["how"] == "flush-shutdown":
                try:
                    c.h.flush()
                    self.flush_ok(c, "flush before close")
                except nbd.Error as e:
                    self.flush_failed(c, e, self.touched(events, active),
                                      "flush before close")
                    result = "flush failed (allowed): %s" % e
            if st["how"] != "close":
                try:
                    c.h.shutdown()
                except nbd.Error as e:
                    result = "shutdown: %s" % e
            close_handle(c.h)
            c.h = None
            del self.conns[slot]
            self.settle()
            result += " (nbdkit threads %s)" % self.threads()
        elif op == "write":
            err = self.op_write(c, st, i)
            result = "#%d" % len(self.writes)
            if err is None and self.channel_dead:
                self.risk("a write while an SFTP channel is dead")
        elif op == "read":
            err = self.op_read(c, st)
        elif op == "flush":
            err = self.op_flush(c)
        elif op == "pause":
            time.sleep(st["secs"])
        elif op == "replace":
            result = self.replace(st)
        else:
            result = self.fault(st)
        touched = self.touched(events, active) or (
            op in self.FAULTS and not result.startswith("skipped") and
            not (op == "stall" and not st["long"]))
        dt = now() - t0
        took = " (%.1f s)" % dt if dt > 0.5 else ""
        if err is None:
            self.note("%s -> %s%s" % (text, result, took))
        else:
            self.note("%s -> %serror: %s%s" % (
                text, "" if result == "ok" else result + " ", err, took))
            if op == "flush":
                self.flush_failed(c, err, touched, "flush")
            elif op == "write":
                # A write reports the failure of an earlier one, until
                # a flush of its connection has.
                if not (touched or self.full or c.may_fail or c.refusal):
                    self.fail("write on c%d failed (%s) with no fault in "
                              "effect and no earlier failure to report"
                              % (slot, err))
                self.writes[-1].lost = True
                self.risk("a write failed", force=True)
            elif not touched:
                self.fail("%s on c%d failed with no fault in effect: %s"
                          % (op, slot, err))
        if touched:
            self.risk("fault: " + describe(st) if op in self.FAULTS
                      else "a fault during the " + op)
        elif self.full and op in ("write", "fill"):
            self.risk("the file system is full")

    def touched(self, events, active):
        """Was a fault (other than a short stall) in effect?"""
        return active or self.faults_active() or \
            self.fault_events != events

    def replace(self, st):
        """Another file of the same size, mode and mtime renamed over
        the path: a new connection must serve it (idle-keep=)."""
        if self.conns or self.at_risk or self.stall or self.full:
            return "skipped (connections open, unflushed writes or a fault)"
        self.settle()
        rng = random.Random(st["data"])
        old = os.stat(self.remote)
        tmp = self.remote + ".new"
        with open(tmp, "wb") as f:
            f.truncate(self.size)
            for _ in range(4):
                off = rng.randrange(self.size - 8192)
                f.seek(off)
                f.write(rng.randbytes(8192))
        os.chmod(tmp, old.st_mode & 0o7777)
        os.utime(tmp, ns=(old.st_atime_ns, old.st_mtime_ns))
        os.rename(tmp, self.remote)
        with open(self.remote, "rb") as f:
            self.val[:] = f.read()
        self.writes = []
        return "replaced (inode %d -> %d)" % (old.st_ino,
                                              os.stat(self.remote).st_ino)

    # --- the end

    def stop_faults(self):
        st = self.stall
        if st is not None:
            st["timer"].cancel()
            if st["kind"] == "server" and st["end"] == "cont" and \
               not st.get("ended"):
                # Resumed early: still short.
                pass
            self.end_stall(st)
        if self.full:
            os.unlink(self.args.filler)
            self.full = False
            self.note("     end: filesystem freed")

    def final(self):
        self.seq += 1
        events = self.fault_events
        self.stop_faults()
        if self.fault_events != events:
            self.risk("the end of a stall")
        for slot in sorted(self.conns):
            c = self.conns.pop(slot)
            try:
                c.h.shutdown()
            except nbd.Error:
                pass
            close_handle(c.h)
            c.h = None
        self.settle()
        self.note("     end: connections closed")
        try:
            c = self.connect(SLOTS)
        except nbd.Error as e:
            self.fail("a fresh connection at the end failed: %s" % e)
        self.conns[SLOTS] = c
        got = c.h.pread(self.size, 0)
        bad = self.compare(got, 0, self.excused_for_read)
        if bad:
            at, w, g, e = bad
            self.fail("fresh connection at the end: byte %d is %d, expected "
                      "%d from %s" % (at, g, e, w or "the file as it was"))
        try:
            c.h.flush()
            self.flush_ok(c, "the fresh connection's flush at the end")
            self.note("     end: fresh connection %d read the file, "
                      "flushed" % c.cid)
        except nbd.Error as e:
            self.flush_failed(c, e, self.fault_events != events,
                              "the fresh connection's flush at the end")
            self.note("     end: fresh connection %d: flush failed "
                      "(allowed): %s" % (c.cid, e))
        c.h.shutdown()
        close_handle(c.h)
        c.h = None
        del self.conns[SLOTS]

    def save(self, state):
        excused = []
        for w, ivs in self.parts():
            if self.excused_at_end(w):
                for a, b in ivs:
                    excused.append([a, b, str(w)])
        with open(os.path.join(state, "model.bin"), "wb") as f:
            f.write(self.val)
        with open(os.path.join(state, "model.json"), "w") as f:
            json.dump({"excused": excused,
                       "writes": {w.id: str(w) for w in self.writes}}, f)

    def run(self, gen, budget, max_steps, replay):
        self.base_threads = self.threads()
        self.note("nbdkit pid %s, %s threads at start" % (
            self.nbdkit, self.base_threads))
        t_end = now() + budget
        i = 0
        while i < max_steps and now() < t_end:
            if replay is not None:
                if i >= len(replay):
                    break
                st = replay[i]
            else:
                st = gen.next()
            self.steps.append(st)
            self.run_step(i, st)
            i += 1
        self.final()
        return i


def dump(state, steps, log, seed, failure):
    if state is None:
        return
    with open(os.path.join(state, "schedule.json"), "w") as f:
        for st in steps:
            f.write(json.dumps(st) + "\n")
    with open(os.path.join(state, "result.txt"), "w") as f:
        f.write("seed %s\n" % seed)
        if failure:
            f.write("FAIL: %s\n" % failure)
        for line in log:
            f.write(line + "\n")


def check(args):
    """After nbdkit exited: the file holds every acknowledged write
    never reported."""
    with open(os.path.join(args.state, "model.bin"), "rb") as f:
        model = f.read()
    with open(os.path.join(args.state, "model.json")) as f:
        info = json.load(f)
    with open(args.remote, "rb") as f:
        data = bytearray(f.read())
    if len(data) != len(model):
        msg = "the file has %d bytes, not %d" % (len(data), len(model))
    else:
        for a, b, _ in info["excused"]:
            data[a:b] = model[a:b]
        if data == model:
            print("check: the file holds every acknowledged write that was "
                  "never reported (%d ranges excused)"
                  % len(info["excused"]))
            return 0
        i = next(i for i in range(len(data)) if data[i] != model[i])
        msg = ("acknowledged write lost without report: after nbdkit "
               "exited, byte %d of the file is %d, expected %d" %
               (i, data[i], model[i]))
    with open(os.path.join(args.state, "result.txt")) as f:
        print(f.read(), end="")
    print("FAIL: %s" % msg)
    return 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--state")
    p.add_argument("--remote", required=True)
    p.add_argument("--filler")
    p.add_argument("--proxy-pid", type=int)
    p.add_argument("--proxy-log",
                   help="its stderr, where it logs each signal it took")
    p.add_argument("--timeout", type=float, default=4,
                   help="the plugin's timeout= (stalls are scaled to it)")
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--channels", type=int, default=1,
                   help="the plugin's channels= (a killed sftp-server "
                   "then ends the whole session)")
    p.add_argument("--replay")
    p.add_argument("--faults",
                   help="comma-separated kinds of fault to draw (kill, "
                   "cut, stall, fill, unfill, or one of kill-all, kill-one, "
                   "kill-sftp, stall-short, stall-long); no motifs.  "
                   "Default: all, and motifs")
    p.add_argument("--check", action="store_true")
    p.add_argument("uri", nargs="?")
    args = p.parse_args()
    if args.check:
        return check(args)

    global nbd
    import nbd

    seed = args.seed if args.seed is not None else \
        random.SystemRandom().randrange(1 << 31)
    print("fault-explorer: seed %d (--seed %d --steps %d to replay)"
          % (seed, seed, args.steps), flush=True)
    replay = None
    if args.replay:
        with open(args.replay) as f:
            replay = [json.loads(line) for line in f if line.strip()]
    x = Explorer(args)
    faults = None
    if args.faults is not None:
        faults = set(f for f in args.faults.split(",") if f)
        if "fill" in faults:
            faults.add("unfill")
    gen = Generator(random.Random(seed), x.size, args.proxy_pid is not None,
                    args.filler is not None, faults)
    failure = None
    try:
        n = x.run(gen, args.seconds, args.steps, replay)
    except Failure as e:
        failure = str(e)
    except Exception:
        import traceback
        failure = "the explorer itself failed:\n" + traceback.format_exc()
    finally:
        try:
            x.stop_faults()
        except Exception as e:          # the failure matters more
            print("stopping the faults: %s" % e)
    dump(args.state, x.steps, x.log, seed, failure)
    if failure:
        print("")
        print("FAIL: %s" % failure)
        print("seed %d; schedule (%d steps, as run):" % (seed,
                                                         len(x.steps)))
        for line in x.log:
            print("  " + line)
        print("FAIL: %s" % failure)
        print("replay: --seed %d --steps %d" % (seed, len(x.steps)))
        return 1
    if args.state:
        x.save(args.state)
    print("fault-explorer: %d steps, %d writes, no failure" %
          (n, len(x.writes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
