#!/usr/bin/env bash
# A stalled server session that comes back after the plugin has given
# up on it must not undo newer writes.
#
# The connection's sftp-server is SIGSTOPped (as if stuck on a hung
# disk; its sshd keeps running, so the WRITE is delivered to the
# sftp-server's input and waits there).  A 4 KiB write times out
# (timeout=3), the plugin reconnects and sends it again: the client
# sees success.  The client then overwrites the same block, the write
# is acknowledged and flushed.  Then the old sftp-server resumes.  The
# block must still hold the newer data.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test finds a
# connection's sftp-server, or counts sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 4

export REMOTE="$remote" SSHD_DIR
run_plugin -v path="$remote" timeout=3 \
    --run '/usr/bin/python3 "$srcdir/test-stall-stale.py" "$uri"' \
    2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
