# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-reconnect.sh: test-reconnect.py URI

The server side of the connection is killed (./kill-conns.sh, in the
current directory) during sequential reads (read-ahead in flight) and
between large writes: every read verifies against the model of the
remote file ($REMOTE).  Then killed with writes not yet flushed: the
flush fails with EIO (they were never fsynced), once; the next flush
works, and the remote file matches the model."""

import errno
import os
import random
import subprocess
import sys

import nbdtest

remote = os.environ["REMOTE"]
MiB = 1024 * 1024
model = bytearray(nbdtest.read_file(remote))
size = len(model)
rng = random.Random(7)
h = nbdtest.connect(sys.argv[1])

def kill():
    subprocess.run(["./kill-conns.sh"], check=True)

# Sequential reads (read-ahead in flight when the server dies).
for off in range(0, 16 * MiB, 256 * 1024):
    if off in (2 * MiB, 9 * MiB):
        kill()
    if h.pread(256 * 1024, off) != model[off:off + 256 * 1024]:
        nbdtest.fail("read at %d differs" % off)
# Large writes, killed between them.
for off in range(16 * MiB, 32 * MiB, 2 * MiB):
    if off in (18 * MiB, 26 * MiB):
        kill()
    buf = rng.randbytes(2 * MiB)
    h.pwrite(buf, off)
    model[off:off + 2 * MiB] = buf
# Killed with writes not yet flushed, then a flush: the writes
# acknowledged on the dead sessions were never fsynced, so the flush
# must not claim they are durable: EIO, once; the next flush works.
kill()
nbdtest.expect_error(h.flush, errno.EIO,
                     "flush succeeded after a reconnect lost unflushed writes",
                     "the flush")
h.flush()
h.shutdown()
if nbdtest.read_file(remote) != model:
    nbdtest.fail("remote file differs from the model")
print("reconnect: ok")
