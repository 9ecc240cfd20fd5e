#!/usr/bin/env bash
# Write-behind: a drain that waits for a stalled connection does not
# hold up the others (test-write-behind-drain.py).  While a flush on
# one connection waits for another connection's writes (its server
# stopped), a new NBD connection opens at once, long before timeout=
# would end the wait.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdinfo
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 4
run_plugin path="$remote" timeout=40 idle-keep=0 \
    --run '/usr/bin/python3 "$srcdir/test-write-behind-drain.py" "$uri"'
