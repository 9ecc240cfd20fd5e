# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-permissions-write-denied.sh:
test-permissions-write-denied.py URI chattr|deny WB

A write refused on a handle that is already open, the connection
otherwise working: it fails with EPERM (or, with write-behind, the
flush after it does; WB is "0" for write-behind=0); reads still work
and return the old data.  chattr: the script makes the remote file
($REMOTE) immutable itself, between two writes, and then writable
again: the write succeeds on the same connection.  deny: the server
refuses every WRITE.  The remote file must match the model."""

import errno
import os
import subprocess
import sys

import nbd
import nbdtest

mode = sys.argv[2]
wb = sys.argv[3]
remote = os.environ["REMOTE"]
model = bytearray(nbdtest.read_file(remote))
h = nbdtest.connect(sys.argv[1])
if h.is_read_only():
    nbdtest.fail("the export is read-only")

def immutable(on):
    subprocess.run(["chattr", "+i" if on else "-i", remote], check=True)

if mode == "chattr":
    buf = os.urandom(65536)
    h.pwrite(buf, 65536)
    model[65536:131072] = buf
    # Under write-behind the write above may still be on its way to
    # the server when the client has its reply: the flush makes sure it
    # reached the file before the file turns immutable.
    h.flush()
    immutable(True)
try:
    buf = os.urandom(300 * 1024)
    try:
        # With write-behind the write may be acknowledged first: the
        # failure is then reported by the flush.
        h.pwrite(buf, 1024 * 1024 + 512)
        if wb == "0":
            nbdtest.fail("a refused write succeeded (write-behind=0)")
        h.flush()
        nbdtest.fail("a refused write and the flush after it succeeded")
    except nbd.Error as e:
        print("refused write: %s" % e)
        # NBD has no EACCES: the plugin must report EPERM (or EROFS),
        # which nbdkit sends as NBD_EPERM; any other errno (EACCES
        # included) reaches the client as EINVAL.
        if e.errnum != errno.EPERM:
            nbdtest.fail("expected EPERM (1), got errnum %s" % e.errnum)
    # The connection is fine: reads work and return the old data.
    if h.pread(len(model), 0) != model:
        nbdtest.fail("read after the refused write differs")
finally:
    if mode == "chattr":
        immutable(False)
if mode == "chattr":
    # Allowed again: the next write works on the same connection.
    h.pwrite(buf, 1024 * 1024 + 512)
    model[1024 * 1024 + 512:1024 * 1024 + 512 + len(buf)] = buf
    h.flush()
h.shutdown()
if nbdtest.read_file(remote) != model:
    nbdtest.fail("remote file differs from the model")
print("%s: ok" % mode)
