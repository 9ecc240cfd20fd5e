# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-hostile-dir.sh: test-hostile-dir-names.py

Creates, in exp/ (current directory), 4 KiB files whose names hold
control characters, bad UTF-8 or a backslash."""

names = [b"esc\x1b[31m.img", b"nl\nname.img", b"tab\tname.img",
         b"bad-\xff.img", b"c1-\xc2\x9b.img", b"del\x7f.img",
         b"back\\slash.img"]
for n in names:
    with open(b"exp/" + n, "wb") as f:
        f.write(b"x" * 4096)
