# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-hostile-dir.sh: test-hostile-dir-list.py

list.json (current directory), nbdinfo --list --json of exp/: only the
names that are plain text are listed."""

import json
import sys

with open("list.json") as f:
    j = json.load(f)
names = sorted(e["export-name"] for e in j["exports"])
want = ["back\\slash.img", "café.img", "good.img"]
if names != want:
    sys.exit("FAIL: exports %r, expected %r" % (names, want))
print("list ok:", names)
