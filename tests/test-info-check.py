# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-info.sh: test-info-check.py JSONFILE KEY=VALUE...

JSONFILE is nbdinfo --json's output; each VALUE (JSON: true, false, a
number) must be the value of KEY in its first export, with the same
type.  Exits 1, printing the whole JSON, if one is not."""

import json
import sys

path = sys.argv[1]
with open(path) as f:
    info = json.load(f)
exp = info["exports"][0]
bad = 0
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    want = json.loads(v)
    got = exp.get(k, "<missing>")
    print("%s: %s = %r (expected %r)" % (path, k, got, want))
    if got != want or type(got) != type(want):
        print("FAIL: %s: %s is %r, expected %r" % (path, k, got, want))
        bad = 1
if bad:
    print(json.dumps(info, indent=2))
sys.exit(bad)
