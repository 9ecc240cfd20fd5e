#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# idle-keep=: a warm session whose server died is never handed out.  A
# client writes and leaves (its session is kept warm), the server side
# of every connection is killed, and the next client gets a new
# session and its data verifies (test-idle-keep-dead.py); nbdkit's
# debug output shows the dead warm session noticed (when claimed, or
# by the keepalive thread before) and never reused.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): the test kills the
# connections' sftp-servers.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 8

export REMOTE="$remote"
run_plugin -v -D ssh.log=1 path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-idle-keep-dead.py" "$uri"' \
    2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
grep -E "idle-keep|error" nbdkit.err || :
if grep -F "reusing the warm session" nbdkit.err; then
    echo "FAIL: a dead warm session was handed out"; exit 1
fi
# Found dead when claimed, or by the keepalive thread before.
grep -E "warm session to .* is dead|closing the warm session .*\(dead\)" \
     nbdkit.err || {
    echo "FAIL: the dead warm session was not noticed"; exit 1; }
