# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-jump-idle.sh: test-jump-idle.py URI PIDFILE DISK

After 4 MiB read sequentially through a jump host (read-ahead asks for
more), nbdkit (its pid in PIDFILE) uses less than 1 s of CPU in 5 s of
idle; the connection then still reads DISK's bytes."""

import os
import sys
import time

import nbdtest

uri, pidfile, disk = sys.argv[1], sys.argv[2], sys.argv[3]
h = nbdtest.connect(uri)
with open(pidfile) as f:
    pid = f.read().strip()


def cpu():
    # user + system CPU seconds of nbdkit (fields 14 and 15).
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# 4 MiB read sequentially: read-ahead asks for more.
data = b"".join(h.pread(256 * 1024, off)
                for off in range(0, 4 << 20, 256 * 1024))
assert data == nbdtest.read_file(disk, 0, 4 << 20)
time.sleep(1)
before = cpu()
time.sleep(5)
used = cpu() - before
print("nbdkit CPU while idle for 5 s: %.2f s" % used)
assert used < 1.0, "the forwarder spins: %.2f s of CPU in 5 s idle" % used
# And the connection still works.
assert h.pread(65536, 8 << 20) == nbdtest.read_file(disk, 8 << 20, 65536)
