#!/usr/bin/env bash
# Soak: 16 NBD connections (16 processes, one libnbd handle each) do
# random reads and writes (1 B .. 256 KiB at random offsets) for
# SOAK_SECONDS (default 20), each verified against a model: every
# connection reads and writes only its own 4 MiB region (so the model is
# exact without locking) and also reads a shared 8 MiB region that
# nobody writes.  No mismatch is allowed; afterwards the whole remote
# file must equal the model.  nbdkit's open file descriptors and RSS are
# sampled during the first and the last 10 s of the run (a quarter of
# runs shorter than 40 s): the fd count
# must not grow and RSS must not grow by 16 MiB or more (64 MiB under
# valgrind and ASan, whose allocators keep freed memory: ASan's 256 MiB
# quarantine made RSS creep 393 -> 409 MiB over 60 s in CI while the
# plain build stayed flat at 34 MiB).

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

: "${SOAK_SECONDS:=20}"
conns=16
remote="$SSHD_DIR/disk.img"
# 16 regions of 4 MiB, then the shared 8 MiB.
make_random_file "$remote" $(( conns * 4 + 8 ))

rss_slack=16
case "${SSH_PLUGIN_CHECK:-}" in
    valgrind|asan) rss_slack=64 ;;
esac
# ASan keeps freed memory in a 256 MiB quarantine: RSS climbs until it
# is full, at the pace of the plugin's frees, so with few frees (the
# data path allocates nothing in steady state) it is still climbing
# in the last window.  A small quarantine lets the RSS check see the
# plugin's memory.
export ASAN_EXTRA_OPTIONS=quarantine_size_mb=16

cat > soak.py <<'PYEOF'
import multiprocessing as mp
import os, random, sys, time
import nbd

uri = sys.argv[1]
remote = os.environ["REMOTE"]
pidfile = os.environ["PIDFILE"]
seconds = float(os.environ["SOAK_SECONDS"])
conns = int(os.environ["CONNS"])
rss_slack = int(os.environ["RSS_SLACK"]) * 1024 * 1024
MiB = 1024 * 1024
REGION = 4 * MiB
SHARED_OFF = conns * REGION
SHARED = 8 * MiB
MAXIO = 256 * 1024
# The first and last 10 s (a quarter of shorter runs) are compared.
WINDOW = min(10.0, seconds / 4)

with open(remote, "rb") as f:
    initial = f.read()
size = len(initial)
assert size == SHARED_OFF + SHARED

def worker(i, connect_sem, ready, go, stop, out):
    rng = random.Random(1000 + i)
    base = i * REGION
    model = bytearray(initial[base:base + REGION])
    shared = initial[SHARED_OFF:]
    h = nbd.NBD()
    with connect_sem:
        h.connect_uri(uri)
    ready.release()
    go.wait(180)
    n = {"reads": 0, "writes": 0, "shared": 0, "bytes": 0, "bad": 0}
    while not stop.is_set():
        ln = rng.randint(1, MAXIO)
        op = rng.random()
        if op < 0.25:                          # shared, read-only region
            off = rng.randint(0, SHARED - ln)
            buf = h.pread(ln, SHARED_OFF + off)
            n["shared"] += 1
            if buf != shared[off:off + ln]:
                n["bad"] += 1
                print("conn %d: MISMATCH reading shared +%d len %d"
                      % (i, off, ln), flush=True)
        elif op < 0.6:                         # own region, read
            off = rng.randint(0, REGION - ln)
            buf = h.pread(ln, base + off)
            n["reads"] += 1
            if buf != model[off:off + ln]:
                n["bad"] += 1
                print("conn %d: MISMATCH reading %d len %d"
                      % (i, base + off, ln), flush=True)
        else:                                  # own region, write
            off = rng.randint(0, REGION - ln)
            buf = rng.randbytes(ln)
            h.pwrite(buf, base + off)
            model[off:off + ln] = buf
            n["writes"] += 1
        n["bytes"] += ln
    h.flush()
    h.shutdown()
    with open("model.%d" % i, "wb") as f:
        f.write(model)
    out.put((i, n))

def sample(pid):
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return fds, rss

with open(pidfile) as f:
    pid = int(f.read())
