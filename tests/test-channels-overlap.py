# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-channels.sh: test-channels-overlap.py URI PATH

Overlapping writes in quick succession (each acknowledged at once)
land in the order they were made, though they may go on different
channels; reads in between see them (read your writes).  PATH is the
remote file, 4 MiB, compared with the model after the flush."""

import random
import sys
import time

import nbdtest

uri, path = sys.argv[1], sys.argv[2]
rng = random.Random(1234)
size = 4 << 20
h = nbdtest.connect(uri)
model = bytearray(h.pread(size, 0))
# Wait until the other channels are ready: writes before that go on
# the first one only.
h.pwrite(b"\0" * 4096, 0)
model[0:4096] = b"\0" * 4096
time.sleep(2)
for i in range(600):
    # A 64 KiB area written over and over, by writes of every size.
    off = rng.randrange(0, 1 << 20)
    n = rng.choice([512, 4096, 65536, 200000, 261120, 300000])
    data = rng.randbytes(n)
    h.pwrite(data, off)
    model[off:off + n] = data
    if i % 50 == 49:
        o = rng.randrange(0, 1 << 20)
        got = h.pread(262144, o)
        assert got == bytes(model[o:o + 262144]), \
            "read %d: stale data at %d" % (i, o)
h.flush()
disk = nbdtest.read_file(path, 0, size)
assert disk == bytes(model), "file differs after flush at byte %d" % \
    nbdtest.first_difference(disk, model)
assert h.pread(size, 0) == bytes(model)
h.shutdown()
print("overlap: ok")
