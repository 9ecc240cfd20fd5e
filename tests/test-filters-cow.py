# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-filters.sh: test-filters-cow.py URI

Through nbdkit's cow filter: the export is writable and the size of
orig.img (current directory, a copy of the remote file); pattern
writes and a zeroed range read back as written.  (The test then
checks that the remote file is unchanged.)"""

import sys

import nbdtest

orig = nbdtest.read_file("orig.img")
size = len(orig)
h = nbdtest.connect(sys.argv[1])
assert h.get_size() == size, (h.get_size(), size)
assert not h.is_read_only(), "cow export is read-only"

model = bytearray(orig)
writes = [(0, 1), (12345, 6789), (1048575, 65537), (size - 1000, 1000),
          (2000000, 4096)]
for i, (off, n) in enumerate(writes):
    buf = nbdtest.pattern(n, 0x41 + i)
    h.pwrite(buf, off)
    model[off:off + n] = buf
# (nbdkit 1.32's cow filter does not advertise zero, whatever the plugin.)
if h.can_zero():
    h.zero(5000, 3000000)
else:
    h.pwrite(bytes(5000), 3000000)
model[3000000:3005000] = bytes(5000)
h.flush()

for off, n in writes + [(0, size), (2999999, 5002)]:
    nbdtest.check_read(h, off, n, model[off:off + n],
                       "cow read-back differs at offset %d length %d"
                       % (off, n))
h.shutdown()
print("cow: OK")
