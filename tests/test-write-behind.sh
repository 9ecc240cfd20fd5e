#!/usr/bin/env bash
# Write-behind (write-behind=SIZE; on by default): writes are
# acknowledged once queued in the connection's window.
#
# 1. write-behind= refuses bad values.
# 2. With the window off (0), tiny (64k: the ring wraps all the time)
#    and at its default: an nbdcopy upload, and random writes and
#    reads (each read checked at once: a read sees the connection's
#    own writes still in flight), an aio burst, FUA writes, a flush;
#    the remote file matches byte for byte.
# 3. The connection is cut in the middle of a write-behind upload
#    (nbdcopy without --flush): the writes still in flight are sent
#    again on the new session, nbdcopy succeeds and the file matches.
# 4. The server side is killed between writes that are still in the
#    window: sent again after the reconnect, the data verifies.
# 5. Flush honesty is precise: writes the client was told were done
#    but the server never acknowledged (its processes stopped, then
#    killed) are sent again, so the flush after the reconnect succeeds
#    and the data is in the file; while a write the server did
#    acknowledge but never fsynced makes that flush fail (EIO).
# 6. A flush waiting for a stalled connection's writes does not hold up
#    new connections.
# 7. With keepalive=0 and idle-keep=0, what write-behind queued beyond
#    the SSH channel's window still reaches the server while the client
#    is quiet (the old code kept it in nbdkit's memory until the
#    client's next request).

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdcopy cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

MiB=$(( 1024 * 1024 ))
remote="$SSHD_DIR/disk.img"

# --- 1. Bad values.
for bad in abc 1k 63k 2G -1; do
    run_plugin_fail bad.log path="$remote" write-behind=$bad --run true
    expect_grep bad.log "write-behind=$bad"
done
run_plugin_fail bad.log path="$remote" write-behind=1M write-behind=2M \
    --run true
expect_grep bad.log "write-behind"

# --- 2. Data, with the window off, tiny and default.
cat > rw.py <<'PYEOF'
import os, random, sys
import nbd

remote = os.environ["REMOTE"]
rng = random.Random(int(os.environ.get("SEED", "7")))
h = nbd.NBD()
h.connect_uri(sys.argv[1])
size = h.get_size()
with open(remote, "rb") as f:
    model = bytearray(f.read())

def check(off, n, what):
    got = h.pread(n, off)
    if got != model[off:off + n]:
        first = next(i for i in range(n) if got[i] != model[off + i])
        sys.exit("FAIL: %s: read at %d differs at byte %d" % (what, off,
                                                              off + first))

for i in range(400):
    n = rng.choice([1, 512, 4096, 65536, 300 * 1024, 1024 * 1024])
    off = rng.randrange(size - n)
    data = rng.randbytes(n)
    flags = nbd.CMD_FLAG_FUA if rng.random() < 0.05 else 0
    h.pwrite(data, off, flags)
    model[off:off + n] = data
    r = rng.random()
    if r < 0.3:                  # read it back at once, in part
        a = off + rng.randrange(n)
        check(a, min(size - a, rng.randrange(1, 2 * n + 2)), "own write")
    elif r < 0.4:                # somewhere else
        a = rng.randrange(size - 65536)
        check(a, 65536, "random read")
    elif r < 0.45:
        h.flush()
# An aio burst of overlapping writes: the last one issued wins only if
# each waits for its predecessor; the plugin serializes them.
cookies = []
for i in range(64):
    n = 128 * 1024
    off = rng.randrange(4) * 64 * 1024
    data = rng.randbytes(n)
    cookies.append(h.aio_pwrite(data, off))
    model[off:off + n] = data
    while h.aio_in_flight() > 0 and len(cookies) % 8 == 0:
        h.poll(-1)
while h.aio_in_flight() > 0:
    h.poll(-1)
for c in cookies:
    h.aio_command_completed(c)
check(0, size, "whole file")
h.flush()
h.shutdown()
with open(remote, "rb") as f:
    if f.read() != model:
        sys.exit("FAIL: the remote file differs from the model")
print("rw: ok")
PYEOF
export REMOTE="$remote"
for wb in 0 64k default; do
    arg=()
    [ "$wb" = default ] || arg=(write-behind=$wb)
    make_random_file "$remote" 24
    make_random_file in.img 24
    run_plugin path="$remote" "${arg[@]}" \
        --run 'nbdcopy --connections=1 --flush in.img "$uri"'
    cmp in.img "$remote"
    run_plugin path="$remote" "${arg[@]}" \
        --run '/usr/bin/python3 rw.py "$uri"'
done

# --- 3. Cut in the middle of an upload, nbdcopy without --flush.
make_random_file "$remote" 64
make_random_file in.img 64
start_fault_proxy cut.log -m cut -n $(( 20 * MiB ))
run_nbdkit -v -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" \
    --run 'nbdcopy --connections=1 in.img "$uri"' 2> nbdkit.err || {
    cat nbdkit.err cut.log; exit 1; }
cat nbdkit.err cut.log
cmp in.img "$remote"
expect_grep cut.log "conn 1: cut after $(( 20 * MiB )) bytes" "conn 2: accepted"
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
stop_fault_proxy

