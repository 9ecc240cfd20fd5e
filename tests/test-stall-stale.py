# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-stall-stale.sh: test-stall-stale.py URI

The connection's sftp-server is stopped; a 4 KiB write times out
(timeout=3) and is sent again on a new session; the client overwrites
the block, flushes; then the old sftp-server resumes (and exits).  The
block must still hold the newer data, through NBD and in the remote
file ($REMOTE)."""

import os
import random
import signal
import sys
import time

import nbdtest
from sshdprocs import sftp_servers, alive

remote = os.environ["REMOTE"]
TIMEOUT = 3

model = bytearray(nbdtest.read_file(remote))
rng = random.Random(3)
h = nbdtest.connect(sys.argv[1])
off = 2 * 1024 * 1024 + 8192
if h.pread(4096, off) != model[off:off + 4096]:
    nbdtest.fail("first read differs")

stopped = sftp_servers()
if len(stopped) != 1:
    nbdtest.fail("expected one sftp-server, found %s" % stopped)
os.kill(stopped[0], signal.SIGSTOP)
try:
    w1 = rng.randbytes(4096)
    t = time.monotonic()
    h.pwrite(w1, off)          # times out, reconnects, re-sent: success
    # (With write-behind w1 is acknowledged at once and w2, which
    # overlaps it, waits for it: the stall shows there.)
    w2 = rng.randbytes(4096)
    h.pwrite(w2, off)
    el = time.monotonic() - t
    print("stalled writes: ok after %.1f s" % el, flush=True)
    if el < TIMEOUT - 1:
        nbdtest.fail("the writes did not wait for the stalled server")
    h.flush()
    model[off:off + 4096] = w2
    if h.pread(4096, off) != w2:
        nbdtest.fail("read back of the newer write differs")
finally:
    os.kill(stopped[0], signal.SIGCONT)
if not nbdtest.wait_until(lambda: not alive(stopped[0]), 10):
    nbdtest.fail("the resumed sftp-server %d did not exit within 10 s"
                 % stopped[0])
got = h.pread(4096, off)
h.shutdown()
data = nbdtest.read_file(remote)
if got != w2 or data != model:
    nbdtest.fail("after the stalled sftp-server resumed, the 4 KiB at "
                 "offset %d hold %s instead of the last acknowledged and "
                 "flushed write: the abandoned session applied its queued "
                 "WRITE late"
                 % (off, "the earlier, timed-out write" if got == w1
                    else "other data"))
print("stale: ok")
