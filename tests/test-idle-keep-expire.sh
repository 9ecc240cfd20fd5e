#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# idle-keep=SECS: a warm session expires.  With idle-keep=1, the
# server's session ends a few seconds after the client left (not at
# once: it is kept for a while), while nbdkit runs on.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdinfo
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto), as in the other
# test-idle-keep*.sh.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 8

cat > expire.sh <<'SHEOF'
#!/bin/sh
set -e
nbdinfo --size "$1"
# The warm session lives on after the client left ...
sleep 0.3
# (sshd logs "Close session" only if the channel's close reaches it
# before the disconnect; "Disconnected from user" always.)
closed0=$(grep -c "Disconnected from user" "$SSHD_LOG" || :)
# ... and is closed once idle-keep=1 has passed (bounded wait).
i=0
while [ $i -lt 100 ]; do
    closed=$(grep -c "Disconnected from user" "$SSHD_LOG" || :)
    [ "$closed" -gt "$closed0" ] && break
    sleep 0.1; i=$((i+1))
done
[ "$closed" -gt "$closed0" ] || { echo "FAIL: the warm session never expired"; exit 1; }
echo "expired after about $i tenths of a second"
[ $i -ge 3 ] || { echo "FAIL: the warm session was closed at once"; exit 1; }
SHEOF
chmod +x expire.sh
export SSHD_LOG
run_plugin path="$remote" idle-keep=1 --run './expire.sh "$uri"'
