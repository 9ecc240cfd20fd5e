# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-permissions-write-denied.sh and -multi-conn.sh:
test-permissions-probe.py FILE

Exits 0 if chattr +i on FILE, held open for writing, makes a write
through that descriptor fail with EPERM (the file system supports the
immutable flag on open files); 1 otherwise."""

import os
import subprocess
import sys

f = sys.argv[1]
fd = os.open(f, os.O_RDWR)
if subprocess.run(["chattr", "+i", f]).returncode != 0:
    sys.exit(1)
try:
    os.pwrite(fd, b"x", 0)
    r = 1
except PermissionError:
    r = 0
subprocess.run(["chattr", "-i", f], check=True)
sys.exit(r)
