# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-flush-loss-once.sh: test-flush-loss-once.py URI

Two connections with writes acknowledged by the server but not yet
fsynced, every sshd connection process killed: each connection's
next flush fails once, and only once ($REMOTE is the remote file)."""

import errno
import os
import sys

import nbd
import nbdtest
import sshdprocs

KiB = nbdtest.KiB
uri = sys.argv[1]


def flush_fails(h, what):
    e = nbdtest.expect_error(h.flush, errno.EIO,
                             "%s: succeeded although an acknowledged write "
                             "may be lost" % what, what)
    print("%s: failed as it must: %s" % (what, e), flush=True)


def flush_ok(h, what):
    try:
        h.flush()
    except nbd.Error as e:
        nbdtest.fail("%s: failed (%s), but the only loss was reported to "
                     "this connection by its previous flush already: a "
                     "false alarm" % (what, e))
    print("%s: ok" % what, flush=True)


a, b = nbdtest.connect(uri), nbdtest.connect(uri)
assert a.can_multi_conn()
da, db = os.urandom(64 * KiB), os.urandom(64 * KiB)
a.pwrite(da, 0)
b.pwrite(db, 1024 * KiB)
# A read of the same bytes waits until the server acknowledged the
# write (read your writes); the bytes are then in the file.
if a.pread(len(da), 0) != da or b.pread(len(db), 1024 * KiB) != db:
    nbdtest.fail("a read does not return the connection's own write")
if nbdtest.read_file(os.environ["REMOTE"], 0, len(da)) != da:
    nbdtest.fail("A's acknowledged write is not in the file")

sshdprocs.kill_connections()
flush_fails(a, "A's flush after the kill (its own write)")
flush_fails(b, "B's flush after the kill (its own write)")
a.pwrite(da, 0)
flush_ok(a, "A's next flush")
flush_ok(b, "B's next flush")
for h in (a, b):
    h.shutdown()
print("loss once: ok")
