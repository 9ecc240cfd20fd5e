# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""What the tests' Python clients (tests/*.py) share: connecting to the
nbdkit a test started, reading the remote file directly, checking
reads, expecting an NBD error, bounded waits.  Plain stdlib and the
libnbd bindings (Debian's /usr/bin/python3: python3-libnbd).

A test script runs a client under nbdkit's --run, which gives the URI:

    run_plugin path="$remote" \\
        --run '/usr/bin/python3 "$srcdir/test-x-what.py" "$uri"'

tests/functions.sh exports srcdir (the tests directory) and puts it on
PYTHONPATH, so "import nbdtest" and "import sshdprocs" work from any
directory (the build tree of make distcheck too).

Failures exit with "FAIL: ..." (sys.exit: status 1, the message on
stderr), as the tests' scripts always did.
"""

import errno
import hashlib
import os
import sys
import time

import nbd

KiB = 1024
MiB = 1024 * 1024


def fail(message):
    """Exit the test: "FAIL: MESSAGE" on stderr, status 1."""
    sys.exit("FAIL: " + message)


# ----------------------------------------------------------------------
# Connecting.

def connect(uri=None):
    """A new handle connected to URI: an NBD URI (nbdkit --run's $uri),
    or the path of a Unix socket (--run's $unixsocket).  Without URI:
    the script's first argument."""
    if uri is None:
        if len(sys.argv) < 2:
            fail("%s: no NBD URI given" % sys.argv[0])
        uri = sys.argv[1]
    h = nbd.NBD()
    if uri.startswith("/"):
        h.connect_unix(uri)
    else:
        h.connect_uri(uri)
    return h


# ----------------------------------------------------------------------
# The remote file, seen directly (the test sshd serves a local file).

def read_file(path, off=0, n=-1):
    """N bytes of the file PATH from OFF (all of the rest by default)."""
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def write_file(path, off, data):
    """DATA written over the file PATH at OFF (the file keeps its size
    otherwise): e.g. the old bytes put back, as a server crash would."""
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(data)


# ----------------------------------------------------------------------
# Data.

def fill_filesystem(path):
    """Append zeros to PATH until its file system has no room left
    (ENOSPC), in ever smaller pieces down to 4 KiB.  Returns PATH's
    size."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = bytes(MiB)
        while len(chunk) >= 4 * KiB:
            try:
                os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                chunk = chunk[:len(chunk) // 2]
    finally:
        os.close(fd)
    return os.path.getsize(path)


def first_difference(a, b):
    """The first index where the byte strings A and B differ (the
    shorter length if one is a prefix of the other), or None."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return None if len(a) == len(b) else n


def pattern(n, first=0):
    """N bytes counting up from FIRST, modulo 256: a pattern that shows
    a misplaced or shifted piece."""
    return bytes((first + j) % 256 for j in range(n))


def sha256(data):
    """Hex SHA-256 of DATA."""
    return hashlib.sha256(data).hexdigest()


def nbd_sha256(h, off, n, step=4 * MiB):
    """Hex SHA-256 of N bytes read through the handle H from OFF, in
    requests of at most STEP bytes."""
    d = hashlib.sha256()
    end = off + n
    while off < end:
        k = min(step, end - off)
        d.update(h.pread(k, off))
        off += k
    return d.hexdigest()


def check_read(h, off, n, want, message):
    """Read N bytes at OFF through H; exit with "FAIL: MESSAGE" unless
    they are WANT (a model's bytes: want[off:off + n] for a model of
    the whole file)."""
    if h.pread(n, off) != want:
        fail(message)


def aio_wait(h):
    """Poll H until none of its aio commands is in flight."""
    while h.aio_in_flight() > 0:
        h.poll(-1)


# ----------------------------------------------------------------------
# Errors.

def errno_name(e):
    return errno.errorcode.get(e, str(e))


def expect_error(fn, errnums, if_ok, what=None):
    """Call fn(), which must fail with an nbd.Error whose errno is
    ERRNUMS (one errno, or a tuple of the allowed ones).  If it
    succeeds: exit with "FAIL: IF_OK".  Another errno: exit with
    "FAIL: [WHAT: ]expected ENAME, got ERROR".  Returns the error."""
    if isinstance(errnums, int):
        errnums = (errnums,)
    try:
        fn()
    except nbd.Error as e:
        if e.errnum not in errnums:
            fail("%sexpected %s, got %s"
                 % (what + ": " if what else "",
                    " or ".join(errno_name(x) for x in errnums), e))
        return e
    fail(if_ok)


# ----------------------------------------------------------------------
# Waiting.

def wait_until(cond, seconds, interval=0.1):
    """Call cond() every INTERVAL seconds until it returns true, for at
    most SECONDS.  Returns its last value (false if time ran out)."""
    deadline = time.monotonic() + seconds
    while True:
        r = cond()
        if r or time.monotonic() >= deadline:
            return r
        time.sleep(interval)

