#!/usr/bin/env bash
# The remote file system fills up: the remote file is a sparse 16 MiB
# file on an 8 MiB tmpfs, written in 1 MiB chunks.  The write that runs
# out of space fails with ENOSPC (not EIO), nbdkit says "no space",
# everything written before it is intact, nothing is written after it,
# the connection is not torn down (no reconnect), and once space is
# freed the same write succeeds on the same NBD connection.  That is
# with write-behind=0; with write-behind (the default) the failure is
# reported by a later write and by the flush, everything written
# before the failed write is intact, and nbdcopy onto the full disk
# exits with an error.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires truncate
requires_libnbd_python

mount_tmpfs 8m sshenospc
mnt="$TMPFS_DIR"

start_sshd
# One SFTP channel: the test expects every write sent before the one
# that failed to be in the file when the failure is reported, which
# only one channel's order promises (channels=auto may take more on a
# machine busy enough to look like a long link).
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"

remote="$mnt/disk.img"
truncate -s 16M "$remote"
# 2 MiB that the test removes to free space after the failure.
head -c 2097152 /dev/urandom > "$mnt/filler"
df -k "$mnt"

cat > enospc.py <<'PYEOF'
import errno, os, random, sys
import nbd

remote = os.environ["REMOTE"]
filler = os.environ["FILLER"]
MiB = 1024 * 1024
size = 16 * MiB
model = bytearray(size)
rng = random.Random(28)
h = nbd.NBD()
h.connect_uri(sys.argv[1])
if h.get_size() != size:
    sys.exit("FAIL: size %d, expected %d" % (h.get_size(), size))

