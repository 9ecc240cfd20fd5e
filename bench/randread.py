#!/usr/bin/python3
# Random 4 KiB reads through libnbd, for bench.sh (used when fio with its
# nbd engine is not installed).
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
#   randread.py URI CONNECTIONS DEPTH SECONDS [SSHD_PID]
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


def rchar_sum(sshd_pid):
    total = 0
    for p in sftp_servers(sshd_pid):
        try:
            with open("/proc/%d/io" % p) as f:
                for line in f:
                    if line.startswith("rchar:"):
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


def main():
    if sys.argv[1] == "--sample":
        sample(int(sys.argv[2]))
        return
    uri = sys.argv[1]
    conns = int(sys.argv[2])
    depth = int(sys.argv[3])
    secs = float(sys.argv[4])
    sshd_pid = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    rng = random.Random(int(os.environ.get("RANDREAD_SEED", "1")))

    handles = []
    for _ in range(conns):
        h = nbd.NBD()
        h.connect_uri(uri)
        handles.append(h)
    size = handles[0].get_size()
    blocks = size // BS
    if blocks < 1:
        sys.exit("randread.py: export smaller than 4096 bytes")

    before = rchar_sum(sshd_pid) if sshd_pid else 0
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
            h.pread(BS, rng.randrange(blocks) * BS)
            e = pc()
            lat.append(e - s)
            reads += 1
            now = time.monotonic()
    else:
        # One event loop over all handles, DEPTH aio_pread in flight on each.
        pc = time.perf_counter
        state = []              # per handle: list of [cookie, buf, start]
        poller = select.poll()
        fd2h = {}
        for i, h in enumerate(handles):
            slots = []
            for _ in range(depth):
                buf = nbd.Buffer(BS)
                c = h.aio_pread(buf, rng.randrange(blocks) * BS)
                slots.append([c, buf, pc()])
            state.append(slots)
            fd2h[h.aio_get_fd()] = i
        stopping = False
        inflight = conns * depth
        while inflight > 0:
            if not stopping and time.monotonic() >= deadline:
                stopping = True
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
                        slot[0] = h.aio_pread(slot[1],
                                              rng.randrange(blocks) * BS)
    elapsed = time.monotonic() - t0

    after = rchar_sum(sshd_pid) if sshd_pid else 0
    for h in handles:
        h.shutdown()
    lat.sort()
    p50 = lat[len(lat) // 2] * 1e6 if lat else 0.0
    delta = after - before
    amp = delta / (reads * BS) if sshd_pid and reads else 0.0
    print("reads=%d secs=%.3f iops=%.1f p50_us=%.0f server_rchar=%d amp=%.3f"
          % (reads, elapsed, reads / elapsed, p50, delta, amp))


if __name__ == "__main__":
    main()
