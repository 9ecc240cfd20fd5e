#!/usr/bin/env bash
# No false alarm: a flush fails only when an acknowledged write may
# really be missing.
#
# 1. A writes (the server acknowledges it), B flushes: the fsync covers
#    A's write too (multi-conn).  Then the server side of both sessions
#    dies; both reconnect.  The next flush on A and on B succeeds, and
#    the data is in the file.  (The old code counted any reconnect
#    while some connection had unflushed writes as a loss, and only
#    the flushing connection's writes as fsynced: both flushes failed
#    with EIO although every byte was there.)
# 2. A's acknowledged write is not fsynced and A's session is alive;
#    B's session breaks.  B's flush, on its new session, cannot vouch
#    for A's write, so it fsyncs on A's session first: it succeeds,
#    and so does A's.  (Old code: both failed.)
# 3. The same, but A's session died too: now the write may really be
#    lost (the test puts the old bytes back, as a crash would), and
#    the flush must fail (EIO).

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test finds a
# connection's sftp-server, or counts sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
make_random_file disk.img 4
export REMOTE="$SSHD_DIR/disk.img"

run_plugin -v idle-keep=0 retries=3 path="$REMOTE" \
    --run '/usr/bin/python3 "$srcdir/test-flush-no-false-alarm.py" "$uri"' \
    2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
grep -E "flush|lost|reconnect" nbdkit.err || :
expect_grep nbdkit.err "never fsynced and may be lost"
