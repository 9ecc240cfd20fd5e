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

REMOTE="$remote" FILLER="$mnt/filler" \
    run_plugin -v idle-keep=0 path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-loss-all-conns.py" "$uri"' \
    2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
grep -E "flush|failed" nbdkit.err | head -20
expect_grep nbdkit.err "made on another connection, already acknowledged"
