#!/usr/bin/env bash
# Multi-conn coherence.  The export advertises multi-conn, which
# promises: once a flush has completed on any connection, every write
# completed before it, on any connection, is visible to every later
# read on any connection.  Each connection keeps a read-ahead queue,
# so data fetched before another connection's write must not be served
# after it.
# 1. The targeted case: h1 reads sequentially (read-ahead starts), h2
#    writes 512 bytes ahead of h1's position and flushes, h1 reads
#    them: 24 trials.
# 2. Four connections, random and sequential reads, writes and
#    flushes, checked against a model of what NBD promises.
# 3. The same once more with each connection's writes spread over
#    three SFTP channels (channels=3).

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 16

export REMOTE="$SSHD_DIR/disk.img"
run_plugin path="$REMOTE" \
    --run '/usr/bin/python3 "$srcdir/test-multi-conn.py" "$uri"'
run_plugin path="$REMOTE" channels=3 \
    --run '/usr/bin/python3 "$srcdir/test-multi-conn.py" "$uri"'
