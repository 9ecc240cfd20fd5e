# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-filters.sh: test-filters-readahead.py URI FILE

Through nbdkit's readahead filter: the whole export read in small,
unaligned, sequential requests is FILE (the remote file)."""

import sys

import nbdtest

h = nbdtest.connect(sys.argv[1])
size = h.get_size()
want = nbdtest.read_file(sys.argv[2])
assert size == len(want), (size, len(want))
pos = 0
step = 4096 + 17          # small, unaligned, sequential
while pos < size:
    n = min(step, size - pos)
    nbdtest.check_read(h, pos, n, want[pos:pos + n],
                       "readahead: sequential read differs at %d" % pos)
    pos += n
h.shutdown()
print("seq: OK")
