# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-write-behind-drain.sh: test-write-behind-drain.py URI

A drain that waits for a stalled connection does not hold up the
others: while a flush on one connection (h2) waits for another
connection's writes (h1, its server stopped), a new NBD connection
(nbdinfo --size) opens at once, long before timeout= (40) would end
the wait.  Then the server resumes and the flush succeeds."""

import os
import subprocess
import sys
import threading
import time

import nbd
import nbdtest
import sshdprocs

uri = sys.argv[1]
h1 = nbdtest.connect(uri)
h2 = nbdtest.connect(uri)
h1.pread(4096, 0)
h2.pread(4096, 0)
stopped = sshdprocs.stop(False)
h1.pwrite(os.urandom(65536), 0)          # acknowledged, then stalled
result = []


def flush():
    try:
        h2.flush()                       # waits for h1's write
        result.append("ok")
    except nbd.Error as e:
        result.append(str(e))


t = threading.Thread(target=flush)
t.start()
time.sleep(1)
t0 = time.monotonic()
r = subprocess.run(["nbdinfo", "--size", uri], stdout=subprocess.PIPE,
                   timeout=120)
elapsed = time.monotonic() - t0
sshdprocs.cont(stopped)
t.join(120)
print("nbdinfo took %.1f s while a flush waited; the flush: %s"
      % (elapsed, result))
if r.returncode != 0:
    nbdtest.fail("nbdinfo failed")
if result != ["ok"]:
    nbdtest.fail("the flush did not succeed: %s" % result)
if elapsed > 20:
    nbdtest.fail("a new connection waited %.1f s for another "
                 "connection's drain (timeout=40)" % elapsed)
h1.shutdown()
h2.shutdown()
