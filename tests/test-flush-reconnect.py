# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-flush-reconnect.sh: test-flush-reconnect.py URI

A write acknowledged on a session that then dies, its old bytes put
back in the remote file ($REMOTE) as a server crash would: a flush
fails (EIO) rather than report success with the old bytes in place;
on one connection, and with multi-conn on another connection than
the one that wrote.  A FUA write after a reconnect is durable and
succeeds; later flushes work again."""

import errno
import os
import sys

import nbd
import nbdtest
import sshdprocs

remote = os.environ["REMOTE"]
uri = sys.argv[1]


def put_back(off, data):
    """What a server crash does to writes not yet on disk."""
    nbdtest.write_file(remote, off, data)


def remote_bytes(off, n):
    return nbdtest.read_file(remote, off, n)


def flush_must_not_lie(h, off, new, what):
    try:
        h.flush()
    except nbd.Error as e:
        if e.errnum != errno.EIO:
            nbdtest.fail("%s: expected EIO, got %s" % (what, e))
        print("%s: flush failed as it must: %s" % (what, e))
        return
    if remote_bytes(off, len(new)) != new:
        nbdtest.fail("%s: flush reported success, but the acknowledged "
                     "write is not in the file" % what)


h = nbdtest.connect(uri)
assert h.can_flush() and h.can_multi_conn()

# 1. One connection.
off = 65536
old = remote_bytes(off, 4096)
new = os.urandom(4096)
h.pwrite(new, off)
h.pread(4096, off)      # the server has acknowledged it (write-behind)
put_back(off, old)
sshdprocs.kill_connections()
flush_must_not_lie(h, off, new, "one connection")

# The connection works again, and a flush after new writes succeeds.
h.pwrite(new, off)
h.flush()
assert remote_bytes(off, 4096) == new

# 2. A FUA write after a reconnect is durable: it succeeds.
sshdprocs.kill_connections()
fua = os.urandom(4096)
h.pwrite(fua, 2 * off, nbd.CMD_FLAG_FUA)
assert remote_bytes(2 * off, 4096) == fua
h.flush()

# 3. Multi-conn: h writes, the server dies under both connections, h2
# flushes.  The flush covers h's write, which may be lost.
h2 = nbdtest.connect(uri)
assert h2.pread(4096, 0) == remote_bytes(0, 4096)
off = 3 * 65536
old = remote_bytes(off, 4096)
new = os.urandom(4096)
h.pwrite(new, off)
h.pread(4096, off)      # the server has acknowledged it (write-behind)
put_back(off, old)
sshdprocs.kill_connections()
flush_must_not_lie(h2, off, new, "multi-conn")
h2.flush()
h.shutdown()
h2.shutdown()
print("flush-reconnect: ok")
