#!/usr/bin/env bash
# Flush stays honest across a reconnect.  A write acknowledged on a
# session that then dies was never fsynced: the server (or its disk)
# may have dropped it.  Here the test drops it itself, by putting the
# old bytes back in the remote file, then kills the server side of the
# connections.  A flush must then fail (EIO) rather than report
# success with the old bytes in place; on one connection, and with
# multi-conn on another connection than the one that wrote.  A FUA
# write after the reconnect is durable and succeeds; later flushes
# work again.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 4

cat > flush.py <<'PYEOF'
import errno, os, sys
import nbd
import sshdprocs

remote = os.environ["REMOTE"]
uri = sys.argv[1]

def put_back(off, data):
    """What a server crash does to writes not yet on disk."""
    with open(remote, "r+b") as f:
        f.seek(off)
        f.write(data)

def remote_bytes(off, n):
    with open(remote, "rb") as f:
        f.seek(off)
        return f.read(n)

def flush_must_not_lie(h, off, new, what):
    try:
        h.flush()
    except nbd.Error as e:
        if e.errnum != errno.EIO:
            sys.exit("FAIL: %s: expected EIO, got %s" % (what, e))
        print("%s: flush failed as it must: %s" % (what, e))
        return
    if remote_bytes(off, len(new)) != new:
        sys.exit("FAIL: %s: flush reported success, but the acknowledged "
                 "write is not in the file" % what)

h = nbd.NBD()
h.connect_uri(uri)
assert h.can_flush() and h.can_multi_conn()

# 1. One connection.
off = 65536
old = remote_bytes(off, 4096)
new = os.urandom(4096)
h.pwrite(new, off)
h.pread(4096, off)      # the server has acknowledged it (write-behind)
put_back(off, old)
sshdprocs.kill_connections()
flush_must_not_lie(h, off, new, "one connection")

# The connection works again, and a flush after new writes succeeds.
h.pwrite(new, off)
h.flush()
assert remote_bytes(off, 4096) == new

# 2. A FUA write after a reconnect is durable: it succeeds.
sshdprocs.kill_connections()
fua = os.urandom(4096)
h.pwrite(fua, 2 * off, nbd.CMD_FLAG_FUA)
assert remote_bytes(2 * off, 4096) == fua
h.flush()

# 3. Multi-conn: h writes, the server dies under both connections, h2
# flushes.  The flush covers h's write, which may be lost.
h2 = nbd.NBD()
h2.connect_uri(uri)
assert h2.pread(4096, 0) == remote_bytes(0, 4096)
off = 3 * 65536
old = remote_bytes(off, 4096)
new = os.urandom(4096)
h.pwrite(new, off)
h.pread(4096, off)      # the server has acknowledged it (write-behind)
put_back(off, old)
sshdprocs.kill_connections()
flush_must_not_lie(h2, off, new, "multi-conn")
h2.flush()
h.shutdown()
h2.shutdown()
print("flush-reconnect: ok")
PYEOF

export REMOTE="$SSHD_DIR/disk.img"
run_plugin path="$REMOTE" \
    --run '/usr/bin/python3 flush.py "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "never fsynced and may be lost"
