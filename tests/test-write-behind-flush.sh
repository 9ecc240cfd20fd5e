#!/usr/bin/env bash
# Write-behind: flush honesty is precise (test-write-behind-flush.py).
# Writes the client was told were done but the server never
# acknowledged (its processes stopped, then killed) are sent again, so
# the flush after the reconnect succeeds and the data is in the file;
# while a write the server did acknowledge but never fsynced makes
# that flush fail (EIO), and nbdkit says so.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 32
export REMOTE="$remote"
run_plugin path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-write-behind-flush.py" "$uri"' \
    2> nbdkit.err || { cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "never fsynced and may be lost"
