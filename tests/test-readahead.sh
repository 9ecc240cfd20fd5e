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

export REMOTE="$remote"
run_plugin path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-readahead.py" "$uri"'
