# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-multi-conn.sh: test-multi-conn.py URI

Multi-conn coherence over four connections, against the remote file
($REMOTE): (1, if $PART holds 1) h1 reads sequentially (read-ahead
starts), h2 writes 512 bytes ahead of h1's position and flushes, h1
must read them: 24 trials; (2, if $PART holds 2) random and sequential
reads, writes and flushes checked against a model of what NBD
promises ($SEED: 1).  $PART: 12 by default."""

import os
import random
import sys

import nbdtest

uri = sys.argv[1]
KiB = nbdtest.KiB
hs = [nbdtest.connect(uri) for i in range(4)]
assert hs[0].can_multi_conn()
size = hs[0].get_size()
disk = bytearray(nbdtest.read_file(os.environ["REMOTE"]))

# 1. Targeted.
part = os.environ.get("PART", "12")
h1, h2 = hs[0], hs[1]
stale = 0
for trial in range(24 if "1" in part else 0):
    base = trial * 512 * KiB
    for i in range(6):
        off = base + i * 64 * KiB
        assert h1.pread(64 * KiB, off) == disk[off:off + 64 * KiB]
    target = base + 6 * 64 * KiB + 128 * KiB
    data = os.urandom(512)
    h2.pwrite(data, target)
    disk[target:target + 512] = data
    h2.flush()
    # h1 goes on reading sequentially up to and past the new bytes.
    for i in range(6, 12):
        off = base + i * 64 * KiB
        got = h1.pread(64 * KiB, off)
        if got != disk[off:off + 64 * KiB]:
            stale += 1
            print("trial %d: h1 read stale data at %d after h2's write "
                  "and flush" % (trial, off))
if stale:
    nbdtest.fail("stale reads in %d of 24 trials" % stale)
print("targeted: ok")

# 2. The model.  Per 512-byte block: its value now (disk), the
# connection that wrote it last, and the older values written since
# the last flush, which another connection may still see until a flush
# completes.  The writer itself must see its own write.
rng = random.Random(int(os.environ.get("SEED", "1")))
B = 512
nb = size // B
prev = {}                       # block -> older values still allowed
writer = {}                     # block -> connection that wrote it last


def check(i, off, got):
    for k in range(len(got) // B):
        b = off // B + k
        want = disk[b * B:(b + 1) * B]
        piece = got[k * B:(k + 1) * B]
        if piece == want:
            continue
        if writer.get(b) != i and piece in prev.get(b, ()):
            continue            # not flushed yet: an old value is allowed
        nbdtest.fail("connection %d read wrong data at block %d" % (i, b))


# Each connection reads a sequential stream now and then (so it has
# read-ahead in flight), interleaved with the others' random reads,
# writes (often just ahead of some stream) and flushes.
cursor = [rng.randrange(nb // 2) * B for _ in hs]
for op in range(2000 if "2" in part else 0):
    i = rng.randrange(4)
    h = hs[i]
    r = rng.random()
    if r < 0.4:                 # go on with this connection's stream
        if cursor[i] + 32 * KiB > size:
            cursor[i] = 0
        check(i, cursor[i], h.pread(32 * KiB, cursor[i]))
        cursor[i] += 32 * KiB
    elif r < 0.5:
        n = rng.randrange(1, 64) * B
        off = rng.randrange(nb - n // B) * B
        check(i, off, h.pread(n, off))
        cursor[i] = off + n     # where a stream would go on
    elif r < 0.9:
        n = rng.randrange(1, 16) * B
        if rng.random() < 0.7:  # just ahead of some stream
            off = cursor[rng.randrange(4)] + rng.randrange(2048) * B
            off = min(off, size - n)
        else:
            off = rng.randrange(nb - n // B) * B
        data = rng.randbytes(n)
        h.pwrite(data, off)
        for k in range(n // B):
            b = off // B + k
            prev.setdefault(b, []).append(bytes(disk[b * B:(b + 1) * B]))
            writer[b] = i
        disk[off:off + n] = data
    else:
        h.flush()
        prev.clear()
for h in hs:
    h.flush()
    h.shutdown()
if nbdtest.read_file(os.environ["REMOTE"]) != disk:
    nbdtest.fail("the remote file differs from the model")
print("model: ok")
