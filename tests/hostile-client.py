# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""The client side of tests/test-hostile-*.sh, run under nbdkit's --run:

    hostile-client.py URI MODE EXPECT

Connects to URI (the server in normal mode), switches
tests/fake-sftp-server.py to MODE (the file $MODEFILE), and checks
EXPECT:

  data          reads all over the file return $DISK's bytes, writes
                read back
  small         like data, with few requests (for a slow server)
  eio[@OFF]     a read (at OFF, else 0) fails with EIO
  write-eio     a write (or with write-behind the flush after it) fails
                with EIO, and the file is unchanged
  write-eio-now the same, but the write itself fails: the export has
                no flush to report it later
  rss           only the $MAX_RSS_MB check below (URI and MODE unused)

Then it switches back to normal and checks that the same nbdkit still
serves the whole file correctly (reconnecting if it must), prints how
long the faulty part took, and with $MAX_SECONDS fails if it took
longer.  With $MAX_RSS_MB it fails if nbdkit's peak RSS went over it.
"""

import errno
import os
import sys
import time

import nbd

uri, mode, expect = sys.argv[1:4]
modefile = os.environ["MODEFILE"]
disk = open(os.environ["DISK"], "rb").read() if expect != "rss" else b""
size = len(disk)


def set_mode(m):
    with open(modefile + ".tmp", "w") as f:
        f.write(m + "\n")
    os.rename(modefile + ".tmp", modefile)


def fail(msg):
    set_mode("normal")
    sys.exit("FAIL: %s: %s" % (mode, msg))


def check_read(h, n, off):
    got = h.pread(n, off)
    if got != disk[off:off + n]:
        fail("read of %d bytes at %d returned wrong data" % (n, off))


def expect_error(fn, want, what):
    try:
        fn()
    except nbd.Error as e:
        # The bindings give errno as a number or as its name.
        got = errno.errorcode.get(e.errno, e.errno)
        if got != errno.errorcode[want]:
            fail("%s failed with %s (errno %s), expected %s"
                 % (what, e, e.errno, errno.errorcode[want]))
        print("%s failed as expected: %s" % (what, e))
        return
    fail("%s succeeded, expected %s" % (what, errno.errorcode[want]))


def nbdkit_rss_mb():
    """Peak RSS of the nbdkit serving us: the oldest ancestor that is
    nbdkit (nbdkit forks once to run this command)."""
    pid, found = os.getpid(), None
    while pid > 1:
        try:
            exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
            with open("/proc/%d/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        if exe == "nbdkit":
            found = pid
        pid = ppid
    if found is None:
        return None
    with open("/proc/%d/status" % found) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return None


def check_rss():
    max_rss = os.environ.get("MAX_RSS_MB")
    rss = nbdkit_rss_mb()
    print("nbdkit peak RSS: %s MiB" % rss)
    if max_rss and rss is not None and rss > int(max_rss):
        fail("nbdkit's peak RSS is %d MiB, more than %s MiB" % (rss, max_rss))


if expect == "rss":
    check_rss()
    sys.exit(0)

h = nbd.NBD()
h.connect_uri(uri)
if h.get_size() != size:
    fail("size %d, expected %d" % (h.get_size(), size))

set_mode(mode)
start = time.monotonic()
if expect == "data":
    for off, n in ((0, 4096), (65536 * 3 + 100, 70000), (size - 70000, 70000),
                   (12345, 1)):
        check_read(h, n, off)
    # Sequential, so that read-ahead is used.
    for off in range(0, size, 256 * 1024):
        check_read(h, min(256 * 1024, size - off), off)
    block = os.urandom(100000)
    h.pwrite(block, 5000)
    disk = disk[:5000] + block + disk[5000 + len(block):]
    if h.can_flush():
        h.flush()
    check_read(h, 200000, 0)
elif expect == "small":
    check_read(h, 4096, 0)
    check_read(h, 4096, size - 4096)
    block = os.urandom(4096)
    h.pwrite(block, 8192)
    disk = disk[:8192] + block + disk[8192 + len(block):]
    if h.can_flush():
        h.flush()
    check_read(h, 16384, 0)
elif expect.startswith("eio"):
    off = int(expect[4:]) if expect.startswith("eio@") else 0
    expect_error(lambda: h.pread(65536, off), errno.EIO,
                 "read at %d" % off)
elif expect == "write-eio":
    # With write-behind the write is acknowledged and the flush after
    # it reports the failure.
    def write_and_flush():
        h.pwrite(b"\xee" * 70000, 4096)
        h.flush()
    expect_error(write_and_flush, errno.EIO, "write")
elif expect == "write-eio-now":
    if h.can_flush():
        fail("the export can flush")
    expect_error(lambda: h.pwrite(b"\xee" * 70000, 4096), errno.EIO, "write")
else:
    fail("unknown EXPECT %s" % expect)
elapsed = time.monotonic() - start
print("%s: %s took %.1f s" % (mode, expect, elapsed))
max_seconds = os.environ.get("MAX_SECONDS")
if max_seconds and elapsed > float(max_seconds):
    fail("took %.1f s, more than %s s" % (elapsed, max_seconds))

# The same nbdkit still serves, and the file is as expected.
set_mode("normal")
check_read(h, size, 0)
if expect not in ("data", "small") and open(os.environ["DISK"], "rb").read() != disk:
    fail("the remote file changed")
h.shutdown()
check_rss()
