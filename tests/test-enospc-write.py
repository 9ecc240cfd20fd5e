# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-enospc.sh: test-enospc-write.py URI  (write-behind=0)

The remote file ($REMOTE) is a sparse 16 MiB file on an 8 MiB tmpfs,
written in 1 MiB chunks.  The write that runs out of space fails with
ENOSPC, somewhere from 4 to 8 MiB; everything written before it is
intact, nothing is written after it, the connection still works, and
once space is freed (the file $FILLER removed) the same write
succeeds on the same connection."""

import errno
import os
import random
import sys

import nbd
import nbdtest

remote = os.environ["REMOTE"]
filler = os.environ["FILLER"]
MiB = nbdtest.MiB
size = 16 * MiB
model = bytearray(size)
rng = random.Random(28)
h = nbdtest.connect(sys.argv[1])
if h.get_size() != size:
    nbdtest.fail("size %d, expected %d" % (h.get_size(), size))

failed = None
for off in range(0, size, MiB):
    buf = rng.randbytes(MiB)
    try:
        h.pwrite(buf, off)
    except nbd.Error as e:
        print("write at %d MiB: %s" % (off // MiB, e))
        if e.errnum != errno.ENOSPC:
            nbdtest.fail("expected ENOSPC (28), got errnum %s: %s"
                         % (e.errnum, e))
        failed, failed_buf = off, buf
        break
    model[off:off + MiB] = buf
if failed is None:
    nbdtest.fail("16 MiB written to an 8 MiB tmpfs without an error")
if not 4 * MiB <= failed <= 8 * MiB:
    nbdtest.fail("the first error came at %d MiB (expected 4..8)"
                 % (failed // MiB))


def check_file(what, partial):
    data = nbdtest.read_file(remote)
    if len(data) != size:
        nbdtest.fail("%s: remote file has %d bytes" % (what, len(data)))
    if data[:failed] != model[:failed]:
        first = nbdtest.first_difference(data[:failed], model[:failed])
        nbdtest.fail("%s: data written before the error differs at %d"
                     % (what, first))
    chunk = data[failed:failed + MiB]
    if partial:
        # The failed write may have landed in part: every byte is the
        # old (zero) or the new one.
        for i in range(0, MiB, 4096):
            a, n = chunk[i:i + 4096], failed_buf[i:i + 4096]
            if a != n and a != bytes(4096):
                for j in range(4096):
                    if a[j] != 0 and a[j] != n[j]:
                        nbdtest.fail("%s: byte %d of the failed write "
                                     "is neither old nor new"
                                     % (what, failed + i + j))
    elif chunk != model[failed:failed + MiB]:
        nbdtest.fail("%s: the retried write is not in the file" % what)
    if data[failed + MiB:] != model[failed + MiB:]:
        nbdtest.fail("%s: data after the failed write changed" % what)


check_file("after ENOSPC", True)

# The connection still works: a read and a write of what fits (no-op
# rewrite of an allocated block).
if h.pread(MiB, 0) != model[:MiB]:
    nbdtest.fail("read after ENOSPC differs")
h.pwrite(bytes(model[MiB:MiB + 4096]), MiB)

# Space freed: the same write succeeds now, on the same connection.
os.unlink(filler)
h.pwrite(failed_buf, failed)
model[failed:failed + MiB] = failed_buf
h.flush()
check_file("after freeing space", False)
h.shutdown()
print("enospc: ok, the write at %d MiB ran out of space" % (failed // MiB))
