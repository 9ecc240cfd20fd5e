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
set -x

requires /usr/bin/python3
requires_run "python3 libnbd bindings" /usr/bin/python3 -c 'import nbd'
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 8

# Whatever happens, resume every process of the test sshd before the
# harness stops it (a stopped process ignores SIGTERM until resumed).
cont_all ()
{
    local pid p
    pid="$(cat "$SSHD_DIR/sshd.pid" 2>/dev/null)" || return 0
    [ -n "$pid" ] || return 0
    for p in "$pid" $(_descendants "$pid"); do
        kill -CONT "$p" 2>/dev/null || :
    done
}
cleanup_fn cont_all

cat > stall.py <<'PYEOF'
import errno, os, random, signal, sys, time
import nbd

SSHD_DIR = os.environ["SSHD_DIR"]
remote = os.environ["REMOTE"]
mode = sys.argv[2]            # "dead": listener stopped too; "conns": not
TIMEOUT = 5
LIMIT = 30
MiB = 1024 * 1024

def listener():
    with open(os.path.join(SSHD_DIR, "sshd.pid")) as f:
        return int(f.read().split()[0])

def proc_table():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if rest[0] in ("Z", "X"):
            continue
        kids.setdefault(int(rest[1]), []).append(int(d))
    return kids

def descendants(pid):
    kids = proc_table()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out

def stop(with_listener):
    """SIGSTOP the per-connection processes (and the listener); returns
    the stopped pids.  Repeated until no new process shows up."""
    lp = listener()
    stopped = []
    if with_listener:
        os.kill(lp, signal.SIGSTOP)
        stopped.append(lp)
    while True:
        new = [p for p in descendants(lp) if p not in stopped]
        if not new:
            break
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
                stopped.append(p)
            except ProcessLookupError:
                pass
    names = []
    for p in stopped:
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                names.append("%d:%s" % (p, f.read().split(b"\0")[0].decode()))
        except OSError:
            names.append(str(p))
    if len([p for p in stopped if p != lp]) < 2:
        sys.exit("FAIL: expected the per-connection sshd processes, "
                 "stopped only %s" % names)
    print("stopped %s" % " ".join(names), flush=True)
    return stopped

def cont(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGCONT)
        except ProcessLookupError:
            pass

def alive(p):
    try:
        with open("/proc/%d/stat" % p) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"

def resume_and_wait(pids):
    """SIGCONT the stalled processes and wait (bounded) until the ones
    serving the abandoned connection have exited."""
    cont(pids)
    lp = listener()
    for p in pids:
        for i in range(100):
            if p == lp or not alive(p):
                break
            time.sleep(0.1)
    still = [p for p in pids if p != lp and alive(p)]
    if still:
        sys.exit("FAIL: stalled sshd processes %s still alive 10 s after "
                 "resuming" % still)

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

# Connection warmed up, sequential reads so that read-ahead is active.
for off in range(0, 2 * MiB, 256 * 1024):
    check_read(off, 256 * 1024, "warm-up")

stopped = []
try:
    if mode == "dead":
        # --- A read while the server is stalled and cannot be reached.
        stopped = stop(True)
        err, el = timed("stalled read", lambda: h.pread(65536, 5 * MiB + 4096))
        if err is None:
            sys.exit("FAIL: read succeeded while the server was stopped")
        if err.errnum != errno.EIO:
            sys.exit("FAIL: expected EIO, got %s (errnum %s)" % (err, err.errnum))
        if el > LIMIT:
            sys.exit("FAIL: the error took %.1f s (limit %d s)" % (el, LIMIT))
        if el < TIMEOUT - 1:
            sys.exit("FAIL: the error came after %.1f s, before timeout=%d"
                     % (el, TIMEOUT))
        resume_and_wait(stopped); stopped = []
        t = time.monotonic()
        check_read(5 * MiB + 4096, 65536, "read after resuming")
        check_read(0, 4096, "read after resuming")
        print("reads after resuming: ok in %.1f s" % (time.monotonic() - t))

        # --- A write while the server is stalled and cannot be reached.
        buf = rng.randbytes(MiB)
        stopped = stop(True)
        err, el = timed("stalled write", lambda: h.pwrite(buf, 3 * MiB))
        if err is None:
            sys.exit("FAIL: write succeeded while the server was stopped")
        if err.errnum != errno.EIO:
            sys.exit("FAIL: expected EIO, got %s (errnum %s)" % (err, err.errnum))
        if el > LIMIT:
            sys.exit("FAIL: the error took %.1f s (limit %d s)" % (el, LIMIT))
        if el < TIMEOUT - 1:
            sys.exit("FAIL: the error came after %.1f s, before timeout=%d"
                     % (el, TIMEOUT))
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

        # --- A write stalls; the reconnect succeeds.
        buf = rng.randbytes(MiB)
        stopped = stop(False)
        err, el = timed("stalled write", lambda: h.pwrite(buf, 3 * MiB))
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
run_nbdkit -U - "$PLUGIN" "${SSH_ARGS[@]}" path="$remote" timeout=5 \
    retries=1 --run '/usr/bin/python3 stall.py "$uri" dead' 2> dead.err || {
    cat dead.err; exit 1; }
cat dead.err
expect_grep dead.err "reconnecting (attempt 1 of 1)" \
    "cannot reach 127.0.0.1 port $SSHD_PORT" "timed out"
cont_all

run_nbdkit -U - "$PLUGIN" "${SSH_ARGS[@]}" path="$remote" timeout=5 \
    --run '/usr/bin/python3 stall.py "$uri" conns' 2> conns.err || {
    cat conns.err; exit 1; }
cat conns.err
expect_grep conns.err "reconnecting (attempt 1 of 3)" "timed out"

