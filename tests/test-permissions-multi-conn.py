# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-permissions-multi-conn.sh: test-permissions-multi-conn.py URI

Multi-conn: a write refused (chattr +i on $REMOTE) on one connection
after the client had its reply (write-behind) makes a flush on
another connection fail, as that flush covers it, and the writing
connection's own flush too; each once.  A writer that leaves before
a flush told it of its failure: the next flush elsewhere fails."""

import errno
import os
import subprocess
import sys
import time

import nbd
import nbdtest

remote = os.environ["REMOTE"]
uri = sys.argv[1]


def must_fail(h, errnos, what):
    """h.flush() must fail with one of errnos; what: why it must."""
    try:
        h.flush()
    except nbd.Error as e:
        print("flush %s: %s" % (what, e))
        if e.errnum not in errnos:
            nbdtest.fail("flush %s: expected errno %s, got %s"
                         % (what, errnos, e.errnum))
        return
    nbdtest.fail("flush %s succeeded" % what)


h1 = nbdtest.connect(uri)
h2 = nbdtest.connect(uri)
assert h1.can_multi_conn()
subprocess.run(["chattr", "+i", remote], check=True)
try:
    h1.pwrite(os.urandom(65536), 0)        # acknowledged before it fails
    must_fail(h2, (errno.EPERM,), "on another connection after a "
              "completed write failed")
    h2.flush()                             # reported once there
    must_fail(h1, (errno.EPERM,), "on the writing connection")
finally:
    subprocess.run(["chattr", "-i", remote], check=True)
h1.flush()
h2.flush()
h1.shutdown()

# The writing client leaves before a flush told it of the failure
# (nbdkit logs it at close): the next flush elsewhere fails.
h1 = nbdtest.connect(uri)
subprocess.run(["chattr", "+i", remote], check=True)
try:
    h1.pwrite(os.urandom(65536), 0)
    h1.shutdown()
    time.sleep(1)                          # nbdkit closes it meanwhile
    must_fail(h2, (errno.EIO, errno.EPERM), "after the writer of a "
              "completed write that failed left")
finally:
    subprocess.run(["chattr", "-i", remote], check=True)
h2.flush()                                 # reported once
h2.shutdown()
print("multi-conn: ok")
