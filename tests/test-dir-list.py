# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-dir.sh: test-dir-list.py DIR PORT

DIR/list.json, the output of nbdinfo --list --json for dir=DIR/exp:
exactly a.img (1 MiB) and b.img (2 MiB + 77 bytes), each described
by its ssh:// URI (root@127.0.0.1:PORT)."""

import json
import sys

d, port = sys.argv[1], sys.argv[2]
with open(d + "/list.json") as f:
    j = json.load(f)
names = sorted(e["export-name"] for e in j["exports"])
if names != ["a.img", "b.img"]:
    sys.exit("FAIL: exports %s" % names)
for e in j["exports"]:
    want = "ssh://root@127.0.0.1:%s%s/exp/%s" % (port, d, e["export-name"])
    if not e.get("description", "").startswith(want):
        sys.exit("FAIL: description %r, want %r" % (e.get("description"), want))
    size = {"a.img": 1048576, "b.img": 2097229}[e["export-name"]]
    if e["export-size"] != size:
        sys.exit("FAIL: size of %s" % e["export-name"])
print("list ok:", names)
