# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-write-behind-resend.sh: test-write-behind-resend-kill.py URI

32 writes of 1 MiB; after the 6th, the 18th and the 31st the server
side of the connection is killed while writes are still in the
window: sent again after the reconnect, everything verifies, through
NBD and in the remote file ($REMOTE)."""

import os
import sys

import nbdtest
import sshdprocs

remote = os.environ["REMOTE"]
MiB = nbdtest.MiB
h = nbdtest.connect(sys.argv[1])
model = bytearray(nbdtest.read_file(remote))
for i in range(32):
    data = os.urandom(MiB)
    h.pwrite(data, i * MiB)
    model[i * MiB:(i + 1) * MiB] = data
    if i in (5, 17, 30):
        sshdprocs.kill_connections()
if h.pread(32 * MiB, 0) != model:
    nbdtest.fail("read after the reconnects differs")
h.shutdown()
if nbdtest.read_file(remote) != model:
    nbdtest.fail("the remote file differs from the model")
print("kill: ok")
