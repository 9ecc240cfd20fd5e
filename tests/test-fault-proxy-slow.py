# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-fault-proxy.sh: test-fault-proxy-slow.py URI

One 12 MiB read over a 2 MiB/s link (timeout=4): right data, and it
took longer than timeout= (else the proxy did not slow it)."""

import os
import sys
import time

import nbdtest

remote = os.environ["REMOTE"]
MiB = nbdtest.MiB
model = nbdtest.read_file(remote, 0, 12 * MiB)
h = nbdtest.connect(sys.argv[1])
t = time.monotonic()
if h.pread(12 * MiB, 0) != model:
    nbdtest.fail("slow read differs")
el = time.monotonic() - t
print("12 MiB at 2 MiB/s: %.1f s" % el)
if el < 4.5:
    nbdtest.fail("the read took %.1f s, less than timeout=4: the proxy "
                 "did not slow it" % el)
