# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-write-behind-flush.sh: test-write-behind-flush.py URI

What a flush after a reconnect may claim.  Writes the client was told
were done but the server never acknowledged (its processes stopped,
then killed) are sent again: the flush after the reconnect succeeds
and the data is in the file ($REMOTE).  A write the server did
acknowledge but never fsynced, then the session dies: that flush must
fail (EIO); the next one succeeds."""

import errno
import os
import sys

import nbdtest
import sshdprocs

remote = os.environ["REMOTE"]
h = nbdtest.connect(sys.argv[1])
model = bytearray(nbdtest.read_file(remote))
h.pwrite(b"x" * 4096, 0)
model[0:4096] = b"x" * 4096
h.flush()
# Never acknowledged by the server: sent again, the flush succeeds.
stopped = sshdprocs.stop(False)
data = os.urandom(512 * 1024)
h.pwrite(data, 65536)
model[65536:65536 + len(data)] = data
sshdprocs.kill_connections()
sshdprocs.cont(stopped)
h.flush()
if nbdtest.read_file(remote) != model:
    nbdtest.fail("the writes sent again are not in the file")
# Acknowledged by the server, not fsynced, then the session dies: the
# flush must not claim it is durable.
h.pwrite(data, 2 * 65536 + len(data))
h.pread(4096, 2 * 65536 + len(data))   # waits for the server's reply
sshdprocs.kill_connections()
nbdtest.expect_error(h.flush, errno.EIO,
                     "flush succeeded after a session with acknowledged, "
                     "unfsynced writes broke")
h.flush()
h.shutdown()
print("honest: ok")
