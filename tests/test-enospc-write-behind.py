# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-enospc.sh: test-enospc-write-behind.py URI

As test-enospc-write.py, with write-behind (the default): the failure
is reported by a later write or by the flush, and nbdkit's message in
nbdkit.err (current directory) names the write that failed; nothing
acknowledged before it is missing; the failure is reported until a
flush reports it; with room again ($FILLER removed, the tmpfs grown
to 32 MiB) everything written again is in the file ($REMOTE)."""

import errno
import os
import random
import re
import subprocess
import sys

import nbd
import nbdtest

remote, filler = os.environ["REMOTE"], os.environ["FILLER"]
MiB = nbdtest.MiB
size = 16 * MiB
model = bytearray(size)
rng = random.Random(29)
h = nbdtest.connect(sys.argv[1])


def expect_enospc(what, fn):
    try:
        fn()
    except nbd.Error as e:
        if e.errnum != errno.ENOSPC:
            nbdtest.fail("%s: expected ENOSPC, got %s" % (what, e))
        return True
    return False


reported = None
for off in range(0, size, MiB):
    buf = rng.randbytes(MiB)
    if expect_enospc("write", lambda: h.pwrite(buf, off)):
        reported = off
        break
    model[off:off + MiB] = buf
if reported is None:
    if not expect_enospc("flush", h.flush):
        nbdtest.fail("16 MiB written to an 8 MiB tmpfs without an error")
    reported = size
# Where it failed, from nbdkit's message.
with open("nbdkit.err") as f:
    m = re.search(r"an earlier write of \d+ bytes at offset (\d+)", f.read())
if m is None:
    nbdtest.fail("nbdkit did not say which write failed")
failed = int(m.group(1))
print("write at %d failed, reported at %d MiB" % (failed, reported // MiB))
if not 4 * MiB <= failed < 9 * MiB or failed > reported:
    nbdtest.fail("the failed write is at %d" % failed)
data = nbdtest.read_file(remote)
if data[:failed] != model[:failed]:
    nbdtest.fail("data acknowledged before the failed write is missing")

# Reported until a flush reports it: the next write fails too, then
# the flush; after it writes work again.
if reported < size and not expect_enospc("write", lambda: h.pwrite(b"x", 0)):
    nbdtest.fail("the write after the failure succeeded")
if reported < size and not expect_enospc("flush", h.flush):
    nbdtest.fail("the flush after the failure succeeded")
# Room again, for all of it: the writes acknowledged after the failed
# one (how many depends on how fast the server answered) need more
# than the 8 MiB file system holds.
os.unlink(filler)
subprocess.run(["mount", "-o", "remount,size=32m", os.path.dirname(remote)],
               check=True)
start = failed - failed % MiB
for off in range(start, reported, MiB):   # what was acknowledged
    h.pwrite(bytes(model[off:off + MiB]), off)
h.flush()
h.shutdown()
if nbdtest.read_file(remote) != model:
    nbdtest.fail("the file differs after writing again")
print("enospc write-behind: ok")
