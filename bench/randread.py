#!/usr/bin/python3
# Random 4 KiB reads (or writes) through libnbd, for bench.sh: the reads
# when fio with its nbd engine is not installed, the writes always.
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
#   randread.py [--write] URI CONNECTIONS DEPTH SECONDS [SSHD_PID]
#
# Opens CONNECTIONS libnbd handles to URI and keeps DEPTH reads of 4096
# bytes at random 4 KiB-aligned offsets in flight on each, for SECONDS
# (then drains what is in flight).  CONNECTIONS=1 DEPTH=1 uses plain
# synchronous pread.  Prints one line of KEY=VALUE:
#
#   reads=N secs=S iops=X p50_us=L server_rchar=B amp=R
#
# p50_us is the median latency of one read.  If SSHD_PID is given, the
# rchar counters (/proc/PID/io) of every sftp-server process below that
# sshd are summed just after connecting and again just before
# disconnecting: server_rchar is the difference and amp is server_rchar
# divided by the bytes the client asked for (it includes the few dozen
# bytes of each SFTP request that sftp-server reads from its stdin).
#
# --write: the same with writes of 4096 random bytes (pwrite, or
# aio_pwrite), then, once the time is up and every write has completed,
# one flush on each handle, outside the timing (iops and p50_us count
# the writes only; flush_secs is how long the flushes took).  The
# accounting uses wchar (what sftp-server wrote: the file, plus its
# short STATUS replies), summed after the flushes:
#
#   writes=N secs=S iops=X p50_us=L flush_secs=F server_wchar=B amp=R
#
#   randread.py --sample SSHD_PID
#
# For clients that open and close their own connections (fio): samples
# the rchar of every sftp-server below SSHD_PID every 20 ms until SIGTERM,
# then prints server_rchar=B, the sum over those processes of last seen
# minus first seen.

import os
import random
import select
import sys
import time

import nbd
from sshdprocs import sftp_servers  # tests/sshdprocs.py

BS = 4096


def rchar_sum(sshd_pid, key="rchar:"):
    total = 0
    for p in sftp_servers(sshd_pid):
        try:
            with open("/proc/%d/io" % p) as f:
                for line in f:
                    if line.startswith(key):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def sample(sshd_pid):
    import signal
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    first, last = {}, {}
    while not stop:
        for p in sftp_servers(sshd_pid):
            try:
                with open("/proc/%d/io" % p) as f:
                    for line in f:
                        if line.startswith("rchar:"):
                            v = int(line.split()[1])
                            first.setdefault(p, v)
                            last[p] = v
            except OSError:
                pass
        time.sleep(0.02)
    print("server_rchar=%d" % sum(last[p] - first[p] for p in last))


def poll_handles(handles, fd2h, poller):
    """One round of the aio poll loop: wait (up to 1 s) on every
    handle in the direction libnbd wants, and notify the ready ones."""
    for fd, i in fd2h.items():
        d = handles[i].aio_get_direction()
        ev = 0
        if d & nbd.AIO_DIRECTION_READ:
            ev |= select.POLLIN
        if d & nbd.AIO_DIRECTION_WRITE:
            ev |= select.POLLOUT
        poller.register(fd, ev)
    for fd, ev in poller.poll(1000):
        h = handles[fd2h[fd]]
        if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
            h.aio_notify_read()
        elif ev & select.POLLOUT:
            h.aio_notify_write()


def main():
    if sys.argv[1] == "--sample":
        sample(int(sys.argv[2]))
        return
    args = sys.argv[1:]
    write = args[0] == "--write"
    if write:
        args = args[1:]
    uri = args[0]
    conns = int(args[1])
    depth = int(args[2])
    secs = float(args[3])
    sshd_pid = int(args[4]) if len(args) > 4 else 0
    rng = random.Random(int(os.environ.get("RANDREAD_SEED", "1")))
    key = "wchar:" if write else "rchar:"
    data = os.urandom(BS)

    def submit(h, buf, offset):
        if write:
            return h.aio_pwrite(buf, offset)
        return h.aio_pread(buf, offset)

    handles = []
    for _ in range(conns):
        h = nbd.NBD()
        h.connect_uri(uri)
        handles.append(h)
    size = handles[0].get_size()
    blocks = size // BS
    if blocks < 1:
        sys.exit("randread.py: export smaller than 4096 bytes")

    before = rchar_sum(sshd_pid, key) if sshd_pid else 0
    lat = []
    reads = 0
    t0 = time.monotonic()
    deadline = t0 + secs

    if conns == 1 and depth == 1:
        h = handles[0]
        pc = time.perf_counter
        now = t0
        while now < deadline:
            s = pc()
            if write:
                h.pwrite(data, rng.randrange(blocks) * BS)
            else:
                h.pread(BS, rng.randrange(blocks) * BS)
            e = pc()
            lat.append(e - s)
            reads += 1
            now = time.monotonic()
    else:
        # One event loop over all handles, DEPTH aio_pread (aio_pwrite) in
        # flight on each.
        pc = time.perf_counter
        state = []              # per handle: list of [cookie, buf, start]
        poller = select.poll()
        fd2h = {}
        for i, h in enumerate(handles):
            slots = []
            for _ in range(depth):
                buf = (nbd.Buffer.from_bytearray(data) if write
                       else nbd.Buffer(BS))
                c = submit(h, buf, rng.randrange(blocks) * BS)
                slots.append([c, buf, pc()])
            state.append(slots)
            fd2h[h.aio_get_fd()] = i
        stopping = False
        inflight = conns * depth
        while inflight > 0:
            if not stopping and time.monotonic() >= deadline:
                stopping = True
            poll_handles(handles, fd2h, poller)
            for i, h in enumerate(handles):
                for slot in state[i]:
                    c = slot[0]
                    if c is None or not h.aio_command_completed(c):
                        continue
                    e = pc()
                    lat.append(e - slot[2])
                    reads += 1
                    if stopping:
                        slot[0] = None
                        inflight -= 1
                    else:
                        slot[2] = e
                        slot[0] = submit(h, slot[1],
                                         rng.randrange(blocks) * BS)
    elapsed = time.monotonic() - t0

    flush_secs = 0.0
    if write:
        # Outside the timing: leave nothing behind in the server's queues.
        f0 = time.monotonic()
        for h in handles:
            if h.can_flush():
                h.flush()
        flush_secs = time.monotonic() - f0

    after = rchar_sum(sshd_pid, key) if sshd_pid else 0
    for h in handles:
        h.shutdown()
    lat.sort()
    p50 = lat[len(lat) // 2] * 1e6 if lat else 0.0
    delta = after - before
    amp = delta / (reads * BS) if sshd_pid and reads else 0.0
    if write:
        print("writes=%d secs=%.3f iops=%.1f p50_us=%.0f flush_secs=%.3f "
              "server_wchar=%d amp=%.3f"
              % (reads, elapsed, reads / elapsed, p50, flush_secs, delta, amp))
    else:
        print("reads=%d secs=%.3f iops=%.1f p50_us=%.0f server_rchar=%d "
              "amp=%.3f" % (reads, elapsed, reads / elapsed, p50, delta, amp))


if __name__ == "__main__":
    main()