# --- 4. The server side killed between writes still in the window.
make_random_file "$remote" 32
cat > kill.py <<'PYEOF'
import os, sys
import nbd
import sshdprocs

remote = os.environ["REMOTE"]
MiB = 1024 * 1024
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(remote, "rb") as f:
    model = bytearray(f.read())
for i in range(32):
    data = os.urandom(MiB)
    h.pwrite(data, i * MiB)
    model[i * MiB:(i + 1) * MiB] = data
    if i in (5, 17, 30):
        sshdprocs.kill_connections()
if h.pread(32 * MiB, 0) != model:
    sys.exit("FAIL: read after the reconnects differs")
h.shutdown()
with open(remote, "rb") as f:
    if f.read() != model:
        sys.exit("FAIL: the remote file differs from the model")
print("kill: ok")
PYEOF
run_plugin -v path="$remote" --run '/usr/bin/python3 kill.py "$uri"' \
    2> nbdkit.err || { tail -100 nbdkit.err; exit 1; }
grep -E "reconnect|sending again|error" nbdkit.err
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
grep -E "sending again [1-9][0-9]* writes the server had not acknowledged" \
     nbdkit.err || {
    echo "FAIL: no write in flight was sent again after a reconnect"; exit 1; }

# --- 5. What a flush after a reconnect may claim.
cat > honest.py <<'PYEOF'
import errno, os, sys
import nbd
import sshdprocs

remote = os.environ["REMOTE"]
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(remote, "rb") as f:
    model = bytearray(f.read())
h.pwrite(b"x" * 4096, 0)
model[0:4096] = b"x" * 4096
h.flush()
# Never acknowledged by the server: sent again, the flush succeeds.
stopped = sshdprocs.stop(False)
data = os.urandom(512 * 1024)
h.pwrite(data, 65536)
model[65536:65536 + len(data)] = data
sshdprocs.kill_connections()
sshdprocs.cont(stopped)
h.flush()
with open(remote, "rb") as f:
    if f.read() != model:
        sys.exit("FAIL: the writes sent again are not in the file")
# Acknowledged by the server, not fsynced, then the session dies: the
# flush must not claim it is durable.
h.pwrite(data, 2 * 65536 + len(data))
h.pread(4096, 2 * 65536 + len(data))   # waits for the server's reply
sshdprocs.kill_connections()
try:
    h.flush()
    sys.exit("FAIL: flush succeeded after a session with acknowledged, "
             "unfsynced writes broke")
except nbd.Error as e:
    if e.errnum != errno.EIO:
        sys.exit("FAIL: expected EIO, got %s" % e)
h.flush()
h.shutdown()
print("honest: ok")
PYEOF
run_plugin path="$remote" --run '/usr/bin/python3 honest.py "$uri"' \
    2> nbdkit.err || { cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "never fsynced and may be lost"

# --- 6. A drain that waits for a stalled connection does not hold up
# the others: while a flush on one connection waits for another
# connection's writes (its server stopped), a new NBD connection opens
# at once, long before timeout= would end the wait.
cat > stall-open.py <<'PYEOF'
import os, subprocess, sys, threading, time
import nbd
import sshdprocs

uri = sys.argv[1]
h1 = nbd.NBD()
h1.connect_uri(uri)
h2 = nbd.NBD()
h2.connect_uri(uri)
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
    sys.exit("FAIL: nbdinfo failed")
if result != ["ok"]:
    sys.exit("FAIL: the flush did not succeed: %s" % result)
if elapsed > 20:
    sys.exit("FAIL: a new connection waited %.1f s for another "
             "connection's drain (timeout=40)" % elapsed)
h1.shutdown()
h2.shutdown()
PYEOF
make_random_file "$remote" 4
run_plugin path="$remote" timeout=40 idle-keep=0 \
    --run '/usr/bin/python3 stall-open.py "$uri"'

# --- 7. Sent while the client is quiet, without keepalives.
cat > quiet.py <<'PYEOF'
import os, sys, time
import nbd
import sshdprocs

remote = os.environ["REMOTE"]
MiB = 1024 * 1024
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pread(4096, 0)
# The server stops: the write fills the SSH channel's window (2 MiB),
# and what is left waits in nbdkit (under its 1 MiB output limit, so
# the write is acknowledged at once).
stopped = sshdprocs.stop(False)
data = os.urandom(2 * MiB + 512 * 1024)
h.pwrite(data, 0)
sshdprocs.cont(stopped)
# No request now: nothing but nbdkit's own thread can send the rest
# once the server opens the window again.
for _ in range(200):
    with open(remote, "rb") as f:
        if f.read(len(data)) == data:
            break
    time.sleep(0.1)
else:
    sys.exit("FAIL: 20 s after the write was acknowledged, the file "
             "still lacks it while the client waits")
print("quiet: the data reached the file without another request")
h.flush()
h.shutdown()
PYEOF
make_random_file "$remote" 16
run_plugin path="$remote" keepalive=0 idle-keep=0 write-behind=16M \
    --run '/usr/bin/python3 quiet.py "$uri"'
