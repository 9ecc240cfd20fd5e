#!/usr/bin/env bash
# A stalled server session that comes back after the plugin has given
# up on it must not undo newer writes.
#
# The connection's sftp-server is SIGSTOPped (as if stuck on a hung
# disk; its sshd keeps running, so the WRITE is delivered to the
# sftp-server's input and waits there).  A 4 KiB write times out
# (timeout=3), the plugin reconnects and sends it again: the client
# sees success.  The client then overwrites the same block, the write
# is acknowledged and flushed.  Then the old sftp-server resumes.  The
# block must still hold the newer data.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test finds a
# connection's sftp-server, or counts sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 4

cat > stale.py <<'PYEOF'
import os, random, signal, sys, time
import nbd
from sshdprocs import sftp_servers, alive

remote = os.environ["REMOTE"]
TIMEOUT = 3

with open(remote, "rb") as f:
    model = bytearray(f.read())
rng = random.Random(3)
h = nbd.NBD()
h.connect_uri(sys.argv[1])
off = 2 * 1024 * 1024 + 8192
if h.pread(4096, off) != model[off:off + 4096]:
    sys.exit("FAIL: first read differs")

stopped = sftp_servers()
if len(stopped) != 1:
    sys.exit("FAIL: expected one sftp-server, found %s" % stopped)
os.kill(stopped[0], signal.SIGSTOP)
try:
    w1 = rng.randbytes(4096)
    t = time.monotonic()
    h.pwrite(w1, off)          # times out, reconnects, re-sent: success
    # (With write-behind w1 is acknowledged at once and w2, which
    # overlaps it, waits for it: the stall shows there.)
    w2 = rng.randbytes(4096)
    h.pwrite(w2, off)
    el = time.monotonic() - t
    print("stalled writes: ok after %.1f s" % el, flush=True)
    if el < TIMEOUT - 1:
        sys.exit("FAIL: the writes did not wait for the stalled server")
    h.flush()
    model[off:off + 4096] = w2
    if h.pread(4096, off) != w2:
        sys.exit("FAIL: read back of the newer write differs")
finally:
    os.kill(stopped[0], signal.SIGCONT)
for i in range(100):
    if not alive(stopped[0]):
        break
    time.sleep(0.1)
if alive(stopped[0]):
    sys.exit("FAIL: the resumed sftp-server %d did not exit within 10 s"
             % stopped[0])
got = h.pread(4096, off)
h.shutdown()
with open(remote, "rb") as f:
    data = f.read()
if got != w2 or data != model:
    sys.exit("FAIL: after the stalled sftp-server resumed, the 4 KiB at "
             "offset %d hold %s instead of the last acknowledged and flushed "
             "write: the abandoned session applied its queued WRITE late"
             % (off, "the earlier, timed-out write" if got == w1
                else "other data"))
print("stale: ok")
PYEOF

export REMOTE="$remote" SSHD_DIR
run_plugin -v path="$remote" timeout=3 \
    --run '/usr/bin/python3 stale.py "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
