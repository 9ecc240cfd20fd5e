#!/usr/bin/env bash
# The server stalls (its processes are SIGSTOPped, so the TCP
# connection stays up but nothing answers) while a read or a write is
# in flight.
#
# 1. timeout=5 retries=1, the listening sshd stopped too (so that the
#    reconnect cannot get past the SSH banner): the request fails with
#    EIO, after at least the timeout and within 30 s; once the server
#    is resumed, the next request on the SAME NBD connection reconnects
#    and returns the right data.
# 2. timeout=5 and the default retries, only the per-connection
#    processes stopped: the request succeeds after reconnecting (about
#    timeout= seconds) with the right data; the stalled processes are
#    then resumed and the file must still match the model.
#
# (test-stall-stale.sh: what a stalled session does once it resumes.)

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 8

cat > stall.py <<'PYEOF'
import errno, os, random, sys, time
import nbd
from sshdprocs import stop, cont, resume_and_wait

remote = os.environ["REMOTE"]
mode = sys.argv[2]            # "dead": listener stopped too; "conns": not
TIMEOUT = 5
LIMIT = 30
MiB = 1024 * 1024

with open(remote, "rb") as f:
    model = bytearray(f.read())
size = len(model)
rng = random.Random(42)
h = nbd.NBD()
h.connect_uri(sys.argv[1])

def check_read(off, n, what):
    if h.pread(n, off) != model[off:off + n]:
        sys.exit("FAIL: %s: read of %d at %d differs" % (what, n, off))

def timed(what, fn):
    t = time.monotonic()
    try:
        fn()
        err = None
    except nbd.Error as e:
        err = e
    el = time.monotonic() - t
    print("%s: %s after %.1f s" % (what, err or "ok", el), flush=True)
    return err, el

def expect_eio(what, fn):
    """fn, with the server unreachable, fails with EIO after at least
    about timeout= and within LIMIT."""
    err, el = timed("stalled " + what, fn)
    if err is None:
        sys.exit("FAIL: %s succeeded while the server was stopped" % what)
    if err.errnum != errno.EIO:
        sys.exit("FAIL: expected EIO, got %s (errnum %s)" % (err, err.errnum))
    if el > LIMIT:
        sys.exit("FAIL: the error took %.1f s (limit %d s)" % (el, LIMIT))
    if el < TIMEOUT - 1:
        sys.exit("FAIL: the error came after %.1f s, before timeout=%d"
                 % (el, TIMEOUT))

# Connection warmed up, sequential reads so that read-ahead is active.
for off in range(0, 2 * MiB, 256 * 1024):
    check_read(off, 256 * 1024, "warm-up")

stopped = []
try:
    if mode == "dead":
        # --- A read while the server is stalled and cannot be reached.
        stopped = stop(True)
        expect_eio("read", lambda: h.pread(65536, 5 * MiB + 4096))
        resume_and_wait(stopped); stopped = []
        t = time.monotonic()
        check_read(5 * MiB + 4096, 65536, "read after resuming")
        check_read(0, 4096, "read after resuming")
        print("reads after resuming: ok in %.1f s" % (time.monotonic() - t))

        # --- A write while the server is stalled and cannot be reached.
        # With write-behind it is acknowledged at once and the flush
        # after it fails instead.
        buf = rng.randbytes(MiB)
        stopped = stop(True)
        def write_and_flush():
            h.pwrite(buf, 3 * MiB)
            h.flush()
        expect_eio("write", write_and_flush)
        # The stalled processes may still apply what they had received
        # of the failed write: let them finish before writing again.
        resume_and_wait(stopped); stopped = []
        buf2 = rng.randbytes(MiB)
        h.pwrite(buf2, 3 * MiB)
        model[3 * MiB:4 * MiB] = buf2
        check_read(3 * MiB, MiB, "write after resuming")
        h.flush()
    elif mode == "conns":
        # --- A read stalls; the reconnect succeeds.
        stopped = stop(False)
        err, el = timed("stalled read", lambda: check_read(5 * MiB + 4096, 65536,
                                                           "stalled read"))
        if err is not None:
            sys.exit("FAIL: read failed: %s" % err)
        if el < TIMEOUT - 1 or el > LIMIT:
            sys.exit("FAIL: the read took %.1f s, expected about timeout=%d"
                     % (el, TIMEOUT))
        resume_and_wait(stopped); stopped = []

        # --- A write stalls; the reconnect succeeds (with write-behind
        # the flush after it waits for it).
        buf = rng.randbytes(MiB)
        stopped = stop(False)
        def write_and_flush():
            h.pwrite(buf, 3 * MiB)
            h.flush()
        err, el = timed("stalled write", write_and_flush)
        if err is not None:
            sys.exit("FAIL: write failed: %s" % err)
        if el < TIMEOUT - 1 or el > LIMIT:
            sys.exit("FAIL: the write took %.1f s, expected about timeout=%d"
                     % (el, TIMEOUT))
        model[3 * MiB:4 * MiB] = buf
        check_read(3 * MiB, MiB, "read back after the stalled write")
        resume_and_wait(stopped); stopped = []
        check_read(3 * MiB, MiB, "read after the stalled processes resumed")
finally:
    cont(stopped)

h.flush()
h.shutdown()
with open(remote, "rb") as f:
    data = f.read()
if data != model:
    bad = [i for i in range(0, size, 4096) if data[i:i + 4096] != model[i:i + 4096]]
    sys.exit("FAIL: remote file differs from the model in %d blocks of 4 KiB, "
             "first at offset %d" % (len(bad), bad[0] if bad else -1))
print("stall %s: ok" % mode)
PYEOF

export REMOTE="$remote" SSHD_DIR
# With write-behind (the default) and without.
for wb in write-behind=4M write-behind=0; do
    run_plugin -v path="$remote" timeout=5 $wb \
        retries=1 --run '/usr/bin/python3 stall.py "$uri" dead' 2> dead.err || {
        cat dead.err; exit 1; }
    cat dead.err
    expect_grep dead.err "reconnecting (attempt 1 of 1)" \
        "cannot reach 127.0.0.1 port $SSHD_PORT" "timed out"
    cont_sshd

    run_plugin -v path="$remote" timeout=5 $wb \
        --run '/usr/bin/python3 stall.py "$uri" conns' 2> conns.err || {
        cat conns.err; exit 1; }
    cat conns.err
    expect_grep conns.err "reconnecting (attempt 1 of 3)" "timed out"
done

