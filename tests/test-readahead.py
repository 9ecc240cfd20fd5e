# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-readahead.sh: test-readahead.py URI

Read-ahead never serves stale or misplaced data: sequential reads
(which turn read-ahead on), a write into the read-ahead window, reads
that continue past it, backward and chunk-crossing reads, all checked
against a model of the remote file ($REMOTE); then a flush and the
remote file compared with the model."""

import os
import random
import sys

import nbdtest

remote = os.environ["REMOTE"]
model = bytearray(nbdtest.read_file(remote))
size = len(model)
rng = random.Random(1)
MiB = 1024 * 1024

h = nbdtest.connect(sys.argv[1])

def check(offset, length, what):
    got = h.pread(length, offset)
    if got != model[offset:offset + length]:
        nbdtest.fail("%s: pread(%d, %d) differs from the model"
                     % (what, length, offset))

def write(offset, length):
    buf = rng.randbytes(length)
    h.pwrite(buf, offset)
    model[offset:offset + length] = buf

# Sequential 64 KiB reads over the first 3 MiB: read-ahead grows.
for off in range(0, 3 * MiB, 65536):
    check(off, 65536, "sequential")
# Write inside the window that was read ahead, then keep reading
# sequentially through it.
write(3 * MiB + 100000, 300000)
write(5 * MiB, 1)
for off in range(3 * MiB, 8 * MiB, 65536):
    check(off, 65536, "sequential after write")
# Sequential again with request sizes that cross every chunk boundary.
off = 8 * MiB
while off < 16 * MiB:
    n = rng.randint(1, 200000)
    check(off, n, "odd sequential")
    off += n
# Backwards and forwards inside and outside the read-ahead.
for off in (off - 1000, off - 3 * MiB, off + 2 * MiB, off + 2 * MiB + 7,
            12 * MiB):
    check(off, 4096, "jump")
# Sequential to the very end of the file, in 1 MiB requests.
off = 18 * MiB
while off < size:
    n = min(MiB, size - off)
    check(off, n, "to the end")
    off += n
# Write then read the same range in a sequential stream.
for off in range(20 * MiB, 22 * MiB, 131072):
    check(off, 131072, "stream")
    write(off + 131072, 4096)
h.flush()
h.shutdown()

if nbdtest.read_file(remote) != model:
    nbdtest.fail("remote file differs from the model after flush")
print("readahead: ok")
