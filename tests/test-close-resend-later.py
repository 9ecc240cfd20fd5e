# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-close-resend.sh: test-close-resend-later.py URI

A connection opened after a loss nobody was told of: its first flush
fails (EIO, Linux's errseq rule), the next one succeeds (told once)."""

import errno
import sys

import nbdtest

h = nbdtest.connect(sys.argv[1])
e = nbdtest.expect_error(h.flush, errno.EIO,
                         "a connection opened after an unreported loss "
                         "flushed successfully")
print("later: the flush failed as it must: %s" % e)
h.flush()                   # told once
h.shutdown()
