# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-reconnect.sh: test-reconnect-down.py URI

The server stays down (the listening sshd stopped, the live connection
killed by ./kill-conns.sh): a read fails with EIO, and once the
listener is resumed the next read on the same connection works."""

import errno
import os
import subprocess
import sys
import time

import nbdtest

remote = os.environ["REMOTE"]
head = nbdtest.read_file(remote, 0, 4096)
h = nbdtest.connect(sys.argv[1])
assert h.pread(4096, 0) == head
# Stop accepting connections, then kill the live one.
subprocess.run(["sh", "-c", "kill -STOP $(cat $SSHD_DIR/sshd.pid)"],
               check=True)
subprocess.run(["./kill-conns.sh"], check=True)
t = time.monotonic()
e = nbdtest.expect_error(lambda: h.pread(4096, 8192), errno.EIO,
                         "read succeeded with the server down")
print("server down: %s after %.1f s" % (e, time.monotonic() - t))
subprocess.run(["sh", "-c", "kill -CONT $(cat $SSHD_DIR/sshd.pid)"],
               check=True)
if h.pread(4096, 0) != head:
    nbdtest.fail("read after the server came back differs")
print("down: ok")
