#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# idle-keep=0: a client's session closes when the client leaves, and
# the writes it never flushed are fsynced then (no flush can cover
# them after that): nbdkit's debug output shows the fsync, and the
# data is in the file.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto), as in the other
# test-idle-keep*.sh.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 1

run_plugin -v -D ssh.log=1 path="$remote" idle-keep=0 \
    --run 'nbdsh -u "$uri" -c "h.pwrite(b\"x\" * 4096, 0)"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
expect_grep nbdkit.err "close: fsync of remote file"
[ "$(head -c 4096 "$remote" | tr -d x | wc -c)" -eq 0 ]
