# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-flush-failure-fsyncs.sh: test-flush-failure-fsyncs.py URI

A flush that fails for a refused write fsyncs the writes the server
took: after every sshd connection process is killed, the next flush
succeeds ($REMOTE is the remote file on a small tmpfs, $FILLER a file
that fills it up)."""

import errno
import os
import sys

import nbd
import nbdtest
import sshdprocs

KiB, MiB = nbdtest.KiB, nbdtest.MiB
uri = sys.argv[1]
filler = os.environ["FILLER"]

a = nbdtest.connect(uri)
taken = os.urandom(64 * KiB)
a.pwrite(taken, 0)
# A read of the same bytes waits for the server's acknowledgement.
if a.pread(len(taken), 0) != taken:
    nbdtest.fail("a read does not return the connection's own write")

nbdtest.fill_filesystem(filler)

# Acknowledged at once (write-behind), then refused by the server.
a.pwrite(os.urandom(4 * MiB), 8 * MiB)
e = nbdtest.expect_error(a.flush, errno.ENOSPC,
                         "the flush succeeded although a write was refused")
print("the flush failed as it must: %s" % e, flush=True)

sshdprocs.kill_connections()
try:
    a.flush()
except nbd.Error as e:
    nbdtest.fail("the flush after the kill failed (%s): the failed flush "
                 "before it did not fsync the write the server had taken, "
                 "so the kill counted it lost" % e)
if nbdtest.read_file(os.environ["REMOTE"], 0, len(taken)) != taken:
    nbdtest.fail("the first write is not in the file")

# The errno of a failed flush is that of what it reports (ENOSPC),
# even when it then finds another connection's session dead: B has a
# write the server took (over bytes already allocated: the file system
# is still full), A one it refused; every session is killed.
b = nbdtest.connect(uri)
other = os.urandom(4 * KiB)
b.pwrite(other, 4 * KiB)
if b.pread(len(other), 4 * KiB) != other:
    nbdtest.fail("B's read does not return B's write")
a.pwrite(os.urandom(4 * MiB), 8 * MiB)
a.pread(16, 8 * MiB)                   # waits for the refusal
sshdprocs.kill_connections()
e = nbdtest.expect_error(a.flush, errno.ENOSPC,
                         "A's flush succeeded although a write was refused",
                         "A's flush (what it found on B's dead session "
                         "after the failure must not change the error)")
print("A's flush failed as it must: %s" % e, flush=True)
os.unlink(filler)
e = nbdtest.expect_error(b.flush, errno.EIO,
                         "B's flush succeeded although its session died "
                         "with a write not fsynced", "B's flush")
print("B's flush failed as it must: %s" % e, flush=True)
for h, name in ((b, "B"), (a, "A")):
    try:
        h.flush()
    except nbd.Error as e:
        nbdtest.fail("%s's next flush failed (%s): reported twice" % (name, e))
    h.shutdown()
print("flush failure fsyncs: ok")
