#!/usr/bin/env bash
# The server side of the connection dies (its per-connection sshd is
# SIGKILLed) between and during requests, while reading and while
# writing: the plugin reconnects, re-sends what was not acknowledged,
# and every byte verifies.  Also nbdcopy with the server killed in the
# middle of the copy, and a server that stays down: EIO, no exit, and
# the next request works once it is back.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires cmp pgrep
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 32

# Kill every per-connection process of the test sshd (not the listener).
cat > kill-conns.sh <<'SHEOF'
#!/bin/sh
pid=$(cat "$SSHD_DIR/sshd.pid")
kids=$(pgrep -P "$pid")
[ -n "$kids" ] || { echo "kill-conns: no connection to kill" >&2; exit 1; }
kill -KILL $kids
echo "kill-conns: killed $kids" >&2
SHEOF
chmod +x kill-conns.sh

export REMOTE="$remote"
run_plugin -v path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-reconnect.py" "$uri"' \
    2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"

# nbdcopy, with the connections killed while the copy runs; a delay
# proxy is not needed: a watcher kills as soon as nbdkit has connected.
make_random_file "$remote" 256
cat > copy.sh <<'SHEOF'
#!/bin/sh
set -e
nbdcopy --connections=1 "$1" out.img &
copy=$!
# Wait (bounded) until the copy is under way, then kill mid-copy.
i=0
while [ $i -lt 500 ] &&
      [ "$(stat -c %s out.img 2>/dev/null || echo 0)" -lt 33554432 ]; do
    sleep 0.01; i=$((i+1))
done
./kill-conns.sh
wait $copy
SHEOF
chmod +x copy.sh
# Without -v: a reconnect that works leaves no error (libvirt and
# virt-v2v show every error line); sshd saw a second login.
logins0="$(grep -c "Accepted publickey" "$SSHD_LOG" || :)"
run_plugin path="$remote" \
    --run './copy.sh "$uri"' 2> nbdkit.err || { cat nbdkit.err; exit 1; }
cat nbdkit.err
cmp "$remote" out.img
expect_no_error nbdkit.err
[ "$(( $(grep -c "Accepted publickey" "$SSHD_LOG") - logins0 ))" -ge 2 ]

# The server stays down: requests fail with EIO, nbdkit stays up, and
# once the server is back the next request works.
run_plugin path="$remote" timeout=2 \
    retries=2 --run '/usr/bin/python3 "$srcdir/test-reconnect-down.py" "$uri"' \
    2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "cannot reach 127.0.0.1 port $SSHD_PORT"
