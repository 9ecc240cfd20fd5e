# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-channels-kill.sh: test-channels-kill.py URI

local.img (in the current directory) written in 1 MiB writes over
four channels; at 8 MiB one channel's sftp-server is killed while
writes are in flight.  The session reconnects and the writes are sent
again; the first flush reports that acknowledged writes may be lost
(EIO), the next one succeeds, and a read gives local.img back."""

import errno
import os
import signal
import sys

import nbdtest
import sshdprocs

h = nbdtest.connect(sys.argv[1])
data = nbdtest.read_file("local.img")
h.pwrite(data[:1 << 20], 0)
nbdtest.wait_until(lambda: len(sshdprocs.sftp_servers()) >= 4, 10)
servers = sshdprocs.sftp_servers()
assert len(servers) >= 4, servers
step = 1 << 20
for off in range(1 << 20, len(data), step):
    h.pwrite(data[off:off + step], off)
    if off == 8 << 20:
        os.kill(max(servers), signal.SIGKILL)
# Writes the server had acknowledged but not fsynced when the session
# broke may be lost: the first flush says so (EIO), once.
nbdtest.expect_error(h.flush, errno.EIO,
                     "the flush after the session broke succeeded")
h.flush()
assert h.pread(len(data), 0) == data
h.shutdown()
print("kill: ok")
