#!/usr/bin/env bash
# A flush that reports a refused write still fsyncs the other writes,
# as fsync(2) writes back every page even when it reports an error.
#
# On a full tmpfs, connection A has a write the server took (not yet
# fsynced) and one it refused (no space).  A's flush fails with
# ENOSPC, as it must.  Then every sshd connection process is killed
# and the space freed: A's next flush must succeed, since the first
# write was fsynced by the failed flush.  The old code returned from
# the failed flush before its fsync: the kill then counted the first
# write lost, and A's next flush failed a second time (EIO).
#
# Then the errno: connection B has a write the server took, A one it
# refused, and every session is killed.  A's flush must fail with
# ENOSPC, what it reports, although it then finds B's session dead
# (38bfe3b's flush_failed left EIO from that); B's flush fails once
# (B's write may be lost), and the next flushes of both succeed.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires truncate
requires_libnbd_python

mount_tmpfs 8m sshflushfail
mnt="$TMPFS_DIR"

start_sshd
# One SFTP channel per connection: one session to kill.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"

remote="$mnt/disk.img"
truncate -s 16M "$remote"

REMOTE="$remote" FILLER="$mnt/filler" \
    run_plugin -v idle-keep=0 path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-flush-failure-fsyncs.py" "$uri"' \
    2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
grep -E "error|reconnect" nbdkit.err | head -20
expect_grep nbdkit.err "no space left on the remote filesystem"
