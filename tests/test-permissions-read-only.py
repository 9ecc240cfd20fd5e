# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-permissions-read-only.sh: test-permissions-read-only.py URI

A read-only export (nbdkit -r): a write sent anyway (libnbd's strict
mode would refuse it itself) is refused by nbdkit with EPERM, and the
data is unchanged."""

import errno
import sys

import nbd
import nbdtest

h = nbdtest.connect(sys.argv[1])
if not h.is_read_only():
    nbdtest.fail("the export is not read-only")
before = h.pread(4096, 0)
# Send the write anyway (libnbd would refuse it itself): nbdkit must.
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_COMMANDS)
e = nbdtest.expect_error(lambda: h.pwrite(b"x" * 4096, 0), errno.EPERM,
                         "a write to a read-only export succeeded")
print("write to the -r export: %s" % e)
if h.pread(4096, 0) != before:
    nbdtest.fail("data changed")
h.shutdown()