ctx = mp.get_context("fork")
connect_sem = ctx.BoundedSemaphore(4)   # below sshd's MaxStartups 10
ready = ctx.Semaphore(0)
go = ctx.Event()
stop = ctx.Event()
out = ctx.Queue()
procs = [ctx.Process(target=worker, args=(i, connect_sem, ready, go, stop, out))
         for i in range(conns)]
for p in procs:
    p.start()
t0 = time.monotonic()
for k in range(conns):
    if not ready.acquire(timeout=max(0.0, 120 - (time.monotonic() - t0))):
        stop.set()
        sys.exit("FAIL: only %d of %d connections up after 120 s" % (k, conns))
print("%d connections up in %.1f s" % (conns, time.monotonic() - t0),
      flush=True)
go.set()

start = time.monotonic()
first, last, all_samples = [], [], []
while True:
    t = time.monotonic() - start
    if t >= seconds:
        break
    s = sample(pid)
    all_samples.append((round(t, 1),) + s)
    if t < WINDOW:
        first.append(s)
    if t >= seconds - WINDOW:
        last.append(s)
    dead = [p.pid for p in procs if p.exitcode is not None]
    if dead:
        stop.set()
        sys.exit("FAIL: workers %s exited early" % dead)
    time.sleep(0.25)
stop.set()
results = {}
for k in range(conns):
    i, n = out.get(timeout=120)
    results[i] = n
for p in procs:
    p.join(60)
    if p.exitcode != 0:
        sys.exit("FAIL: worker %d exited with %s" % (p.pid, p.exitcode))

tot = {k: sum(n[k] for n in results.values()) for k in results[0]}
print("%d s, %d connections: %d reads, %d shared reads, %d writes, "
      "%.1f MiB, %d mismatches"
      % (seconds, conns, tot["reads"], tot["shared"], tot["writes"],
         tot["bytes"] / MiB, tot["bad"]))
for i in sorted(results):
    n = results[i]
    if n["reads"] + n["shared"] == 0 or n["writes"] == 0:
        sys.exit("FAIL: connection %d did not both read and write: %s" % (i, n))
if tot["bad"]:
    sys.exit("FAIL: %d mismatches" % tot["bad"])

# The whole file.
model = bytearray()
for i in range(conns):
    with open("model.%d" % i, "rb") as f:
        model += f.read()
model += initial[SHARED_OFF:]
with open(remote, "rb") as f:
    data = f.read()
if data != model:
    bad = [o for o in range(0, size, 4096) if data[o:o + 4096] != model[o:o + 4096]]
    sys.exit("FAIL: remote file differs from the model in %d blocks of 4 KiB, "
             "first at %d" % (len(bad), bad[0]))

# Resources: fds and RSS, first window against last window.
print("samples (s, fds, RSS MiB): " +
      " ".join("%s:%d:%.1f" % (t, f, r / MiB) for t, f, r in all_samples))
if not first or not last:
    sys.exit("FAIL: too few samples")
f1, f2 = max(s[0] for s in first), max(s[0] for s in last)
r1, r2 = max(s[1] for s in first), max(s[1] for s in last)
print("nbdkit pid %d: fds %d -> %d, RSS %.1f -> %.1f MiB (growth %.1f MiB)"
      % (pid, f1, f2, r1 / MiB, r2 / MiB, (r2 - r1) / MiB))
if f2 > f1:
    sys.exit("FAIL: nbdkit's open fds grew from %d to %d" % (f1, f2))
if r2 - r1 >= rss_slack:
    sys.exit("FAIL: nbdkit's RSS grew by %.1f MiB (limit %d MiB)"
             % ((r2 - r1) / MiB, rss_slack // MiB))
print("soak: ok")
PYEOF

export REMOTE="$remote" PIDFILE="$SSHD_DIR/nbdkit.pid" SOAK_SECONDS \
       CONNS="$conns" RSS_SLACK="$rss_slack"
run_plugin -P "$PIDFILE" path="$remote" \
    --run '/usr/bin/python3 soak.py "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
# Nothing went wrong on the way: no error, no reconnect.
if grep -E "error|reconnect" nbdkit.err; then
    echo "FAIL: nbdkit reported errors during the soak"; exit 1
fi
