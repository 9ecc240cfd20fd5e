# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-qemu-io.sh: test-qemu-io-model.py SIZE "PATTERN OFFSET LENGTH"...

Writes model.img (current directory): orig.img (SIZE bytes) with each
write applied (LENGTH bytes of the byte PATTERN, hex, at OFFSET) and
the 4097 bytes at 777777 zeroed, as the test's qemu-io commands do."""

import sys

size = int(sys.argv[1])
with open("orig.img", "rb") as f:
    model = bytearray(f.read())
assert len(model) == size
for w in sys.argv[2:]:
    pat, off, length = w.split()
    off, length = int(off), int(length)
    model[off:off + length] = bytes([int(pat, 16)]) * length
model[777777:777777 + 4097] = bytes(4097)
assert len(model) == size
with open("model.img", "wb") as f:
    f.write(model)
