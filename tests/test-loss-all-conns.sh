#!/usr/bin/env bash
# A write lost after its client was told it was done is reported to
# every connection (multi-conn), once each, and to a connection opened
# later while nobody has been told yet (Linux's errseq rule).
#
# The remote file is a sparse 16 MiB file on a full 8 MiB tmpfs.
# Connections A, B and C are open; A writes 4 MiB, which write-behind
# acknowledges at once and the server then refuses (no space).  The
# next flush of B, and of C, must fail with ENOSPC (the old code told
# only one other connection: C's flush succeeded although A's write
# was not in the file); a second flush succeeds; a connection D opened
# after they were told flushes cleanly; A's own flush fails.  Then a
# writer E leaves right after its refused write: a connection F opened
# afterwards fails its first flush, and G, opened after F was told,
# does not.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires truncate cmp
requires_libnbd_python

mount_tmpfs 8m sshloss
mnt="$TMPFS_DIR"

start_sshd
cd "$SSHD_DIR"

remote="$mnt/disk.img"
truncate -s 16M "$remote"
# Leaves less than 1 MiB free; removed to free space at the end.
head -c $(( 7 * 1024 * 1024 + 512 * 1024 )) /dev/urandom > "$mnt/filler"
df -k "$mnt"

cat > loss.py <<'PYEOF'
import errno, os, sys, time
import nbd

MiB = 1024 * 1024
uri = sys.argv[1]
filler = os.environ["FILLER"]

def conn():
    h = nbd.NBD()
    h.connect_uri(uri)
    return h

def must_fail(h, what, errnos=(errno.ENOSPC,)):
    try:
        h.flush()
    except nbd.Error as e:
        print("%s: the flush failed as it must: %s" % (what, e), flush=True)
        if e.errnum not in errnos:
            sys.exit("FAIL: %s: expected errno %s, got %s"
                     % (what, errnos, e.errnum))
        return
    sys.exit("FAIL: %s: the flush succeeded although an acknowledged "
             "write failed" % what)

a, b, c = conn(), conn(), conn()
assert a.can_multi_conn()
data = os.urandom(4 * MiB)
a.pwrite(data, 8 * MiB)               # acknowledged, then refused
must_fail(b, "B")
must_fail(c, "C")
b.flush()                              # told once
c.flush()
d = conn()
d.flush()                              # opened after they were told
must_fail(a, "A (its own write)")
a.flush()

# The writer leaves before anybody was told.
e = conn()
e.pwrite(data, 8 * MiB)
e.shutdown()
time.sleep(1)                          # nbdkit closes it meanwhile
f = conn()
must_fail(f, "F (opened after the loss, before anybody was told)",
          (errno.ENOSPC, errno.EIO))
g = conn()
g.flush()                              # F was told
# Every connection open at the second loss is told once too.
for h, name in ((a, "A"), (b, "B"), (c, "C"), (d, "D")):
    must_fail(h, name + " (the second loss)", (errno.ENOSPC, errno.EIO))
    h.flush()

# Room again: the data goes in.
os.unlink(filler)
a.pwrite(data, 8 * MiB)
a.flush()
for h in (a, b, c, d, f, g):
    h.flush()
    h.shutdown()
with open(os.environ["REMOTE"], "rb") as fp:
    fp.seek(8 * MiB)
    if fp.read(4 * MiB) != data:
        sys.exit("FAIL: the data written once there was room is not there")
print("loss: ok")
PYEOF
REMOTE="$remote" FILLER="$mnt/filler" \
    run_plugin -v idle-keep=0 path="$remote" \
    --run '/usr/bin/python3 loss.py "$uri"' 2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
grep -E "flush|failed" nbdkit.err | head -20
expect_grep nbdkit.err "made on another connection, already acknowledged"
