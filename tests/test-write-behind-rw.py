# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-write-behind.sh: test-write-behind-rw.py URI

Random writes and reads through write-behind, each read checked at
once (a read sees the connection's own writes still in flight), FUA
writes now and then, flushes, an aio burst of overlapping writes;
then the remote file ($REMOTE) must match the model byte for byte.
$SEED seeds the writes (7)."""

import os
import random
import sys

import nbd
import nbdtest

remote = os.environ["REMOTE"]
rng = random.Random(int(os.environ.get("SEED", "7")))
h = nbdtest.connect(sys.argv[1])
size = h.get_size()
model = bytearray(nbdtest.read_file(remote))


def check(off, n, what):
    got = h.pread(n, off)
    if got != model[off:off + n]:
        first = nbdtest.first_difference(got, model[off:off + n])
        nbdtest.fail("%s: read at %d differs at byte %d"
                     % (what, off, off + first))


for i in range(400):
    n = rng.choice([1, 512, 4096, 65536, 300 * 1024, 1024 * 1024])
    off = rng.randrange(size - n)
    data = rng.randbytes(n)
    flags = nbd.CMD_FLAG_FUA if rng.random() < 0.05 else 0
    h.pwrite(data, off, flags)
    model[off:off + n] = data
    r = rng.random()
    if r < 0.3:                  # read it back at once, in part
        a = off + rng.randrange(n)
        check(a, min(size - a, rng.randrange(1, 2 * n + 2)), "own write")
    elif r < 0.4:                # somewhere else
        a = rng.randrange(size - 65536)
        check(a, 65536, "random read")
    elif r < 0.45:
        h.flush()
# An aio burst of overlapping writes: the last one issued wins only if
# each waits for its predecessor; the plugin serializes them.
cookies = []
for i in range(64):
    n = 128 * 1024
    off = rng.randrange(4) * 64 * 1024
    data = rng.randbytes(n)
    cookies.append(h.aio_pwrite(data, off))
    model[off:off + n] = data
    while h.aio_in_flight() > 0 and len(cookies) % 8 == 0:
        h.poll(-1)
nbdtest.aio_wait(h)
for c in cookies:
    h.aio_command_completed(c)
check(0, size, "whole file")
h.flush()
h.shutdown()
if nbdtest.read_file(remote) != model:
    nbdtest.fail("the remote file differs from the model")
print("rw: ok")
