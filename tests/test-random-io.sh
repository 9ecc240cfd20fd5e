#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# ~300 random preads and pwrites of random sizes (1 byte .. 300 KiB) at
# unaligned offsets on a remote file whose size is not a multiple of 512,
# checked against a local model.  Then a batch of concurrent (aio)
# requests, flush, and a byte-for-byte comparison of the remote file with
# the model.  Set RANDOM_IO_SEED to replay a run.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 5 1234          # 5 MiB + 1234 bytes

cat > random_io.py <<'PYEOF'
import os, random, sys
import nbd

seed = os.environ.get("RANDOM_IO_SEED")
seed = int(seed) if seed else random.SystemRandom().randrange(2**32)
print("random_io: seed = %d (replay with RANDOM_IO_SEED=%d)" % (seed, seed),
      flush=True)
rng = random.Random(seed)

remote = os.environ["REMOTE"]
with open(remote, "rb") as f:
    model = bytearray(f.read())
size = len(model)
MAXLEN = 300 * 1024

h = nbd.NBD()
h.connect_uri(sys.argv[1])
if h.get_size() != size:
    sys.exit("FAIL: export size %d != file size %d" % (h.get_size(), size))

def fail(what, offset, length, got):
    want = bytes(model[offset:offset + length])
    first = next(i for i in range(length) if got[i] != want[i]) \
        if len(got) == length else 0
    sys.exit("FAIL: %s offset=%d length=%d: got %d bytes, first difference "
             "at byte %d (offset %d); seed %d"
             % (what, offset, length, len(got), first, offset + first, seed))

def check_read(offset, length, what="pread"):
    got = h.pread(length, offset)
    if got != model[offset:offset + length]:
        fail(what, offset, length, got)

def do_write(offset, length):
    buf = rng.randbytes(length)
    h.pwrite(buf, offset)
    model[offset:offset + length] = buf

def pick_length():
    r = rng.random()
    if r < 0.3:
        n = rng.randint(1, 512)
    elif r < 0.6:
        n = rng.randint(1, 65536)
    else:
        n = rng.randint(1, MAXLEN)
    return min(n, size)

def pick_offset(length):
    r = rng.random()
    if r < 0.15:
        return size - length                  # ends exactly at EOF
    if r < 0.20:
        return max(0, size - length - rng.randint(1, 700))   # near EOF
    if r < 0.25:
        return 0
    return rng.randint(0, size - length)

# Fixed cases around the end of the file and odd sizes.
check_read(size - 1, 1)
do_write(size - 1, 1)
check_read(size - 1, 1)
check_read(size - 1234, 1234)
do_write(size - 1235, 1235)
check_read(size - 4096, 4096)
do_write(1, 511)
check_read(0, 513)
do_write(size - MAXLEN, MAXLEN)
check_read(size - MAXLEN - 17, MAXLEN + 17)

nreads = nwrites = 0
for i in range(300):
    length = pick_length()
    offset = pick_offset(length)
    if rng.random() < 0.5:
        check_read(offset, length)
        nreads += 1
    else:
        do_write(offset, length)
        nwrites += 1
        if rng.random() < 0.3:                # read back what was written
            lo = max(0, offset - rng.randint(0, 100))
            hi = min(size, offset + length + rng.randint(0, 100))
            check_read(lo, hi - lo, "read-back")
print("random_io: %d preads, %d pwrites" % (nreads, nwrites), flush=True)

# Concurrent requests: non-overlapping writes in flight together, then
# concurrent reads of the same places.
slots = sorted(rng.sample(range(0, size // 65536), 16))
reqs = []
for s in slots:
    offset = s * 65536 + rng.randint(0, 1000)
    length = min(rng.randint(1, 60000), size - offset)
    buf = rng.randbytes(length)
    model[offset:offset + length] = buf
    reqs.append((offset, length))
    h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(buf)), offset)
while h.aio_in_flight() > 0:
    h.poll(-1)
bufs = []
for offset, length in reqs:
    b = nbd.Buffer(length)
    bufs.append((offset, length, b, h.aio_pread(b, offset)))
while h.aio_in_flight() > 0:
    h.poll(-1)
for offset, length, b, cookie in bufs:
    h.aio_command_completed(cookie)           # raises on error
    got = b.to_bytearray()
    if got != model[offset:offset + length]:
        fail("aio_pread", offset, length, got)

h.flush()

# Whole export through NBD, then the file itself.
pos = 0
while pos < size:
    n = min(4 * 1024 * 1024, size - pos)
    check_read(pos, n, "final read")
    pos += n
h.shutdown()

with open(remote, "rb") as f:
    disk = f.read()
if len(disk) != size:
    sys.exit("FAIL: remote file is now %d bytes, expected %d" % (len(disk), size))
if disk != model:
    first = next(i for i in range(size) if disk[i] != model[i])
    sys.exit("FAIL: remote file differs from the model at byte %d; seed %d"
             % (first, seed))
with open("model.bin", "wb") as f:
    f.write(model)
print("random_io: OK", flush=True)
PYEOF

REMOTE="$remote" run_plugin path="$remote" \
    --run '/usr/bin/python3 random_io.py "$uri"'

# Again after nbdkit has closed the file.
cmp "$remote" model.bin
