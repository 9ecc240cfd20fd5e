#!/usr/bin/python3
# Several connections writing at once, for bench.sh's write4 case.
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
#   write4.py URI CONNECTIONS REQUEST_KIB DEPTH
#
# Opens CONNECTIONS libnbd handles to URI; handle i writes the i-th of
# CONNECTIONS equal parts of the export sequentially, in requests of
# REQUEST_KIB KiB of random data, with DEPTH aio_pwrite in flight, all
# handles at the same time in one poll loop.  When a handle has written
# its part it sends one flush; the run ends when every flush is done.
# (nbdcopy would do, but it hands out work in 128 MiB slices, so below
# 256 MiB its extra connections have nothing to do.)  Prints:
#
#   bytes=N secs=S write_secs=W mibps=X
#
# secs is from the first write to the last flush (connecting is not in
# it), write_secs from the first write to the last write completed.

import os
import select
import sys
import time

import nbd
from randread import poll_handles  # bench/randread.py


def main():
    uri = sys.argv[1]
    conns = int(sys.argv[2])
    req = int(sys.argv[3]) * 1024
    depth = int(sys.argv[4])

    handles = []
    for _ in range(conns):
        h = nbd.NBD()
        h.connect_uri(uri)
        handles.append(h)
    size = handles[0].get_size()
    part = size // conns // req * req
    if part < req:
        sys.exit("write4.py: export too small for %d parts of %d bytes"
                 % (conns, req))
    # Each handle: [next offset, end offset, in-flight cookies, flush cookie]
    jobs = []
    for i in range(conns):
        start = i * part
        end = size if i == conns - 1 else start + part
        jobs.append([start, end, [], None])
    bufs = [nbd.Buffer.from_bytearray(os.urandom(req)) for _ in range(depth)]
    tail = {}                   # a last request shorter than req

    def refill(i):
        h, job = handles[i], jobs[i]
        while len(job[2]) < depth and job[0] < job[1]:
            n = min(req, job[1] - job[0])
            if n == req:
                buf = bufs[len(job[2]) % depth]
            else:
                buf = tail.setdefault(n, nbd.Buffer.from_bytearray(
                    os.urandom(n)))
            job[2].append(h.aio_pwrite(buf, job[0]))
            job[0] += n

    t0 = time.monotonic()
    t_written = t0
    for i in range(conns):
        refill(i)
    poller = select.poll()
    fd2h = {h.aio_get_fd(): i for i, h in enumerate(handles)}
    done = 0
    while done < conns:
        poll_handles(handles, fd2h, poller)
        for i, h in enumerate(handles):
            job = jobs[i]
            if job[3] == "done":
                continue
            # aio_command_completed raises if the write failed.
            job[2] = [c for c in job[2] if not h.aio_command_completed(c)]
            if job[3] is None:
                refill(i)
                if not job[2]:
                    t_written = time.monotonic()
                    job[3] = h.aio_flush() if h.can_flush() else "none"
            if job[3] is not None and not job[2]:
                if job[3] == "none" or h.aio_command_completed(job[3]):
                    job[3] = "done"
                    done += 1
    secs = time.monotonic() - t0
    for h in handles:
        h.shutdown()
    print("bytes=%d secs=%.3f write_secs=%.3f mibps=%.1f"
          % (size, secs, t_written - t0, size / 1048576 / secs))


if __name__ == "__main__":
    main()
