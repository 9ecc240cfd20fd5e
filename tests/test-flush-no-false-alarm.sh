#!/usr/bin/env bash
# No false alarm: a flush fails only when an acknowledged write may
# really be missing.
#
# 1. A writes (the server acknowledges it), B flushes: the fsync covers
#    A's write too (multi-conn).  Then the server side of both sessions
#    dies; both reconnect.  The next flush on A and on B succeeds, and
#    the data is in the file.  (The old code counted any reconnect
#    while some connection had unflushed writes as a loss, and only
#    the flushing connection's writes as fsynced: both flushes failed
#    with EIO although every byte was there.)
# 2. A's acknowledged write is not fsynced and A's session is alive;
#    B's session breaks.  B's flush, on its new session, cannot vouch
#    for A's write, so it fsyncs on A's session first: it succeeds,
#    and so does A's.  (Old code: both failed.)
# 3. The same, but A's session died too: now the write may really be
#    lost (the test puts the old bytes back, as a crash would), and
#    the flush must fail (EIO).

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test finds a
# connection's sftp-server, or counts sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
make_random_file disk.img 4
export REMOTE="$SSHD_DIR/disk.img"

cat > alarm.py <<'PYEOF'
import errno, os, signal, sys, time
import nbd
import sshdprocs

remote = os.environ["REMOTE"]
uri = sys.argv[1]

def remote_bytes(off, n):
    with open(remote, "rb") as f:
        f.seek(off)
        return f.read(n)

def conn():
    h = nbd.NBD()
    h.connect_uri(uri)
    return h

def flush_ok(h, what):
    try:
        h.flush()
    except nbd.Error as e:
        sys.exit("FAIL: %s: false alarm, nothing was lost: %s" % (what, e))

def kill_newest_sftp_server():
    """The server side of the newest session only."""
    p = max(sshdprocs.sftp_servers())
    os.kill(p, signal.SIGKILL)
    for _ in range(100):
        if not sshdprocs.alive(p):
            return
        time.sleep(0.1)
    sys.exit("FAIL: sftp-server %d did not die" % p)

# 1.
a, b = conn(), conn()
assert a.can_multi_conn()
data = os.urandom(65536)
a.pwrite(data, 0)
assert a.pread(65536, 0) == data     # acknowledged by the server
b.flush()                            # covers A's write
sshdprocs.kill_connections()
flush_ok(a, "1: A after both sessions died")
flush_ok(b, "1: B after both sessions died")
assert remote_bytes(0, 65536) == data
print("1: ok", flush=True)

# 2.  B is the newest session: its sftp-server dies alone.
a.shutdown()
b.shutdown()
a = conn()
b = conn()
data = os.urandom(65536)
a.pwrite(data, 65536)
assert a.pread(65536, 65536) == data
kill_newest_sftp_server()
flush_ok(b, "2: B after its own session died")
flush_ok(a, "2: A, whose session lived")
assert remote_bytes(65536, 65536) == data
print("2: ok", flush=True)

# 3.  A's session dies too, and its write with it.
data = os.urandom(65536)
old = remote_bytes(131072, 65536)
a.pwrite(data, 131072)
assert a.pread(65536, 131072) == data
with open(remote, "r+b") as f:       # what a crash does to page cache
    f.seek(131072)
    f.write(old)
sshdprocs.kill_connections()
try:
    b.flush()
    if remote_bytes(131072, 65536) != data:
        sys.exit("FAIL: 3: the flush succeeded, but A's acknowledged "
                 "write is not in the file")
except nbd.Error as e:
    if e.errnum != errno.EIO:
        sys.exit("FAIL: 3: expected EIO, got %s" % e)
    print("3: the flush failed as it must: %s" % e, flush=True)
b.flush()
a.shutdown()
b.shutdown()
print("no-false-alarm: ok")
PYEOF
run_plugin -v idle-keep=0 retries=3 path="$REMOTE" \
    --run '/usr/bin/python3 alarm.py "$uri"' 2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
grep -E "flush|lost|reconnect" nbdkit.err || :
expect_grep nbdkit.err "never fsynced and may be lost"
