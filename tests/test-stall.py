# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-stall.sh: test-stall.py URI dead|conns

The server stalls (its processes SIGSTOPped: the TCP connection stays
up, nothing answers) while a read, then a write, is in flight
(timeout=5).  dead: the listening sshd is stopped too, so that the
reconnect cannot get past the banner: each request fails with EIO
after at least about timeout= and within 30 s, and once the server
resumes the next request on the same connection works.  conns: only
the per-connection processes: each request succeeds through a
reconnect after about timeout=.  Then the remote file ($REMOTE) must
match the model."""

import errno
import os
import random
import sys
import time

import nbd
import nbdtest
from sshdprocs import stop, cont, resume_and_wait

remote = os.environ["REMOTE"]
mode = sys.argv[2]            # "dead": listener stopped too; "conns": not
TIMEOUT = 5
LIMIT = 30
MiB = 1024 * 1024

model = bytearray(nbdtest.read_file(remote))
size = len(model)
rng = random.Random(42)
h = nbdtest.connect(sys.argv[1])

def check_read(off, n, what):
    if h.pread(n, off) != model[off:off + n]:
        nbdtest.fail("%s: read of %d at %d differs" % (what, n, off))

def timed(what, fn):
    t = time.monotonic()
    try:
        fn()
        err = None
    except nbd.Error as e:
        err = e
    el = time.monotonic() - t
    print("%s: %s after %.1f s" % (what, err or "ok", el), flush=True)
    return err, el

def expect_eio(what, fn):
    """fn, with the server unreachable, fails with EIO after at least
    about timeout= and within LIMIT."""
    err, el = timed("stalled " + what, fn)
    if err is None:
        nbdtest.fail("%s succeeded while the server was stopped" % what)
    if err.errnum != errno.EIO:
        nbdtest.fail("expected EIO, got %s (errnum %s)" % (err, err.errnum))
    if el > LIMIT:
        nbdtest.fail("the error took %.1f s (limit %d s)" % (el, LIMIT))
    if el < TIMEOUT - 1:
        nbdtest.fail("the error came after %.1f s, before timeout=%d"
                     % (el, TIMEOUT))

# Connection warmed up, sequential reads so that read-ahead is active.
for off in range(0, 2 * MiB, 256 * 1024):
    check_read(off, 256 * 1024, "warm-up")

stopped = []
try:
    if mode == "dead":
        # --- A read while the server is stalled and cannot be reached.
        stopped = stop(True)
        expect_eio("read", lambda: h.pread(65536, 5 * MiB + 4096))
        resume_and_wait(stopped); stopped = []
        t = time.monotonic()
        check_read(5 * MiB + 4096, 65536, "read after resuming")
        check_read(0, 4096, "read after resuming")
        print("reads after resuming: ok in %.1f s" % (time.monotonic() - t))

        # --- A write while the server is stalled and cannot be reached.
        # With write-behind it is acknowledged at once and the flush
        # after it fails instead.
        buf = rng.randbytes(MiB)
        stopped = stop(True)
        def write_and_flush():
            h.pwrite(buf, 3 * MiB)
            h.flush()
        expect_eio("write", write_and_flush)
        # The stalled processes may still apply what they had received
        # of the failed write: let them finish before writing again.
        resume_and_wait(stopped); stopped = []
        buf2 = rng.randbytes(MiB)
        h.pwrite(buf2, 3 * MiB)
        model[3 * MiB:4 * MiB] = buf2
        check_read(3 * MiB, MiB, "write after resuming")
        h.flush()
    elif mode == "conns":
        # --- A read stalls; the reconnect succeeds.
        stopped = stop(False)
        err, el = timed("stalled read", lambda: check_read(5 * MiB + 4096, 65536,
                                                           "stalled read"))
        if err is not None:
            nbdtest.fail("read failed: %s" % err)
        if el < TIMEOUT - 1 or el > LIMIT:
            nbdtest.fail("the read took %.1f s, expected about timeout=%d"
                         % (el, TIMEOUT))
        resume_and_wait(stopped); stopped = []

        # --- A write stalls; the reconnect succeeds (with write-behind
        # the flush after it waits for it).
        buf = rng.randbytes(MiB)
        stopped = stop(False)
        def write_and_flush():
            h.pwrite(buf, 3 * MiB)
            h.flush()
        err, el = timed("stalled write", write_and_flush)
        if err is not None:
            nbdtest.fail("write failed: %s" % err)
        if el < TIMEOUT - 1 or el > LIMIT:
            nbdtest.fail("the write took %.1f s, expected about timeout=%d"
                         % (el, TIMEOUT))
        model[3 * MiB:4 * MiB] = buf
        check_read(3 * MiB, MiB, "read back after the stalled write")
        resume_and_wait(stopped); stopped = []
        check_read(3 * MiB, MiB, "read after the stalled processes resumed")
finally:
    cont(stopped)

h.flush()
h.shutdown()
data = nbdtest.read_file(remote)
if data != model:
    bad = [i for i in range(0, size, 4096) if data[i:i + 4096] != model[i:i + 4096]]
    nbdtest.fail("remote file differs from the model in %d blocks of 4 KiB, "
                 "first at offset %d" % (len(bad), bad[0] if bad else -1))
print("stall %s: ok" % mode)
