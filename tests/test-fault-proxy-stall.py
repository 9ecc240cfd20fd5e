# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-fault-proxy.sh: test-fault-proxy-stall.py URI ok|EIO

Reads the first 32 MiB of the remote file ($REMOTE) in 4 MiB
requests while the proxy stalls the connection for 10 s (timeout=3).
ok: every read succeeds with the right data (through a reconnect);
EIO: a read fails with EIO (retries=0).  Either way the slowest
request took at least about timeout= and ended well before the
stall."""

import errno
import os
import sys
import time

import nbd
import nbdtest

remote = os.environ["REMOTE"]
expect = sys.argv[2]          # "ok" or "EIO"
MiB = nbdtest.MiB
model = nbdtest.read_file(remote)
h = nbdtest.connect(sys.argv[1])
err = None
slowest = 0.0
try:
    for off in range(0, 32 * MiB, 4 * MiB):
        t = time.monotonic()
        try:
            buf = h.pread(4 * MiB, off)
        finally:
            slowest = max(slowest, time.monotonic() - t)
        if buf != model[off:off + 4 * MiB]:
            nbdtest.fail("read at %d differs" % off)
except nbd.Error as e:
    err = e
print("stalled reads: %s; the slowest request took %.1f s"
      % (err or "ok", slowest))
if expect == "ok" and err is not None:
    nbdtest.fail("expected the reads to succeed: %s" % err)
if expect == "EIO":
    if err is None:
        nbdtest.fail("the reads succeeded with retries=0")
    if err.errnum != errno.EIO:
        nbdtest.fail("expected EIO, got errnum %s" % err.errnum)
# The stalled request waited at least timeout=3, and was done (or
# failed) well before the 10 s stall ended.
if not 2.5 <= slowest < 9:
    nbdtest.fail("the stalled request took %.1f s, expected between "
                 "timeout=3 and the end of the 10 s stall" % slowest)
