#!/usr/bin/env bash
# Read-ahead must never serve stale or misplaced data: sequential reads
# (which turn read-ahead on), a write into the read-ahead window, reads
# that continue past it, backward and chunk-crossing reads, all checked
# against a local model; then flush and compare the remote file.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 24 4321        # 24 MiB + 4321 bytes

cat > readahead.py <<'PYEOF'
import os, random, sys
import nbd

remote = os.environ["REMOTE"]
with open(remote, "rb") as f:
    model = bytearray(f.read())
size = len(model)
rng = random.Random(1)
MiB = 1024 * 1024

h = nbd.NBD()
h.connect_uri(sys.argv[1])

def check(offset, length, what):
    got = h.pread(length, offset)
    if got != model[offset:offset + length]:
        sys.exit("FAIL: %s: pread(%d, %d) differs from the model"
                 % (what, length, offset))

def write(offset, length):
    buf = rng.randbytes(length)
    h.pwrite(buf, offset)
    model[offset:offset + length] = buf

# Sequential 64 KiB reads over the first 3 MiB: read-ahead grows.
for off in range(0, 3 * MiB, 65536):
    check(off, 65536, "sequential")
# Write inside the window that was read ahead, then keep reading
# sequentially through it.
write(3 * MiB + 100000, 300000)
write(5 * MiB, 1)
for off in range(3 * MiB, 8 * MiB, 65536):
    check(off, 65536, "sequential after write")
# Sequential again with request sizes that cross every chunk boundary.
off = 8 * MiB
while off < 16 * MiB:
    n = rng.randint(1, 200000)
    check(off, n, "odd sequential")
    off += n
# Backwards and forwards inside and outside the read-ahead.
for off in (off - 1000, off - 3 * MiB, off + 2 * MiB, off + 2 * MiB + 7,
            12 * MiB):
    check(off, 4096, "jump")
# Sequential to the very end of the file, in 1 MiB requests.
off = 18 * MiB
while off < size:
    n = min(MiB, size - off)
    check(off, n, "to the end")
    off += n
# Write then read the same range in a sequential stream.
for off in range(20 * MiB, 22 * MiB, 131072):
    check(off, 131072, "stream")
    write(off + 131072, 4096)
h.flush()
h.shutdown()

with open(remote, "rb") as f:
    if f.read() != model:
        sys.exit("FAIL: remote file differs from the model after flush")
print("readahead: ok")
PYEOF

export REMOTE="$remote"
run_plugin path="$remote" \
    --run '/usr/bin/python3 readahead.py "$uri"'
