# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-close-resend.sh: test-close-resend-client.py URI close|unload

Writes 4 KiB and flushes; then, the server side stopped, 2 MiB of
writes that write-behind alone acknowledges; the session's processes
are killed (and resumed).  The model of the remote file ($REMOTE) is
left in expect.img (current directory).  close: the client leaves
without a flush, as nbdcopy does by default.  unload: it keeps the
connection open (after creating the file "ready") until killed, so
that nbdkit exits with it open."""

import os
import sys
import time

import nbdtest
import sshdprocs

MiB = nbdtest.MiB
uri, mode = sys.argv[1], sys.argv[2]
h = nbdtest.connect(uri)
model = bytearray(nbdtest.read_file(os.environ["REMOTE"]))
h.pwrite(b"a" * 4096, 0)
model[0:4096] = b"a" * 4096
h.flush()
# The server stops answering: every write below is acknowledged by
# write-behind alone (2 MiB: what the SSH channel's window and the
# plugin's output buffer take without waiting for the server).
stopped = sshdprocs.stop(False)
for i in range(8):
    data = os.urandom(256 * 1024)
    off = 1 * MiB + i * len(data)
    h.pwrite(data, off)
    model[off:off + len(data)] = data
sshdprocs.kill_connections()
sshdprocs.cont(stopped)
with open("expect.img", "wb") as f:
    f.write(model)
if mode == "close":
    h.shutdown()            # no flush: nbdcopy's default
    print("close: client gone")
else:
    # Keep the connection open; the test's shell makes nbdkit exit.
    open("ready", "w").close()
    for _ in range(600):
        time.sleep(0.1)
