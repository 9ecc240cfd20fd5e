#!/usr/bin/env bash
# Flush stays honest across a reconnect.  A write acknowledged on a
# session that then dies was never fsynced: the server (or its disk)
# may have dropped it.  Here the test drops it itself, by putting the
# old bytes back in the remote file, then kills the server side of the
# connections.  A flush must then fail (EIO) rather than report
# success with the old bytes in place; on one connection, and with
# multi-conn on another connection than the one that wrote.  A FUA
# write after the reconnect is durable and succeeds; later flushes
# work again.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 4

export REMOTE="$SSHD_DIR/disk.img"
run_plugin path="$REMOTE" \
    --run '/usr/bin/python3 "$srcdir/test-flush-reconnect.py" "$uri"' \
    2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "never fsynced and may be lost"
