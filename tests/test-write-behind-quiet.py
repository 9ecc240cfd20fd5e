# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-write-behind-quiet.sh: test-write-behind-quiet.py URI

With keepalive=0 and idle-keep=0, what write-behind queued beyond the
SSH channel's window still reaches the server ($REMOTE) while the
client is quiet: within 20 s, without another request."""

import os
import sys

import nbdtest
import sshdprocs

remote = os.environ["REMOTE"]
MiB = nbdtest.MiB
h = nbdtest.connect(sys.argv[1])
h.pread(4096, 0)
# The server stops: the write fills the SSH channel's window (2 MiB),
# and what is left waits in nbdkit (under its 1 MiB output limit, so
# the write is acknowledged at once).
stopped = sshdprocs.stop(False)
data = os.urandom(2 * MiB + 512 * 1024)
h.pwrite(data, 0)
sshdprocs.cont(stopped)
# No request now: nothing but nbdkit's own thread can send the rest
# once the server opens the window again.
if not nbdtest.wait_until(
        lambda: nbdtest.read_file(remote, 0, len(data)) == data, 20):
    nbdtest.fail("20 s after the write was acknowledged, the file "
                 "still lacks it while the client waits")
print("quiet: the data reached the file without another request")
h.flush()
h.shutdown()
