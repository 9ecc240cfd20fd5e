# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-flush-no-false-alarm.sh: test-flush-no-false-alarm.py URI

A flush fails only when an acknowledged write may really be missing
from the remote file ($REMOTE); see the three cases below and in the
test script."""

import errno
import os
import signal
import sys

import nbd
import nbdtest
import sshdprocs

remote = os.environ["REMOTE"]
uri = sys.argv[1]


def remote_bytes(off, n):
    return nbdtest.read_file(remote, off, n)


def flush_ok(h, what):
    try:
        h.flush()
    except nbd.Error as e:
        nbdtest.fail("%s: false alarm, nothing was lost: %s" % (what, e))


def kill_newest_sftp_server():
    """The server side of the newest session only."""
    p = max(sshdprocs.sftp_servers())
    os.kill(p, signal.SIGKILL)
    if not nbdtest.wait_until(lambda: not sshdprocs.alive(p), 10):
        nbdtest.fail("sftp-server %d did not die" % p)


# 1.  A writes (acknowledged), B's flush covers it; both sessions die.
a, b = nbdtest.connect(uri), nbdtest.connect(uri)
assert a.can_multi_conn()
data = os.urandom(65536)
a.pwrite(data, 0)
assert a.pread(65536, 0) == data     # acknowledged by the server
b.flush()                            # covers A's write
sshdprocs.kill_connections()
flush_ok(a, "1: A after both sessions died")
flush_ok(b, "1: B after both sessions died")
assert remote_bytes(0, 65536) == data
print("1: ok", flush=True)

# 2.  B is the newest session: its sftp-server dies alone.
a.shutdown()
b.shutdown()
a = nbdtest.connect(uri)
b = nbdtest.connect(uri)
data = os.urandom(65536)
a.pwrite(data, 65536)
assert a.pread(65536, 65536) == data
kill_newest_sftp_server()
flush_ok(b, "2: B after its own session died")
flush_ok(a, "2: A, whose session lived")
assert remote_bytes(65536, 65536) == data
print("2: ok", flush=True)

# 3.  A's session dies too, and its write with it.
data = os.urandom(65536)
old = remote_bytes(131072, 65536)
a.pwrite(data, 131072)
assert a.pread(65536, 131072) == data
nbdtest.write_file(remote, 131072, old)   # what a crash does to page cache
sshdprocs.kill_connections()
try:
    b.flush()
    if remote_bytes(131072, 65536) != data:
        nbdtest.fail("3: the flush succeeded, but A's acknowledged "
                     "write is not in the file")
except nbd.Error as e:
    if e.errnum != errno.EIO:
        nbdtest.fail("3: expected EIO, got %s" % e)
    print("3: the flush failed as it must: %s" % e, flush=True)
b.flush()
a.shutdown()
b.shutdown()
print("no-false-alarm: ok")
