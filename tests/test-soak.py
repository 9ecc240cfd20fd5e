# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""tests/test-soak.sh: test-soak.py URI

$CONNS processes, one NBD connection each, do random reads and writes
(1 B .. 256 KiB) for $SOAK_SECONDS, each verified against a model:
every connection reads and writes only its own 4 MiB region of the
remote file ($REMOTE) and also reads a shared 8 MiB region at the end
that nobody writes.  Afterwards the whole remote file must equal the
model (kept in model.N files in the current directory).  nbdkit (its
pid in $PIDFILE) is sampled all along: its open fds must not grow
and its RSS must not grow by $RSS_SLACK MiB or more, comparing the
first and the last 10 s (a quarter of shorter runs)."""

import multiprocessing as mp
import os
import random
import sys
import time

import nbdtest

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

initial = nbdtest.read_file(remote)
size = len(initial)
assert size == SHARED_OFF + SHARED

def worker(i, connect_sem, ready, go, stop, out):
    rng = random.Random(1000 + i)
    base = i * REGION
    model = bytearray(initial[base:base + REGION])
    shared = initial[SHARED_OFF:]
    with connect_sem:
        h = nbdtest.connect(uri)
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
        nbdtest.fail("only %d of %d connections up after 120 s" % (k, conns))
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
        nbdtest.fail("workers %s exited early" % dead)
    time.sleep(0.25)
stop.set()
results = {}
for k in range(conns):
    i, n = out.get(timeout=120)
    results[i] = n
for p in procs:
    p.join(60)
    if p.exitcode != 0:
        nbdtest.fail("worker %d exited with %s" % (p.pid, p.exitcode))

tot = {k: sum(n[k] for n in results.values()) for k in results[0]}
print("%d s, %d connections: %d reads, %d shared reads, %d writes, "
      "%.1f MiB, %d mismatches"
      % (seconds, conns, tot["reads"], tot["shared"], tot["writes"],
         tot["bytes"] / MiB, tot["bad"]))
for i in sorted(results):
    n = results[i]
    if n["reads"] + n["shared"] == 0 or n["writes"] == 0:
        nbdtest.fail("connection %d did not both read and write: %s" % (i, n))
if tot["bad"]:
    nbdtest.fail("%d mismatches" % tot["bad"])

# The whole file.
model = bytearray()
for i in range(conns):
    with open("model.%d" % i, "rb") as f:
        model += f.read()
model += initial[SHARED_OFF:]
data = nbdtest.read_file(remote)
if data != model:
    bad = [o for o in range(0, size, 4096) if data[o:o + 4096] != model[o:o + 4096]]
    nbdtest.fail("remote file differs from the model in %d blocks of 4 KiB, "
                 "first at %d" % (len(bad), bad[0]))

# Resources: fds and RSS, first window against last window.
print("samples (s, fds, RSS MiB): " +
      " ".join("%s:%d:%.1f" % (t, f, r / MiB) for t, f, r in all_samples))
if not first or not last:
    nbdtest.fail("too few samples")
f1, f2 = max(s[0] for s in first), max(s[0] for s in last)
r1, r2 = max(s[1] for s in first), max(s[1] for s in last)
print("nbdkit pid %d: fds %d -> %d, RSS %.1f -> %.1f MiB (growth %.1f MiB)"
      % (pid, f1, f2, r1 / MiB, r2 / MiB, (r2 - r1) / MiB))
if f2 > f1:
    nbdtest.fail("nbdkit's open fds grew from %d to %d" % (f1, f2))
if r2 - r1 >= rss_slack:
    nbdtest.fail("nbdkit's RSS grew by %.1f MiB (limit %d MiB)"
                 % ((r2 - r1) / MiB, rss_slack // MiB))
print("soak: ok")
