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

export REMOTE="$remote" FILLER="$mnt/filler"
run_plugin path="$remote" write-behind=0 \
    --run '/usr/bin/python3 "$srcdir/test-enospc-write.py" "$uri"' \
    2> nbdkit.err || {
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
run_plugin path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-enospc-write-behind.py" "$uri"' \
    2> nbdkit.err || {
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
