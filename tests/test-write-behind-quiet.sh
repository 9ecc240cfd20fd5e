#!/usr/bin/env bash
# Write-behind: with keepalive=0 and idle-keep=0, what write-behind
# queued beyond the SSH channel's window still reaches the server while
# the client is quiet (test-write-behind-quiet.py).  (The old code kept
# it in nbdkit's memory until the client's next request.)

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 16
export REMOTE="$remote"
run_plugin path="$remote" keepalive=0 idle-keep=0 write-behind=16M \
    --run '/usr/bin/python3 "$srcdir/test-write-behind-quiet.py" "$uri"'
