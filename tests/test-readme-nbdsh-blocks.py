# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-readme-nbdsh.sh: test-readme-nbdsh-blocks.py README

Prints the ```sh code blocks of README that run nbdsh -u "$uri" -c,
each followed by a line "----"."""

import re
import sys

with open(sys.argv[1]) as f:
    text = f.read()
blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
found = [b for b in blocks if 'nbdsh -u "$uri" -c' in b]
for b in found:
    sys.stdout.write(b)
    sys.stdout.write("----\n")
