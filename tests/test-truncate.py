# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-truncate.sh: test-truncate.py URI

The remote file ($REMOTE) truncated to 2 MiB under a reader: a read
past the new end fails with EIO (never zeros), a read across it fails
too, a read before it still works."""

import errno
import os
import sys

import nbd
import nbdtest

remote = os.environ["REMOTE"]
model = nbdtest.read_file(remote)
h = nbdtest.connect(sys.argv[1])
if h.pread(4096, 0) != model[0:4096]:
    nbdtest.fail("first read differs")
os.truncate(remote, 2 * 1024 * 1024)
try:
    buf = h.pread(4096, 3 * 1024 * 1024)
    nbdtest.fail("read past the new end returned %d bytes (zeros: %s)"
                 % (len(buf), buf == bytes(4096)))
except nbd.Error as e:
    if e.errnum != errno.EIO:
        nbdtest.fail("expected EIO, got %s" % e)
    print("read past the new end failed as expected: %s" % e)
# A read that straddles the new end fails too.
try:
    h.pread(8192, 2 * 1024 * 1024 - 4096)
    nbdtest.fail("read across the new end succeeded")
except nbd.Error as e:
    print("read across the new end failed as expected: %s" % e)
if h.pread(4096, 1024 * 1024) != model[1024 * 1024:1024 * 1024 + 4096]:
    nbdtest.fail("read before the new end differs")
print("truncate: ok")
