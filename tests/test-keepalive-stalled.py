# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-keepalive.sh: test-keepalive-stalled.py URI dead|kept

The server stalls while the client idles.  dead: only the sftp-server
is stopped (its sshd still answers SSH keepalives); nbdkit's log
($LOG) must say "is dead" within 30 s, and the next read reconnects
with the right data.  kept (keepalive-count=0): every process of the
connection is stopped; nothing is declared dead in 8 s, and once they
resume the same connection reads the right data."""

import os
import signal
import sys
import time

import nbdtest
from sshdprocs import stop, cont, resume_and_wait, sftp_servers

log, expect_dead = os.environ["LOG"], sys.argv[2] == "dead"
h = nbdtest.connect(sys.argv[1])
a = h.pread(4096, 0)
if expect_dead:
    # Only the sftp-server: its sshd would still answer SSH keepalives.
    stopped = sftp_servers()
    if len(stopped) != 1:
        nbdtest.fail("expected one sftp-server, found %s" % stopped)
    os.kill(stopped[0], signal.SIGSTOP)
else:
    stopped = stop(False)


def log_says_dead():
    with open(log) as f:
        return "is dead" in f.read()


try:
    # Dead after (N + 1) keepalive intervals; wait for the message
    # (bounded), or give the count=0 case the same time and more.
    t0 = time.monotonic()
    dead = nbdtest.wait_until(log_says_dead, 30 if expect_dead else 8, 0.2)
    print("dead: %s after %.1f s" % (dead, time.monotonic() - t0), flush=True)
    if dead != expect_dead:
        nbdtest.fail("expected dead=%s" % expect_dead)
    if not expect_dead:
        cont(stopped)
        stopped = []
    # Dead: the next request reconnects (the old processes are still
    # stopped); alive: it uses the resumed connection.
    if h.pread(4096, 0) != a:
        nbdtest.fail("read after the stall differs")
finally:
    # The processes of the abandoned connection exit once resumed.
    resume_and_wait(stopped)
