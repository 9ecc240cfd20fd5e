#!/usr/bin/env bash
# A file truncated by someone else under a reader: a read past the new
# end of the file is an error (EIO), never zeros; reads before it still
# work.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires truncate
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 4

export REMOTE="$remote"
run_plugin path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-truncate.py" "$uri"' \
    2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "unexpected end of file" "$remote"
