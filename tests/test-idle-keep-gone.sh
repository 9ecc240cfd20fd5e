#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# idle-keep=: the file of a warm session with unflushed writes is
# renamed away: the next client cannot open the path (a clear error),
# the warm session's writes are fsynced through its old handle when it
# is closed, and once the file is back a client's flush succeeds (a
# review found the old handle closed before the new one was open, so
# that fsync failed and every later flush of the file reported a loss
# that never was).

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdinfo
requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto), as in the other
# test-idle-keep*.sh.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

make_random_file "$remote" 1
cat > gone.sh <<'SHEOF'
#!/bin/sh
set -e
nbdsh -u "$1" -c 'h.pwrite(b"g" * 4096, 0)'
mv disk.img disk.away
if nbdinfo --size "$1"; then
    echo "FAIL: a missing file was served"; exit 1
fi
mv disk.away disk.img
nbdsh -u "$1" -c 'h.flush()'
SHEOF
chmod +x gone.sh
run_plugin -v -D ssh.log=1 path="$remote" --run './gone.sh "$uri"' \
    2> nbdkit.err || { tail -50 nbdkit.err; exit 1; }
grep -E "idle-keep|fsync|error" nbdkit.err || :
expect_grep nbdkit.err "cannot open remote file" "close: fsync of remote file"
[ "$(head -c 4096 "$remote" | tr -d g | wc -c)" -eq 0 ]