failed = None
for off in range(0, size, MiB):
    buf = rng.randbytes(MiB)
    try:
        h.pwrite(buf, off)
    except nbd.Error as e:
        print("write at %d MiB: %s" % (off // MiB, e))
        if e.errnum != errno.ENOSPC:
            sys.exit("FAIL: expected ENOSPC (28), got errnum %s: %s"
                     % (e.errnum, e))
        failed, failed_buf = off, buf
        break
    model[off:off + MiB] = buf
if failed is None:
    sys.exit("FAIL: 16 MiB written to an 8 MiB tmpfs without an error")
if not 4 * MiB <= failed <= 8 * MiB:
    sys.exit("FAIL: the first error came at %d MiB (expected 4..8)"
             % (failed // MiB))

def check_file(what, partial):
    with open(remote, "rb") as f:
        data = f.read()
    if len(data) != size:
        sys.exit("FAIL: %s: remote file has %d bytes" % (what, len(data)))
    if data[:failed] != model[:failed]:
        first = next(i for i in range(failed) if data[i] != model[i])
        sys.exit("FAIL: %s: data written before the error differs at %d"
                 % (what, first))
    chunk = data[failed:failed + MiB]
    if partial:
        # The failed write may have landed in part: every byte is the
        # old (zero) or the new one.
        for i in range(0, MiB, 4096):
            a, n = chunk[i:i + 4096], failed_buf[i:i + 4096]
            if a != n and a != bytes(4096):
                for j in range(4096):
                    if a[j] != 0 and a[j] != n[j]:
                        sys.exit("FAIL: %s: byte %d of the failed write "
                                 "is neither old nor new"
                                 % (what, failed + i + j))
    elif chunk != model[failed:failed + MiB]:
        sys.exit("FAIL: %s: the retried write is not in the file" % what)
    if data[failed + MiB:] != model[failed + MiB:]:
        sys.exit("FAIL: %s: data after the failed write changed" % what)

check_file("after ENOSPC", True)

# The connection still works: a read and a write of what fits (no-op
# rewrite of an allocated block).
if h.pread(MiB, 0) != model[:MiB]:
    sys.exit("FAIL: read after ENOSPC differs")
h.pwrite(bytes(model[MiB:MiB + 4096]), MiB)

# Space freed: the same write succeeds now, on the same connection.
os.unlink(filler)
h.pwrite(failed_buf, failed)
model[failed:failed + MiB] = failed_buf
h.flush()
check_file("after freeing space", False)
h.shutdown()
print("enospc: ok, the write at %d MiB ran out of space" % (failed // MiB))
PYEOF

export REMOTE="$remote" FILLER="$mnt/filler"
run_plugin path="$remote" write-behind=0 \
    --run '/usr/bin/python3 enospc.py "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep -i nbdkit.err "no space" "$remote"
if grep -F "reconnecting" nbdkit.err; then
    echo "FAIL: running out of space made the plugin reconnect"; exit 1
fi

# --- Write-behind: the failure comes back later, and nothing written
# before it is missing.
rm -f "$remote"
truncate -s 16M "$remote"
head -c 2097152 /dev/urandom > "$mnt/filler"
cat > enospc-wb.py <<'PYEOF'
import errno, os, random, re, subprocess, sys
import nbd

remote, filler = os.environ["REMOTE"], os.environ["FILLER"]
MiB = 1024 * 1024
size = 16 * MiB
model = bytearray(size)
rng = random.Random(29)
h = nbd.NBD()
h.connect_uri(sys.argv[1])

def expect_enospc(what, fn):
    try:
        fn()
    except nbd.Error as e:
        if e.errnum != errno.ENOSPC:
            sys.exit("FAIL: %s: expected ENOSPC, got %s" % (what, e))
        return True
    return False

reported = None
for off in range(0, size, MiB):
    buf = rng.randbytes(MiB)
    if expect_enospc("write", lambda: h.pwrite(buf, off)):
        reported = off
        break
    model[off:off + MiB] = buf
if reported is None:
    if not expect_enospc("flush", h.flush):
        sys.exit("FAIL: 16 MiB written to an 8 MiB tmpfs without an error")
    reported = size
# Where it failed, from nbdkit's message.
with open("nbdkit.err") as f:
    m = re.search(r"an earlier write of \d+ bytes at offset (\d+)", f.read())
if m is None:
    sys.exit("FAIL: nbdkit did not say which write failed")
failed = int(m.group(1))
print("write at %d failed, reported at %d MiB" % (failed, reported // MiB))
if not 4 * MiB <= failed < 9 * MiB or failed > reported:
    sys.exit("FAIL: the failed write is at %d" % failed)
with open(remote, "rb") as f:
    data = f.read()
if data[:failed] != model[:failed]:
    sys.exit("FAIL: data acknowledged before the failed write is missing")

# Reported until a flush reports it: the next write fails too, then
# the flush; after it writes work again.
if reported < size and not expect_enospc("write", lambda: h.pwrite(b"x", 0)):
    sys.exit("FAIL: the write after the failure succeeded")
if reported < size and not expect_enospc("flush", h.flush):
    sys.exit("FAIL: the flush after the failure succeeded")
# Room again, for all of it: the writes acknowledged after the failed
# one (how many depends on how fast the server answered) need more
# than the 8 MiB file system holds.
os.unlink(filler)
subprocess.run(["mount", "-o", "remount,size=32m", os.path.dirname(remote)],
               check=True)
start = failed - failed % MiB
for off in range(start, reported, MiB):   # what was acknowledged
    h.pwrite(bytes(model[off:off + MiB]), off)
h.flush()
h.shutdown()
with open(remote, "rb") as f:
    if f.read() != model:
        sys.exit("FAIL: the file differs after writing again")
print("enospc write-behind: ok")
PYEOF
run_plugin path="$remote" \
    --run '/usr/bin/python3 enospc-wb.py "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep -i nbdkit.err "no space"

# nbdcopy onto the full file system exits with an error.
rm -f "$remote"
mount -o remount,size=8m "$mnt"
truncate -s 16M "$remote"
head -c 2097152 /dev/urandom > "$mnt/filler"
make_random_file src.img 16
if run_plugin path="$remote" --run 'nbdcopy src.img "$uri"' \
       2> nbdkit.err; then
    cat nbdkit.err
    echo "FAIL: nbdcopy onto a full file system succeeded"; exit 1
fi
cat nbdkit.err
expect_grep -i nbdkit.err "no space"
