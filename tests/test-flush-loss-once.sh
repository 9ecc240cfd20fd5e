#!/usr/bin/env bash
# A loss is reported once to each connection, even when the plugin
# notices it only after another loss was reported.
#
# Connections A and B each have a write the server acknowledged but
# did not fsync; then every sshd process of the connections is killed
# (the server may have lost both writes).  A's flush fails (its own
# write); B's flush fails (B's write).  A's next flush must succeed:
# B's write was lost before A's failed flush, which therefore told A.
# The old code noticed B's loss only at B's flush, after A's, and so
# failed A's next flush a second time for the same loss (a false
# alarm): A's failed flush now also asks the other connections with
# writes not yet fsynced, so that the losses it reports are all there.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection (channels=auto may open more on a
# busy machine): the test counts on one session per connection only.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 4

export REMOTE="$remote" SSHD_DIR
run_plugin -v idle-keep=0 path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-flush-loss-once.py" "$uri"' \
    2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
grep -E "error|reconnect" nbdkit.err | head -20
expect_grep nbdkit.err "that then broke"
