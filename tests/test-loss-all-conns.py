# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-loss-all-conns.sh: test-loss-all-conns.py URI

A write refused for lack of space after write-behind acknowledged it
is reported to every connection, once each, and to a connection
opened later while nobody has been told yet; once there is room
($FILLER removed) the data goes into the remote file ($REMOTE).  The
connections, A to G, are described in the test script."""

import errno
import os
import sys
import time

import nbd
import nbdtest

MiB = nbdtest.MiB
uri = sys.argv[1]
filler = os.environ["FILLER"]


def conn():
    return nbdtest.connect(uri)


def must_fail(h, what, errnos=(errno.ENOSPC,)):
    try:
        h.flush()
    except nbd.Error as e:
        print("%s: the flush failed as it must: %s" % (what, e), flush=True)
        if e.errnum not in errnos:
            nbdtest.fail("%s: expected errno %s, got %s"
                         % (what, errnos, e.errnum))
        return
    nbdtest.fail("%s: the flush succeeded although an acknowledged "
                 "write failed" % what)


a, b, c = conn(), conn(), conn()
assert a.can_multi_conn()
data = os.urandom(4 * MiB)
a.pwrite(data, 8 * MiB)               # acknowledged, then refused
must_fail(b, "B")
must_fail(c, "C")
b.flush()                              # told once
c.flush()
d = conn()
d.flush()                              # opened after they were told
must_fail(a, "A (its own write)")
a.flush()

# The writer leaves before anybody was told.
e = conn()
e.pwrite(data, 8 * MiB)
e.shutdown()
time.sleep(1)                          # nbdkit closes it meanwhile
f = conn()
must_fail(f, "F (opened after the loss, before anybody was told)",
          (errno.ENOSPC, errno.EIO))
g = conn()
g.flush()                              # F was told
# Every connection open at the second loss is told once too.
for h, name in ((a, "A"), (b, "B"), (c, "C"), (d, "D")):
    must_fail(h, name + " (the second loss)", (errno.ENOSPC, errno.EIO))
    h.flush()

# Room again: the data goes in.
os.unlink(filler)
a.pwrite(data, 8 * MiB)
a.flush()
for h in (a, b, c, d, f, g):
    h.flush()
    h.shutdown()
if nbdtest.read_file(os.environ["REMOTE"], 8 * MiB, 4 * MiB) != data:
    nbdtest.fail("the data written once there was room is not there")
print("loss: ok")
