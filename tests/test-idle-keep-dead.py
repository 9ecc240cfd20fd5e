# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-idle-keep-dead.sh: test-idle-keep-dead.py URI

A client writes, flushes and leaves (its session is kept warm); the
server side of every connection is killed; the next client gets a
working session (not the dead warm one): it reads the data back,
writes more, and the remote file ($REMOTE) has both."""

import os
import sys

import nbdtest
import sshdprocs

remote = os.environ["REMOTE"]
h = nbdtest.connect(sys.argv[1])
data = os.urandom(65536)
h.pwrite(data, 0)
h.flush()
h.shutdown()
sshdprocs.kill_connections()     # the warm session's server side
h = nbdtest.connect(sys.argv[1])
if h.pread(65536, 0) != data:
    nbdtest.fail("read through a new session differs")
h.pwrite(data, 65536)
h.flush()
h.shutdown()
if nbdtest.read_file(remote, 0, 131072) != data + data:
    nbdtest.fail("the remote file differs")
print("dead warm session: ok")
