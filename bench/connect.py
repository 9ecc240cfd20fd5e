#!/usr/bin/python3
# Connection set-up time, for bench.sh's connect case.
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
#   connect.py URI
#
# Runs "nbdinfo --size URI" twice in a row against the same (freshly
# started) nbdkit and times each run (the process, start to exit).
# The first pays nbdkit's first SSH connection; the second comes right
# after the first has disconnected (with idle-keep=, the plugin may
# serve it from the SSH session the first left warm).  Prints:
#
#   first_secs=S second_secs=S size=BYTES

import subprocess
import sys
import time


def once(uri):
    t0 = time.monotonic()
    r = subprocess.run(["nbdinfo", "--size", uri], stdout=subprocess.PIPE,
                       check=True)
    return time.monotonic() - t0, int(r.stdout.decode().strip())


def main():
    uri = sys.argv[1]
    first, size1 = once(uri)
    second, size2 = once(uri)
    if size1 != size2:
        sys.exit("connect.py: sizes differ: %d, then %d" % (size1, size2))
    print("first_secs=%.4f second_secs=%.4f size=%d" % (first, second, size1))


if __name__ == "__main__":
    main()
