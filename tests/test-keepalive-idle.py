# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-keepalive.sh: test-keepalive-idle.py URI

A read, 5.5 s of idle (keepalives, or none), the same read again: the
same data."""

import sys
import time

import nbdtest

h = nbdtest.connect(sys.argv[1])
a = h.pread(4096, 0)
time.sleep(5.5)
if h.pread(4096, 0) != a:
    nbdtest.fail("read after idling differs")
