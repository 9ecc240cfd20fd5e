# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-random-io.sh: test-random-io.py URI

About 300 random preads and pwrites of random sizes (1 byte .. 300
KiB) at unaligned offsets, checked against a model of the remote file
($REMOTE, its size not a multiple of 512); then concurrent (aio)
writes and reads, a flush, the whole export read back, and the remote
file compared with the model, which is left in model.bin (current
directory).  $RANDOM_IO_SEED replays a run."""

import os
import random
import sys

import nbd
import nbdtest

seed = os.environ.get("RANDOM_IO_SEED")
seed = int(seed) if seed else random.SystemRandom().randrange(2**32)
print("random_io: seed = %d (replay with RANDOM_IO_SEED=%d)" % (seed, seed),
      flush=True)
rng = random.Random(seed)

remote = os.environ["REMOTE"]
model = bytearray(nbdtest.read_file(remote))
size = len(model)
MAXLEN = 300 * 1024

h = nbdtest.connect(sys.argv[1])
if h.get_size() != size:
    nbdtest.fail("export size %d != file size %d" % (h.get_size(), size))

def fail(what, offset, length, got):
    want = bytes(model[offset:offset + length])
    first = next(i for i in range(length) if got[i] != want[i]) \
        if len(got) == length else 0
    nbdtest.fail("%s offset=%d length=%d: got %d bytes, first difference "
                 "at byte %d (offset %d); seed %d"
                 % (what, offset, length, len(got), first, offset + first, seed))

def check_read(offset, length, what="pread"):
    got = h.pread(length, offset)
    if got != model[offset:offset + length]:
        fail(what, offset, length, got)

def do_write(offset, length):
    buf = rng.randbytes(length)
    h.pwrite(buf, offset)
    model[offset:offset + length] = buf

def pick_length():
    r = rng.random()
    if r < 0.3:
        n = rng.randint(1, 512)
    elif r < 0.6:
        n = rng.randint(1, 65536)
    else:
        n = rng.randint(1, MAXLEN)
    return min(n, size)

def pick_offset(length):
    r = rng.random()
    if r < 0.15:
        return size - length                  # ends exactly at EOF
    if r < 0.20:
        return max(0, size - length - rng.randint(1, 700))   # near EOF
    if r < 0.25:
        return 0
    return rng.randint(0, size - length)

# Fixed cases around the end of the file and odd sizes.
check_read(size - 1, 1)
do_write(size - 1, 1)
check_read(size - 1, 1)
check_read(size - 1234, 1234)
do_write(size - 1235, 1235)
check_read(size - 4096, 4096)
do_write(1, 511)
check_read(0, 513)
do_write(size - MAXLEN, MAXLEN)
check_read(size - MAXLEN - 17, MAXLEN + 17)

nreads = nwrites = 0
for i in range(300):
    length = pick_length()
    offset = pick_offset(length)
    if rng.random() < 0.5:
        check_read(offset, length)
        nreads += 1
    else:
        do_write(offset, length)
        nwrites += 1
        if rng.random() < 0.3:                # read back what was written
            lo = max(0, offset - rng.randint(0, 100))
            hi = min(size, offset + length + rng.randint(0, 100))
            check_read(lo, hi - lo, "read-back")
print("random_io: %d preads, %d pwrites" % (nreads, nwrites), flush=True)

# Concurrent requests: non-overlapping writes in flight together, then
# concurrent reads of the same places.
slots = sorted(rng.sample(range(0, size // 65536), 16))
reqs = []
for s in slots:
    offset = s * 65536 + rng.randint(0, 1000)
    length = min(rng.randint(1, 60000), size - offset)
    buf = rng.randbytes(length)
    model[offset:offset + length] = buf
    reqs.append((offset, length))
    h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(buf)), offset)
nbdtest.aio_wait(h)
bufs = []
for offset, length in reqs:
    b = nbd.Buffer(length)
    bufs.append((offset, length, b, h.aio_pread(b, offset)))
nbdtest.aio_wait(h)
for offset, length, b, cookie in bufs:
    h.aio_command_completed(cookie)           # raises on error
    got = b.to_bytearray()
    if got != model[offset:offset + length]:
        fail("aio_pread", offset, length, got)

h.flush()

# Whole export through NBD, then the file itself.
pos = 0
while pos < size:
    n = min(4 * 1024 * 1024, size - pos)
    check_read(pos, n, "final read")
    pos += n
h.shutdown()

disk = nbdtest.read_file(remote)
if len(disk) != size:
    nbdtest.fail("remote file is now %d bytes, expected %d" % (len(disk), size))
if disk != model:
    first = next(i for i in range(size) if disk[i] != model[i])
    nbdtest.fail("remote file differs from the model at byte %d; seed %d"
                 % (first, seed))
with open("model.bin", "wb") as f:
    f.write(model)
print("random_io: OK", flush=True)
